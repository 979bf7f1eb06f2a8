"""The market dialogue around a stored need: advisers' marks, market readiness, the invitation list."""

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from api.deps import PrincipalDep, ServicesDep
from api.schemas import AuditEventOut, MarkOut, ReadinessOut
from service import access, audit, feedback, invitations, readiness, shortlists
from service.access import Principal
from service.container import Services
from service.csv_export import csv_text
from store.models import FeedbackCreate

router = APIRouter(prefix="/needs/{need_id}", tags=["market dialogue"])

ExportMark = Literal["invited", "relevant", "not_relevant"]


@router.post("/feedback", response_model=MarkOut, status_code=status.HTTP_201_CREATED, summary="Mark a supplier for the need")
def mark_supplier(need_id: str, payload: FeedbackCreate, services: ServicesDep, principal: PrincipalDep) -> Any:
    """`invited`, `relevant` or `not_relevant`; `cleared` withdraws the current mark. Every mark is kept,
    with who gave it (from the key) and when, and is written to the need's audit trail."""
    access.require_staff(principal, "marking suppliers")
    return MarkOut.of(feedback.mark_supplier(services, need_id, payload, principal))


@router.get("/feedback", response_model=list[MarkOut], summary="The current marks on the need's suppliers")
def current_marks(need_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    guard_need(services, need_id, principal, "the marks")
    return [MarkOut.of(m) for m in feedback.marks_for_need(services, need_id)]


@router.get("/readiness", response_model=ReadinessOut, summary="Market readiness: how many suppliers match, and who")
def need_readiness(need_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    guard_need(services, need_id, principal, "market readiness")
    _need, figures = readiness.readiness_for_need(services, need_id)
    return ReadinessOut.of(need_id, figures)


@router.get("/audit", response_model=list[AuditEventOut], summary="The record of the need's market dialogue")
def need_audit(need_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Every shortlist served for the need (who, when, filters, suppliers and scores shown), every mark, every export."""
    guard_need(services, need_id, principal, "the audit trail")
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in audit.events_for(services.engine, need_id)]


@router.get(
    "/audit.csv",
    summary="The record of the need's market dialogue as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def need_audit_csv(need_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    guard_need(services, need_id, principal, "the audit trail")
    rows = [
        {**{c: getattr(e, c) for c in audit.COLUMNS}, "at": e.at.isoformat(timespec="seconds"), "details": json.dumps(e.details)}
        for e in audit.events_for(services.engine, need_id)
    ]
    return csv_response(rows, audit.COLUMNS, f"audit-{need_id}")


@router.get(
    "/invitations.csv",
    summary="The invitation list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def invitation_list(
    need_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    mark: Annotated[list[ExportMark] | None, Query(max_length=3, description="marks to export (default: invited)")] = None,
) -> Response:
    guard_need(services, need_id, principal, "the invitation list")
    marks = sorted(set(mark or ["invited"]))
    rows = invitations.invitation_rows(services, need_id, marks)
    details = {"marks": marks, "suppliers": [r["id"] for r in rows]}
    audit.record(services.engine, need_id, "export", principal, details)
    return csv_response(rows, invitations.COLUMNS, f"invitations-{need_id}")


def guard_need(services: Services, need_id: str, principal: Principal, what: str) -> None:
    access.require_key(principal)  # before looking: a visitor learns nothing about which needs exist
    need = shortlists.stored_need(services, need_id)
    access.check_need_dialogue(principal, need, what)


def csv_response(rows: list[dict[str, Any]], columns: Sequence[str], name: str) -> Response:
    """Every export is written by :func:`service.csv_export.csv_text` (cells a spreadsheet would run are neutralised)."""
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) + ".csv"
    return Response(
        csv_text(rows, columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
