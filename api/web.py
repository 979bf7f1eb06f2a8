"""The adviser's workbench: server-rendered pages for search, needs, suppliers and the dialogue.

Plain HTML forms and links do everything (no JavaScript needed); a mark is a POST that redirects
back (post/redirect/get), so reloading never marks twice. One signs in with an API key, kept in an
httpOnly, SameSite=Lax cookie; each page shows what the key's role may see (service/access.py).
"""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import KEY_COOKIE, ServicesDep, presented_key
from api.entity_access import NeedAccess, SupplierAccess
from api.schemas import Filters, MatchRequest
from api.web_views import labelled_codes, mark_label, result_views, split_list
from matcher.filters import MatchFilters
from service import access, audit, feedback, readiness, shortlists
from service.access import ANONYMOUS, Denied, Principal
from service.container import Services
from service.errors import InvalidInput, NotFound
from service.keys import authenticate
from store import repository
from store.models import FeedbackCreate
from store.repository import NEEDS, SUPPLIERS

FEWER_LIKE_THIS = 0.5  # the diversity of "fewer like this" (MMR λ = 0.5: relevance and novelty weigh alike)
PAGE = 50

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["mark_label"] = mark_label
router = APIRouter(include_in_schema=False)


def _principal(request: Request, services: Services) -> Principal:
    """The signed-in key's principal; a revoked or unknown cookie counts as signed out."""
    return authenticate(services.engine, presented_key(request)) or ANONYMOUS


def _render(request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any) -> HTMLResponse:
    context["principal"] = principal
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _refused(request: Request, principal: Principal, exc: Denied | NotFound) -> Response:
    """Signed-out visitors are sent to sign in; others are told why (or that nothing is there)."""
    if isinstance(exc, Denied) and exc.anonymous:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=status.HTTP_303_SEE_OTHER)
    return _render(request, "problem.html", principal, 404 if isinstance(exc, NotFound) else 403, message=str(exc))


def _problems(exc: ValidationError | InvalidInput | ValueError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return [str(exc)]


def _local(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    return _render(request, "login.html", _principal(request, services), next=_local(next), error=None)


@router.post("/ui/login", response_model=None)
def log_in(
    request: Request, services: ServicesDep, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/"
) -> Response:
    principal = authenticate(services.engine, key)
    if principal is None or principal.role is None:
        return _render(request, "login.html", ANONYMOUS, 401, next=_local(next), error="Unknown or revoked key.")
    response = RedirectResponse(_local(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(KEY_COOKIE, key.strip(), max_age=60 * 60 * 12, httponly=True, samesite="lax")
    return response


@router.post("/ui/logout")
def log_out() -> Response:
    response = RedirectResponse("/ui/needs", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(KEY_COOKIE)
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
    principal = _principal(request, services)
    try:
        access.check_matching(principal)
    except Denied as exc:
        return _refused(request, principal, exc)
    form = {"q": q, "cpv": cpv, "countries": countries, "regions": regions, "size": size or [], "diversity": diversity, "k": k}
    if not q.strip():
        return _render(request, "search.html", principal, form=form, results=None, errors=[])
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
        return _render(request, "search.html", principal, 422, form=form, results=None, errors=_problems(exc))
    views = result_views(results, services.catalog)
    return _render(request, "search.html", principal, form=form, results=views, errors=[])


@router.get("/ui/needs", response_class=HTMLResponse)
def needs_page(request: Request, services: ServicesDep, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    principal = _principal(request, services)
    statuses = NeedAccess().statuses(principal)
    with Session(services.engine) as session:
        rows, total = repository.list_page(session, NEEDS, offset=offset, limit=PAGE, statuses=statuses)
    return _render(request, "needs.html", principal, needs=rows, total=total, offset=offset, page=PAGE)


@router.get("/ui/needs/{need_id}", response_model=None)
def need_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    diversity: str = "more",
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """The need for everyone who may see it; its dialogue (readiness, marks, shortlist) for advisers and its buyer."""
    principal = _principal(request, services)
    try:
        need = shortlists.stored_need(services, need_id)
        NeedAccess().check_read(principal, need)
    except (Denied, NotFound) as exc:
        return _refused(request, principal, exc)
    context: dict[str, Any] = {"need": need, "codes": labelled_codes(need.cpv_codes, services.catalog), "dialogue": False}
    try:
        access.check_need_dialogue(principal, need, "the dialogue")
    except Denied:
        return _render(request, "need.html", principal, **context)
    spread = FEWER_LIKE_THIS if diversity == "fewer" else 0.0
    _need, results = shortlists.suppliers_for_need(services, need_id, k=k, diversity=spread)
    audit.record(services.engine, need.id, "shortlist", principal, audit.shortlist_details({}, k, spread, results))
    marks = feedback.marks_for_need(services, need_id)
    _need, figures = readiness.readiness_for_need(services, need_id)
    context |= {
        "dialogue": True,
        "results": result_views(results, services.catalog, {m.supplier.key: m for m in marks}),
        "marks": marks,
        "readiness": figures,
        "form": {"diversity": diversity, "k": k},
    }
    return _render(request, "need.html", principal, **context)


@router.post("/ui/needs/{need_id}/marks")
def mark_from_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    supplier_id: Annotated[str, Form()],
    mark: Annotated[str, Form()],
) -> Response:
    principal = _principal(request, services)
    try:
        access.require_staff(principal, "marking suppliers")
        payload = FeedbackCreate.model_validate({"supplier_id": supplier_id, "mark": mark})
        feedback.mark_supplier(services, need_id, payload, principal)
    except ValidationError as exc:
        return _render(request, "problem.html", principal, 422, message="; ".join(_problems(exc)))
    except (Denied, NotFound) as exc:
        return _refused(request, principal, exc)
    target = f"/ui/needs/{quote(need_id, safe='')}#s-{quote(supplier_id, safe='')}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/ui/suppliers/{supplier_id}", response_model=None)
def supplier_page(request: Request, supplier_id: str, services: ServicesDep) -> Response:
    """The profile as the reader's role may see it; the needs matched to it for advisers and the supplier itself."""
    principal = _principal(request, services)
    try:
        access.require_key(principal)
        with Session(services.engine) as session:
            supplier = repository.get(session, SUPPLIERS, supplier_id)
        if supplier is None:
            raise NotFound("supplier", supplier_id)
    except (Denied, NotFound) as exc:
        return _refused(request, principal, exc)
    results = None
    try:
        access.check_needs_for_supplier(principal, supplier_id)
        _supplier, found = shortlists.needs_for_supplier(services, supplier_id, k=10)
        results = result_views(found, services.catalog)
    except Denied:
        pass  # others see the profile only
    return _render(
        request,
        "supplier.html",
        principal,
        supplier=SupplierAccess().view(principal, supplier),
        codes=labelled_codes(supplier.all_cpv_codes, services.catalog),
        evidence=services.suppliers.evidence([supplier.key]).get(supplier.key, []),
        results=results,
    )
