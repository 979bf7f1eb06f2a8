"""Pages of joint market dialogues: the list, one dialogue (its needs, one shortlist with the advisers'
buttons, the invitation list, the merged record), and the forms that group needs, mark suppliers and
take a need out. Forms post and redirect (post/redirect/get), each with its CSRF token (api/web_security.py).
"""

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import ServicesDep
from api.web_pages import page_principal, problems, refused, render
from api.web_security import verify_form
from api.web_views import ResultView, result_views
from service import feedback, joint_dialogues, joint_shortlists
from service.access import Denied
from service.container import Services
from service.errors import InvalidInput, NotFound
from service.feedback import Mark
from service.joint_dialogues import Dialogue
from service.joint_shortlists import GroupMatch
from service.shortlists import MatchResult
from store.models import MAX_NAME, FeedbackCreate
from store.repository import ConflictError

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])


@dataclass(frozen=True)
class GroupView:
    view: ResultView
    per_need: list[tuple[Any, float]]  # (member need, its score), in member order
    best_need: str


def _page(dialogue_id: str, anchor: str = "") -> RedirectResponse:
    target = f"/ui/dialogues/{quote(dialogue_id, safe='')}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _latest_marks(dialogue: Dialogue, marks_by_need: dict[str, list[Mark]]) -> dict[int, Mark]:
    """Each supplier's newest mark over the member needs: what the dialogue's buttons last did."""
    latest: dict[int, Mark] = {}
    for need in dialogue.needs:
        for mark in marks_by_need[need.id]:
            if mark.supplier.key not in latest or mark.at > latest[mark.supplier.key].at:
                latest[mark.supplier.key] = mark
    return latest


def _group_views(services: Services, dialogue: Dialogue, matches: list[GroupMatch], for_advisers: bool) -> list[GroupView]:
    marks = _latest_marks(dialogue, {n.id: feedback.marks_for_need(services, n.id) for n in dialogue.needs})
    plain = [MatchResult(m.rank, m.row, m.score, m.explanation) for m in matches]
    views = result_views(plain, services.catalog, marks, for_advisers=for_advisers)
    needs = {n.id: n for n in dialogue.needs}
    return [
        GroupView(view, [(needs[n], s) for n, s in m.per_need.items()], m.best_need)
        for view, m in zip(views, matches, strict=True)
    ]


@router.get("/ui/dialogues", response_model=None)
def dialogues_page(request: Request, services: ServicesDep) -> Response:
    principal = page_principal(request, services)
    try:
        rows = joint_dialogues.list_dialogues(services, principal)
    except Denied as exc:
        return refused(request, principal, exc)
    return render(request, "joint_dialogues.html", principal, dialogues=rows)


@router.post("/ui/dialogues", response_model=None)
def group_from_page(
    request: Request,
    services: ServicesDep,
    need_ids: Annotated[list[str], Form(max_length=joint_dialogues.MAX_NEEDS)],
    title: Annotated[str, Form(max_length=MAX_NAME)] = "",
) -> Response:
    """The need page's "group" button: joins the dialogue one of the needs is in, or starts one."""
    principal = page_principal(request, services)
    try:
        dialogue = joint_dialogues.group_needs(services, principal, need_ids, title=title.strip() or None)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    except ConflictError as exc:
        return render(request, "problem.html", principal, 409, message=str(exc))
    except InvalidInput as exc:
        return render(request, "problem.html", principal, 422, message="; ".join(problems(exc)))
    return _page(dialogue.id)


@router.get("/ui/dialogues/{dialogue_id}", response_model=None)
def dialogue_page(
    request: Request, dialogue_id: str, services: ServicesDep, k: Annotated[int, Query(ge=1, le=50)] = 10
) -> Response:
    """The dialogue for advisers and its buyers; the shortlist shown is recorded in each need's trail."""
    principal = page_principal(request, services)
    try:
        dialogue = joint_dialogues.get_dialogue(services, principal, dialogue_id)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    matches = joint_shortlists.group_shortlist(services, principal, dialogue, k=k)
    return render(
        request,
        "joint_dialogue.html",
        principal,
        dialogue=dialogue,
        results=_group_views(services, dialogue, matches, principal.is_staff),
        invitations=joint_shortlists.invitations(services, dialogue),
        events=joint_dialogues.audit_trail(services, dialogue),
        k=k,
    )


@router.post("/ui/dialogues/{dialogue_id}/marks", response_model=None)
def mark_from_page(
    request: Request, dialogue_id: str, services: ServicesDep, supplier_id: Annotated[str, Form()], mark: Annotated[str, Form()]
) -> Response:
    principal = page_principal(request, services)
    try:
        payload = FeedbackCreate.model_validate({"supplier_id": supplier_id, "mark": mark})
        joint_shortlists.mark_for_dialogue(services, principal, dialogue_id, payload)
    except ValidationError as exc:
        return render(request, "problem.html", principal, 422, message="; ".join(problems(exc)))
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    except ConflictError as exc:
        return render(request, "problem.html", principal, 409, message=str(exc))
    return _page(dialogue_id, f"s-{quote(supplier_id, safe='')}")


@router.post("/ui/dialogues/{dialogue_id}/remove", response_model=None)
def remove_from_page(request: Request, dialogue_id: str, services: ServicesDep, need_id: Annotated[str, Form()]) -> Response:
    principal = page_principal(request, services)
    try:
        joint_dialogues.remove_need(services, principal, dialogue_id, need_id)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    return _page(dialogue_id, "needs")
