"""CRUD, paginated lists and bulk JSONL import, for suppliers and for needs alike.

(No ``from __future__ import annotations`` here: FastAPI reads these signatures at run time, and
the model classes are parameters of the factory.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.schemas import ImportResult, Page
from service import writes
from service.errors import FieldProblem, InvalidInput, NotFound
from store import repository
from store.repository import EntityKind

MAX_PAGE = 500
MAX_IMPORT_BYTES = 64 * 1024 * 1024


def entity_router(
    kind: EntityKind, plural: str, create_model: type[BaseModel], update_model: type[BaseModel], public_model: type[BaseModel]
) -> APIRouter:
    router = APIRouter(prefix=f"/{plural}", tags=[plural])

    def public(row: Any) -> Any:
        return public_model.model_validate(row, from_attributes=True)

    @router.get("", response_model=Page[public_model])  # type: ignore[valid-type]
    def list_entities(
        services: ServicesDep,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> Any:
        with Session(services.engine) as session:
            rows, total = repository.list_page(session, kind, offset=offset, limit=limit)
            return {"total": total, "offset": offset, "limit": limit, "items": [public(r) for r in rows]}

    @router.get("/{entity_id}", response_model=public_model)
    def get_entity(entity_id: str, services: ServicesDep) -> Any:
        with Session(services.engine) as session:
            row = repository.get(session, kind, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        return public(row)

    @router.post("", response_model=public_model, status_code=status.HTTP_201_CREATED)
    def create_entity(payload: create_model, services: ServicesDep) -> Any:  # type: ignore[valid-type]
        return public(writes.create(services, kind, payload))

    @router.put("/{entity_id}", response_model=public_model)
    def replace_entity(entity_id: str, payload: create_model, services: ServicesDep, response: Response) -> Any:  # type: ignore[valid-type]
        row, created = writes.replace(services, kind, entity_id, payload)
        if created:
            response.status_code = status.HTTP_201_CREATED
        return public(row)

    @router.patch("/{entity_id}", response_model=public_model)
    def patch_entity(entity_id: str, payload: update_model, services: ServicesDep) -> Any:  # type: ignore[valid-type]
        return public(writes.patch(services, kind, entity_id, payload))

    @router.delete("/{entity_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_entity(entity_id: str, services: ServicesDep) -> Response:
        writes.delete(services, kind, entity_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/import",
        response_model=ImportResult,
        summary=f"Bulk import {plural} from JSON lines (all or nothing)",
        openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}, "required": True}},
    )
    async def import_entities(request: Request, services: ServicesDep) -> Any:
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_IMPORT_BYTES:
                raise InvalidInput([FieldProblem(("body",), f"larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")])
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput([FieldProblem(("body",), f"not UTF-8 ({exc.reason} at byte {exc.start})")]) from exc
        report = await run_in_threadpool(writes.import_records, services, kind, text.splitlines())
        return ImportResult(created=report.created, updated=report.updated, unchanged=report.unchanged)

    return router
