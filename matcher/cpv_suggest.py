"""Suggesting CPV codes for a need's text: buyers often pick wrong or too generic ones.

Two kinds of evidence, each turned into a distribution over codes and then mixed:
- the labels: how close the text is to each code's label (in any of the catalog's languages);
- the neighbours: which codes the most similar known notices carry, weighted by similarity.
Both use softmax weights at a temperature, so a clear winner gets most of the mass and a flat field
spreads it; the mix is the confidence shown to the user.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

LABEL_TEMPERATURE = 0.02
NEIGHBOUR_TEMPERATURE = 0.02
NEIGHBOUR_SHARE = 0.6  # how much the neighbours' vote counts when there are neighbours


@dataclass(frozen=True)
class Neighbour:
    similarity: float
    codes: tuple[str, ...]


@dataclass(frozen=True)
class CpvSuggestion:
    code: str
    confidence: float
    label_similarity: float | None
    neighbour_share: float


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    scaled = (values - values.max()) / temperature
    weights = np.exp(scaled)
    return weights / weights.sum()


def label_distribution(label_scores: Mapping[str, float], temperature: float = LABEL_TEMPERATURE) -> dict[str, float]:
    if not label_scores:
        return {}
    codes = list(label_scores)
    probabilities = _softmax(np.array([label_scores[c] for c in codes], dtype=np.float64), temperature)
    return dict(zip(codes, probabilities.tolist(), strict=True))


def neighbour_distribution(neighbours: Sequence[Neighbour], temperature: float = NEIGHBOUR_TEMPERATURE) -> dict[str, float]:
    """Each neighbour's weight is shared among its codes."""
    usable = [n for n in neighbours if n.codes]
    if not usable:
        return {}
    weights = _softmax(np.array([n.similarity for n in usable], dtype=np.float64), temperature)
    votes: dict[str, float] = defaultdict(float)
    for weight, neighbour in zip(weights, usable, strict=True):
        for code in neighbour.codes:
            votes[code] += float(weight) / len(neighbour.codes)
    return dict(votes)


def suggest_codes(
    label_scores: Mapping[str, float], neighbours: Sequence[Neighbour], *, k: int = 5, neighbour_share: float = NEIGHBOUR_SHARE
) -> list[CpvSuggestion]:
    """The ``k`` most likely codes, best first, with a confidence in [0, 1]."""
    by_label = label_distribution(label_scores)
    by_neighbours = neighbour_distribution(neighbours)
    share = neighbour_share if by_neighbours else 0.0
    if not by_label:
        share = 1.0
    mixed = {
        code: (1 - share) * by_label.get(code, 0.0) + share * by_neighbours.get(code, 0.0)
        for code in set(by_label) | set(by_neighbours)
    }
    best = sorted(mixed, key=lambda c: (-mixed[c], c))[:k]
    return [CpvSuggestion(c, round(mixed[c], 4), label_scores.get(c), round(by_neighbours.get(c, 0.0), 4)) for c in best]
