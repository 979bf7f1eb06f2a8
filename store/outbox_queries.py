"""Queries over the outgoing-mail outbox: enqueueing in the caller's transaction, claiming (leases that
never hand one message to two senders at once), and recording what happened (store/outbox_models.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store.outbox_models import OutgoingMail

MAX_ATTEMPTS = 5


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enqueue(session: Session, *, to: str, subject: str, body: str) -> None:
    """A message to send once the caller's transaction commits (never, if it rolls back)."""
    session.add(OutgoingMail(to_address=to, subject=subject, body=body))


def written_to(session: Session, to: str, *, since: dt.datetime) -> int:
    """Messages to this address written since then (sent or not): what a per-address limit counts."""
    query = (
        select(func.count())
        .select_from(OutgoingMail)
        .where(col(OutgoingMail.to_address) == to, col(OutgoingMail.created_at) > since)
    )
    return int(session.exec(query).one())


def _ready(now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    lease = col(OutgoingMail.lease_until)
    return col(OutgoingMail.sent_at).is_(None), col(OutgoingMail.parked).is_(False), or_(lease.is_(None), lease < now)


def claim(engine: Engine, *, batch: int, lease: dt.timedelta) -> list[OutgoingMail]:
    """Up to ``batch`` messages to send (never claimed, due for a retry, or whose sender's lease has
    passed), oldest first, leased to this call. One UPDATE claims them, so two senders never hold the
    same message: PostgreSQL skips rows another claimer holds (SKIP LOCKED); SQLite runs one writer at a time."""
    token, now = uuid.uuid4().hex, _now()
    with Session(engine) as session:  # a plain read first: an idle sender polling takes no write lock
        if session.exec(select(OutgoingMail.id).where(*_ready(now)).limit(1)).first() is None:
            return []
    ready = select(OutgoingMail.id).where(*_ready(now)).order_by(col(OutgoingMail.id)).limit(batch)
    if engine.dialect.name == "postgresql":
        # Chosen once, in a materialised CTE: as a plain ``IN (subquery)`` PostgreSQL may rescan the
        # subquery for each row the UPDATE visits, every rescan locking the next ready rows, and one claim
        # then took every ready message instead of ``batch``.
        chosen = ready.with_for_update(skip_locked=True).cte("ready").prefix_with("MATERIALIZED")
        ready = select(chosen.c.id)
    with Session(engine, expire_on_commit=False) as session:
        claimed = session.scalars(
            update(OutgoingMail)
            .where(col(OutgoingMail.id).in_(ready.scalar_subquery()))
            .where(*_ready(now))
            .values(claimed_by=token, lease_until=now + lease, attempts=col(OutgoingMail.attempts) + 1)
            .returning(OutgoingMail),
            execution_options={"synchronize_session": False},
        ).all()
        session.commit()
    return sorted(claimed, key=lambda mail: mail.id or 0)


def mark_sent(engine: Engine, message: OutgoingMail) -> None:
    """Delivered: whoever holds the claim now, the message is sent and is not sent again."""
    with Session(engine) as session:
        session.execute(
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == message.id, col(OutgoingMail.sent_at).is_(None))
            .values(sent_at=_now(), claimed_by=None, lease_until=None, error=None)
        )
        session.commit()


def fail(engine: Engine, message: OutgoingMail, error: str, *, retry_after: dt.timedelta, permanent: bool = False) -> bool:
    """Record a failure: tried again after ``retry_after``, or parked when ``permanent`` or after
    ``MAX_ATTEMPTS``. Only while this claim still holds it (a sender whose lease passed must not undo
    another's claim). Returns whether it was parked."""
    parked = permanent or message.attempts >= MAX_ATTEMPTS
    with Session(engine) as session:
        session.execute(
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == message.id, col(OutgoingMail.claimed_by) == message.claimed_by)
            .where(col(OutgoingMail.sent_at).is_(None))
            .values(error=error[:2000], parked=parked, lease_until=None if parked else _now() + retry_after, claimed_by=None)
        )
        session.commit()
    return parked


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
    stmt = select(OutgoingMail).where(col(OutgoingMail.parked).is_(True), col(OutgoingMail.sent_at).is_(None))
    return list(session.exec(stmt.order_by(col(OutgoingMail.id)).limit(limit)))


def retry_parked(session: Session) -> int:
    """Give parked messages another round (after the cause was fixed): attempts start again."""
    result = session.execute(
        update(OutgoingMail)
        .where(col(OutgoingMail.parked).is_(True), col(OutgoingMail.sent_at).is_(None))
        .values(parked=False, attempts=0, lease_until=None, claimed_by=None, error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_sent(session: Session, *, before: dt.datetime) -> int:
    """Drop messages sent before ``before``: their bodies (sign-in links) need not outlive their use."""
    result = session.execute(
        delete(OutgoingMail).where(col(OutgoingMail.sent_at).is_not(None), col(OutgoingMail.sent_at) < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
