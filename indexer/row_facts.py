"""What ranking needs of a row besides its vectors: its CPV codes and where it is.

Kept in memory beside the indexes (derived from the database like them, and updated with them) so
a shortlist ranks its ~130 candidates without loading them from the database, and reads only the
rows it returns. Loading the candidates was the largest share of a shortlist's database time.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matcher.geography import Location
from matcher.track_record import AwardFact, award_fact


@dataclass(frozen=True, slots=True)
class RowFacts:
    revision: int
    cpv_codes: tuple[str, ...]
    location: Location
    private: bool = False
    """The row's vector also holds text only its owner may read (a supplier's private description): it
    is matched on, but is no evidence for anything shown to others (e.g. CPV suggestions)."""
    awards: tuple[AwardFact, ...] = ()
    """A supplier's won contracts (CPV groups and dates), for its track record in a need's field."""


def cpv_codes_of(row: Any) -> tuple[str, ...]:
    """Declared codes and, for suppliers, those of contracts won."""
    return tuple(getattr(row, "all_cpv_codes", None) or row.cpv_codes)


def location_of(row: Any) -> Location:
    return Location(
        row.country,
        row.region,
        tuple(getattr(row, "operating_countries", ()) or ()),
        tuple(getattr(row, "operating_regions", ()) or ()),
    )


def _shared(value: str | None) -> str | None:
    return sys.intern(value) if value else value


def awards_of(evidence: Sequence[Any]) -> tuple[AwardFact, ...]:
    """Won contracts as ranking keeps them; CPV groups interned like the codes."""
    facts = (award_fact(e.cpv_codes or (), e.awarded_on) for e in evidence)
    return tuple(AwardFact(tuple(sys.intern(g) for g in f.groups), f.awarded_on) for f in facts)


def row_facts(row: Any, evidence: Sequence[Any] = ()) -> RowFacts:
    """Codes and places are interned: 100,000 rows repeat a few thousand of them."""
    location = location_of(row)
    return RowFacts(
        row.revision,
        tuple(sys.intern(c) for c in cpv_codes_of(row)),
        Location(
            _shared(location.country),
            _shared(location.region),
            tuple(sys.intern(c) for c in location.operating_countries),
            tuple(sys.intern(r) for r in location.operating_regions),
        ),
        bool((getattr(row, "private_description", None) or "").strip()),
        awards_of(evidence),
    )
