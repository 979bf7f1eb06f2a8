"""Read-your-writes across processes.

A write answers once committed, with the revision it was committed at (``X-Matchmaker-Revision``). With
``?wait=indexed`` it answers once its rows are searchable here, and the revision then covers their
vectors. A read carrying ``X-Matchmaker-Revision`` (or ``?after_revision=``) on any server waits, briefly,
until that server has applied the revision, so a client that saved through one server and searches
through another finds what it saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from service.container import Services
from store.repository import EntityKind

REVISION_HEADER = "X-Matchmaker-Revision"
READ_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class WriteWait:
    indexed: bool
    timeout: float


def write_wait(
    wait: Annotated[Literal["indexed"] | None, Query(description="'indexed': answer once the rows are searchable")] = None,
    wait_timeout: Annotated[float, Query(gt=0, le=60, description="seconds to wait at most")] = 10.0,
) -> WriteWait:
    return WriteWait(wait == "indexed", wait_timeout)


WriteWaitDep = Annotated[WriteWait, Depends(write_wait)]


def settle(
    services: Services, kind: EntityKind, keys: Sequence[int], revision: int, response: Response, wanted: WriteWait
) -> None:
    """Headers of a committed write; with ``wait=indexed``, first wait until its rows are searchable here."""
    if wanted.indexed:
        indexed = services.wait_indexed(kind, keys, timeout=wanted.timeout)
        response.headers["X-Matchmaker-Indexed"] = "true" if indexed else "false"
        revision = max(revision, services.applied_revision)
    response.headers[REVISION_HEADER] = str(revision)


async def read_after(
    services: ServicesDep,
    after_revision: Annotated[int | None, Query(ge=0, description="wait until this server has applied this revision")] = None,
    x_matchmaker_revision: Annotated[int | None, Header(ge=0)] = None,
) -> None:
    """Every read's dependency: a revision the client already holds is applied here first (at most a few seconds)."""
    wanted = max(after_revision or 0, x_matchmaker_revision or 0)
    if wanted > services.applied_revision:
        await run_in_threadpool(services.wait_for_revision, wanted, READ_WAIT_SECONDS)
