"""Change notices on PostgreSQL: a commit that takes a revision wakes every listener at once; a rolled
back one wakes nobody. On SQLite there are none (processes poll), and nothing tries to send one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from store import repository
from store.change_notices import ChangeListener, notices_supported
from store.db import init_db, make_engine, session_scope


def _listening(database_url: str) -> tuple[ChangeListener, threading.Event]:
    engine = make_engine(database_url)
    init_db(engine)
    stop = threading.Event()
    listener = ChangeListener(engine, stop)
    assert listener.wait(0.05) is False  # connects and LISTENs; nothing committed yet
    return listener, stop


def test_a_committed_revision_wakes_a_listener_and_a_rolled_back_one_does_not(database_url: str) -> None:
    engine = make_engine(database_url)
    init_db(engine)
    if not notices_supported(engine):
        with session_scope(engine) as session:  # SQLite: taking a revision sends nothing, and works
            repository.next_revision(session)
        pytest.skip("change notices are PostgreSQL's; SQLite's processes poll")
    listener, _stop = _listening(database_url)
    try:
        with pytest.raises(RuntimeError), session_scope(engine) as session:
            repository.next_revision(session)
            raise RuntimeError("roll back")
        assert listener.wait(0.5) is False
        with session_scope(engine) as session:
            for _ in range(50):  # an import takes a revision per row: one notice for the transaction
                repository.next_revision(session)
        assert listener.wait(5.0) is True
        assert listener.wait(0.3) is False  # folded into one
    finally:
        listener.close()


def test_a_listener_that_loses_its_connection_reconnects(database_url: str) -> None:
    engine = make_engine(database_url)
    if not notices_supported(engine):
        pytest.skip("change notices are PostgreSQL's")
    listener, _stop = _listening(database_url)
    try:
        with engine.connect() as admin:  # the server drops the listening connection (a failover, a restart)
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid() AND datname = current_database()"
                )
            )
            admin.commit()
        assert listener.wait(0.2) is False  # notices the loss, waits out its timeout
        assert listener.wait(0.05) is False  # connected again
        with session_scope(engine) as session:
            repository.next_revision(session)
        assert listener.wait(5.0) is True
    finally:
        listener.close()
