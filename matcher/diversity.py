"""Maximal marginal relevance, so a shortlist is not ten near-identical firms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mmr_order(relevance: Sequence[float], vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Indices of up to ``k`` items picked greedily by ``(1-λ)·relevance − λ·max similarity``.

    ``diversity`` (λ) is in [0, 1]: 0 keeps the relevance order, higher values penalise items
    similar to ones already chosen. ``vectors`` are unit rows aligned with ``relevance``.
    """
    n = len(relevance)
    if not 0.0 <= diversity <= 1.0:
        raise ValueError("diversity must be between 0 and 1")
    order = sorted(range(n), key=lambda i: -relevance[i])
    if diversity == 0.0 or n <= 1:
        return order[:k]
    rel = np.asarray(relevance, dtype=np.float32)
    sims = vectors @ vectors.T
    chosen: list[int] = [order[0]]
    remaining = set(order[1:])
    max_sim = sims[order[0]].copy()
    while remaining and len(chosen) < k:
        best = max(remaining, key=lambda i: (1 - diversity) * rel[i] - diversity * max_sim[i])
        chosen.append(best)
        remaining.discard(best)
        max_sim = np.maximum(max_sim, sims[best])
    return chosen
