"""Ranking metrics, used by every benchmark: small free functions over ranked ids and relevant sets."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    for position, item in enumerate(ranked, start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    gain = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the first ``k`` places holding a relevant item: an empty place or an unjudged item counts as wrong."""
    return len(set(ranked[:k]) & relevant) / k if k else 0.0


def condensed(ranked: Sequence[str], judged: set[str]) -> list[str]:
    """The ranking without its unjudged items (Sakai 2007, "condensed lists"): metrics computed on it judge
    a ranking by what was judged, not by how much of it nobody looked at."""
    return [item for item in ranked if item in judged]


def hit_at(ranked_codes: Sequence[str], truth: str, digits: int, k: int) -> float:
    """Whether the truth's CPV division (2 digits) or group (3) is among the first ``k`` distinct ones ranked."""
    levels = list(dict.fromkeys(code[:digits] for code in ranked_codes))
    return float(truth[:digits] in levels[:k])


def bootstrap_ci(values: Sequence[float], *, samples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


MetricFn = Callable[[Sequence[str], set[str]], float]


def standard_metrics(k: int = 10) -> dict[str, MetricFn]:
    return {
        f"recall@{k}": lambda r, rel: recall_at_k(r, rel, k),
        "MRR": reciprocal_rank,
        f"nDCG@{k}": lambda r, rel: ndcg_at_k(r, rel, k),
    }


def summarise(per_query: dict[str, list[float]]) -> dict[str, tuple[float, float, float]]:
    """Mean and bootstrap 95 % interval of each metric."""
    return {name: (float(np.mean(v)) if v else math.nan, *bootstrap_ci(v)) for name, v in per_query.items()}
