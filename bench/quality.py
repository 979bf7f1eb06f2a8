"""``matchmaker bench quality``: supplier ranking judged by real awards (UK Contracts Finder, Lancashire).

Split by award date at 2023-01-01 (bench/award_split.py): profiles from earlier awards only, later
notices with a known winner as needs. Side by side in one run: most-awarded first, CPV-group match,
BM25, BM25+CPV, dense only, the full matcher with the hand-set weights it had before, with weights
learned from the award history before 2022 and chosen on 2022 (bench/fusion_learning.py), and as served
(the shipped weights); what profiles from evidence would add; and, as upper references the service does
not use, the buyer relationship. Three slices: all test needs, the cleaned ones (no near-repeats of a
training notice) and the new entrants' (no winner had won from that buyer before: the case a market
dialogue exists for).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from bench import award_history
from bench.award_history import EVIDENCE, RELATIONSHIP, SERVED, NeedCandidates
from bench.award_split import SPLIT_DATE, AwardSplit, SupplierHistory, load_histories, make_split, need_record
from bench.fusion_learning import Learned, LinearRanker, learn, ranked_ids, served_weights, write_weights
from bench.memo_embedder import MemoEmbedder
from bench.metrics import standard_metrics, summarise
from bench.precision import onnx_encoder, other_encoders, query_precision
from bench.report import markdown_table, write_report
from bench.uk_awards import UK_FILE, AwardNotice, read_uk_awards
from indexer.embedder import Embedder
from matcher.fusion import DEFAULT_WEIGHTS, HAND_SET_WEIGHTS, FusionWeights
from service import shortlists
from service.cache import LruCache
from service.container import Services

K = 10
POOL = 50
FIRST_YEAR = 2016  # the first year with earlier awards to profile suppliers from
VALIDATION_YEAR = 2022
BASIC = SERVED[:4]  # the components the hand-set weights use

SERVICE_SYSTEMS: dict[str, FusionWeights] = {
    "BM25": FusionWeights(dense=0.0, lexical=1.0, cpv=0.0, geography=0.0),
    "BM25 + CPV": FusionWeights(dense=0.0, lexical=1.0, cpv=0.5, geography=0.0),
    "dense only": FusionWeights(dense=1.0, lexical=0.0, cpv=0.0, geography=0.0),
    "full matcher, hand-set weights (before)": HAND_SET_WEIGHTS,
    "full matcher as served (shipped learned weights)": DEFAULT_WEIGHTS,
}
Ranking = Callable[[AwardNotice], list[str]]


# ---------------------------------------------------------------- baselines without the service


def most_awarded(split: AwardSplit) -> list[str]:
    return [h.id for h in sorted(split.suppliers.values(), key=lambda h: (-len(h.awards), h.id))]


def cpv_group_ranking(split: AwardSplit, need: AwardNotice) -> list[str]:
    """Suppliers by how many earlier awards share a CPV group (3 digits) with the need; then by volume."""
    groups = {c[:3] for c in need.cpv_codes}

    def shared(h: SupplierHistory) -> int:
        return sum(1 for a in h.awards if groups & {c[:3] for c in a.cpv_codes})

    return [h.id for h in sorted(split.suppliers.values(), key=lambda h: (-shared(h), -len(h.awards), h.id))]


def incumbent_share(split: AwardSplit, cleaned_only: bool) -> tuple[int, int]:
    """How many test needs were won by a supplier that had already won from the same buyer.

    The matcher does not rank by such a relationship (a market dialogue must treat suppliers equally
    and widen the field), but real awards reward it, which caps what a fair matcher can score here.
    """
    by_id = {h.id: h for h in split.suppliers.values()}
    tests = [(n, rel) for n, rel in split.tests if not cleaned_only or n.id in split.cleaned]
    won_before = sum(any(a.buyer_key == n.buyer_key for r in rel for a in by_id[r].awards) for n, rel in tests)
    return won_before, len(tests)


def _constant(ranking: list[str]) -> Ranking:
    return lambda _need: ranking


def service_ranking(services: Services, weights: FusionWeights) -> Ranking:
    """The service's shortlist for the need, matched on the notice's own date."""

    def rank(need: AwardNotice) -> list[str]:
        results = shortlists.suppliers_for_record(
            services, need_record(need), k=POOL, weights=weights, explain=False, on=need.awarded_on
        )
        return [r.row.id for r in results]

    return rank


def pool_ranking(pools: dict[str, NeedCandidates], score: Callable[[dict[str, float]], float]) -> Ranking:
    """The service's candidates for the need, ordered by another scoring of their components."""
    return lambda need: ranked_ids(pools[need.id], score)


def incumbents_first(ranker: LinearRanker) -> Callable[[dict[str, float]], float]:
    """Upper reference: whoever already won from this buyer first, then the learned order."""
    return lambda f: 1000.0 * f["won_from_buyer"] + ranker.score(f)


def learned_systems(by_year: dict[int, list[NeedCandidates]]) -> dict[str, Learned]:
    """The served choice (basic components, with or without the track record) and, measured beside it
    with the same protocol, profiles from evidence and the buyer relationship."""
    return {
        "served": learn(by_year, VALIDATION_YEAR, [BASIC, SERVED]),
        "evidence": learn(by_year, VALIDATION_YEAR, [SERVED + EVIDENCE[:1], SERVED + EVIDENCE[1:], SERVED + EVIDENCE]),
        "relationship": learn(by_year, VALIDATION_YEAR, [SERVED + RELATIONSHIP]),
    }


