"""What suppliers and advisers see of alerts: a supplier's alerts with each channel's delivery state,
who was told about a need (and who opened it and answered), and what a supplier does with an alert.

A supplier reads only its own alerts; advisers read everyone's. A buyer learns how many suppliers were
told about its needs, never who (service/need_drafts.py shows the count).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session, col, select

from service import access, alert_links, alert_settings, audit
from service.access import Principal
from service.container import Services
from service.errors import NotFound
from store import alert_queries, repository
from store.alert_models import Alert, WebhookDelivery
from store.db import session_scope
from store.outbox_models import OutgoingMail
from store.repository import NEEDS

Answer = Literal["interested", "not_interested"]


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    channels: dict[str, str] = field(default_factory=dict)
    """inbox, feed, email and webhook: where the alert went and how far it got."""
    webhook_error: str | None = None


def _email_state(alert: Alert, mails: dict[int, OutgoingMail]) -> str:
    if alert.email_state != "queued":
        return {"off": "not sent (no confirmed address, or e-mail off)", "digest": "waiting for the digest"}.get(
            alert.email_state, alert.email_state
        )
    found = [mails[k] for k in alert.mail_keys if k in mails]
    if any(m.parked for m in found):
        return "parked"
    if any(m.sent_at is None for m in found):
        return "retrying" if any(m.error for m in found) else "queued"
    return "sent"  # sent (a sent message is forgotten after a week)


def _webhook_state(delivery: WebhookDelivery | None) -> str:
    if delivery is None:
        return "none"
    if delivery.delivered_at is not None:
        return "delivered"
    if delivery.parked:
        return "parked"
    return "retrying" if delivery.error else "pending"


def views(session: Session, alerts: Sequence[Alert]) -> list[AlertView]:
    """Each alert with the state of every channel (two queries for the lot)."""
    mail_keys = [k for a in alerts for k in a.mail_keys]
    mails = (
        {int(m.id or 0): m for m in session.exec(select(OutgoingMail).where(col(OutgoingMail.id).in_(mail_keys)))}
        if mail_keys
        else {}
    )
    hooks = alert_queries.webhooks_of(session, [int(a.key or 0) for a in alerts])
    found = []
    for alert in alerts:
        hook = hooks.get(int(alert.key or 0))
        channels = {
            "inbox": "read" if alert.read_at else "unread",
            "feed": "published",
            "email": _email_state(alert, mails),
            "webhook": _webhook_state(hook),
        }
        found.append(AlertView(alert, channels, hook.error if hook is not None and hook.delivered_at is None else None))
    return found


def _require_supplier(session: Session, supplier_id: str) -> None:
    if repository.get(session, repository.SUPPLIERS, supplier_id) is None:
        raise NotFound("supplier", supplier_id)


def of_supplier(
    services: Services, principal: Principal, supplier_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[AlertView], int]:
    """The supplier's alerts, newest first: the supplier itself and advisers only."""
    alert_settings.check_reader(principal, supplier_id)
    with Session(services.engine) as session:
        _require_supplier(session, supplier_id)
        alerts, total = alert_queries.of_supplier(session, supplier_id, limit=limit, offset=offset)
        return views(session, alerts), total


def mark_read(services: Services, principal: Principal, supplier_id: str, need_ids: Sequence[str] | None = None) -> int:
    alert_settings.check_owner(principal, supplier_id)
    with session_scope(services.engine) as session:
        return alert_queries.mark_read(session, supplier_id, need_ids)


def of_need(services: Services, principal: Principal, need_id: str) -> list[AlertView]:
    """Who was told about the need, when, with which score; who opened it and who answered: advisers."""
    access.require_staff(principal, "who was alerted")
    with Session(services.engine) as session:
        if repository.get(session, NEEDS, need_id) is None:
            raise NotFound("need", need_id)
        return views(session, alert_queries.of_need(session, need_id))


def opened(services: Services, principal: Principal, need_id: str, *, via: str | None = None, token: str | None = None) -> None:
    """Record that a supplier opened a need it was told about: signed in as the supplier, or from the
    link in its alert (``via`` the supplier id, with the link's token). Anything else records nothing."""
    supplier_id = principal.supplier_id if principal.role == "supplier" else None
    if supplier_id is None and via and alert_links.open_ok(services.engine, via, need_id, token):
        supplier_id = via
    if supplier_id is None:
        return
    with session_scope(services.engine) as session:
        alert_queries.mark_opened(session, supplier_id, need_id)


def answer(
    services: Services, principal: Principal, supplier_id: str, need_id: str, reply: Answer, note: str | None
) -> AlertView:
    """The supplier tells the programme whether the need interests it; written to the need's audit trail."""
    alert_settings.check_owner(principal, supplier_id)
    with session_scope(services.engine) as session:
        alert = alert_queries.one(session, supplier_id, need_id)
        if alert is None:
            raise NotFound("alert", need_id)
        now = dt.datetime.now(dt.UTC)
        alert.answer, alert.answer_note, alert.answered_at = reply, (note or "").strip()[:2000] or None, now
        alert.opened_at = alert.opened_at or now
        session.add(alert)
        audit.add_event(session, need_id, "answered", principal, {"supplier_id": supplier_id, "answer": reply})
        session.flush()
        return views(session, [alert])[0]


def counts(services: Services, need_ids: Sequence[str]) -> dict[str, int]:
    """How many suppliers were told about each need: for the need's buyer and advisers."""
    with Session(services.engine) as session:
        return alert_queries.counts_for_needs(session, need_ids)
