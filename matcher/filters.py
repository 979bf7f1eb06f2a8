"""Hard filters on a shortlist. They are applied exactly before ranking (from each process's copy of the
filterable fields, indexer/filter_index.py, with the store's SQL as the reference), never by over-fetching
and hoping; this module holds their meaning so every layer agrees on it.

:meth:`MatchFilters.build` is the one validation of filters for every route, page and command: a
value no record can carry ("NOR", "%") would otherwise match nothing, or, in a SQL ``LIKE``, everything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matcher.countries import country_code, nuts_code
from matcher.cpv import prefix_of

SIZES = ("micro", "small", "medium", "large")
NEED_STATUSES = ("planning", "open", "closed")


@dataclass(frozen=True)
class MatchFilters:
    """Every given list is an OR of allowed values; different fields are ANDed."""

    cpv_prefixes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        cpv: Sequence[str] = (),
        countries: Sequence[str] = (),
        regions: Sequence[str] = (),
        sizes: Sequence[str] = (),
        statuses: Sequence[str] = (),
    ) -> MatchFilters:
        """Normalise user input; raises ``ValueError`` naming the field and the bad value."""
        for size in sizes:
            if size not in SIZES:
                raise ValueError(f"size '{size}' is not one of {', '.join(SIZES)}")
        for status in statuses:
            if status not in NEED_STATUSES:
                raise ValueError(f"status '{status}' is not one of {', '.join(NEED_STATUSES)}")
        return cls(
            cpv_prefixes=tuple(dict.fromkeys(_checked("cpv", prefix_of, c) for c in cpv)),
            countries=tuple(dict.fromkeys(_checked("country", country_code, c) for c in countries if c.strip())),
            regions=tuple(dict.fromkeys(_checked("region", nuts_code, r) for r in regions if r.strip())),
            sizes=tuple(dict.fromkeys(sizes)),
            statuses=tuple(dict.fromkeys(statuses)),
        )

    @property
    def active(self) -> bool:
        return bool(self.cpv_prefixes or self.countries or self.regions or self.sizes or self.statuses)

    def admits(
        self,
        *,
        cpv_codes: Sequence[str],
        country: str | None,
        region: str | None,
        operating_countries: Sequence[str] = (),
        size: str | None = None,
        status: str | None = None,
    ) -> bool:
        """The reference semantics, which the store's SQL must reproduce."""
        if self.cpv_prefixes and not any(c.startswith(p) for c in cpv_codes for p in self.cpv_prefixes):
            return False
        if self.countries:
            present = {c.upper() for c in operating_countries} | ({country.upper()} if country else set())
            if not present & set(self.countries):
                return False
        if self.regions and not (region and any(region.upper().startswith(r) for r in self.regions)):
            return False
        if self.sizes and size not in self.sizes:
            return False
        return not (self.statuses and status not in self.statuses)


def _checked(field: str, normalise: Callable[[str], str], raw: str) -> str:
    try:
        return normalise(raw)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from exc
