"""Queries and writes for suppliers and needs. Both kinds share one implementation, described by
an :class:`EntityKind`; every write bumps the revision counter and stamps it on the row, and writes in
the same transaction the job that embeds the row (or, for a delete, its tombstone)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import func, or_, update
from sqlmodel import Session, SQLModel, col, select

from matcher.filters import MatchFilters
from store import alert_queries, index_queries, models
from store.change_notices import announce

_CHUNK = 900  # stay under SQLite's bound-parameter limit in IN (...) lists
# Bulk deletes find the session's affected objects by the deleted keys; the default ("evaluate") scans
# every object in the session, which made a 100k-row import quadratic (10k rows 45 s; 100k > 20 min).
_FETCH = {"synchronize_session": "fetch"}


@dataclass(frozen=True)
class EntityKind:
    name: str
    table: type[Any]
    cpv_table: type[Any]
    cpv_owner: str
    stored_model: type[SQLModel]  # every field a writer may set (an upsert replaces them all)
    market_table: type[Any] | None = None


SUPPLIERS = EntityKind("supplier", models.Supplier, models.SupplierCpv, "supplier_key", models.SupplierOwn, models.SupplierMarket)
NEEDS = EntityKind("need", models.Need, models.NeedCpv, "need_key", models.NeedPublic)


class ConflictError(Exception):
    """The id is already taken."""


def next_revision(session: Session) -> int:
    """Bump and return the global revision inside the caller's transaction (other processes are told
    when it commits)."""
    counter = update(models.Counter).where(col(models.Counter.name) == "revision")
    bumped = counter.values(value=col(models.Counter.value) + 1).returning(col(models.Counter.value))
    revision = int(session.execute(bumped, execution_options={"synchronize_session": False}).scalar_one())
    announce(session)
    return revision


def current_revision(session: Session) -> int:
    return int(session.exec(select(models.Counter.value).where(models.Counter.name == "revision")).one())


def get(session: Session, kind: EntityKind, entity_id: str) -> Any | None:
    if "\x00" in entity_id:  # no stored id has one (ids are validated); PostgreSQL would refuse the query
        return None
    return session.exec(select(kind.table).where(kind.table.id == entity_id)).first()


def needs_of_buyer(session: Session, buyer: str) -> list[Any]:
    """A buyer's needs, every status, the latest changed first."""
    query = select(models.Need).where(models.Need.buyer == buyer).order_by(col(models.Need.updated_at).desc())
    return list(session.exec(query))


def get_by_keys(session: Session, kind: EntityKind, keys: Iterable[int]) -> dict[int, Any]:
    """Rows by key in as few queries as the backend allows."""
    wanted = list(dict.fromkeys(int(k) for k in keys))
    rows: dict[int, Any] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in session.exec(select(kind.table).where(kind.table.key.in_(chunk))):
            rows[row.key] = row
    return rows


def get_many(session: Session, kind: EntityKind, entity_ids: Iterable[str]) -> dict[str, Any]:
    """Rows by id (those that exist)."""
    wanted = list(dict.fromkeys(entity_ids))
    rows: dict[str, Any] = {}
    for start in range(0, len(wanted), _CHUNK):
        for row in session.exec(select(kind.table).where(kind.table.id.in_(wanted[start : start + _CHUNK]))):
            rows[row.id] = row
    return rows


def list_page(
    session: Session, kind: EntityKind, *, offset: int, limit: int, statuses: Sequence[str] | None = None
) -> tuple[list[Any], int]:
    """A page in key order; ``statuses`` (needs only) keeps just those."""
    count, rows = select(func.count()).select_from(kind.table), select(kind.table)
    if statuses is not None:
        count = count.where(col(kind.table.status).in_(statuses))
        rows = rows.where(col(kind.table.status).in_(statuses))
    total = int(session.exec(count).one())
    return list(session.exec(rows.order_by(kind.table.key).offset(offset).limit(limit))), total


