"""How well a candidate's location fits the need's: same NUTS region, same country, or active there.

Regions are NUTS codes (``NO081`` Oslo, ``SE232`` Västra Götaland): a shared prefix means the
same larger region. Location is evidence, not a filter: a Swedish supplier active in Norway is a
fine match for a Norwegian need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    country: str | None = None
    region: str | None = None
    operating_countries: Sequence[str] = ()
    operating_regions: Sequence[str] = ()
    """NUTS regions served besides its own (a supplier's)."""


@dataclass(frozen=True)
class GeoFit:
    credit: float
    reason: str | None


def _served(location: Location) -> set[str]:
    countries = {c.upper() for c in location.operating_countries}
    return countries | ({location.country.upper()} if location.country else set())


def _region_fit(q: str, c: str, served: bool) -> GeoFit | None:
    q, c = q.upper(), c.upper()
    if q == c:
        return GeoFit(1.0, f"serves the region ({c})" if served else f"same region ({c})")
    for length, credit in ((4, 0.8), (3, 0.65)):
        if len(q) >= length and len(c) >= length and q[:length] == c[:length]:
            return GeoFit(credit, f"serves a nearby region ({c} and {q})" if served else f"nearby region ({c} and {q})")
    return None


def _best_region_fit(query: Location, candidate: Location) -> GeoFit | None:
    """The closest of one side's regions (its own, then those it serves) to the other's own region."""
    pairs = [(query.region, candidate.region, False)]
    pairs += [(query.region, r, True) for r in candidate.operating_regions]
    pairs += [(r, candidate.region, True) for r in query.operating_regions]
    fits = [fit for q, c, served in pairs if q and c and (fit := _region_fit(q, c, served)) is not None]
    return max(fits, key=lambda fit: fit.credit, default=None)


def geo_fit(query: Location, candidate: Location) -> GeoFit:
    """Credit in [0, 1] and a short reason; symmetric, and neutral (0) when a side has no location."""
    fit = _best_region_fit(query, candidate)
    if fit is not None:
        return fit
    if query.country and candidate.country and query.country.upper() == candidate.country.upper():
        return GeoFit(0.5, f"same country ({candidate.country.upper()})")
    if query.country and query.country.upper() in _served(candidate):
        return GeoFit(0.5, f"active in {query.country.upper()}")
    if candidate.country and candidate.country.upper() in _served(query):
        return GeoFit(0.5, f"active in {candidate.country.upper()}")
    return GeoFit(0.0, None)
