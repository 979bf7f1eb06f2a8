"""How the evidence is weighed: the one place where fusion weights live.

score = dense · cosine(query, profile)      (language-neutral vectors, see indexer/language_neutral.py)
      + lexical · BM25 / BM25 upper bound of this query (the sum of its terms' IDFs)
      + cpv · credit of the deepest shared CPV level (division 0.25 … exact 1.0)
      + geography · location credit (same region 1.0 … active in the country 0.5)

Why additive, with the dense score leading: a cross-lingual pair shares no words, so lexical
evidence must reorder near-ties (product names, acronyms, standards), never bury a translated match.
Reciprocal-rank fusion with BM25 gives the lexical list as much say as the dense one and pushed
cross-lingual matches down in trials (MRR 0.80 → 0.68). Lexical evidence is the share of the
query's distinctive vocabulary a profile covers: one common word such as "electric" out of ten query
terms earns a few percent, not the full credit that normalising by the best hit would give.

Why these numbers: they are learned from award history (bench/fusion_learning.py, issue 17). For each
year 2017-2021 the suppliers are profiled from the awards before 1 January of that year, every notice
of the year is matched as the service would match it, and a linear model (scikit-learn; pointwise or
pairwise logistic loss, four strengths) learns from who won; the model and the feature set (with or
without the track record) are chosen on 2022; the test years (2023 on) are only scored. The result is
stated in units of the dense weight, so scores keep the scale the readiness threshold and the pages'
bars were set on: lexical coverage 0.60, CPV 0.17, log(1 + contracts in the field) 0.04, recency 0.13
(matcher/learned_weights.py, written by ``matchmaker bench quality --write-weights``). Geography stays
at the hand-set 0.04: the award data holds no supplier locations to learn it from. A fit that gives
meaning no positive weight is never chosen (cross-lingual matches share no words). On the later UK
needs the learned weights lift recall@10 on the cleaned slice 0.659 -> 0.709 and on new entrants 0.358
-> 0.433 (inside the intervals); the hand-set weights (1/0.16/0.16/0.04, units of the dense spread,
an unsupervised statistic) stay as HAND_SET_WEIGHTS for the benchmarks' side-by-side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from matcher.learned_weights import LEARNED


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    lexical: float = 0.16
    cpv: float = 0.16
    geography: float = 0.04
    group_awards: float = 0.0
    recent_award: float = 0.0


HAND_SET_WEIGHTS = FusionWeights()
"""The weights set by hand until issue 17 (see above); kept as the benchmarks' side-by-side baseline."""


@dataclass(frozen=True)
class ScoreComponents:
    """Each piece of evidence on its own scale (all in [0, 1] except dense cosine in [-1, 1] and
    ``group_awards``, log(1 + contracts won in the need's CPV groups); see matcher/track_record.py)."""

    dense: float
    lexical: float
    cpv: float
    geography: float
    group_awards: float = 0.0
    recent_award: float = 0.0

    def total(self, weights: FusionWeights | None = None) -> float:
        w = weights or DEFAULT_WEIGHTS
        return (
            w.dense * self.dense
            + w.lexical * self.lexical
            + w.cpv * self.cpv
            + w.geography * self.geography
            + w.group_awards * self.group_awards
            + w.recent_award * self.recent_award
        )

    def shares(self, weights: FusionWeights | None = None) -> dict[str, float]:
        """Each component's weighted part of the score: what the explanation shows."""
        w = weights or DEFAULT_WEIGHTS
        return {name: round(getattr(w, name) * value, 4) for name, value in asdict(self).items()}

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


def normalise_lexical(raw: float, bound: float) -> float:
    """BM25 as a share of the query's upper bound, in [0, 1]."""
    return min(raw / bound, 1.0) if bound > 0 else 0.0


DEFAULT_WEIGHTS = FusionWeights(**LEARNED)
"""Learned from award history (matcher/learned_weights.py, written by ``matchmaker bench quality --write-weights``)."""