def _replace_links(session: Session, kind: EntityKind, row: Any, *, new: bool = False) -> None:
    """The row's CPV and market link rows (``new``: it has none yet, nothing to delete first)."""
    owner = getattr(kind.cpv_table, kind.cpv_owner)
    if not new:
        session.execute(sa_delete(kind.cpv_table).where(owner == row.key), execution_options=_FETCH)
    for code in dict.fromkeys([*row.cpv_codes, *getattr(row, "evidence_cpv_codes", [])]):
        session.add(kind.cpv_table(**{kind.cpv_owner: row.key, "code": code}))
    if kind.market_table is not None:
        if not new:
            session.execute(
                sa_delete(kind.market_table).where(kind.market_table.supplier_key == row.key), execution_options=_FETCH
            )
        countries = {c for c in [row.country, *row.operating_countries] if c}
        for country in sorted(countries):
            session.add(kind.market_table(supplier_key=row.key, country=country))


def _content(row: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def _value_or_default(kind: EntityKind, field: str, value: Any) -> Any:
    """A missing or null value takes the column's default where it has one (a need given only a title
    has the description "", never NULL)."""
    default = kind.table.model_fields[field].get_default(call_default_factory=True)
    return default if value is None and default is not None else value


def upsert(session: Session, kind: EntityKind, values: dict[str, Any], *, allow_update: bool = True) -> tuple[Any, str]:
    """Insert or replace by ``id``; returns the row and ``created``/``updated``/``unchanged``.

    Writing identical content again changes nothing, so imports are idempotent.
    """
    row = get(session, kind, values["id"])
    if row is None:
        row = kind.table(**values, revision=next_revision(session))
        session.add(row)
        session.flush()
        _replace_links(session, kind, row, new=True)
        index_queries.enqueue(session, kind.name, row.key, row.revision)
        _alert_if_matches_changed(session, kind, row, None)
        return row, "created"
    if not allow_update:
        raise ConflictError(f"{kind.name} '{values['id']}' already exists")
    fields = [f for f in kind.stored_model.model_fields if f not in ("id", "created_at", "updated_at")]
    replacement = {f: _value_or_default(kind, f, values.get(f)) for f in fields}
    if _content(row, fields) == replacement:
        return row, "unchanged"
    before = alert_queries.matching_fields(row) if kind is NEEDS else None
    for field, value in replacement.items():
        setattr(row, field, value)
    _stamp(session, kind, row)
    _replace_links(session, kind, row)
    _alert_if_matches_changed(session, kind, row, before)
    return row, "updated"


def patch(session: Session, kind: EntityKind, row: Any, changes: dict[str, Any]) -> Any:
    """Apply a partial update to a loaded row."""
    before = alert_queries.matching_fields(row) if kind is NEEDS else None
    for field, value in changes.items():
        setattr(row, field, _value_or_default(kind, field, value))
    _stamp(session, kind, row)
    _replace_links(session, kind, row)
    _alert_if_matches_changed(session, kind, row, before)
    return row


def _alert_if_matches_changed(session: Session, kind: EntityKind, row: Any, before: dict[str, Any] | None) -> None:
    """A need that is new, newly open, or matches differently gets a job that tells suppliers about it,
    written in its own transaction (store/alert_queries.py)."""
    if kind is NEEDS and alert_queries.needs_alerting(before, row):
        alert_queries.enqueue_job(session, row.key, row.revision)


def _stamp(session: Session, kind: EntityKind, row: Any) -> None:
    row.revision = next_revision(session)
    row.updated_at = dt.datetime.now(dt.UTC)
    session.add(row)
    session.flush()
    index_queries.enqueue(session, kind.name, row.key, row.revision)


def delete(session: Session, kind: EntityKind, row: Any) -> int:
    key = int(row.key)
    if kind.market_table is not None:  # a supplier's evidence goes with it, and its alerts (a later
        # supplier given the same id must not read them; the needs' audit trails keep who was told)
        session.execute(sa_delete(models.Evidence).where(col(models.Evidence.supplier_key) == key), execution_options=_FETCH)
        alert_queries.forget_supplier(session, row.id)
    owner = getattr(kind.cpv_table, kind.cpv_owner)
    session.execute(sa_delete(kind.cpv_table).where(owner == key), execution_options=_FETCH)
    # Marks go with the row: SQLite may hand a deleted row's key to the next row inserted.
    if kind is NEEDS:
        alert_queries.forget_need(session, row.id)
    marked = models.Feedback.supplier_key if kind.market_table is not None else models.Feedback.need_key
    session.execute(sa_delete(models.Feedback).where(col(marked) == key), execution_options=_FETCH)
    if kind.market_table is not None:
        session.execute(sa_delete(kind.market_table).where(kind.market_table.supplier_key == key), execution_options=_FETCH)
    session.delete(row)
    index_queries.bury(session, kind.name, key, next_revision(session))
    session.flush()
    return key


def evidence_for(session: Session, supplier_keys: Iterable[int]) -> dict[int, list[models.Evidence]]:
    """Each supplier's evidence, newest first."""
    keys = list(dict.fromkeys(int(k) for k in supplier_keys))
    found: dict[int, list[models.Evidence]] = {k: [] for k in keys}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        stmt = select(models.Evidence).where(col(models.Evidence.supplier_key).in_(chunk))
        for item in session.exec(stmt):
            found[item.supplier_key].append(item)
    for items in found.values():
        items.sort(key=lambda e: (e.awarded_on is not None, e.awarded_on), reverse=True)
    return found


def add_evidence(session: Session, supplier: Any, items: Sequence[dict[str, Any]]) -> int:
    """Attach evidence items (by ``source``, idempotently); bumps the supplier's revision if any is new or changed."""
    existing = {e.source: e for e in session.exec(select(models.Evidence).where(models.Evidence.supplier_key == supplier.key))}
    changed = 0
    for values in items:
        current = existing.get(values["source"])
        if current is None:
            session.add(models.Evidence(supplier_key=supplier.key, **values))
            changed += 1
        elif any(getattr(current, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(current, f, v)
            session.add(current)
            changed += 1
    if changed:
        session.flush()
        counts: Counter[str] = Counter()
        for item in session.exec(select(models.Evidence).where(models.Evidence.supplier_key == supplier.key)):
            counts.update(dict.fromkeys(item.cpv_codes, 1))
        supplier.evidence_cpv_codes = [code for code, _n in counts.most_common()]
        _stamp(session, SUPPLIERS, supplier)
        _replace_links(session, SUPPLIERS, supplier)
    return changed


def revisions(session: Session, kind: EntityKind) -> dict[int, int]:
    """Every row's key and revision: what reconciliation compares an index against."""
    return {int(k): int(r) for k, r in session.exec(select(kind.table.key, kind.table.revision))}


def allowed_keys(session: Session, kind: EntityKind, filters: MatchFilters) -> list[int] | None:
    """Keys of the rows that pass ``filters`` exactly (``None`` when no filter is set): the reference that
    each process's in-memory copy (indexer/filter_index.py) is tested against, and what shortlists use
    with ``MATCHMAKER_FILTERS_FROM=database``."""
    if not filters.active:
        return None
    table = kind.table
    stmt = select(table.key)
    if filters.cpv_prefixes:
        owner = getattr(kind.cpv_table, kind.cpv_owner)
        # autoescape: a prefix is literal text, never a LIKE pattern ("%" or "_" would match anything);
        # MatchFilters.build refuses them already, this holds for filters built any other way.
        prefixes = or_(*[kind.cpv_table.code.startswith(p, autoescape=True) for p in filters.cpv_prefixes])
        stmt = stmt.where(table.key.in_(select(owner).where(prefixes)))
    if filters.countries:
        if kind.market_table is not None:
            served = select(kind.market_table.supplier_key).where(kind.market_table.country.in_(filters.countries))
            stmt = stmt.where(table.key.in_(served))
        else:
            stmt = stmt.where(table.country.in_(filters.countries))
    if filters.regions:
        stmt = stmt.where(or_(*[table.region.startswith(r, autoescape=True) for r in filters.regions]))
    if filters.sizes:
        if not hasattr(table, "size"):
            raise ValueError(f"a {kind.name} has no size")
        stmt = stmt.where(table.size.in_(filters.sizes))
    if filters.statuses:
        if not hasattr(table, "status"):
            raise ValueError(f"a {kind.name} has no status")
        stmt = stmt.where(table.status.in_(filters.statuses))
    return [int(k) for k in session.exec(stmt)]
