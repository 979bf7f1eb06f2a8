"""The adviser's workbench: server-rendered pages for search, needs, suppliers and the dialogue.

Plain HTML forms and links do everything (no JavaScript needed); a mark is a POST that redirects
back (post/redirect/get), so reloading never marks twice. Signing in with an API key opens a server-side
session (service/web_sessions.py) whose random token is the cookie; every form carries a CSRF token and
is checked to come from our own pages (api/web_security.py). Each page shows what the role may see
(service/access.py).
"""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import SESSION_COOKIE, ServicesDep, cookie_name, cookie_secure
from api.entity_access import NeedAccess, SupplierAccess
from api.schemas import Filters, MatchRequest
from api.web_alerts import need_alerts
from api.web_pages import local_path, page_principal, problems, refused, render
from api.web_security import (
    FORM_COOKIE,
    session_lifetime,
    set_session_cookie,
    verify_form,
)
from api.web_views import labelled_codes, result_views, split_list
from matcher.filters import MatchFilters
from service import (
    access,
    alert_inbox,
    audit,
    feedback,
    joint_dialogues,
    mark_demotion,
    readiness,
    shortlists,
    similar_needs,
    web_sessions,
)
from service.access import ANONYMOUS, Denied
from service.errors import InvalidInput, NotFound
from store import repository
from store.models import FeedbackCreate
from store.repository import NEEDS, SUPPLIERS

FEWER_LIKE_THIS = 0.5  # the diversity of "fewer like this" (MMR λ = 0.5: relevance and novelty weigh alike)
PAGE = 50
SIMILAR_SHOWN = 5  # other buyers' needs on a need's page

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])
OLD_KEY_COOKIE = "matchmaker_key"  # earlier versions kept the key itself in the cookie; cleared on sign-in/out


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", page_principal(request, services), next=local_path(next), error=None)


@router.post("/ui/login", response_model=None)
def log_in(
    request: Request, services: ServicesDep, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/"
) -> Response:
    opened = web_sessions.open_session(services.engine, key, session_lifetime(request))
    if opened is None:
        return render(request, "login.html", ANONYMOUS, 401, next=local_path(next), error="Unknown or revoked key.")
    session_cookie = cookie_name(request, SESSION_COOKIE)
    web_sessions.close_session(services.engine, request.cookies.get(session_cookie))  # a new session, not a fixed one
    response = RedirectResponse(local_path(next), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, response, opened[0])
    response.delete_cookie(OLD_KEY_COOKIE)
    response.delete_cookie(cookie_name(request, FORM_COOKIE), secure=cookie_secure(request))
    return response


