"""The invitation list of a need: the suppliers advisers marked, with their score and why."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from service import shortlists
from service.container import Services
from service.feedback import marks_for_need

COLUMNS = (
    "name", "id", "country", "region", "size", "website", "score", "why", "mark", "marked_by", "marked_at",
)  # fmt: skip


def supplier_columns(supplier: Any) -> dict[str, str]:
    """Who the supplier is, as every invitation list shows it."""
    return {
        "name": supplier.name or "",
        "id": supplier.id,
        "country": supplier.country or "",
        "region": supplier.region or "",
        "size": supplier.size or "",
        "website": supplier.website or "",
    }


def invitation_rows(services: Services, need_id: str, marks: Collection[str] = ("invited",)) -> list[dict[str, Any]]:
    """One row per marked supplier, best score first."""
    chosen = {m.supplier.key: m for m in marks_for_need(services, need_id) if m.mark in marks}
    scored = shortlists.given_suppliers_for_need(services, need_id, list(chosen))
    rows = []
    for result in scored:
        supplier, mark = result.row, chosen[result.row.key]
        rows.append(
            {
                **supplier_columns(supplier),
                "score": f"{result.score:.4f}",
                "why": result.explanation.summary() if result.explanation else "",
                "mark": mark.mark,
                "marked_by": mark.adviser,
                "marked_at": mark.at.isoformat(timespec="seconds"),
            }
        )
    return rows
