"""Issue 17, lever 5 (a measured trial, not a feature): does a learned linear map on the query vectors help?

A query-side map ``W`` (384×384, regularised toward the identity by λ‖W − I‖²) is applied to a need's
query vector before its cosine with the stored profile vectors, so no document is re-embedded. It is
trained with a softmax over candidates (InfoNCE) on pairs dated before 2022 only: a UK notice → its
winners' profile vectors among all suppliers of that year's store (profiles from awards before 1 January),
and a notice → the labels of its CPV codes (UK notices before 2022, Doffin 2020) among a sample of other
labels. λ, the temperature and the number of epochs are chosen on the 2022 needs' dense-only MRR; the
test needs (2023+, the store of 2023-01-01) are read once, side by side with the unprojected matcher,
and the full fusion is refit on the projected components with the same protocol as ``bench quality``.
The sample's cross-lingual slice checks that the map does not undo the language-neutral embeddings.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import award_history
from bench.award_history import SERVED, NeedCandidates, score_needs
from bench.award_split import SPLIT_DATE, AwardSplit, load_histories, make_split, need_record
from bench.cpv_doffin import read_doffin
from bench.fusion_learning import evaluate, learn
from bench.memo_embedder import MemoEmbedder
from bench.metrics import recall_at_k, reciprocal_rank, standard_metrics, summarise
from bench.quality import BASIC, FIRST_YEAR, VALIDATION_YEAR
from bench.report import markdown_table, write_report
from bench.sample_data import load_sample_service, relevance_judgements
from bench.sample_quality import DENSE_ONLY, _languages
from bench.uk_awards import AwardNotice, read_uk_awards
from indexer.embedder import Embedder
from service import shortlists
from service.cache import LruCache

RESULTS = Path(__file__).parent / "results" / "projection_trial.md"
LAMBDAS = (0.001, 0.01, 0.1)
TEMPERATURES = (0.02, 0.05)
CHECKPOINTS = (1, 3, 10, 25)  # epochs at which a fit is scored on validation
BATCH = 64
NEGATIVE_LABELS = 4096  # other CPV labels sampled once as the negatives (all 28,000 would cost 7× the time)
DOFFIN_DATE = dt.date(2020, 12, 31)  # the file holds 2020 notices without their own dates
K = 10


@dataclass(frozen=True)
class Pair:
    """A query vector and the rows of its positives in one target matrix (a year's profiles, or CPV labels)."""

    on: dt.date  # the notice's date: all the time rule reads
    target: str
    query: np.ndarray
    positives: tuple[int, ...]


def training_pairs(pairs: Sequence[Pair], validation_year: int = VALIDATION_YEAR) -> list[Pair]:
    """Only pairs dated before the validation year: its needs choose the fit, later ones test it."""
    cutoff = dt.date(validation_year, 1, 1)
    return [p for p in pairs if p.on < cutoff]


def project(vectors: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = np.atleast_2d(vectors) @ w.T
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


class ProjectedEmbedder:
    """Queries through ``W`` (renormalised); documents as the inner embedder makes them, so stores stay valid."""

    def __init__(self, inner: Embedder, w: np.ndarray) -> None:
        self.inner, self.w = inner, w
        self.name, self.dim = inner.name, inner.dim

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        return project(self.inner.encode_queries(texts, language=language), self.w)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.inner.encode_documents(texts, progress=progress, language=language)


@dataclass
class Store:
    year: int
    split: AwardSplit
    tests: list[tuple[AwardNotice, set[str]]]
    services: Any
    ids: list[str]  # supplier ids, aligned with profiles' rows
    profiles: np.ndarray


def open_store(stack: ExitStack, memo: MemoEmbedder, year: int, split: AwardSplit, tests: list[Any]) -> Store:
    home = stack.enter_context(tempfile.TemporaryDirectory())
    services = load_histories(Path(home), memo, split)
    stack.callback(services.engine.dispose)
    by_key = award_history._ids_by_key(services)
    keys = [k for k in sorted(by_key) if k in services.suppliers.vectors]
    return Store(year, split, tests, services, [by_key[k] for k in keys], services.suppliers.vectors.vectors(keys))


def need_text(services: Any, notice: AwardNotice) -> str:
    return shortlists.query_of_record(services, need_record(notice)).text


def store_pairs(store: Store) -> list[Pair]:
    row = {sid: r for r, sid in enumerate(store.ids)}
    out = []
    for notice, relevant in store.tests:
        positives = tuple(row[s] for s in relevant if s in row)
        if positives and notice.awarded_on:
            vector = store.services.query_vector(need_text(store.services, notice))
            out.append(Pair(notice.awarded_on, f"store {store.year}", vector, positives))
    return out


def cpv_pairs(services: Any, uk: Sequence[AwardNotice]) -> tuple[list[Pair], np.ndarray]:
    """Every dated UK notice and Doffin 2020 notice → the rows of its codes' labels in the service's label index."""
    index = services.cpv_labels
    labels = index._labels.vectors(list(range(len(index))))  # the very vectors the service suggests codes with
    rows_of: dict[str, list[int]] = defaultdict(list)
    for r, code in enumerate(index.codes):
        rows_of[str(code)].append(r)
    items = [(n.awarded_on, need_text(services, n), n.cpv_codes) for n in uk if n.awarded_on]
    items += [(DOFFIN_DATE, d.text, (d.main,)) for d in read_doffin()]
    out = []
    for on, text, codes in items:
        positives = tuple(r for c in codes for r in rows_of.get(c, ()))
        if positives:
            out.append(Pair(on, "cpv", services.query_vector(text), positives))
    return out, labels


def narrow_labels(pairs: list[Pair], labels: np.ndarray, seed: int = 0) -> tuple[list[Pair], np.ndarray]:
    """The training pairs' positive labels plus a fixed random sample of the others, rows renumbered."""
    chosen = {r for p in pairs if p.target == "cpv" for r in p.positives}
    rng = np.random.default_rng(seed)
    chosen |= set(rng.choice(len(labels), size=min(NEGATIVE_LABELS, len(labels)), replace=False).tolist())
    order = sorted(chosen)
    new = {r: i for i, r in enumerate(order)}
    renumbered = [replace(p, positives=tuple(new[r] for r in p.positives)) if p.target == "cpv" else p for p in pairs]
    return renumbered, labels[order]


def fit(
    pairs: Sequence[Pair], targets: dict[str, np.ndarray], *, lam: float, temperature: float, seed: int = 0
) -> dict[int, np.ndarray]:
    """``W = I + Δ`` by Adam on the InfoNCE loss (all a pair's positives count) plus λ‖Δ‖²; W at each checkpoint."""
    torch.manual_seed(seed)
    dim = next(iter(targets.values())).shape[1]
    delta = torch.zeros(dim, dim, requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=1e-3)
    groups = {}
    for name in sorted({p.target for p in pairs}):
        members = [p for p in pairs if p.target == name]
        mask = torch.zeros(len(members), len(targets[name]), dtype=torch.bool)
        for i, p in enumerate(members):
            mask[i, list(p.positives)] = True
        groups[name] = (torch.from_numpy(np.stack([p.query for p in members])), mask, torch.from_numpy(targets[name]))
    out: dict[int, np.ndarray] = {}
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, max(CHECKPOINTS) + 1):
        batches = [
            (name, idx) for name, (q, _, _) in groups.items() for idx in torch.randperm(len(q), generator=generator).split(BATCH)
        ]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            name, idx = batches[b]
            queries, mask, target = groups[name]
            z = torch.nn.functional.normalize(queries[idx] @ (torch.eye(dim) + delta).T, dim=1)
            logits = z @ target.T / temperature
            loss = (logits.logsumexp(1) - logits.masked_fill(~mask[idx], float("-inf")).logsumexp(1)).mean()
            optimiser.zero_grad()
            (loss + lam * delta.pow(2).sum()).backward()
            optimiser.step()
        if epoch in CHECKPOINTS:
            out[epoch] = (torch.eye(dim) + delta).detach().numpy().copy()
    return out


def dense_scores(pairs: Sequence[Pair], profiles: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Dense-only MRR and recall@10 over a whole store (the service's dense pool is its top 50 by the same cosine)."""
    ids = [str(i) for i in range(len(profiles))]
    ranks = [np.argsort(-(profiles @ project(p.query, w)[0]), kind="stable") for p in pairs]
    mrr = [reciprocal_rank([ids[i] for i in r], {ids[i] for i in p.positives}) for r, p in zip(ranks, pairs, strict=True)]
    rec = [recall_at_k([ids[i] for i in r], {ids[i] for i in p.positives}, K) for r, p in zip(ranks, pairs, strict=True)]
    return float(np.mean(mrr)), float(np.mean(rec))


def choose(train: list[Pair], targets: dict[str, np.ndarray], validation: list[Pair], profiles: np.ndarray) -> dict[str, Any]:
    """Every (λ, temperature, epochs) scored on validation; the best by MRR, recall@10 breaking ties."""
    best: dict[str, Any] = {}
    started = time.perf_counter()
    for lam in LAMBDAS:
        for temperature in TEMPERATURES:
            fit_started = time.perf_counter()
            checkpoints = fit(train, targets, lam=lam, temperature=temperature)
            seconds = time.perf_counter() - fit_started
            for epochs, w in checkpoints.items():
                key = dense_scores(validation, profiles, w)
                if not best or key > best["key"]:
                    best = {"key": key, "w": w, "lam": lam, "temperature": temperature, "epochs": epochs, "seconds": seconds}
    best["grid_seconds"] = time.perf_counter() - started
    return best


SLICES: dict[str, Callable[[NeedCandidates], bool]] = {
    "all": lambda _n: True,
    "cleaned": lambda n: n.cleaned,
    "new entrants": lambda n: n.new_entrant,
}


def slice_rows(system: str, needs: Sequence[NeedCandidates], score: Callable[[dict[str, float]], float]) -> list[list[object]]:
    values = evaluate(needs, score)
    rows: list[list[object]] = []
    for name, member in SLICES.items():
        keep = [i for i, n in enumerate(needs) if member(n)]
        summary = summarise({m: [v[i] for i in keep] for m, v in values.items()})
        rows.append([system, name, len(keep)] + [f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" for mean, lo, hi in summary.values()])
    return rows


def sample_rows(memo: MemoEmbedder, w: np.ndarray) -> list[list[object]]:
    """Dense only on the hand-judged sample, overall and cross-lingual (as ``bench sample`` counts it)."""
    judgements, language, metrics = relevance_judgements(), _languages(), standard_metrics(K)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as home:
        services = load_sample_service(Path(home), memo)
        twin = replace(services, embedder=ProjectedEmbedder(memo, w), query_vectors=LruCache(2048))
        for label, s in (("dense only, unprojected", services), ("dense only, projected", twin)):
            overall: dict[str, list[float]] = {m: [] for m in metrics}
            cross: dict[str, list[float]] = {m: [] for m in metrics}
            for need_id, relevant in judgements.items():
                _need, results = shortlists.suppliers_for_need(s, need_id, k=50, weights=DENSE_ONLY, suggest_missing_cpv=False)
                ranked = [r.row.id for r in results]
                other = {x for x in relevant if language[x] != language[need_id]}
                for name, fn in metrics.items():
                    overall[name].append(fn(ranked, relevant))
                    if other:
                        cross[name].append(fn([x for x in ranked if x not in relevant - other], other))
            for slice_name, values in (("all", overall), ("cross-lingual", cross)):
                summary = summarise(values)
                rows.append(
                    [f"sample: {label}", slice_name, len(values["MRR"])]
                    + [f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" for mean, lo, hi in summary.values()]
                )
        services.engine.dispose()
    return rows


def _mean(rows: list[list[object]], system: str, slice_name: str, column: int) -> float:
    return next(float(str(r[column]).split()[0]) for r in rows if r[0] == system and r[1] == slice_name)


def run(embedder: Embedder, out: Path = RESULTS) -> str:
    notices = read_uk_awards()
    memo = MemoEmbedder(embedder)
    with ExitStack() as stack:
        stores = [open_store(stack, memo, y, s, t) for y, s, t in award_history.yearly(notices, FIRST_YEAR, VALIDATION_YEAR) if t]
        test_split = make_split(notices, SPLIT_DATE)
        test = open_store(stack, memo, SPLIT_DATE.year, test_split, test_split.tests)
        pairs = [p for s in stores for p in store_pairs(s)]
        cpv, labels = cpv_pairs(stores[0].services, notices)
        train, cpv_labels = narrow_labels(training_pairs(pairs + cpv), labels)
        targets = {f"store {s.year}": s.profiles for s in stores if s.year < VALIDATION_YEAR} | {"cpv": cpv_labels}
        validation = [p for p in pairs if p.on.year == VALIDATION_YEAR]
        val_profiles = next(s.profiles for s in stores if s.year == VALIDATION_YEAR)
        best = choose(train, targets, validation, val_profiles)
        identity = dense_scores(validation, val_profiles, np.eye(val_profiles.shape[1], dtype=np.float32))
        w = best["w"]
        by_year: dict[str, dict[int, list[NeedCandidates]]] = {"unprojected": {}, "projected": {}}
        pools: dict[str, list[NeedCandidates]] = {}
        for store in [*stores, test]:
            twin = replace(store.services, embedder=ProjectedEmbedder(memo, w), query_vectors=LruCache(2048))
            for label, services in (("unprojected", store.services), ("projected", twin)):
                needs = score_needs(services, memo, store.split, store.tests, desc=f"{label} {store.year}")
                if store is test:
                    pools[label] = needs
                else:
                    by_year[label][store.year] = needs
    rows: list[list[object]] = []
    fusion_lines = []
    for label in ("unprojected", "projected"):
        rows += slice_rows(f"dense only, {label}", pools[label], lambda f: f["dense"])
    for label in ("unprojected", "projected"):
        learned = learn(by_year[label], VALIDATION_YEAR, [BASIC, SERVED])
        rows += slice_rows(f"full fusion (learned), {label}", pools[label], learned.ranker.score)
        weights = ", ".join(f"{n} {v:.3f}" for n, v in learned.ranker.per_dense().items())
        fusion_lines.append(f"{label}: {weights} ({learned.ranker.name}, validation MRR {learned.validation_mrr:.3f})")
    sample = sample_rows(memo, w)
    rows += sample
    fused = "full fusion (learned), {}"
    fusion_gain = any(
        _mean(rows, fused.format("projected"), "cleaned", c) > _mean(rows, fused.format("unprojected"), "cleaned", c)
        for c in (3, 4)
    )
    cross_drop = _mean(sample, "sample: dense only, unprojected", "cross-lingual", 3) - _mean(
        sample, "sample: dense only, projected", "cross-lingual", 3
    )
    pays = best["key"][0] > identity[0] and fusion_gain and cross_drop <= 0.01
    table = markdown_table(["system", "slice", "needs", *[f"{m} (95% CI)" for m in standard_metrics(K)]], rows)
    intro = (
        f"Model: {embedder.name}. W: {w.shape[0]}×{w.shape[1]} float32 ({w.size:,} parameters, {w.nbytes / 1024:.0f} KiB), "
        f"regularised by λ‖W − I‖². Training pairs (all dated before {VALIDATION_YEAR}): "
        f"{sum(p.target != 'cpv' for p in train)} notice → winner profile (softmax over that year's store), "
        f"{sum(p.target == 'cpv' for p in train)} notice → CPV labels (UK before {VALIDATION_YEAR} and Doffin 2020; "
        f"softmax over {len(cpv_labels)} labels: the positives and {NEGATIVE_LABELS} sampled others). "
        f"Grid λ {LAMBDAS} × temperature {TEMPERATURES} × epochs {CHECKPOINTS}, chosen on {len(validation)} needs of "
        f"{VALIDATION_YEAR} (dense only, whole store): λ {best['lam']}, temperature {best['temperature']}, "
        f"{best['epochs']} epochs; validation MRR {best['key'][0]:.3f} / recall@10 {best['key'][1]:.3f} against "
        f"{identity[0]:.3f} / {identity[1]:.3f} without the map. Training: {best['seconds']:.0f} s for the chosen "
        f"(λ, temperature) run, {best['grid_seconds']:.0f} s for the grid. Test: store of {SPLIT_DATE}, "
        f"{len(pools['projected'])} needs. Fusion refit per system (fit before {VALIDATION_YEAR}, chosen on it): "
        + "; ".join(fusion_lines)
        + f".\n\n**Decision rule** (validation dense MRR up, test full-fusion cleaned recall@10 or MRR up, sample "
        f"cross-lingual recall@10 down by at most 0.01): the projection **{'pays' if pays else 'does not pay'}** "
        f"(cross-lingual recall@10 change {-cross_drop:+.3f})."
    )
    return write_report(out, "Query-side linear projection (issue 17, lever 5): a measured trial", intro, table)


if __name__ == "__main__":
    from api.cli_setup import real_embedder

    print(run(real_embedder()))
