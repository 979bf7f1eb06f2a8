"""Claiming work from a table of durable work items (outgoing mail, webhook posts, alert jobs) with leases.

Each such table has ``id``, ``attempts``, ``claimed_by``, ``lease_until``, ``parked``, ``error`` and one
column that says the item is done (``sent_at``, ``delivered_at``, ``done_at``). A claim is a lease: a
worker that dies has its items claimed again once the lease passes; a failure is retried after a wait
(its ``lease_until``), and an item that keeps failing is parked with its error for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

MAX_ATTEMPTS = 5


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Queue:
    """A table of work items and the name of its "done" column."""

    table: type[Any]
    done: str
    max_attempts: int = MAX_ATTEMPTS

    def ready(self, at: dt.datetime) -> tuple[ColumnElement[bool], ...]:
        lease = col(self.table.lease_until)
        done = col(getattr(self.table, self.done))
        return done.is_(None), col(self.table.parked).is_(False), or_(lease.is_(None), lease < at)


def claim(engine: Engine, queue: Queue, *, batch: int, lease: dt.timedelta) -> list[Any]:
    """Up to ``batch`` items (never claimed, due for a retry, or whose worker's lease has passed), oldest
    first, leased to this call. One UPDATE claims them, so two workers never hold the same item:
    PostgreSQL skips rows another claimer holds (SKIP LOCKED); SQLite runs one writer at a time."""
    table, token, at = queue.table, uuid.uuid4().hex, now()
    with Session(engine) as session:  # a plain read first: an idle worker polling takes no write lock
        if session.exec(select(table.id).where(*queue.ready(at)).limit(1)).first() is None:
            return []
    ready = select(table.id).where(*queue.ready(at)).order_by(col(table.id)).limit(batch)
    if engine.dialect.name == "postgresql":
        # Chosen once, in a materialised CTE: as a plain ``IN (subquery)`` PostgreSQL may rescan the
        # subquery for each row the UPDATE visits, every rescan locking the next ready rows, and one claim
        # then took every ready item instead of ``batch``.
        chosen = ready.with_for_update(skip_locked=True).cte("ready").prefix_with("MATERIALIZED")
        ready = select(chosen.c.id)
    with Session(engine, expire_on_commit=False) as session:
        claimed = session.scalars(
            update(table)
            .where(col(table.id).in_(ready.scalar_subquery()))
            .where(*queue.ready(at))
            .values(claimed_by=token, lease_until=at + lease, attempts=col(table.attempts) + 1)
            .returning(table),
            execution_options={"synchronize_session": False},
        ).all()
        session.commit()
    return sorted(claimed, key=lambda item: item.id or 0)


def finish(engine: Engine, queue: Queue, item: Any) -> None:
    """Done: whoever holds the claim now, the item is not worked on again."""
    table = queue.table
    with Session(engine) as session:
        session.execute(
            update(table)
            .where(col(table.id) == item.id, col(getattr(table, queue.done)).is_(None))
            .values({queue.done: now(), "claimed_by": None, "lease_until": None, "error": None})
        )
        session.commit()


def fail(engine: Engine, queue: Queue, item: Any, error: str, *, retry_after: dt.timedelta, permanent: bool = False) -> bool:
    """Record a failure: tried again after ``retry_after``, or parked when ``permanent`` or after the
    queue's ``max_attempts``. Only while this claim still holds it (a worker whose lease passed must not
    undo another's claim). Returns whether it was parked."""
    table = queue.table
    parked = permanent or item.attempts >= queue.max_attempts
    with Session(engine) as session:
        session.execute(
            update(table)
            .where(col(table.id) == item.id, col(table.claimed_by) == item.claimed_by)
            .where(col(getattr(table, queue.done)).is_(None))
            .values(error=error[:2000], parked=parked, lease_until=None if parked else now() + retry_after, claimed_by=None)
        )
        session.commit()
    return parked


def retry_parked(session: Session, queue: Queue) -> int:
    """Give parked items another round (after the cause was fixed): attempts start again."""
    table = queue.table
    result = session.execute(
        update(table)
        .where(col(table.parked).is_(True), col(getattr(table, queue.done)).is_(None))
        .values(parked=False, attempts=0, lease_until=None, claimed_by=None, error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def parked(session: Session, queue: Queue, limit: int = 50) -> list[Any]:
    table = queue.table
    stmt = select(table).where(col(table.parked).is_(True), col(getattr(table, queue.done)).is_(None))
    return list(session.exec(stmt.order_by(col(table.id)).limit(limit)))
