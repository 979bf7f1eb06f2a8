"""Fusion weights learned from award history: fit on the years before the validation year, choose the
model on the validation year, and only then look at the test years.

A linear model on the score components, so the learned weights are ``FusionWeights`` and an explanation
still shows each component's share. Two fits are tried, both from scikit-learn: pointwise logistic
regression (won / did not win) and pairwise (the winner's components minus each other candidate's, as in
RankSVM, with a logistic loss), each at several regularisation strengths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.award_history import NeedCandidates
from bench.metrics import standard_metrics
from matcher.fusion import HAND_SET_WEIGHTS, FusionWeights

STRENGTHS = (0.01, 0.1, 1.0, 10.0)
K = 10


@dataclass(frozen=True)
class LinearRanker:
    """Weights per feature; the score is their dot product with a candidate's features."""

    name: str
    weights: dict[str, float]

    def score(self, features: dict[str, float]) -> float:
        return sum(w * features.get(f, 0.0) for f, w in self.weights.items())

    def per_dense(self) -> dict[str, float]:
        """The weights in units of the dense weight, as FusionWeights state them: the ranking is the same,
        and scores keep the scale the readiness threshold and the pages' bars were set on."""
        dense = self.weights.get("dense", 0.0)
        if dense <= 0:
            raise ValueError(f"{self.name}: without a positive weight on meaning there is no dense unit")
        return {f: w / dense for f, w in self.weights.items()}


def _matrix(needs: Sequence[NeedCandidates], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rows, labels, groups = [], [], []
    for g, need in enumerate(needs):
        for c in need.candidates:
            rows.append([c.features[n] for n in names])
            labels.append(int(c.won))
            groups.append(g)
    return np.asarray(rows, dtype=np.float64), np.asarray(labels), groups


def fit_pointwise(needs: Sequence[NeedCandidates], names: Sequence[str], strength: float) -> LinearRanker:
    x, y, _ = _matrix(needs, names)
    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=5000).fit(x, y)
    return LinearRanker(f"pointwise C={strength}", dict(zip(names, model.coef_[0].tolist(), strict=True)))


def fit_pairwise(needs: Sequence[NeedCandidates], names: Sequence[str], strength: float) -> LinearRanker:
    """Each (winner, other candidate) pair of a need, in both orders, so the intercept stays zero."""
    diffs = []
    for need in needs:
        won = [np.array([c.features[n] for n in names]) for c in need.candidates if c.won]
        lost = [np.array([c.features[n] for n in names]) for c in need.candidates if not c.won]
        diffs += [w - other for w in won for other in lost]
    if not diffs:
        raise ValueError("no need has a winner among its candidates")
    x = np.vstack(diffs + [-d for d in diffs])
    y = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    model = LogisticRegression(C=strength, fit_intercept=False, max_iter=5000).fit(x, y)
    return LinearRanker(f"pairwise C={strength}", dict(zip(names, model.coef_[0].tolist(), strict=True)))


def ranked_ids(need: NeedCandidates, score: Callable[[dict[str, float]], float]) -> list[str]:
    ordered = sorted(need.candidates, key=lambda c: (-score(c.features), c.supplier_id))
    return [c.supplier_id for c in ordered]


def evaluate(needs: Sequence[NeedCandidates], score: Callable[[dict[str, float]], float]) -> dict[str, list[float]]:
    """Per-need metrics; a winner outside the candidate pool counts as missed."""
    metrics = standard_metrics(K)
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for need in needs:
        ranked = ranked_ids(need, score)
        for m, fn in metrics.items():
            values[m].append(fn(ranked, set(need.relevant)))
    return values


def choose(
    train: Sequence[NeedCandidates], validation: Sequence[NeedCandidates], feature_sets: Sequence[Sequence[str]]
) -> tuple[LinearRanker, float]:
    """The fit (features, loss, strength) with the best validation MRR, recall@10 breaking ties: MRR
    sees every rank, so it is steadier than recall@10 on a few dozen needs. A fit that gives meaning no
    positive weight is never chosen: cross-lingual matches share no words, and only meaning finds them."""
    best: tuple[float, float, LinearRanker] | None = None
    for names in feature_sets:
        for fit in (fit_pointwise, fit_pairwise):
            for strength in STRENGTHS:
                ranker = fit(train, names, strength)
                if ranker.weights.get("dense", 0.0) <= 0:
                    continue
                values = evaluate(validation, ranker.score)
                key = (float(np.mean(values["MRR"])), float(np.mean(values[f"recall@{K}"])))
                if best is None or key > best[:2]:
                    best = (*key, ranker)
    if best is None:
        raise ValueError("no fit gave meaning a positive weight")
    return best[2], best[0]


@dataclass(frozen=True)
class Learned:
    ranker: LinearRanker
    fit_years: tuple[int, ...]
    validation_year: int
    fit_needs: int
    validation_needs: int
    validation_mrr: float


def learn(
    by_year: Mapping[int, Sequence[NeedCandidates]], validation_year: int, feature_sets: Sequence[Sequence[str]]
) -> Learned:
    """Fit on every year before ``validation_year``, choose on it; later years are never read."""
    fit_years = tuple(sorted(y for y in by_year if y < validation_year))
    train = [n for y in fit_years for n in by_year[y]]
    validation = list(by_year[validation_year])
    ranker, mrr = choose(train, validation, feature_sets)
    return Learned(ranker, fit_years, validation_year, len(train), len(validation), mrr)


def served_weights(ranker: LinearRanker) -> FusionWeights:
    """The ranker as the service's weights: in units of the dense weight, rounded to four places;
    geography hand-set (the award data holds no supplier locations to learn it from)."""
    learned = {name: round(w, 4) for name, w in ranker.per_dense().items() if name in FusionWeights.__dataclass_fields__}
    learned["geography"] = HAND_SET_WEIGHTS.geography
    zero = dict.fromkeys(FusionWeights.__dataclass_fields__, 0.0)
    return FusionWeights(**(zero | learned))


def write_weights(learned: Learned, path: Path, *, model: str) -> FusionWeights:
    """Write the served weights as matcher/learned_weights.py, with where they came from."""
    weights = served_weights(learned.ranker)
    values = "".join(f'    "{name}": {value!r},\n' for name, value in asdict(weights).items())
    features = ", ".join(learned.ranker.weights)
    path.write_text(
        f'''"""Fusion weights learned from award history. Generated by `matchmaker bench quality --write-weights`; do not edit.

UK Contracts Finder (Lancashire) awards: fit on {learned.fit_needs} needs of {learned.fit_years[0]}-{learned.fit_years[-1]}
(profiles from awards before 1 January of each need's year), chosen on {learned.validation_needs} needs of
{learned.validation_year} (validation MRR {learned.validation_mrr:.3f}); {learned.ranker.name} on
{features}.
Model: {model}. In units of the dense weight; geography hand-set.
"""

LEARNED = {{
{values}}}
''',
        encoding="utf-8",
    )
    return weights
