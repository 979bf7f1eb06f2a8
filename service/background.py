"""Background work of a serving process: an indexer thread that embeds queued rows, a follower
thread that applies every process's changes to this process's indexes, a mail sender that delivers
the outbox (service/mail_sender.py), an alerts thread that tells suppliers about saved needs and writes
digests (service/alerts.py), and a webhook sender (service/webhook_sender.py).

Writes then answer as soon as they are committed. On PostgreSQL a listener thread wakes the follower and
the indexer on every other process's commit (store/change_notices.py); underneath, the follower polls the
change log (a cheap query of the revision counter) a few times a second, so a change made through another
server is searchable here about as soon as its vector is stored. ``matchmaker worker`` runs the indexer
and the mail sender. Every process may send mail, run alert jobs and post webhooks: on PostgreSQL their
claims skip each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from service import alert_digest, alerts
from service.container import Services
from service.mail_sender import MailSender, SmtpConfig
from service.settings import get_settings
from service.webhook_sender import WebhookSender
from store import alert_queries
from store.change_notices import ChangeListener, notices_supported
from store.db import session_scope

log = logging.getLogger(__name__)

FOLLOW_EVERY = 0.2  # seconds between polls of the change log
LISTEN_TIMEOUT = 1.0  # seconds a listener waits for a notice before looking at its stop flag
IDLE_INDEXER_WAIT = 1.0  # seconds an idle indexer waits for a write's wake-up before looking again
MAIL_POLL = 1.0  # seconds an idle mail sender waits for a change notice before looking at the outbox again
ALERTS_POLL = 1.0  # seconds the idle alerts and webhook threads wait for a change notice before looking again
DIGESTS_EVERY = 60.0  # seconds between looks for digests that are due
KEEP_DONE_JOBS = dt.timedelta(days=7)


class BackgroundWork:
    """The threads; ``index=False`` for a server that leaves embedding to separate workers. The mail
    sender is ``sender`` when given, else one configured by the environment's settings. Alert jobs run
    where the indexes are followed (a server, not an embedding-only worker); webhooks are posted by
    every process unless ``webhooks=False``."""

    def __init__(
        self,
        services: Services,
        *,
        index: bool = True,
        follow: bool = True,
        mail: bool = True,
        sender: MailSender | None = None,
        alerting: bool | None = None,
        webhooks: WebhookSender | bool = True,
    ) -> None:
        self.services = services
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._mail_ready = threading.Event()
        self._alerts_ready = threading.Event()
        self._webhooks_ready = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sender = (sender or MailSender(services.engine, SmtpConfig.from_settings(get_settings()))) if mail else None
        alerting = follow if alerting is None else alerting  # alert jobs rank with this process's indexes
        if alerting and not follow:
            raise ValueError("alert jobs need the indexes kept current (follow=True)")
        if isinstance(webhooks, WebhookSender):
            self._webhooks: WebhookSender | None = webhooks
        else:
            self._webhooks = WebhookSender(services.engine, allow_private=services.webhook_allow_private) if webhooks else None
        self._next_digests = 0.0
        self._listener = ChangeListener(services.engine, self._stop) if notices_supported(services.engine) else None
        if self._listener is not None and (index or follow or mail or alerting or self._webhooks is not None):
            self._threads.append(threading.Thread(target=self._listen_loop, name="change-listener", daemon=True))
        if index:
            self._threads.append(threading.Thread(target=self._index_loop, name="indexer", daemon=True))
        if follow:
            self._threads.append(threading.Thread(target=self._follow_loop, name="follower", daemon=True))
        if self._sender is not None:
            self._threads.append(threading.Thread(target=self._mail_loop, name="mail-sender", daemon=True))
        if alerting:
            self._threads.append(threading.Thread(target=self._alerts_loop, name="alerts", daemon=True))
        if self._webhooks is not None:
            self._threads.append(threading.Thread(target=self._webhooks_loop, name="webhooks", daemon=True))

    def start(self) -> BackgroundWork:
        if self._sender is not None:
            self._sender.log_configuration()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.services.work_ready.set()
        self._mail_ready.set()
        self._alerts_ready.set()
        self._webhooks_ready.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self._listener is not None:
            self._listener.close()

    def _listen_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            if self._listener.wait(LISTEN_TIMEOUT):
                self._changed.set()
                self.services.work_ready.set()
                self._mail_ready.set()
                self._alerts_ready.set()
                self._webhooks_ready.set()

    def _index_loop(self) -> None:
        while not self._stop.is_set():
            try:
                work = self.services.index_pending()
                if sum(work.embedded.values()) or work.failed:
                    continue  # more may have been queued meanwhile
            except Exception:
                log.exception("the indexer failed; trying again")
                self._stop.wait(IDLE_INDEXER_WAIT)
            self.services.work_ready.wait(IDLE_INDEXER_WAIT)
            self.services.work_ready.clear()

    def _follow_loop(self) -> None:
        while not self._stop.is_set():
            self._changed.clear()  # a notice from here on means another look
            try:
                self.services.follow()
            except Exception:
                log.exception("following the change log failed; trying again")
            self._changed.wait(FOLLOW_EVERY)

    def _mail_loop(self) -> None:
        assert self._sender is not None
        while not self._stop.is_set():
            self._mail_ready.clear()  # a notice from here on means another look
            try:
                if self._sender.deliver_pending().handled:
                    continue  # a full batch may have left more behind
            except Exception:
                log.exception("sending mail failed; trying again")
            self._mail_ready.wait(MAIL_POLL)

    def _alerts_loop(self) -> None:
        while not self._stop.is_set():
            self._alerts_ready.clear()
            try:
                self.services.follow()  # suppliers saved before the need are in this process's index
                if alerts.run_pending(self.services).jobs:
                    continue  # more may be waiting
                self._digests()
            except Exception:
                log.exception("alerting suppliers failed; trying again")
            self._alerts_ready.wait(ALERTS_POLL)

    def _digests(self) -> None:
        if time.monotonic() < self._next_digests:
            return
        self._next_digests = time.monotonic() + DIGESTS_EVERY
        alert_digest.send_due_digests(self.services)
        with session_scope(self.services.engine) as session:
            alert_queries.forget_done_jobs(session, before=dt.datetime.now(dt.UTC) - KEEP_DONE_JOBS)

    def _webhooks_loop(self) -> None:
        assert self._webhooks is not None
        while not self._stop.is_set():
            self._webhooks_ready.wait(ALERTS_POLL)
            self._webhooks_ready.clear()
            try:
                while self._webhooks.deliver_pending().handled and not self._stop.is_set():
                    pass  # a full batch may have left more behind
            except Exception:
                log.exception("posting webhooks failed; trying again")
