"""Advisers' marks on a need's suppliers (invited, relevant, not relevant): who marked what, when.

The mark is committed before it is acknowledged; both the need and the supplier must exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from service import audit
from service.access import Principal
from service.container import Services
from service.errors import NotFound
from store import feedback, models, repository
from store.db import session_scope
from store.repository import NEEDS, SUPPLIERS

MARK_LABELS = {"invited": "Invited", "relevant": "Relevant", "not_relevant": "Not relevant"}


@dataclass(frozen=True)
class Mark:
    supplier: Any
    mark: str
    adviser: str
    at: Any


def _need(session: Session, need_id: str) -> Any:
    need = repository.get(session, NEEDS, need_id)
    if need is None:
        raise NotFound("need", need_id)
    return need


def mark_supplier(services: Services, need_id: str, payload: models.FeedbackCreate, principal: Principal) -> Mark:
    """Store the mark and its audit event in one transaction."""
    with session_scope(services.engine) as session:
        return mark_in(session, need_id, payload, principal)


def mark_in(
    session: Session, need_id: str, payload: models.FeedbackCreate, principal: Principal, *, dialogue: str | None = None
) -> Mark:
    """The mark and its audit event inside the caller's transaction, so a joint dialogue marks all its needs
    or none; ``dialogue`` (its id) is then named in each need's audit event."""
    need = _need(session, need_id)
    supplier = repository.get(session, SUPPLIERS, payload.supplier_id)
    if supplier is None:
        raise NotFound("supplier", payload.supplier_id)
    row = feedback.record_mark(session, need_key=need.key, supplier_key=supplier.key, mark=payload.mark, adviser=principal.who)
    details = {"supplier_id": supplier.id, "mark": payload.mark} | ({"dialogue": dialogue} if dialogue else {})
    audit.add_event(session, need.id, "mark", principal, details)
    return Mark(supplier, row.mark, row.adviser, row.created_at)


def marks_for_need(services: Services, need_id: str) -> list[Mark]:
    """The current marks on the need's suppliers, newest first."""
    with Session(services.engine) as session:
        need = _need(session, need_id)
        current = feedback.current_marks(session, need.key)
        suppliers = repository.get_by_keys(session, SUPPLIERS, current)
    marks = [Mark(suppliers[k], row.mark, row.adviser, row.created_at) for k, row in current.items() if k in suppliers]
    return sorted(marks, key=lambda m: m.at, reverse=True)
