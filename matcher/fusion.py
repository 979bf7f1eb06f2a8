"""How the evidence is weighed: the one place where fusion weights live.

score = dense · cosine(query, profile)
      + lexical · BM25 / BM25 upper bound of this query (the sum of its terms' IDFs)
      + cpv · credit of the deepest shared CPV level (division 0.25 … exact 1.0)
      + geography · location credit (same region 1.0 … active in the country 0.5)

Why additive with a small lexical weight: multilingual-e5 cosines of relevant and irrelevant
profiles differ by only a few hundredths, and a cross-lingual pair shares no words. Reciprocal-rank
fusion with BM25 gives the lexical list as much say as the dense one and pushed cross-lingual
matches down in trials (MRR 0.80 → 0.68). Here lexical evidence is the share of the query's
distinctive vocabulary a profile covers (one common word such as "electric" out of ten query terms
earns a few percent, not full credit as normalising by the best hit would give), and full coverage
is worth ``lexical`` cosine points: enough to reorder near-ties (product names, acronyms), not to
bury a translated match. The defaults are round numbers set before any tuning; on the sample data
CPV evidence adds recall (dense 0.72 → dense + CPV 0.78 recall@10) while lexical and location
evidence are neutral there, as that sample was written to share few words across languages and its
judgements ignore location (bench/results/sample_quality.md). Tuning belongs on real outcomes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    lexical: float = 0.04
    cpv: float = 0.04
    geography: float = 0.01


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
