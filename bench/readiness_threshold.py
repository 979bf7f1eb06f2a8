"""Where market readiness draws its line: the fused score that best separates the sample's judged
relevant suppliers from the rest (highest F1 over every scored need–supplier pair).

Part of ``matchmaker bench sample``; the default in matcher/readiness.py comes from its table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service import readiness, shortlists
from service.container import Services

GRID = np.round(np.arange(0.20, 0.701, 0.02), 2)


def scored_pairs(services: Services, judgements: dict[str, set[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Scores of each need's best suppliers (the readiness pool) and whether each was judged relevant."""
    scores, relevant = [], []
    for need_id, wanted in judgements.items():
        _need, results = shortlists.suppliers_for_need(services, need_id, k=readiness.POOL, explain=False)
        scores += [r.score for r in results]
        relevant += [r.row.id in wanted for r in results]
    return np.asarray(scores), np.asarray(relevant, dtype=bool)


def threshold_table(
    scores: np.ndarray, relevant: np.ndarray, grid: Sequence[float] = tuple(GRID)
) -> tuple[list[list[object]], float]:
    """Precision, recall and F1 of "score ≥ t" for each t, and the t with the best F1."""
    rows, best, best_f1 = [], float(grid[0]), -1.0
    total_relevant = int(relevant.sum())
    for t in grid:
        above = scores >= t
        hits = int((above & relevant).sum())
        precision = hits / int(above.sum()) if above.any() else 0.0
        recall = hits / total_relevant if total_relevant else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best, best_f1 = float(t), f1
        rows.append([f"{t:.2f}", int(above.sum()), f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
    return rows, best
