"""Queries over the outgoing-mail outbox: enqueueing in the caller's transaction, claiming (leases that
never hand one message to two senders at once), and recording what happened (store/outbox_models.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store import leased_queue
from store.outbox_models import OutgoingMail

MAX_ATTEMPTS = 5


def enqueue(session: Session, *, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> OutgoingMail:
    """A message to send once the caller's transaction commits (never, if it rolls back)."""
    mail = OutgoingMail(to_address=to, subject=subject, body=body, headers=headers or {})
    session.add(mail)
    return mail


def written_to(session: Session, to: str, *, since: dt.datetime) -> int:
    """Messages to this address written since then (sent or not): what a per-address limit counts."""
    query = (
        select(func.count())
        .select_from(OutgoingMail)
        .where(col(OutgoingMail.to_address) == to, col(OutgoingMail.created_at) > since)
    )
    return int(session.exec(query).one())


MAIL = leased_queue.Queue(OutgoingMail, "sent_at", MAX_ATTEMPTS)


def claim(engine: Engine, *, batch: int, lease: dt.timedelta) -> list[OutgoingMail]:
    """Up to ``batch`` messages to send, oldest first, leased to this call (store/leased_queue.py)."""
    return leased_queue.claim(engine, MAIL, batch=batch, lease=lease)


def mark_sent(engine: Engine, message: OutgoingMail) -> None:
    """Delivered: whoever holds the claim now, the message is sent and is not sent again."""
    leased_queue.finish(engine, MAIL, message)


def fail(engine: Engine, message: OutgoingMail, error: str, *, retry_after: dt.timedelta, permanent: bool = False) -> bool:
    """Record a failure: tried again after ``retry_after``, or parked; returns whether it was parked."""
    return leased_queue.fail(engine, MAIL, message, error, retry_after=retry_after, permanent=permanent)


@dataclass(frozen=True)
class MailState:
    pending: int
    parked: int
    oldest_pending_at: dt.datetime | None


def mail_state(session: Session) -> MailState:
    unsent = col(OutgoingMail.sent_at).is_(None)
    pending = session.exec(
        select(func.count(), func.min(OutgoingMail.created_at)).where(unsent, col(OutgoingMail.parked).is_(False))
    ).one()
    parked_count = session.exec(select(func.count()).where(unsent, col(OutgoingMail.parked).is_(True))).one()
    return MailState(int(pending[0]), int(parked_count), pending[1])


def parked(session: Session, limit: int = 50) -> list[OutgoingMail]:
    return leased_queue.parked(session, MAIL, limit)


def retry_parked(session: Session) -> int:
    """Give parked messages another round (after the cause was fixed): attempts start again."""
    return leased_queue.retry_parked(session, MAIL)


def forget_sent(session: Session, *, before: dt.datetime) -> int:
    """Drop messages sent before ``before``: their bodies (sign-in links) need not outlive their use."""
    result = session.execute(
        delete(OutgoingMail).where(col(OutgoingMail.sent_at).is_not(None), col(OutgoingMail.sent_at) < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
