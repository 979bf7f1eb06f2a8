"""The buyer's pages: its needs with their readiness, and a need described on a form, checked against the
market before it is saved (service/need_drafts.py).

One form serves a new need and an edit; its buttons say what to do: check the market (nothing stored),
take a suggested CPV code, save, or close the need.
"""

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api.deps import ServicesDep
from api.web_pages import page_principal, problems, refused, render
from api.web_security import verify_form
from api.web_views import labelled_codes, result_views
from service import alert_inbox, need_drafts, readiness
from service.access import Denied, Principal
from service.container import Services
from service.errors import InvalidInput, NotFound
from service.need_drafts import NeedDraft
from store import repository
from store.repository import NEEDS

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])
Field = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=300)]


@router.get("/ui/my/needs", response_model=None)
def my_needs(request: Request, services: ServicesDep) -> Response:
    """The buyer's needs, each with its readiness verdict and how many suppliers were told about it."""
    principal = page_principal(request, services)
    try:
        need_drafts.require_buyer(principal)
    except Denied as exc:
        return refused(request, principal, exc)
    with Session(services.engine) as session:
        rows = repository.needs_of_buyer(session, principal.buyer or "")
    verdicts = {need.id: readiness.readiness_for_need(services, need.id)[1] for need in rows if need.status != "closed"}
    told = alert_inbox.counts(services, [need.id for need in rows])  # how many, never who
    return render(request, "my_needs.html", principal, needs=rows, verdicts=verdicts, told=told)


def _form_page(
    request: Request, services: Services, principal: Principal, draft: NeedDraft, need: Any | None, code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "draft": draft,
        "need": need,
        "errors": [],
        "check": None,
        "results": None,
        "codes": labelled_codes(draft.cpv_codes, services.catalog),
    }
    return render(request, "need_form.html", principal, code, **(context | extra))


@router.get("/ui/my/needs/new", response_model=None)
def new_need(request: Request, services: ServicesDep) -> Response:
    principal = page_principal(request, services)
    try:
        need_drafts.require_buyer(principal)
    except Denied as exc:
        return refused(request, principal, exc)
    return _form_page(request, services, principal, NeedDraft(), None)


@router.get("/ui/my/needs/{need_id}/edit", response_model=None)
def edit_need(request: Request, need_id: str, services: ServicesDep) -> Response:
    principal = page_principal(request, services)
    try:
        need_drafts.require_buyer(principal)
        need = need_drafts.own_need(services, principal, need_id)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    return _form_page(request, services, principal, need_drafts.draft_of(need), need)


@dataclass(frozen=True)
class Posted:
    """What the form sent: the draft, and what to do with it."""

    draft: NeedDraft
    action: str


def posted_form(
    title: Short = "",
    description: Field = "",
    cpv: Field = "",
    country: Short = "",
    region: Short = "",
    published: Short = "",
    deadline: Short = "",
    need_status: Annotated[str, Form(alias="status", max_length=10)] = "planning",
    action: Short = "check",
    add_cpv: Short = "",
) -> Posted:
    """Taking a suggested code (``add_cpv``) checks the market again with it."""
    codes = list(dict.fromkeys([*need_drafts.split_codes(cpv), *([add_cpv] if add_cpv else [])]))
    draft = NeedDraft(title, description, codes, country, region, published, deadline, need_status)
    return Posted(draft, "check" if add_cpv else action)


PostedDep = Annotated[Posted, Depends(posted_form)]


@router.post("/ui/my/needs/new", response_model=None)
def post_new_need(request: Request, services: ServicesDep, posted: PostedDep) -> Response:
    return _act(request, services, None, posted.draft, posted.action)


@router.post("/ui/my/needs/{need_id}/edit", response_model=None)
def post_edit_need(request: Request, need_id: str, services: ServicesDep, posted: PostedDep) -> Response:
    return _act(request, services, need_id, posted.draft, posted.action)


def _act(request: Request, services: Services, need_id: str | None, draft: NeedDraft, action: str) -> Response:
    """Check the market (nothing stored), save, or close; the form again with what went wrong."""
    principal = page_principal(request, services)
    need = None
    try:
        need_drafts.require_buyer(principal)
        if need_id is not None:
            need = need_drafts.own_need(services, principal, need_id)
        if action == "save":
            saved = (
                need_drafts.save_new(services, principal, draft)
                if need_id is None
                else need_drafts.save_existing(services, principal, need_id, draft)
            )
            services.wait_indexed(NEEDS, [saved.key], timeout=10.0)  # found in searches the moment the buyer looks
            return RedirectResponse(f"/ui/needs/{quote(saved.id, safe='')}", status_code=status.HTTP_303_SEE_OTHER)
        if action == "close" and need_id is not None:
            need_drafts.close(services, principal, need_id)
            return RedirectResponse("/ui/my/needs", status_code=status.HTTP_303_SEE_OTHER)
        check = need_drafts.check_market(services, principal, draft)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    except InvalidInput as exc:
        return _form_page(request, services, principal, draft, need, 422, errors=problems(exc))
    views = result_views(check.results, services.catalog, for_advisers=False)
    similar = result_views(check.similar, services.catalog)
    return _form_page(request, services, principal, draft, need, check=check, results=views, similar=similar)
