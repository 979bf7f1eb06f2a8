"""The record of each need's market dialogue: shortlists served, marks given, lists exported.

Written in the same transaction as what it records, where there is one, so neither exists alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.access import Principal
from store.db import session_scope
from store.trust_models import AuditEvent

COLUMNS = ("at", "need_id", "action", "actor", "role", "details")


def add_event(session: Session, need_id: str, action: str, principal: Principal, details: dict[str, Any]) -> None:
    session.add(AuditEvent(need_id=need_id, action=action, actor=principal.who, role=principal.role or "", details=details))


def add_service_event(session: Session, need_id: str, action: str, details: dict[str, Any], *, actor: str) -> None:
    """What the service did by itself (e.g. telling suppliers about the need), named as such."""
    session.add(AuditEvent(need_id=need_id, action=action, actor=actor, role="service", details=details))


def record(engine: Engine, need_id: str, action: str, principal: Principal, details: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        add_event(session, need_id, action, principal, details)


def shortlist_details(filters: dict[str, Any], k: int, diversity: float, results: Sequence[Any]) -> dict[str, Any]:
    """What an adviser was shown: enough to show later that every supplier was treated alike."""
    return {
        "filters": {name: list(values) for name, values in filters.items() if values},
        "k": k,
        "diversity": diversity,
        "shown": [{"rank": r.rank, "supplier_id": r.row.id, "score": round(r.score, 4)} for r in results],
    }


def events_for(engine: Engine, need_id: str) -> list[AuditEvent]:
    with Session(engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.need_id == need_id).order_by(col(AuditEvent.key))
        return list(session.exec(stmt))
