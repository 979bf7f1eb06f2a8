"""Engines and sessions. SQLite (a file under ``MATCHMAKER_HOME``) is the embedded default;
PostgreSQL is the production path. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from store import models, trust_models  # noqa: F401  (registers the tables for create_all)
from store.migrations import upgrade


def make_engine(url: str) -> Engine:
    """An engine with sensible settings for the backend (WAL and a busy timeout for SQLite)."""
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def init_db(engine: Engine) -> None:
    """Bring an earlier version's tables up to date, create missing tables and the revision counter."""
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
