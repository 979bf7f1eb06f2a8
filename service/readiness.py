"""Market readiness of a stored need: its best-scored suppliers, counted and split (matcher/readiness.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matcher.readiness import MatchedSupplier, Readiness, market_readiness
from service import shortlists
from service.container import Services

POOL = 300
"""Suppliers scored per need. Counts reaching it are reported as "at least"."""


def readiness_for_need(services: Services, need_id: str, *, threshold: float | None = None) -> tuple[Any, Readiness]:
    need, results = shortlists.suppliers_for_need(services, need_id, k=POOL, explain=False)
    return need, readiness_of(services, results, threshold=threshold)


def readiness_for_draft(services: Services, values: dict[str, Any]) -> Readiness:
    """A need not stored (a buyer's draft), counted exactly as it would be once saved."""
    return readiness_of(services, shortlists.suppliers_for_record(services, values, k=POOL, explain=False))


def readiness_of(services: Services, results: Sequence[shortlists.MatchResult], *, threshold: float | None = None) -> Readiness:
    """The readiness figures of a need's ``POOL`` best-scored suppliers."""
    matches = [MatchedSupplier(r.score, r.row.country, r.row.region, r.row.size, r.row.all_cpv_codes) for r in results]
    return market_readiness(
        matches,
        threshold=services.readiness_threshold if threshold is None else threshold,
        capped_at=POOL,
        division_label=lambda division: services.catalog.label(division + "000000"),
    )
