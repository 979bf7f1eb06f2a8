"""Engines and sessions. SQLite (a file under ``MATCHMAKER_HOME``) is the embedded default;
PostgreSQL is the production path. Nothing is created at import time."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from store import alert_models, dialogue_models, index_models, models, outbox_models, people_models, trust_models  # noqa: F401  (registers the tables for create_all)
from store.migrations import upgrade


def make_engine(url: str, *, pool: int = 10) -> Engine:
    """An engine with sensible settings for the backend (WAL and a busy timeout for SQLite; on PostgreSQL
    ``pool`` connections kept, as many more under bursts)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool, max_overflow=pool)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """One process at a time, across every process of this database (servers starting together): a
    PostgreSQL advisory lock, or a lock file beside the SQLite database."""
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"matchmaker:{name}".encode()).digest()[:8], "big", signed=True)
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def init_db(engine: Engine) -> None:
    """Bring an earlier version's tables up to date, create missing tables and the revision counter;
    servers starting at once take turns (create_all and the counter's first row are not race-safe)."""
    with exclusive(engine, "schema"):
        upgrade(engine)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            if session.exec(select(models.Counter).where(models.Counter.name == "revision")).first() is None:
                session.add(models.Counter(name="revision", value=0))
                session.commit()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
