"""The store on every backend: idempotent upserts, revisions, and exact filters."""

from pathlib import Path

import pytest
from sqlmodel import Session

from matcher.filters import MatchFilters
from service.container import Services, open_services
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as ROWS
from tests.fakes import HashingEmbedder


def _write(services: Services, values: dict) -> tuple[object, str]:  # type: ignore[type-arg]
    with session_scope(services.engine) as session:
        return repository.upsert(session, SUPPLIERS, dict(values))


def test_upsert_is_idempotent_and_bumps_revisions_only_on_change(services: Services) -> None:
    row, status = _write(services, ROWS[0])
    assert status == "created"
    first_revision = row.revision  # type: ignore[attr-defined]
    assert _write(services, ROWS[0])[1] == "unchanged"
    changed, status = _write(services, {**ROWS[0], "size": "medium"})
    assert status == "updated" and changed.revision > first_revision  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        assert repository.current_revision(session) == changed.revision  # type: ignore[attr-defined]


def test_sql_filters_agree_with_the_domain_semantics(services: Services) -> None:
    for values in ROWS:
        _write(services, values)
    cases = [
        MatchFilters.build(cpv=["331"]),
        MatchFilters.build(countries=["NO"]),  # the Swedish firm serving Norway too
        MatchFilters.build(countries=["SE"], sizes=["small", "medium"]),
        MatchFilters.build(regions=["SE3", "UKD"]),
        MatchFilters.build(cpv=["9062", "4819"], countries=["GB"]),
    ]
    with Session(services.engine) as session:
        rows = repository.get_by_keys(session, SUPPLIERS, repository.revisions(session, SUPPLIERS))
        for filters in cases:
            expected = {
                key
                for key, r in rows.items()
                if filters.admits(
                    cpv_codes=r.cpv_codes,
                    country=r.country,
                    region=r.region,
                    operating_countries=r.operating_countries,
                    size=r.size,
                )
            }
            assert set(repository.allowed_keys(session, SUPPLIERS, filters) or []) == expected, filters
        assert repository.allowed_keys(session, SUPPLIERS, MatchFilters()) is None
        assert len(repository.allowed_keys(session, SUPPLIERS, MatchFilters.build(countries=["NO"])) or []) == 2


def test_each_process_keeps_the_configured_number_of_postgresql_connections(database_url: str, tmp_path: Path) -> None:
    """A fleet's processes together must fit PostgreSQL's max_connections: the pool is a setting."""
    settings = Settings(home=tmp_path, database_url=database_url, database_pool=3)
    services = open_services(settings, embedder=HashingEmbedder())
    try:
        if services.engine.dialect.name != "postgresql":
            pytest.skip("SQLite opens a file, not a pool of server connections")
        pool = services.engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 3)  # type: ignore[attr-defined]
    finally:
        services.engine.dispose()


def test_an_index_claim_leases_at_most_its_batch_oldest_first(database_url: str, tmp_path: Path) -> None:
    """A worker must not lease more rows than it embeds before its lease ends (another would redo them)."""
    import datetime as dt

    from store import index_queries
    from store.db import init_db, make_engine

    engine = make_engine(database_url)
    init_db(engine)
    with session_scope(engine) as session:
        for key in range(1, 51):
            index_queries.enqueue(session, "supplier", key, key)
    first = index_queries.claim(engine, batch=5, lease=dt.timedelta(minutes=2))
    second = index_queries.claim(engine, batch=5, lease=dt.timedelta(minutes=2))
    assert [j.row_key for j in first] == [1, 2, 3, 4, 5]
    assert [j.row_key for j in second] == [6, 7, 8, 9, 10]
    engine.dispose()
