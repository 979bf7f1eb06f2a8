"""Market readiness: does a market exist for a need? How many suppliers match it well, and who are
they by country, region, size and CPV group.

"Match well" means a fused score (matcher/fusion.py) at or above a threshold. Fused scores are not
probabilities, so the default threshold is calibrated on hand-judged pairs, not guessed: it is the
score that best separates the sample's judged-relevant suppliers from the rest (highest F1 over the
best 300 suppliers of each of the 64 sample needs). With the weights learned from award history (issue
17) 0.40 gives precision 0.43 and recall 0.63, F1 0.51; 0.38–0.44 all lie within 0.015 of it; the
hand-set weights had their best at 0.42 (`matchmaker bench sample`, bench/results/sample_quality.md).
It is a setting (``MATCHMAKER_READINESS_THRESHOLD``) because another model or weights move the scale.

The verdict's bands follow the programme's practice for a market dialogue: fewer than 3 capable
suppliers means too little competition to expect a tender to work; 10 or more is a market.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.40
THIN_MARKET = 3
MARKET = 10
SME_SIZES = frozenset({"micro", "small", "medium"})
SIZE_ORDER = ("micro", "small", "medium", "large", "unknown")


@dataclass(frozen=True)
class MatchedSupplier:
    score: float
    country: str | None
    region: str | None
    size: str | None
    cpv_codes: Sequence[str]


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    count: int
    share: float  # of the matching suppliers


@dataclass(frozen=True)
class Readiness:
    threshold: float
    considered: int
    matching: int
    capped: bool  # every supplier considered matched: there may be more beyond the pool
    verdict: str
    sme_share: float | None  # among matching suppliers whose size is known
    by_country: list[Group]
    by_region: list[Group]
    by_size: list[Group]
    by_cpv_division: list[Group]


def verdict(matching: int, capped: bool) -> str:
    if matching == 0:
        return "no market found: no supplier matches well"
    if matching < THIN_MARKET:
        return "thin market: fewer than 3 suppliers match well"
    if matching < MARKET:
        return "emerging market: 3 to 9 suppliers match well"
    return "a market exists: " + ("at least " if capped else "") + f"{matching} suppliers match well"


def _groups(counts: Counter[str], total: int, label: Callable[[str], str], order: Sequence[str] = ()) -> list[Group]:
    keys = [k for k in order if k in counts] if order else sorted(counts, key=lambda k: (-counts[k], k))
    return [Group(k, label(k), counts[k], counts[k] / total if total else 0.0) for k in keys]


def market_readiness(
    matches: Sequence[MatchedSupplier],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    capped_at: int | None = None,
    division_label: Callable[[str], str | None] = lambda _code: None,
) -> Readiness:
    """Readiness from the best-scored suppliers of a need (``capped_at``: the pool's size limit)."""
    good = [m for m in matches if m.score >= threshold]
    n = len(good)
    capped = capped_at is not None and len(matches) >= capped_at and n == len(matches)
    countries = Counter(m.country or "unknown" for m in good)
    regions = Counter(m.region[:4] if m.region else (m.country or "") + " (no region)" for m in good)
    sizes = Counter(m.size or "unknown" for m in good)
    divisions: Counter[str] = Counter()
    for m in good:
        divisions.update({code[:2] for code in m.cpv_codes if code})
    known_size = [m for m in good if m.size]
    sme = sum(1 for m in known_size if m.size in SME_SIZES) / len(known_size) if known_size else None
    return Readiness(
        threshold=threshold,
        considered=len(matches),
        matching=n,
        capped=capped,
        verdict=verdict(n, capped),
        sme_share=sme,
        by_country=_groups(countries, n, str),
        by_region=_groups(regions, n, str),
        by_size=_groups(sizes, n, str, SIZE_ORDER),
        by_cpv_division=_groups(divisions, n, lambda d: division_label(d) or f"division {d}"),
    )
