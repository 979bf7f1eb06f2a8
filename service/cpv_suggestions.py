"""CPV codes for a need's text, from the labels and from the codes of the nearest known notices
(stored needs, and supplier profiles with the codes of contracts they won).

Neighbours come from public text only: a supplier whose vector also holds its private description is
never a neighbour, or its codes would tell any reader what its private text is about (suppliers read
suggestions too, for their own profiles)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.cpv_suggest import Neighbour, suggest_codes
from service.container import Services

NEIGHBOURS_PER_SIDE = 10
OVERFETCH = 3  # nearest rows searched per neighbour kept, so rows with private text can be skipped
# A suggested code stands in for a need's missing CPV codes only when the evidence for it is this clear.
CONFIDENT = 0.3


@dataclass(frozen=True)
class SuggestedCpv:
    code: str
    label: str | None
    confidence: float
    label_similarity: float | None
    neighbour_share: float


def suggest_cpv(
    services: Services, text: str, *, k: int = 5, lang: str = "en", nearest_suppliers: list[Neighbour] | None = None
) -> list[SuggestedCpv]:
    """``nearest_suppliers``, when the caller has just searched them (a shortlist), saves a search: public
    rows only (see the module's note)."""
    vector = services.query_vector(text)
    neighbours: list[Neighbour] = list((nearest_suppliers or [])[:NEIGHBOURS_PER_SIDE])
    for side in (services.needs, services.suppliers):
        if side is services.suppliers and nearest_suppliers is not None:
            continue
        nearest = side.nearest(vector, NEIGHBOURS_PER_SIDE * OVERFETCH)
        public = [Neighbour(float(sim), f.cpv_codes) for f, sim in nearest if not f.private]
        neighbours += public[:NEIGHBOURS_PER_SIDE]
    suggestions = suggest_codes(services.cpv_labels.scores(vector), neighbours, k=k)
    return [
        SuggestedCpv(s.code, services.catalog.label(s.code, lang), s.confidence, s.label_similarity, s.neighbour_share)
        for s in suggestions
    ]


def confident_codes(
    services: Services, text: str, *, at_most: int = 2, nearest_suppliers: list[Neighbour] | None = None
) -> tuple[str, ...]:
    """Suggested codes clear enough to stand in for a need's missing CPV codes."""
    suggestions = suggest_cpv(services, text, k=at_most, nearest_suppliers=nearest_suppliers)
    return tuple(s.code for s in suggestions if s.confidence >= CONFIDENT)
