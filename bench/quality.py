"""``matchmaker bench quality``: supplier ranking judged by real awards (UK Contracts Finder, Lancashire).

Split by award date at 2023-01-01. Each supplier's profile is built from its awards before the split
only (winner names normalised; every winner of a multi-winner notice counts). Test needs are the
later notices whose winner existed before the split; the relevant suppliers are those winners.
Side by side in one run: most-awarded first, CPV-group match, BM25, BM25+CPV, dense only, and the
full matcher, on all test needs and on a cleaned slice without near-repeats of training notices.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path

from tqdm import tqdm

from bench.metrics import standard_metrics, summarise
from bench.precision import onnx_encoder, other_encoders, query_precision
from bench.report import markdown_table, write_report
from bench.uk_awards import UK_FILE, AwardNotice, read_uk_awards
from indexer.embedder import Embedder
from matcher.fusion import DEFAULT_WEIGHTS, FusionWeights
from matcher.names import name_key
from service import shortlists
from service.cache import LruCache
from service.container import Services, open_services
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS

SPLIT_DATE = dt.date(2023, 1, 1)
K = 10
POOL = 50
NEAR_DUPLICATE_TITLE = 0.8

SERVICE_SYSTEMS: dict[str, FusionWeights] = {
    "BM25": FusionWeights(dense=0.0, lexical=1.0, cpv=0.0, geography=0.0),
    "BM25 + CPV": FusionWeights(dense=0.0, lexical=1.0, cpv=0.5, geography=0.0),
    "dense only": FusionWeights(dense=1.0, lexical=0.0, cpv=0.0, geography=0.0),
    "full matcher": DEFAULT_WEIGHTS,
}


@dataclass
class SupplierHistory:
    id: str
    spellings: Counter[str] = field(default_factory=Counter)
    awards: list[AwardNotice] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spellings.most_common(1)[0][0]


@dataclass
class AwardSplit:
    suppliers: dict[str, SupplierHistory]  # by name key
    tests: list[tuple[AwardNotice, set[str]]]  # need, relevant supplier ids
    cleaned: set[str]  # ids of test notices that are not near-repeats of a training notice


def supplier_id(key: str) -> str:
    return "uk-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def _title(notice: AwardNotice) -> str:
    return " ".join(name_key(notice.title).split())


def make_split(notices: Sequence[AwardNotice], split: dt.date = SPLIT_DATE) -> AwardSplit:
    train = [n for n in notices if n.awarded_on and n.awarded_on < split]
    later = [n for n in notices if n.awarded_on and n.awarded_on >= split]
    suppliers: dict[str, SupplierHistory] = {}
    for notice in train:
        for winner in notice.winners:
            history = suppliers.setdefault(name_key(winner), SupplierHistory(supplier_id(name_key(winner))))
            history.spellings[winner] += 1
            if notice not in history.awards:
                history.awards.append(notice)
    tests = []
    for notice in later:
        relevant = {suppliers[k].id for k in notice.winner_keys if k in suppliers}
        if relevant:
            tests.append((notice, relevant))
    by_buyer: dict[str, list[str]] = defaultdict(list)
    for notice in train:
        by_buyer[notice.buyer_key].append(_title(notice))
    cleaned = {
        n.id
        for n, _ in tests
        if not any(SequenceMatcher(None, _title(n), t).ratio() >= NEAR_DUPLICATE_TITLE for t in by_buyer[n.buyer_key])
    }
    return AwardSplit(suppliers, tests, cleaned)


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


def _constant(ranking: list[str]) -> Callable[[AwardNotice], list[str]]:
    return lambda _need: ranking


# ---------------------------------------------------------------- the service's systems


def load_histories(home: Path, embedder: Embedder, split: AwardSplit) -> Services:
    """Suppliers with no description of their own: their profile is their pre-split evidence."""
    services = open_services(Settings(home=home), embedder=embedder)
    with session_scope(services.engine) as session:
        for history in split.suppliers.values():
            row, _ = repository.upsert(session, SUPPLIERS, {"id": history.id, "name": history.name, "description": ""})
            evidence = [
                {
                    "source": f"uk-cf:{a.id}",
                    "title": a.title[:300],
                    "description": a.description,
                    "buyer": a.buyer,
                    "cpv_codes": list(a.cpv_codes),
                    "awarded_on": a.awarded_on,
                }
                for a in history.awards
            ]
            repository.add_evidence(session, row, evidence)
    services.reconcile(progress=True)
    return services


def _need_record(notice: AwardNotice) -> dict[str, object]:
    return {
        "id": notice.id,
        "title": notice.title,
        "description": notice.description,
        "cpv_codes": list(notice.cpv_codes),
        "country": "GB",
        "region": None,
    }


def service_ranking(services: Services, weights: FusionWeights) -> Callable[[AwardNotice], list[str]]:
    def rank(need: AwardNotice) -> list[str]:
        results = shortlists.suppliers_for_record(services, _need_record(need), k=POOL, weights=weights, explain=False)
        return [r.row.id for r in results]

    return rank


# ---------------------------------------------------------------- the run


def run(embedder: Embedder, out: Path, data: Path = UK_FILE) -> str:
    split = make_split(read_uk_awards(data))
    metrics = standard_metrics(K)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        services = load_histories(Path(home), embedder, split)
        index_seconds = time.perf_counter() - started
        systems: dict[str, Callable[[AwardNotice], list[str]]] = {
            "most-awarded first": _constant(most_awarded(split)),
            "CPV-group match": lambda need: cpv_group_ranking(split, need),
            **{name: service_ranking(services, weights) for name, weights in SERVICE_SYSTEMS.items()},
        }
        for label, twin in other_encoders(embedder, onnx_encoder(embedder)):  # the same indexes, other query encoders
            twin_services = replace(services, embedder=twin, query_vectors=LruCache(2048))
            systems[f"full matcher, {label} query encoder"] = service_ranking(twin_services, DEFAULT_WEIGHTS)
        rows = []
        for name, rank in systems.items():
            full: dict[str, list[float]] = {m: [] for m in metrics}
            clean: dict[str, list[float]] = {m: [] for m in metrics}
            for need, relevant in tqdm(split.tests, desc=name, unit="need"):
                ranked = rank(need)
                for metric, fn in metrics.items():
                    value = fn(ranked, relevant)
                    full[metric].append(value)
                    if need.id in split.cleaned:
                        clean[metric].append(value)
            for slice_name, values in (("all", full), ("cleaned", clean)):
                summary = summarise(values)
                rows.append(
                    [name, slice_name, len(values[next(iter(values))])]
                    + [f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" for mean, lo, hi in summary.values()]
                )
        services.engine.dispose()
    table = markdown_table(["system", "slice", "needs", *[f"{m} (95% CI)" for m in metrics]], rows)
    intro = (
        f"Model: {embedder.name}, queries encoded in {query_precision(embedder)} unless a row says otherwise. "
        f"UK Contracts Finder (Lancashire), split at {SPLIT_DATE}: "
        f"{len(split.suppliers)} suppliers profiled from their earlier awards, {len(split.tests)} later notices "
        f"with a known winner ({len(split.cleaned)} after removing near-repeats of a training notice by the same buyer). "
        f"Loading and embedding took {index_seconds:.0f} s. "
        "Incumbents: {0} of {1} test needs ({2} of {3} cleaned) were won by a supplier that had already won "
        "from the same buyer; the matcher does not rank by buyer relationships.".format(
            *incumbent_share(split, False), *incumbent_share(split, True)
        )
    )
    return write_report(out, "Supplier ranking on real awards", intro, table)
