"""Queries over alerts (store/alert_models.py): the jobs written with needs, the alerts made from them,
suppliers' settings, and what suppliers did with their alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from store import leased_queue
from store.alert_models import Alert, AlertJob, AlertSettings, WebhookDelivery

ALERTING_STATUSES = ("planning", "open")
MATCHING_FIELDS = ("title", "description", "cpv_codes", "country", "region", "status")
"""What a need's matches depend on: a change to any of them may bring new suppliers to tell."""

JOBS = leased_queue.Queue(AlertJob, "done_at")
WEBHOOKS = leased_queue.Queue(WebhookDelivery, "delivered_at", max_attempts=8)
_CHUNK = 900


def needs_alerting(before: Mapping[str, Any] | None, need: Any) -> bool:
    """Whether a write of ``need`` (``before``: its matching fields before, None when created) should
    tell suppliers: it is in planning or open, and it is new, newly open, or matches differently now."""
    if need.status not in ALERTING_STATUSES:
        return False
    return before is None or any(before.get(f) != getattr(need, f) for f in MATCHING_FIELDS)


def matching_fields(need: Any) -> dict[str, Any]:
    return {f: getattr(need, f) for f in MATCHING_FIELDS}


def enqueue_job(session: Session, need_key: int, revision: int) -> None:
    """In the need's transaction. A job still waiting for the same need takes the new revision instead
    of a second job (ten quick edits rank the suppliers once)."""
    waiting = session.exec(
        select(AlertJob).where(
            col(AlertJob.need_key) == need_key,
            col(AlertJob.done_at).is_(None),
            col(AlertJob.claimed_by).is_(None),
            col(AlertJob.parked).is_(False),
        )
    ).first()
    if waiting is not None:
        waiting.revision = revision
        session.add(waiting)
        return
    session.add(AlertJob(need_key=need_key, revision=revision))


def pending_jobs(session: Session) -> int:
    stmt = select(func.count()).where(col(AlertJob.done_at).is_(None), col(AlertJob.parked).is_(False))
    return int(session.exec(stmt).one())


