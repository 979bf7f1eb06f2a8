"""Indexes follow the database: writes reach them at once, and start-up reconciles what a crash or
an outside change left behind."""

from sqlmodel import Session

from service.container import open_services
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as ROWS
from tests.fakes import HashingEmbedder


def test_restart_reconciles_missing_stale_and_deleted_rows(settings: Settings) -> None:
    services = open_services(settings, embedder=HashingEmbedder())
    with session_scope(services.engine) as session:
        for values in ROWS:
            repository.upsert(session, SUPPLIERS, dict(values))
    report = services.reconcile()["supplier"]
    assert (report.embedded, report.removed, report.total) == (3, 0, 3)
    services.close()

    # Changes the saved index never saw: one new row, one changed, one deleted.
    engine = services.engine
    with session_scope(engine) as session:
        repository.upsert(session, SUPPLIERS, {**ROWS[0], "id": "NO-BRC-900000099", "name": "Ny AS"})
        repository.upsert(session, SUPPLIERS, {**ROWS[1], "description": "Nu även sandning av cykelbanor."})
        repository.delete(session, SUPPLIERS, repository.get(session, SUPPLIERS, ROWS[2]["id"]))
    engine.dispose()

    reopened = open_services(settings, embedder=HashingEmbedder())
    with Session(reopened.engine) as session:
        in_db = repository.revisions(session, SUPPLIERS)
    assert reopened.suppliers.vectors.revisions() == in_db, "no missing, stale or ghost vectors"
    assert len(reopened.suppliers.lexical) == len(in_db)
    assert {key: facts.revision for key, facts in reopened.suppliers.facts.items()} == in_db
    reopened.engine.dispose()


def test_a_missing_index_file_is_rebuilt_from_the_database(settings: Settings) -> None:
    services = open_services(settings, embedder=HashingEmbedder())
    with session_scope(services.engine) as session:
        repository.upsert(session, SUPPLIERS, dict(ROWS[0]))
    services.close()
    (settings.index_dir / "suppliers.npz").unlink()
    reopened = open_services(settings, embedder=HashingEmbedder())
    assert len(reopened.suppliers.vectors) == 1
    reopened.engine.dispose()
