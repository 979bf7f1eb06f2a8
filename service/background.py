"""Background work of a serving process: an indexer thread that embeds queued rows, a follower
thread that applies every process's changes to this process's indexes, and a mail sender that delivers
the outbox (service/mail_sender.py).

Writes then answer as soon as they are committed. On PostgreSQL a listener thread wakes the follower and
the indexer on every other process's commit (store/change_notices.py); underneath, the follower polls the
change log (a cheap query of the revision counter) a few times a second, so a change made through another
server is searchable here about as soon as its vector is stored. ``matchmaker worker`` runs the indexer
and the mail sender. Every process may send mail: on PostgreSQL their claims skip each other.
"""

from __future__ import annotations

import logging
import threading

from service.container import Services
from service.mail_sender import MailSender, SmtpConfig
from service.settings import get_settings
from store.change_notices import ChangeListener, notices_supported

log = logging.getLogger(__name__)

FOLLOW_EVERY = 0.2  # seconds between polls of the change log
LISTEN_TIMEOUT = 1.0  # seconds a listener waits for a notice before looking at its stop flag
IDLE_INDEXER_WAIT = 1.0  # seconds an idle indexer waits for a write's wake-up before looking again
MAIL_POLL = 1.0  # seconds an idle mail sender waits for a change notice before looking at the outbox again


class BackgroundWork:
    """The threads; ``index=False`` for a server that leaves embedding to separate workers. The mail
    sender is ``sender`` when given, else one configured by the environment's settings."""

    def __init__(
        self,
        services: Services,
        *,
        index: bool = True,
        follow: bool = True,
        mail: bool = True,
        sender: MailSender | None = None,
    ) -> None:
        self.services = services
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._mail_ready = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sender = (sender or MailSender(services.engine, SmtpConfig.from_settings(get_settings()))) if mail else None
        self._listener = ChangeListener(services.engine, self._stop) if notices_supported(services.engine) else None
        if self._listener is not None and (index or follow or mail):
            self._threads.append(threading.Thread(target=self._listen_loop, name="change-listener", daemon=True))
        if index:
            self._threads.append(threading.Thread(target=self._index_loop, name="indexer", daemon=True))
        if follow:
            self._threads.append(threading.Thread(target=self._follow_loop, name="follower", daemon=True))
        if self._sender is not None:
            self._threads.append(threading.Thread(target=self._mail_loop, name="mail-sender", daemon=True))

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