def finish_job(session: Session, job: AlertJob) -> bool:
    """Mark the job done in the caller's transaction, only while this claim holds it; False if another
    worker took it over (its lease passed), so the caller rolls back and leaves the alerts to it."""
    result = session.execute(
        update(AlertJob)
        .where(col(AlertJob.id) == job.id, col(AlertJob.claimed_by) == job.claimed_by, col(AlertJob.done_at).is_(None))
        .values(done_at=leased_queue.now(), claimed_by=None, lease_until=None, error=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def forget_done_jobs(session: Session, *, before: dt.datetime) -> int:
    result = session.execute(delete(AlertJob).where(col(AlertJob.done_at).is_not(None), col(AlertJob.done_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- settings


def settings_of(session: Session, supplier_ids: Iterable[str]) -> dict[str, AlertSettings]:
    """Each supplier's settings; the defaults (not stored) for one that never changed them."""
    wanted = list(dict.fromkeys(supplier_ids))
    found: dict[str, AlertSettings] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in session.exec(select(AlertSettings).where(col(AlertSettings.supplier_id).in_(chunk))):
            found[row.supplier_id] = row
    return {s: found.get(s) or AlertSettings(supplier_id=s) for s in wanted}


def settings_for_update(session: Session, supplier_id: str) -> AlertSettings:
    """The stored row (created with the defaults if missing), locked until the caller commits."""
    row = session.exec(select(AlertSettings).where(col(AlertSettings.supplier_id) == supplier_id).with_for_update()).first()
    if row is None:
        row = AlertSettings(supplier_id=supplier_id)
        session.add(row)
    return row


# ---------------------------------------------------------------- alerts


def alerted_on(session: Session, need_id: str) -> set[str]:
    return set(session.exec(select(Alert.supplier_id).where(col(Alert.need_id) == need_id)))


def of_supplier(session: Session, supplier_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[Alert], int]:
    """A supplier's alerts, newest first, and how many it has."""
    mine = col(Alert.supplier_id) == supplier_id
    total = int(session.exec(select(func.count()).select_from(Alert).where(mine)).one())
    stmt = select(Alert).where(mine).order_by(col(Alert.created_at).desc(), col(Alert.key).desc())
    return list(session.exec(stmt.offset(offset).limit(limit))), total


def of_need(session: Session, need_id: str) -> list[Alert]:
    """Everyone told about the need, best score first."""
    stmt = select(Alert).where(col(Alert.need_id) == need_id).order_by(col(Alert.score).desc(), col(Alert.supplier_id))
    return list(session.exec(stmt))


def counts_for_needs(session: Session, need_ids: Iterable[str]) -> dict[str, int]:
    """How many suppliers were told about each need (what a buyer's list shows)."""
    wanted = list(dict.fromkeys(need_ids))
    counts: dict[str, int] = dict.fromkeys(wanted, 0)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(Alert.need_id, func.count()).where(col(Alert.need_id).in_(chunk)).group_by(col(Alert.need_id))
        counts.update({need_id: int(n) for need_id, n in session.exec(stmt)})
    return counts


def one(session: Session, supplier_id: str, need_id: str) -> Alert | None:
    stmt = select(Alert).where(col(Alert.supplier_id) == supplier_id, col(Alert.need_id) == need_id)
    return session.exec(stmt).first()


def mark_opened(session: Session, supplier_id: str, need_id: str) -> bool:
    """The supplier opened the need: recorded the first time only (one cheap UPDATE on every later view)."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.supplier_id) == supplier_id, col(Alert.need_id) == need_id, col(Alert.opened_at).is_(None))
        .values(opened_at=leased_queue.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_read(session: Session, supplier_id: str, need_ids: Iterable[str] | None = None) -> int:
    """Inbox alerts seen (these, or all of the supplier's)."""
    stmt = update(Alert).where(col(Alert.supplier_id) == supplier_id, col(Alert.read_at).is_(None))
    if need_ids is not None:
        stmt = stmt.where(col(Alert.need_id).in_(list(need_ids)))
    return int(session.execute(stmt.values(read_at=leased_queue.now())).rowcount or 0)  # type: ignore[attr-defined]


def unread(session: Session, supplier_id: str) -> int:
    stmt = select(func.count()).where(col(Alert.supplier_id) == supplier_id, col(Alert.read_at).is_(None))
    return int(session.exec(stmt).one())


def waiting_for_digest(session: Session, supplier_id: str) -> list[Alert]:
    stmt = select(Alert).where(col(Alert.supplier_id) == supplier_id, col(Alert.email_state) == "digest")
    return list(session.exec(stmt.order_by(col(Alert.score).desc()).with_for_update()))


def suppliers_with_digests(session: Session) -> list[str]:
    stmt = select(Alert.supplier_id).where(col(Alert.email_state) == "digest").distinct()
    return list(session.exec(stmt))


def webhooks_of(session: Session, alert_keys: Iterable[int]) -> dict[int, WebhookDelivery]:
    keys = list(alert_keys)
    found: dict[int, WebhookDelivery] = {}
    for start in range(0, len(keys), _CHUNK):
        stmt = select(WebhookDelivery).where(col(WebhookDelivery.alert_key).in_(keys[start : start + _CHUNK]))
        found.update({row.alert_key: row for row in session.exec(stmt)})
    return found


def forget_supplier(session: Session, supplier_id: str) -> None:
    """With the supplier: its alerts, settings and undelivered posts."""
    for table in (Alert, AlertSettings, WebhookDelivery):
        session.execute(
            delete(table).where(col(table.supplier_id) == supplier_id), execution_options={"synchronize_session": False}
        )


@dataclass(frozen=True)
class AlertsState:
    jobs_pending: int
    jobs_parked: int
    webhooks_pending: int
    webhooks_parked: int
    waiting_for_digest: int


def state(session: Session) -> AlertsState:
    """What is still to do, and what a person has to look at (``/health``, ``matchmaker alerts status``)."""

    def count(table: Any, done: Any, parked: bool) -> int:
        stmt = select(func.count()).select_from(table).where(col(done).is_(None), col(table.parked).is_(parked))
        return int(session.exec(stmt).one())

    digests = int(session.exec(select(func.count()).select_from(Alert).where(col(Alert.email_state) == "digest")).one())
    return AlertsState(
        count(AlertJob, AlertJob.done_at, False),
        count(AlertJob, AlertJob.done_at, True),
        count(WebhookDelivery, WebhookDelivery.delivered_at, False),
        count(WebhookDelivery, WebhookDelivery.delivered_at, True),
        digests,
    )


def forget_need(session: Session, need_id: str) -> None:
    """With a deleted need: the alerts about it (the inboxes would link to nothing) and their posts not
    yet delivered; the need's audit trail keeps who was told."""
    keys = select(Alert.key).where(col(Alert.need_id) == need_id)
    session.execute(
        delete(WebhookDelivery).where(col(WebhookDelivery.alert_key).in_(keys), col(WebhookDelivery.delivered_at).is_(None)),
        execution_options={"synchronize_session": False},
    )
    session.execute(delete(Alert).where(col(Alert.need_id) == need_id), execution_options={"synchronize_session": False})
