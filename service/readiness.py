"""Market readiness of a stored need: its best-scored suppliers, counted and split (matcher/readiness.py)."""

from __future__ import annotations

from typing import Any

from matcher.readiness import MatchedSupplier, Readiness, market_readiness
from service import shortlists
from service.container import Services

POOL = 300
"""Suppliers scored per need. Counts reaching it are reported as "at least"."""


def readiness_for_need(services: Services, need_id: str, *, threshold: float | None = None) -> tuple[Any, Readiness]:
    need, results = shortlists.suppliers_for_need(services, need_id, k=POOL, explain=False)
    matches = [MatchedSupplier(r.score, r.row.country, r.row.region, r.row.size, r.row.all_cpv_codes) for r in results]
    readiness = market_readiness(
        matches,
        threshold=services.readiness_threshold if threshold is None else threshold,
        capped_at=POOL,
        division_label=lambda division: services.catalog.label(division + "000000"),
    )
    return need, readiness
