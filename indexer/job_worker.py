"""The indexer: claims index jobs, embeds the rows, stores their vectors, and removes the jobs.

Jobs are written with the rows (store/index_models.py), so whatever a write committed gets embedded,
however a process died. A claim is a lease: a worker killed mid-batch loses nothing, its jobs are
claimed again when the lease has passed. A row the model fails on is retried a few times and then
parked with its error (``/health``, ``matchmaker queue``) instead of blocking the queue. Several
workers may run at once (on PostgreSQL, claims skip each other's rows).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from tqdm import tqdm

from indexer.stored_vectors import Embedded, to_row
from indexer.sync import EMBED_CHUNK, SideIndex
from store import index_queries, repository
from store.db import session_scope
from store.index_models import IndexJob

log = logging.getLogger(__name__)

# A claim is one model call over EMBED_CHUNK rows: smaller calls cost throughput (the model sorts a call's
# texts by length to pad less; 64-row claims made an import 33 % slower than the bare model, bench speed
# --quick). 256 rows take the real model ≈ 15 s on two cores; the lease is eight times that, so a live
# worker never outlives it, and a dead worker's jobs wait at most that long.
BATCH = EMBED_CHUNK
LEASE = dt.timedelta(seconds=120)
RETRY_AFTER = dt.timedelta(seconds=30)  # after the first failure; doubled after each next one


@dataclass
class WorkReport:
    embedded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    parked: int = 0
    failed: int = 0

    def add(self, other: WorkReport) -> None:
        for kind, n in other.embedded.items():
            self.embedded[kind] += n
        self.parked += other.parked
        self.failed += other.failed


def process(
    engine: Engine, sides: Mapping[str, SideIndex], jobs: Sequence[IndexJob], *, retry_after: dt.timedelta = RETRY_AFTER
) -> WorkReport:
    """Embed the rows of claimed jobs and store their vectors; the jobs are removed in the same transaction."""
    report = WorkReport()
    by_kind: dict[str, list[IndexJob]] = defaultdict(list)
    for job in jobs:
        by_kind[job.kind].append(job)
    for kind, kind_jobs in by_kind.items():
        side = sides[kind]
        with Session(engine) as session:
            rows = repository.get_by_keys(session, side.kind, [j.row_key for j in kind_jobs])
        embedded, broken = _embed_isolating_failures(side, list(rows.values()))
        done = [j for j in kind_jobs if j.row_key not in broken]
        with session_scope(engine) as session:
            stamp = repository.next_revision(session)  # first: holds the counter, so no row changes under us
            current = _revisions(session, side, [e.key for e in embedded])
            for item in embedded:
                if current.get(item.key) == item.revision:  # else changed meanwhile: its newer job embeds it
                    index_queries.store_vector(session, to_row(side.model, kind, item, stamp))
            index_queries.finish(session, done)
        report.embedded[kind] += len(embedded)
        for key, error in broken.items():
            for job in (j for j in kind_jobs if j.row_key == key):
                report.failed += 1
                if index_queries.fail(engine, job, error, retry_after=retry_after * 2 ** (job.attempts - 1)):
                    report.parked += 1
                    log.error("parked the index job of %s %d after %d attempts: %s", kind, key, job.attempts, error)
    return report


def _embed_isolating_failures(side: SideIndex, rows: list) -> tuple[list[Embedded], dict[int, str]]:  # type: ignore[type-arg]
    """All rows at once; if the model fails, one by one, so one poisoned row does not hold back the rest."""
    try:
        return side.embed(rows), {}
    except Exception:
        log.warning("embedding %d %ss failed; retrying one by one", len(rows), side.kind.name, exc_info=True)
    embedded: list[Embedded] = []
    broken: dict[int, str] = {}
    for row in rows:
        try:
            embedded += side.embed([row])
        except Exception as exc:
            broken[row.key] = f"{type(exc).__name__}: {exc}"
    return embedded, broken


def _revisions(session: Session, side: SideIndex, keys: Sequence[int]) -> dict[int, int]:
    if not keys:
        return {}
    table = side.kind.table
    return {int(k): int(r) for k, r in session.exec(select(table.key, table.revision).where(col(table.key).in_(list(keys))))}


def drain(
    engine: Engine,
    sides: Mapping[str, SideIndex],
    *,
    batch: int = BATCH,
    lease: dt.timedelta = LEASE,
    progress: bool = False,
    until_empty: bool = False,
    retry_after: dt.timedelta = RETRY_AFTER,
) -> WorkReport:
    """Work until no job is ready (parked ones are left alone). ``until_empty``: also until the jobs other
    workers hold are done, or their leases pass and this one takes them over (a start-up after a crash)."""
    report = WorkReport()
    total = 0
    if progress:  # counted only for the bar: a write's inline drain should not pay a query for it
        with Session(engine) as session:
            total = index_queries.queue_state(session).pending
    deadline = time.monotonic() + 2 * lease.total_seconds()
    with tqdm(total=total, desc="embedding", unit="row", disable=not progress or total <= batch) as bar:
        while True:
            jobs = index_queries.claim(engine, batch=batch, lease=lease, kinds=list(sides))
            if jobs:
                report.add(process(engine, sides, jobs, retry_after=retry_after))
                bar.update(len(jobs))
                continue
            if not until_empty or time.monotonic() > deadline:
                return report
            with Session(engine) as session:
                if index_queries.live_jobs(session) == 0:
                    return report
            time.sleep(0.1)
