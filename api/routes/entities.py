"""CRUD, paginated lists and bulk JSONL import, for suppliers and for needs alike.

(No ``from __future__ import annotations`` here: FastAPI reads these signatures at run time, and
the model classes are parameters of the factory.)
"""

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.consistency import WriteWaitDep, read_after, settle
from api.deps import PrincipalDep, ServicesDep
from api.entity_access import EntityAccess
from api.import_body import IMPORT_RESPONSES, read_import_text
from api.schemas import ImportProblems, ImportResult, Page
from service import access, writes
from service.container import Services
from service.errors import NotFound
from store import repository
from store.repository import EntityKind

MAX_PAGE = 500
MAX_OFFSET = 10_000_000


def entity_router(
    kind: EntityKind,
    plural: str,
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    public_model: type[BaseModel],
    guard: EntityAccess,
) -> APIRouter:
    """``public_model`` lists every field some reader may see; each reader gets only its own (unset ones are left out)."""
    router = APIRouter(prefix=f"/{plural}", tags=[plural], dependencies=[Depends(read_after)])

    def existing(services: Services, entity_id: str) -> Any | None:
        with Session(services.engine) as session:
            return repository.get(session, kind, entity_id)

    @router.get("", response_model=Page[public_model], response_model_exclude_unset=True)  # type: ignore[valid-type]
    def list_entities(
        services: ServicesDep,
        principal: PrincipalDep,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> Any:
        statuses = guard.statuses(principal)
        with Session(services.engine) as session:
            rows, total = repository.list_page(session, kind, offset=offset, limit=limit, statuses=statuses)
            return {"total": total, "offset": offset, "limit": limit, "items": [guard.view(principal, r) for r in rows]}

    @router.get("/{entity_id}", response_model=public_model, response_model_exclude_unset=True)
    def get_entity(entity_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        row = existing(services, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        guard.check_read(principal, row)
        return guard.view(principal, row)

    @router.post("", response_model=public_model, response_model_exclude_unset=True, status_code=status.HTTP_201_CREATED)
    def create_entity(
        payload: create_model,  # type: ignore[valid-type]
        services: ServicesDep,
        principal: PrincipalDep,
        response: Response,
        wanted: WriteWaitDep,
    ) -> Any:
        payload = guard.check_write(principal, payload.id, None, payload)  # type: ignore[attr-defined]
        row = writes.create(services, kind, payload)
        settle(services, kind, [row.key], row.revision, response, wanted)
        return guard.view(principal, row)

    @router.put("/{entity_id}", response_model=public_model, response_model_exclude_unset=True)
    def replace_entity(
        entity_id: str,
        payload: create_model,  # type: ignore[valid-type]
        services: ServicesDep,
        principal: PrincipalDep,
        response: Response,  # type: ignore[valid-type]
        wanted: WriteWaitDep,
    ) -> Any:
        payload = guard.check_write(principal, entity_id, existing(services, entity_id), payload)
        row, created = writes.replace(services, kind, entity_id, payload)
        if created:
            response.status_code = status.HTTP_201_CREATED
        settle(services, kind, [row.key], row.revision, response, wanted)
        return guard.view(principal, row)

    @router.patch("/{entity_id}", response_model=public_model, response_model_exclude_unset=True)
    def patch_entity(
        entity_id: str,
        payload: update_model,  # type: ignore[valid-type]
        services: ServicesDep,
        principal: PrincipalDep,
        response: Response,
        wanted: WriteWaitDep,
    ) -> Any:
        row = existing(services, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        payload = guard.check_write(principal, entity_id, row, payload)
        row = writes.patch(services, kind, entity_id, payload)
        settle(services, kind, [row.key], row.revision, response, wanted)
        return guard.view(principal, row)

    @router.delete("/{entity_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_entity(entity_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
        row = existing(services, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        guard.check_delete(principal, row)
        writes.delete(services, kind, entity_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/import",
        response_model=ImportResult,
        responses={
            422: {
                "model": ImportProblems,
                "description": "each bad line's number, field and reason (the first 100); nothing imported",
            },
            **IMPORT_RESPONSES,
        },
        summary=f"Bulk import {plural} from JSON lines (all or nothing; advisers)",
        openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}, "required": True}},
    )
    async def import_entities(request: Request, services: ServicesDep, principal: PrincipalDep) -> Any:
        """JSON lines, plain or gzip (``Content-Encoding: gzip`` or recognised by its magic bytes); refused
        with 413 before any line is parsed when, inflated, it is over 64 MB or 200,000 lines."""
        access.require_staff(principal, "bulk import")
        text = await read_import_text(request.stream(), request.headers.get("content-encoding"))
        report = await run_in_threadpool(writes.import_records, services, kind, io.StringIO(text, newline=None))
        return ImportResult(created=report.created, updated=report.updated, unchanged=report.unchanged)

    return router
