"""A database made by an earlier version opens with the current one, its rows intact."""

from sqlalchemy import text
from sqlmodel import Session

from store import repository
from store.db import init_db, make_engine
from store.migrations import upgrade
from store.repository import SUPPLIERS


def test_a_supplier_table_without_evidence_codes_is_upgraded(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:  # the supplier table as the first version created it
        connection.execute(text("DROP TABLE IF EXISTS supplier"))
        connection.execute(
            text(
                "CREATE TABLE supplier (key INTEGER PRIMARY KEY, id VARCHAR(80) NOT NULL UNIQUE, name VARCHAR(300),"
                " description VARCHAR NOT NULL, cpv_codes JSON, country VARCHAR(2), region VARCHAR(5), size VARCHAR(10),"
                " website VARCHAR(500), operating_countries JSON, revision INTEGER NOT NULL,"
                " created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO supplier (key, id, description, cpv_codes, operating_countries, revision, created_at, updated_at)"
                " VALUES (1, 'OLD-1', 'Snow clearing.', '[]', '[]', 1, '2026-01-01', '2026-01-01')"
            )
        )
    init_db(engine)
    with Session(engine) as session:
        row = repository.get(session, SUPPLIERS, "OLD-1")
        assert row is not None and row.evidence_cpv_codes == [] and row.all_cpv_codes == []
    assert upgrade(engine) == [], "upgrading twice changes nothing"
    engine.dispose()
