"""A supplier's track record for a need: how many contracts it won in the need's CPV groups, and how
recently. Award history says it matters (weights learned in bench/fusion_learning.py); it is about the
work, never about the buyer: who won from *this* buyer is not evidence here (equal treatment).

Scales, fixed so learned weights keep their meaning: ``group_awards`` is log(1 + n) (the fifth contract
in a field says less than the first); ``recent_award`` is exp(-years / RECENCY_YEARS) since the latest
one (1.0 for one won this year, 0.37 at two years, 0 for none).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RECENCY_YEARS = 2.0
GROUP_DIGITS = 3


@dataclass(frozen=True, slots=True)
class AwardFact:
    """What ranking keeps of one won contract: its CPV groups and when it was awarded."""

    groups: tuple[str, ...]
    awarded_on: dt.date | None


@dataclass(frozen=True)
class TrackRecord:
    awards: int  # won contracts sharing a CPV group with the need
    latest: dt.date | None
    group_awards: float
    recent_award: float

    def reason(self) -> str | None:
        """ "won 3 contracts in the need's CPV groups (latest 2021)", or None without any."""
        if not self.awards:
            return None
        noun = "contract" if self.awards == 1 else "contracts"
        when = f" (latest {self.latest.year})" if self.latest else ""
        return f"won {self.awards} {noun} in the need's CPV groups{when}"


NO_RECORD = TrackRecord(0, None, 0.0, 0.0)


def award_fact(cpv_codes: Iterable[str], awarded_on: dt.date | None) -> AwardFact:
    return AwardFact(tuple(dict.fromkeys(c[:GROUP_DIGITS] for c in cpv_codes if len(c) >= GROUP_DIGITS)), awarded_on)


def track_record(need_codes: Iterable[str], awards: Sequence[AwardFact], on: dt.date | None) -> TrackRecord:
    """The record of ``awards`` for a need with ``need_codes``, as of the day ``on`` (None: no decay, the
    latest award counts as current). Awards dated after ``on`` are not known yet and do not count."""
    groups = {c[:GROUP_DIGITS] for c in need_codes if len(c) >= GROUP_DIGITS}
    if not groups or not awards:
        return NO_RECORD
    known = [a for a in awards if on is None or a.awarded_on is None or a.awarded_on <= on]
    relevant = [a for a in known if groups.intersection(a.groups)]
    if not relevant:
        return NO_RECORD
    latest = max((a.awarded_on for a in relevant if a.awarded_on), default=None)
    if latest is None:
        recency = 0.0
    else:
        years = max(((on or latest) - latest).days, 0) / 365.25
        recency = math.exp(-years / RECENCY_YEARS)
    return TrackRecord(len(relevant), latest, math.log1p(len(relevant)), recency)
