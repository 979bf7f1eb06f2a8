"""The market dialogue around a stored need: advisers' marks, market readiness, the invitation list."""

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from api.deps import ServicesDep
from api.schemas import MarkOut, ReadinessOut
from service import feedback, invitations, readiness
from store.models import FeedbackCreate

router = APIRouter(prefix="/needs/{need_id}", tags=["market dialogue"])

ExportMark = Literal["invited", "relevant", "not_relevant"]


@router.post("/feedback", response_model=MarkOut, status_code=status.HTTP_201_CREATED, summary="Mark a supplier for the need")
def mark_supplier(need_id: str, payload: FeedbackCreate, services: ServicesDep) -> Any:
    """`invited`, `relevant` or `not_relevant`; `cleared` withdraws the current mark. Every mark is kept."""
    return MarkOut.of(feedback.mark_supplier(services, need_id, payload))


@router.get("/feedback", response_model=list[MarkOut], summary="The current marks on the need's suppliers")
def current_marks(need_id: str, services: ServicesDep) -> Any:
    return [MarkOut.of(m) for m in feedback.marks_for_need(services, need_id)]


@router.get("/readiness", response_model=ReadinessOut, summary="Market readiness: how many suppliers match, and who")
def need_readiness(need_id: str, services: ServicesDep) -> Any:
    _need, figures = readiness.readiness_for_need(services, need_id)
    return ReadinessOut.of(need_id, figures)


@router.get(
    "/invitations.csv",
    summary="The invitation list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def invitation_list(
    need_id: str,
    services: ServicesDep,
    mark: Annotated[list[ExportMark] | None, Query(max_length=3, description="marks to export (default: invited)")] = None,
) -> Response:
    rows = invitations.invitation_rows(services, need_id, set(mark or ["invited"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=invitations.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    filename = f"invitations-{''.join(c if c.isalnum() or c in '-_.' else '_' for c in need_id)}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
