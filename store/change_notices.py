"""Change notices: on PostgreSQL every commit that takes a revision also sends a NOTIFY, so the followers
and idle indexers of every process wake at once instead of at their next poll.

Polling stays underneath (on SQLite, and whenever the listening connection is lost): a missed notice
delays a change by one poll, never loses it. A transaction's notices on the one channel are folded into
one by PostgreSQL, and sent only if it commits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CHANNEL = "matchmaker_changes"
ANNOUNCED = "matchmaker_change_announced"  # Session.info key: the transaction that has sent its notice


def announce(session: Session) -> None:
    """Tell every listening process, when this transaction commits, that something changed (once per
    transaction: an import takes a revision per row)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is None or session.info.get(ANNOUNCED) is transaction:
        return
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    session.info[ANNOUNCED] = transaction


def notices_supported(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class ChangeListener:
    """One LISTENing connection of its own (outside the pool: it idles between notices)."""

    def __init__(self, engine: Engine, stop: threading.Event) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop = stop
        self._connection: psycopg.Connection | None = None

    def wait(self, timeout: float) -> bool:
        """Until a notice arrives (True) or ``timeout`` passes (False); after a lost connection, it waits
        out the timeout and connects again on the next call."""
        import psycopg

        try:
            connection = self._connection
            if connection is None:
                connection = self._connection = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
                connection.execute(f"LISTEN {CHANNEL}")
            return any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error as exc:
            log.warning("listening for change notices failed (%s); polling until it reconnects", exc)
            self.close()
            self._stop.wait(timeout)
            return False

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing left to release
                self._connection.close()
            self._connection = None
