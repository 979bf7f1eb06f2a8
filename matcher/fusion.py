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


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    lexical: float = 0.16
    cpv: float = 0.16
    geography: float = 0.04


DEFAULT_WEIGHTS = FusionWeights()


@dataclass(frozen=True)
class ScoreComponents:
    """Each piece of evidence on its own scale (all in [0, 1] except dense cosine in [-1, 1])."""

    dense: float
    lexical: float
    cpv: float
    geography: float

    def total(self, weights: FusionWeights = DEFAULT_WEIGHTS) -> float:
        return (
            weights.dense * self.dense
            + weights.lexical * self.lexical
            + weights.cpv * self.cpv
            + weights.geography * self.geography
        )

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


def normalise_lexical(raw: float, bound: float) -> float:
    """BM25 as a share of the query's upper bound, in [0, 1]."""
    return min(raw / bound, 1.0) if bound > 0 else 0.0
