"""Daily and weekly digests: the alerts a supplier chose to get by e-mail in one message per period.

An alert waiting for a digest is marked ``digest`` when it is made (it is in the inbox and the feed at
once). A digest is written in one transaction with the alerts it carries, under a lock on the supplier's
settings, so two servers never send the same digest and a crash sends it once, later.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel import Session

from service import alert_mail, alert_settings
from service.container import Services
from service.mail import enqueue_mail
from store import alert_queries, repository
from store.db import session_scope
from store.repository import NEEDS

log = logging.getLogger(__name__)

PERIODS = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}


def due(cadence: str, last: dt.datetime | None, now: dt.datetime) -> bool:
    """A digest is due once a period has passed since the last one (at once for the first one, and for a
    supplier who went back to immediate e-mail and still has alerts waiting)."""
    period = PERIODS.get(cadence)
    if period is None or last is None:
        return True
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)  # SQLite: naive UTC
    return now - last >= period


def send_due_digests(services: Services, *, now: dt.datetime | None = None) -> int:
    """Write every digest that is due; returns how many suppliers got one."""
    with Session(services.engine) as session:
        waiting = alert_queries.suppliers_with_digests(session)
    sent = 0
    for supplier_id in waiting:
        try:
            sent += _digest_for(services, supplier_id, now or dt.datetime.now(dt.UTC))
        except Exception:
            log.exception("the digest for %s failed; it is tried again later", supplier_id)
    return sent


def _digest_for(services: Services, supplier_id: str, now: dt.datetime) -> int:
    base_url = services.pages_url
    with session_scope(services.engine) as session:
        settings = alert_queries.settings_for_update(session, supplier_id)
        if not due(settings.cadence, settings.last_digest_at, now):
            return 0
        alerts = alert_queries.waiting_for_digest(session, supplier_id)
        if not alerts:
            return 0
        addresses = alert_settings.confirmed_addresses(session, settings)
        mail_keys: list[int] = []
        if addresses:
            needs = repository.get_many(session, NEEDS, [a.need_id for a in alerts])
            subject, body = alert_mail.digest(services.engine, base_url, alerts, needs, settings.cadence)
            headers = alert_mail.unsubscribe_headers(services.engine, base_url, supplier_id)
            mails = [enqueue_mail(session, to=a, subject=subject, body=body, headers=headers) for a in addresses]
            session.flush()
            mail_keys = [int(m.id or 0) for m in mails]
        for alert in alerts:
            alert.email_state, alert.mail_keys = ("queued", mail_keys) if mail_keys else ("off", [])
            session.add(alert)
        settings.last_digest_at = now
        session.add(settings)
    return 1 if mail_keys else 0