@router.post("/ui/logout")
def log_out(request: Request, services: ServicesDep) -> Response:
    """Ends the session on the server: the cookie, if kept or copied, no longer signs anyone in."""
    session_cookie = cookie_name(request, SESSION_COOKIE)
    web_sessions.close_session(services.engine, request.cookies.get(session_cookie))
    response = RedirectResponse("/ui/needs", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(session_cookie, secure=cookie_secure(request))
    response.delete_cookie(OLD_KEY_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    services: ServicesDep,
    q: str = "",
    cpv: str = "",
    countries: str = "",
    regions: str = "",
    size: Annotated[list[str] | None, Query(max_length=4)] = None,
    diversity: str = "more",
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    principal = page_principal(request, services)
    try:
        access.check_matching(principal)
    except Denied as exc:
        return refused(request, principal, exc)
    form = {"q": q, "cpv": cpv, "countries": countries, "regions": regions, "size": size or [], "diversity": diversity, "k": k}
    if not q:  # the empty form; a q of only spaces or symbols is refused below, with the reason
        return render(request, "search.html", principal, form=form, results=None, errors=[])
    try:
        wanted = MatchRequest(
            text=q,
            k=k,
            diversity=FEWER_LIKE_THIS if diversity == "fewer" else 0.0,
            filters=Filters.model_validate(
                {"cpv": split_list(cpv), "countries": split_list(countries), "regions": split_list(regions), "sizes": size or []}
            ),
        )
        f = wanted.filters
        results = shortlists.suppliers_for_text(
            services,
            wanted.text,
            filters=MatchFilters.build(cpv=f.cpv, countries=f.countries, regions=f.regions, sizes=f.sizes),
            k=wanted.k,
            diversity=wanted.diversity,
        )
    except (ValidationError, InvalidInput, ValueError) as exc:
        return render(request, "search.html", principal, 422, form=form, results=None, errors=problems(exc))
    views = result_views(results, services.catalog, for_advisers=principal.is_staff)
    return render(request, "search.html", principal, form=form, results=views, errors=[])


@router.get("/ui/needs", response_class=HTMLResponse)
def needs_page(request: Request, services: ServicesDep, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    principal = page_principal(request, services)
    statuses = NeedAccess().statuses(principal)
    with Session(services.engine) as session:
        rows, total = repository.list_page(session, NEEDS, offset=offset, limit=PAGE, statuses=statuses)
    return render(request, "needs.html", principal, needs=rows, total=total, offset=offset, page=PAGE)


@router.get("/ui/needs/{need_id}", response_model=None)
def need_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    diversity: str = "more",
    k: Annotated[int, Query(ge=1, le=50)] = 10,
    alert: Annotated[str | None, Query(max_length=80)] = None,
    token: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The need for everyone who may see it; its dialogue (readiness, marks, shortlist) for advisers and its buyer.
    Opened by a supplier it was told about (signed in, or from the alert's link): recorded for advisers."""
    principal = page_principal(request, services)
    try:
        need = shortlists.stored_need(services, need_id)
        NeedAccess().check_read(principal, need)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    alert_inbox.opened(services, principal, need.id, via=alert, token=token)
    context: dict[str, Any] = {"need": need, "codes": labelled_codes(need.cpv_codes, services.catalog), "dialogue": False}
    context |= need_alerts(services, principal, need.id)  # the supplier's own alert, or (advisers) everyone told
    try:
        access.check_need_dialogue(principal, need, "the dialogue")
    except Denied:
        return render(request, "need.html", principal, **context)
    spread = FEWER_LIKE_THIS if diversity == "fewer" else 0.0
    _need, results = shortlists.suppliers_for_need(services, need_id, k=k, diversity=spread, reader=principal)
    details = audit.shortlist_details({}, k, spread, results) | mark_demotion.audit_details(results)
    audit.record(services.engine, need.id, "shortlist", principal, details)
    marks = feedback.marks_for_need(services, need_id)
    _need, figures = readiness.readiness_for_need(services, need_id)
    _need, alike = similar_needs.similar_to_need(services, principal, need_id, k=SIMILAR_SHOWN)
    context |= {
        "dialogue": True,
        "results": result_views(results, services.catalog, {m.supplier.key: m for m in marks}, for_advisers=principal.is_staff),
        "marks": marks,
        "readiness": figures,
        "similar": result_views(alike, services.catalog),
        "joint": joint_dialogues.dialogue_of_need(services, need.id),  # the joint market dialogue it is in, if any
        "form": {"diversity": diversity, "k": k},
    }
    return render(request, "need.html", principal, **context)


@router.post("/ui/needs/{need_id}/marks")
def mark_from_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    supplier_id: Annotated[str, Form()],
    mark: Annotated[str, Form()],
) -> Response:
    principal = page_principal(request, services)
    try:
        access.require_staff(principal, "marking suppliers")
        payload = FeedbackCreate.model_validate({"supplier_id": supplier_id, "mark": mark})
        feedback.mark_supplier(services, need_id, payload, principal)
    except ValidationError as exc:
        return render(request, "problem.html", principal, 422, message="; ".join(problems(exc)))
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    target = f"/ui/needs/{quote(need_id, safe='')}#s-{quote(supplier_id, safe='')}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/ui/suppliers/{supplier_id}", response_model=None)
def supplier_page(request: Request, supplier_id: str, services: ServicesDep) -> Response:
    """The profile as the reader's role may see it; the needs matched to it for advisers and the supplier itself."""
    principal = page_principal(request, services)
    try:
        access.require_key(principal)
        with Session(services.engine) as session:
            supplier = repository.get(session, SUPPLIERS, supplier_id)
        if supplier is None:
            raise NotFound("supplier", supplier_id)
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    results = None
    try:
        access.check_needs_for_supplier(principal, supplier_id)
        _supplier, found = shortlists.needs_for_supplier(services, supplier_id, k=10)
        results = result_views(found, services.catalog)
    except Denied:
        pass  # others see the profile only
    return render(
        request,
        "supplier.html",
        principal,
        supplier=SupplierAccess().view(principal, supplier),
        codes=labelled_codes(supplier.all_cpv_codes, services.catalog),
        evidence=services.suppliers.evidence([supplier.key]).get(supplier.key, []),
        results=results,
    )
