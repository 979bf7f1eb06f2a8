"""``matchmaker bench sample``: shortlist quality on the sample data's hand-judged relevance.

Side by side in one run: BM25 alone, the raw model, language-neutral dense, dense with CPV, and the
full matcher; overall and on the cross-lingual slice (relevant suppliers written in another language
than the need). The
sample was written by us, so this is a sanity check of the pipeline, not a claim about real
procurement; issue 3's benchmark on real awards is the honest judge.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from bench.metrics import standard_metrics, summarise
from bench.precision import onnx_encoder, other_encoders, query_precision
from bench.readiness_threshold import scored_pairs, threshold_table
from bench.report import markdown_table, write_report
from bench.sample_data import DATA, load_sample_service, read_jsonl, relevance_judgements
from indexer.embedder import Embedder
from indexer.language_neutral import LanguageNeutralEmbedder
from matcher.analysis import detect_language
from matcher.fusion import DEFAULT_WEIGHTS, FusionWeights
from matcher.readiness import DEFAULT_THRESHOLD
from service import readiness, shortlists
from service.cache import LruCache

DENSE_ONLY = FusionWeights(dense=1.0, lexical=0.0, cpv=0.0, geography=0.0)
# (name, language-neutral embeddings?, weights, CPV suggested where a need has none?)
SYSTEMS: list[tuple[str, bool, FusionWeights, bool]] = [
    ("BM25 only", True, FusionWeights(dense=0.0, lexical=1.0, cpv=0.0, geography=0.0), False),
    ("dense only, raw e5", False, DENSE_ONLY, False),
    ("full matcher, raw e5", False, DEFAULT_WEIGHTS, True),
    ("dense only", True, DENSE_ONLY, False),
    ("dense + CPV", True, FusionWeights(dense=1.0, lexical=0.0, cpv=DEFAULT_WEIGHTS.cpv, geography=0.0), True),
    ("full matcher, given CPV only", True, DEFAULT_WEIGHTS, False),
    ("full matcher", True, DEFAULT_WEIGHTS, True),
]
K = 10


def _languages() -> dict[str, str]:
    rows = read_jsonl(DATA / "suppliers.jsonl") + read_jsonl(DATA / "needs.jsonl")
    return {r["id"]: detect_language(r["description"]) for r in rows}


def run(embedder: Embedder, out: Path) -> str:
    judgements = relevance_judgements()
    language = _languages()
    metrics = standard_metrics(K)
    raw = embedder.inner if isinstance(embedder, LanguageNeutralEmbedder) else embedder
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        neutral_services = load_sample_service(Path(home) / "neutral", embedder, progress=True)
        load_seconds = time.perf_counter() - started
        raw_services = load_sample_service(Path(home) / "raw", raw, progress=True)
        systems = [(name, neutral_services if neutral else raw_services, w, s) for name, neutral, w, s in SYSTEMS]
        for label, twin in other_encoders(embedder, onnx_encoder(embedder)):  # the same indexes, other query encoders
            twin_services = replace(neutral_services, embedder=twin, query_vectors=LruCache(2048))
            systems.append((f"full matcher, {label} query encoder", twin_services, DEFAULT_WEIGHTS, True))
        rows = []
        for system, services, weights, suggest in systems:
            overall: dict[str, list[float]] = {m: [] for m in metrics}
            cross: dict[str, list[float]] = {m: [] for m in metrics}
            for need_id, relevant in tqdm(judgements.items(), desc=system, unit="need"):
                _need, results = shortlists.suppliers_for_need(
                    services, need_id, k=50, weights=weights, suggest_missing_cpv=suggest
                )
                ranked = [r.row.id for r in results]
                for name, fn in metrics.items():
                    overall[name].append(fn(ranked, relevant))
                other = {s for s in relevant if language[s] != language[need_id]}
                if other:
                    same = relevant - other
                    cross_ranked = [s for s in ranked if s not in same]
                    for name, fn in metrics.items():
                        cross[name].append(fn(cross_ranked, other))
            for slice_name, values in (("all", overall), ("cross-lingual", cross)):
                summary = summarise(values)
                rows.append(
                    [system, slice_name, len(next(iter(values.values())))]
                    + [f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" for mean, lo, hi in summary.values()]
                )
        threshold_rows, best = threshold_table(*scored_pairs(neutral_services, judgements))
        for services in (neutral_services, raw_services):
            services.engine.dispose()
    table = markdown_table(["system", "slice", "needs", *[f"{m} (95% CI)" for m in metrics]], rows)
    table += (
        "\n\n## Market-readiness threshold\n\nThe full matcher's scores of each need's best "
        f"{readiness.POOL} suppliers; a pair counts as relevant when hand-judged so (unjudged pairs count as "
        "not relevant, so precision is a lower bound). Best F1 at "
        f"**{best:.2f}** (the default in matcher/readiness.py is {DEFAULT_THRESHOLD:.2f}).\n\n"
        + markdown_table(["score ≥", "pairs", "precision", "recall", "F1"], threshold_rows)
    )
    intro = (
        f"Model: {embedder.name}, queries encoded in {query_precision(embedder)} unless a row says otherwise. "
        f"{len(judgements)} needs with hand-judged relevant suppliers; "
        f"loading and embedding the sample took {load_seconds:.0f} s."
    )
    return write_report(out, "Sample-data shortlist quality", intro, table)
