"""Concurrent writers and readers on one service (SQLite in WAL mode with a busy timeout, and
PostgreSQL): no write is lost or refused, readers never fail, and the indexes end in step."""

from __future__ import annotations

import threading

from sqlmodel import Session

from service import shortlists, writes
from service.container import Services
from store import repository
from store.models import SupplierCreate
from store.repository import SUPPLIERS
from tests.test_crash import assert_consistent

WRITERS, READERS, PER_WRITER = 4, 4, 40


def test_concurrent_writers_and_readers(services: Services) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(w: int) -> None:
        try:
            for n in range(PER_WRITER):
                text = f"Vi leverer fallsensorer og trygghetsalarmer, serie {w}-{n}."
                writes.create(services, SUPPLIERS, SupplierCreate(id=f"C{w}-{n}", description=text, country="NO"))
                if n % 10 == 9:
                    writes.delete(services, SUPPLIERS, f"C{w}-{n - 5}")
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                shortlists.suppliers_for_text(services, "fallsensorer for eldre", k=5)
                with Session(services.engine) as session:
                    repository.list_page(session, SUPPLIERS, offset=0, limit=20)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(READERS)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    with Session(services.engine) as session:
        _rows, total = repository.list_page(session, SUPPLIERS, offset=0, limit=1)
    assert total == WRITERS * (PER_WRITER - PER_WRITER // 10)
    assert_consistent(services)