def _weights_line(learned: Learned) -> str:
    weights = ", ".join(f"{name} {w:.3f}" for name, w in learned.ranker.per_dense().items())
    return f"{weights} ({learned.ranker.name})"


def _rows(split: AwardSplit, systems: dict[str, Ranking]) -> list[list[object]]:
    metrics = standard_metrics(K)
    by_id = {h.id: h for h in split.suppliers.values()}
    new_entrant = {n.id for n, rel in split.tests if not any(award_history.won_from_buyer(by_id[r], n) for r in rel)}
    slices = {"all": lambda _n: True, "cleaned": lambda n: n.id in split.cleaned, "new entrants": lambda n: n.id in new_entrant}
    rows: list[list[object]] = []
    for name, rank in systems.items():
        values: dict[str, dict[str, list[float]]] = {s: {m: [] for m in metrics} for s in slices}
        for need, relevant in tqdm(split.tests, desc=name, unit="need"):
            ranked = rank(need)
            for metric, fn in metrics.items():
                value = fn(ranked, relevant)
                for slice_name, member in slices.items():
                    if member(need):
                        values[slice_name][metric].append(value)
        for slice_name, by_metric in values.items():
            summary = summarise(by_metric)
            rows.append(
                [name, slice_name, len(by_metric[next(iter(by_metric))])]
                + [f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" for mean, lo, hi in summary.values()]
            )
    return rows


def run(embedder: Embedder, out: Path, data: Path = UK_FILE, *, weights_file: Path | None = None) -> str:
    """The table; with ``weights_file``, the served choice's weights are written there as the shipped ones."""
    notices = read_uk_awards(data)
    memo = MemoEmbedder(embedder)
    started = time.perf_counter()
    by_year = award_history.collect(memo, notices, first=FIRST_YEAR, last=VALIDATION_YEAR)
    learned = learned_systems(by_year)
    history_seconds = time.perf_counter() - started
    split = make_split(notices, SPLIT_DATE)
    with tempfile.TemporaryDirectory() as home:
        services = load_histories(Path(home), memo, split)
        pools = {n.need.id: n for n in award_history.score_needs(services, memo, split, split.tests, desc="test needs")}
        served = learned["served"].ranker
        systems: dict[str, Ranking] = {
            "most-awarded first": _constant(most_awarded(split)),
            "CPV-group match": lambda need: cpv_group_ranking(split, need),
            **{name: service_ranking(services, weights) for name, weights in SERVICE_SYSTEMS.items()},
            "full matcher, weights learned in this run": pool_ranking(pools, served.score),
            "+ closest evidence (measured, not served)": pool_ranking(pools, learned["evidence"].ranker.score),
            "+ buyer relationship, learned (upper reference, not used)": pool_ranking(
                pools, learned["relationship"].ranker.score
            ),
            "incumbents first (upper reference, not used)": pool_ranking(pools, incumbents_first(served)),
        }
        for label, twin in other_encoders(embedder, onnx_encoder(embedder)):  # the same indexes, other query encoders
            twin_services = replace(services, embedder=twin, query_vectors=LruCache(2048))
            systems[f"full matcher as served, {label} query encoder"] = service_ranking(twin_services, DEFAULT_WEIGHTS)
        rows = _rows(split, systems)
        services.engine.dispose()
    if weights_file is not None:
        write_weights(learned["served"], weights_file, model=embedder.name)
    table = markdown_table(["system", "slice", "needs", *[f"{m} (95% CI)" for m in standard_metrics(K)]], rows)
    chosen = learned["served"]
    shipped = served_weights(served)
    intro = (
        f"Model: {embedder.name}, queries encoded in {query_precision(embedder)} unless a row says otherwise. "
        f"UK Contracts Finder (Lancashire), split at {SPLIT_DATE}: "
        f"{len(split.suppliers)} suppliers profiled from their earlier awards, {len(split.tests)} later notices "
        f"with a known winner ({len(split.cleaned)} after removing near-repeats of a training notice by the same buyer; "
        f"{sum(1 for n in pools.values() if n.new_entrant)} won by a new entrant to that buyer). "
        "Incumbents: {0} of {1} test needs ({2} of {3} cleaned) were won by a supplier that had already won "
        "from the same buyer; the matcher does not rank by buyer relationships.".format(
            *incumbent_share(split, False), *incumbent_share(split, True)
        )
        + f"\n\nLearned weights: fit on {chosen.fit_needs} needs of {chosen.fit_years[0]}–{chosen.fit_years[-1]} "
        f"(one store per year, profiles from awards before 1 January of the need's year), chosen on "
        f"{chosen.validation_needs} needs of {chosen.validation_year} (validation MRR {chosen.validation_mrr:.3f}); "
        f"test needs never seen. In units of the dense weight: {_weights_line(chosen)}; geography stays hand-set "
        f"({HAND_SET_WEIGHTS.geography}: no UK supplier here has a location to learn it from). "
        f"Shipped weights {'equal' if shipped == DEFAULT_WEIGHTS else 'DIFFER FROM'} this run's "
        f"({DEFAULT_WEIGHTS}). Closest evidence: {_weights_line(learned['evidence'])}. "
        f"Buyer relationship: {_weights_line(learned['relationship'])}. "
        f"Award history (7 stores and their candidates) took {history_seconds:.0f} s."
    )
    return write_report(out, "Supplier ranking on real awards", intro, table)
