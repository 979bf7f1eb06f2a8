"""Telling suppliers about needs: an alert job (written with the need, store/alert_queries.py) ranks every
supplier for the need in one reverse search and tells each one whose match passes its own settings.

Everything one job decides is written in one transaction: the alerts (one per supplier and need, however
often the job runs), the e-mails and webhook posts that carry them (outboxes), the entry in the need's
audit trail, and the job's end. A crash anywhere before that commit leaves the job to be run again; after
it, the senders deliver at least once. All suppliers told by one run are told at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from service import alert_mail, alert_settings, audit, shortlists
from service.container import Services
from service.mail import enqueue_mail
from store import alert_queries, leased_queue, repository
from store.alert_models import Alert, AlertSettings, WebhookDelivery
from store.change_notices import announce
from store.db import session_scope
from store.repository import NEEDS

log = logging.getLogger(__name__)

POOL = 1000
"""Suppliers ranked per need: a need matched by more than this many is too broad to alert anyone about."""
LEASE = dt.timedelta(minutes=5)
RETRY_AFTER = dt.timedelta(seconds=30)
ACTOR = "alerts (the service)"
"""Who the audit trail names for alerts: the service itself."""


@dataclass(frozen=True)
class Chosen:
    supplier: Any
    score: float
    why: str
    settings: AlertSettings


def wants(settings: AlertSettings, need: Any, score: float, default_threshold: float) -> bool:
    """Whether this supplier asked to hear about this need at this score."""
    if not settings.enabled:
        return False
    if score < (default_threshold if settings.min_score is None else settings.min_score):
        return False
    return alert_settings.filters_of(settings).admits(cpv_codes=need.cpv_codes, country=need.country, region=need.region)


def choose(services: Services, need: Any) -> list[Chosen]:
    """The suppliers to tell, best first, with the explanation each is told (as advisers see it)."""
    _need, ranked = shortlists.suppliers_for_need(services, need.id, k=POOL, explain=False)
    if len(ranked) >= POOL and ranked[-1].score >= services.readiness_threshold:
        log.warning("need %s matches %d suppliers or more: only the best %d were considered for alerts", need.id, POOL, POOL)
    with Session(services.engine) as session:
        settings = alert_queries.settings_of(session, [r.row.id for r in ranked])
        told = alert_queries.alerted_on(session, need.id)
    passing = {
        r.row.key: r
        for r in ranked
        if r.row.id not in told and wants(settings[r.row.id], need, r.score, services.readiness_threshold)
    }
    if not passing:
        return []
    why = {
        r.row.key: r.explanation.summary()
        for r in shortlists.given_suppliers_for_need(services, need.id, list(passing))
        if r.explanation is not None
    }
    chosen = [Chosen(r.row, r.score, why.get(key, ""), settings[r.row.id]) for key, r in passing.items()]
    return sorted(chosen, key=lambda c: -c.score)


@dataclass(frozen=True)
class AlertRun:
    jobs: int
    told: int


def run_pending(services: Services, *, batch: int = 5) -> AlertRun:
    """Run one batch of the alert jobs that are due: how many ran, and how many suppliers were told."""
    told = 0
    jobs = leased_queue.claim(services.engine, alert_queries.JOBS, batch=batch, lease=LEASE)
    for job in jobs:
        try:
            told += run_job(services, job)
        except Exception as exc:
            log.exception("alert job %d (need key %d) failed; it will be tried again", job.id, job.need_key)
            retry = RETRY_AFTER * 2 ** max(0, job.attempts - 1)
            leased_queue.fail(services.engine, alert_queries.JOBS, job, f"{type(exc).__name__}: {exc}", retry_after=retry)
    return AlertRun(len(jobs), told)


def run_job(services: Services, job: Any) -> int:
    with Session(services.engine) as session:
        need = repository.get_by_keys(session, NEEDS, [job.need_key]).get(job.need_key)
    chosen = choose(services, need) if need is not None and need.status in alert_queries.ALERTING_STATUSES else []
    with session_scope(services.engine) as session:
        made = _record(services, session, need, chosen) if chosen else 0
        if not alert_queries.finish_job(session, job):
            session.rollback()  # another worker took the job over: it tells them
            return 0
    if made:
        log.info("told %d supplier(s) about need %s", made, job.need_key)
    return made


def _record(services: Services, session: Session, need: Any, chosen: list[Chosen]) -> int:
    """The alerts and what carries them, in the caller's transaction; suppliers told meanwhile (a job
    run twice at once) are skipped, and the unique (supplier, need) pair guards the rest."""
    already = alert_queries.alerted_on(session, need.id)
    chosen = [c for c in chosen if c.supplier.id not in already]
    if not chosen:
        return 0
    at, base_url = dt.datetime.now(dt.UTC), services.pages_url
    alerts = [
        Alert(
            supplier_id=c.supplier.id, need_id=need.id, need_title=_title(need), score=round(c.score, 4), why=c.why, created_at=at
        )
        for c in chosen
    ]
    session.add_all(alerts)
    session.flush()
    for alert, c in zip(alerts, chosen, strict=True):
        _email(services, session, alert, need, c.settings, base_url)
        if c.settings.webhook_url:
            _webhook(session, alert, need, c.settings, base_url, services)
        session.add(alert)
    announce(session)  # wakes the senders of every process at the commit
    told = [
        {"supplier_id": a.supplier_id, "score": a.score, "channels": _channels(a, c.settings)}
        for a, c in zip(alerts, chosen, strict=True)
    ]
    audit.add_service_event(session, need.id, "alerted", {"revision": need.revision, "suppliers": told}, actor=ACTOR)
    return len(alerts)


def _title(need: Any) -> str:
    return (need.title or need.description[:120] or need.id)[:300]


def _channels(alert: Alert, settings: AlertSettings) -> list[str]:
    channels = ["inbox", "feed"]
    if alert.email_state != "off":
        channels.append("email")
    if settings.webhook_url:
        channels.append("webhook")
    return channels


def _email(services: Services, session: Session, alert: Alert, need: Any, settings: AlertSettings, base_url: str) -> None:
    addresses = alert_settings.confirmed_addresses(session, settings)
    if not addresses:
        alert.email_state = "off"
        return
    if settings.cadence != "immediate":
        alert.email_state = "digest"
        return
    subject, body = alert_mail.immediate(services.engine, base_url, alert, need)
    headers = alert_mail.unsubscribe_headers(services.engine, base_url, alert.supplier_id)
    mails = [enqueue_mail(session, to=address, subject=subject, body=body, headers=headers) for address in addresses]
    session.flush()
    alert.email_state, alert.mail_keys = "queued", [int(m.id or 0) for m in mails]


def webhook_body(alert: Alert, need: Any, base_url: str) -> dict[str, Any]:
    """What a supplier's system receives: the need, the match and why, and a key to drop a repeat by."""
    return {
        "type": "need.alert",
        "idempotency_key": f"alert-{alert.key}",
        "supplier_id": alert.supplier_id,
        "alerted_at": alert.created_at.isoformat(),
        "score": alert.score,
        "why": alert.why,
        "need": {
            "id": need.id,
            "title": need.title,
            "buyer": need.buyer,
            "status": need.status,
            "cpv_codes": list(need.cpv_codes),
            "country": need.country,
            "region": need.region,
            "deadline": need.deadline.isoformat() if need.deadline else None,
            "url": f"{base_url}/ui/needs/{quote(need.id, safe='')}",
        },
    }


def _webhook(session: Session, alert: Alert, need: Any, settings: AlertSettings, base_url: str, services: Services) -> None:
    body = json.dumps(webhook_body(alert, need, base_url), ensure_ascii=False, separators=(",", ":"))
    session.add(
        WebhookDelivery(
            alert_key=int(alert.key or 0),
            supplier_id=alert.supplier_id,
            url=str(settings.webhook_url),
            body=body,
            idempotency_key=f"alert-{alert.key}",
        )
    )
