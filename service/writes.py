"""Writes: validate, then commit the rows together with the jobs that embed them.

The commit is what acknowledges a write, and it holds the work still to do (store/index_models.py):
inline, the writer embeds its rows before returning; in the background, an indexer does, and every
process picks the result up from the change log (service/container.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from matcher.catalog import CpvCatalog
from matcher.cpv import CpvError, parse_cpv
from service import alerts
from service.container import Services
from service.errors import MAX_PROBLEMS, NESTED_TOO_DEEPLY, FieldProblem, InvalidInput, NotFound
from store import models, repository
from store.db import session_scope
from store.repository import EntityKind

log = logging.getLogger(__name__)

MAX_IMPORT_LINES = 200_000

CREATE_MODELS: dict[str, type[BaseModel]] = {"supplier": models.SupplierCreate, "need": models.NeedCreate}


def normalise_cpv(codes: Sequence[str], catalog: CpvCatalog, field: str = "cpv_codes") -> list[str]:
    """8-digit codes, duplicates dropped; raises :class:`InvalidInput` naming each bad code."""
    problems: list[FieldProblem] = []
    parsed: list[str] = []
    for i, raw in enumerate(codes):
        try:
            parsed.append(parse_cpv(raw, catalog.check_digits))
        except CpvError as exc:
            problems.append(FieldProblem((field, i), str(exc)))
    if problems:
        raise InvalidInput(problems)
    return list(dict.fromkeys(parsed))


def _values(payload: BaseModel, catalog: CpvCatalog, *, only_set: bool = False) -> dict[str, Any]:
    values = payload.model_dump(exclude_unset=only_set)
    if "cpv_codes" in values:
        values["cpv_codes"] = normalise_cpv(values["cpv_codes"], catalog)
    return values


def index_after_commit(services: Services, kind: EntityKind, rows: Sequence[Any], *, progress: bool = False) -> None:
    """The committed rows' jobs are done now (inline) or soon (background); a failure leaves them queued."""
    _after_commit(services, kind, [int(r.key) for r in rows], progress=progress)


def _after_commit(services: Services, kind: EntityKind, keys: Sequence[int], *, progress: bool = False) -> None:
    try:
        services.after_write(kind, keys, progress=progress)
    except Exception:  # the write and its jobs are committed: the indexer (or the next start) finishes them
        log.exception("indexing %d %s(s) failed after commit; they stay queued", len(keys), kind.name)


def _tell_suppliers(services: Services, kind: EntityKind) -> None:
    """Inline (the CLI, tests): a saved need's alerts are made before the write returns. In the
    background, and for bulk imports, the alerts thread runs the jobs (service/background.py)."""
    if kind is not repository.NEEDS or services.indexing != "inline":
        return
    try:
        while alerts.run_pending(services).jobs:
            pass
    except Exception:  # the job is committed with the need: it runs again later
        log.exception("alerting suppliers failed after commit; the job stays queued")


def create(services: Services, kind: EntityKind, payload: BaseModel) -> Any:
    values = _values(payload, services.catalog)
    with session_scope(services.engine) as session:
        row, _status = repository.upsert(session, kind, values, allow_update=False)
    index_after_commit(services, kind, [row])
    _tell_suppliers(services, kind)
    return row


def replace(services: Services, kind: EntityKind, entity_id: str, payload: BaseModel) -> tuple[Any, bool]:
    """Create or fully replace the row with this id; returns the row and whether it was created."""
    values = _values(payload, services.catalog)
    if values["id"] != entity_id:
        raise InvalidInput([FieldProblem(("body", "id"), f"does not match the id in the path ('{entity_id}')")])
    with session_scope(services.engine) as session:
        row, status = repository.upsert(session, kind, values)
    if status != "unchanged":
        index_after_commit(services, kind, [row])
        _tell_suppliers(services, kind)
    return row, status == "created"


def patch(services: Services, kind: EntityKind, entity_id: str, payload: BaseModel) -> Any:
    """Partial update; the merged record must pass the same validation as a create."""
    changes = _values(payload, services.catalog, only_set=True)
    with session_scope(services.engine) as session:
        row = repository.get(session, kind, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        model = CREATE_MODELS[kind.name]
        current = {field: getattr(row, field) for field in model.model_fields}
        try:
            merged = model.model_validate({**current, **changes})
        except ValidationError as exc:
            raise InvalidInput([FieldProblem(("body", *e["loc"]), e["msg"]) for e in exc.errors()]) from exc
        row = repository.patch(session, kind, row, {field: getattr(merged, field) for field in changes})
    index_after_commit(services, kind, [row])
    _tell_suppliers(services, kind)
    return row


def delete(services: Services, kind: EntityKind, entity_id: str) -> None:
    with session_scope(services.engine) as session:
        row = repository.get(session, kind, entity_id)
        if row is None:
            raise NotFound(kind.name, entity_id)
        key = repository.delete(session, kind, row)
    _after_commit(services, kind, [key])


# ---------------------------------------------------------------- bulk import


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def parse_jsonl(lines: Iterable[str], kind: EntityKind, catalog: CpvCatalog) -> list[dict[str, Any]]:
    """Validate every line; raise one :class:`InvalidInput` listing each bad line, or return all records."""
    model = CREATE_MODELS[kind.name]
    records: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    more = 0  # problems past the listed ones are only counted: a file of bad lines must not fill memory
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if number > MAX_IMPORT_LINES:
            raise InvalidInput([FieldProblem(("file",), f"more than {MAX_IMPORT_LINES} lines", number)])
        if len(problems) > MAX_PROBLEMS:
            more += len(problems) - MAX_PROBLEMS
            del problems[MAX_PROBLEMS:]
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            values = _values(model.model_validate(raw), catalog)
        except json.JSONDecodeError as exc:
            problems.append(FieldProblem(("line",), f"not valid JSON ({exc.msg})", number))
            continue
        except RecursionError:
            problems.append(FieldProblem(("line",), NESTED_TOO_DEEPLY, number))
            continue
        except ValidationError as exc:
            problems.extend(FieldProblem(tuple(e["loc"]), e["msg"], number) for e in exc.errors())
            continue
        except InvalidInput as exc:
            problems.extend(FieldProblem(p.loc, p.msg, number) for p in exc.problems)
            continue
        if values["id"] in seen:
            problems.append(FieldProblem(("id",), f"'{values['id']}' already given on line {seen[values['id']]}", number))
            continue
        seen[values["id"]] = number
        records.append(values)
    if problems:
        raise InvalidInput(problems, more)
    return records


def import_records(services: Services, kind: EntityKind, lines: Iterable[str], *, progress: bool = False) -> ImportReport:
    """All or nothing: every line is validated before one transaction writes them all."""
    records = parse_jsonl(lines, kind, services.catalog)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    changed: list[Any] = []
    with session_scope(services.engine) as session:
        for values in records:
            row, status = repository.upsert(session, kind, values)
            counts[status] += 1
            if status != "unchanged":
                changed.append(row)
    index_after_commit(services, kind, changed, progress=progress)
    return ImportReport(**counts)
