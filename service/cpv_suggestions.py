"""CPV codes for a need's text, from the labels and from the codes of the nearest known notices
(stored needs, and supplier profiles with the codes of contracts they won).

Neighbours come from public text only: a supplier whose vector also holds its private description is
never a neighbour, or its codes would tell any reader what its private text is about (suppliers read
suggestions too, for their own profiles)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.cpv_suggest import NEIGHBOURS, CpvSuggestion, Neighbour, suggest_codes
from service.container import Services

NEIGHBOURS_PER_SIDE = NEIGHBOURS
OVERFETCH = 3  # nearest rows searched per neighbour kept, so rows with private text can be skipped
# A suggested code stands in for a need's missing CPV codes only when the nearest notices put at least
# CONFIDENT of their weight on its group and the labels at least LABEL_SUPPORT of theirs (what each share
# says: matcher/cpv_suggest.py). Chosen on the tuning titles only (bench/cpv_titles.py, ``tuned_rule``): of
# CONFIDENT 0.30–0.60 by 0.05 and LABEL_SUPPORT 0, 0.05, 0.1, 0.15, 0.2, 0.3, the pair giving the most titles
# a code among those whose codes shared the main code's group at least 85 % of the time on each tuning slice
# (a margin for the 80 % asked of new titles): there Doffin 0.87 (52 codes, 6 % of the titles), UK 0.93 (14
# codes, 3 %); the neighbours' share alone at 0.45 was right 0.88 and 0.73 of the time. On the later titles
# it never saw: Doffin 0.86 (28 codes, 7 % of the titles), UK 0.82 (87, 17 %), UK less near-repeats 0.86
# (56, 13 %). The rule before issue 17 (mixed confidence >= 0.3) gave codes to 36–65 % of the titles and
# was right 0.32–0.47 of the time (bench/results/cpv.md).
CONFIDENT = 0.45
LABEL_SUPPORT = 0.05


@dataclass(frozen=True)
class SuggestedCpv:
    code: str
    label: str | None
    confidence: float
    label_similarity: float | None
    neighbour_share: float
    neighbour_group_share: float
    label_group_share: float


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
        SuggestedCpv(
            s.code,
            services.catalog.label(s.code, lang),
            s.confidence,
            s.label_similarity,
            s.neighbour_share,
            s.neighbour_group_share,
            s.label_group_share,
        )
        for s in suggestions
    ]


def confident_codes(
    services: Services, text: str, *, at_most: int = 2, nearest_suppliers: list[Neighbour] | None = None
) -> tuple[str, ...]:
    """Suggested codes clear enough to stand in for a need's missing CPV codes: of the best ``at_most``
    (each of another group), those ``is_confident`` keeps."""
    suggestions = suggest_cpv(services, text, k=at_most, nearest_suppliers=nearest_suppliers)
    return tuple(s.code for s in suggestions if is_confident(s))


def is_confident(
    suggestion: SuggestedCpv | CpvSuggestion, *, neighbours_at_least: float = CONFIDENT, labels_at_least: float = LABEL_SUPPORT
) -> bool:
    """Most of the nearest notices' weight on the code's group, and the labels not against it."""
    return suggestion.neighbour_group_share >= neighbours_at_least and suggestion.label_group_share >= labels_at_least
