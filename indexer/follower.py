"""Following the change log: every serving process applies, in revision order, what any process
committed since the revision it last applied — rows written (facts, lexical entries), vectors stored,
rows deleted (tombstones). Commits that take a revision are serialised by the revision counter's row
lock, so everything at or below the head read first has been committed and nothing is skipped."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indexer.sync import SideIndex
from store import index_queries, repository
from store.repository import SUPPLIERS


def follow(engine: Engine, sides: Sequence[SideIndex], since: int) -> int:
    """Apply every change after ``since``; returns the revision now applied."""
    with Session(engine) as session:
        head = repository.current_revision(session)
        if head <= since:
            return since
        for side in sides:
            side.remove(index_queries.tombstones_since(session, side.kind.name, since, head))
            table = side.kind.table
            rows = list(session.exec(select(table).where(col(table.revision) > since, col(table.revision) <= head)))
            evidence = repository.evidence_for(session, [r.key for r in rows]) if side.kind is SUPPLIERS and rows else {}
            side.apply_rows(rows, evidence)
            side.apply_vectors(index_queries.vectors_since(session, side.model, side.kind.name, since, head))
    return head
