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

Why these numbers: they are in units of the dense score's spread. Language-neutral cosines of a
query's top 50 candidates have a standard deviation of about 0.064 (raw e5: 0.015; measured once on
the UK award data), so full lexical coverage or an exact CPV match (0.16 each) is worth about 2.5
standard deviations of meaning, and location 0.04 breaks ties. History, for honesty: the first
defaults (0.04/0.04/0.01) were reasoned on the raw e5 scale; once language-neutral vectors widened the
spread they were scaled by the measured factor (≈ 4; an unsupervised statistic, no labels). Sample
data recall@10 went 0.77 → 0.84; the real UK awards (cleaned slice) 0.70 → 0.69, i.e. unchanged within
noise (bench/results/quality.md, bench/results/sample_quality.md).
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
