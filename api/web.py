"""The adviser's workbench: server-rendered pages for search, needs, suppliers and the dialogue.

Plain HTML forms and links do everything (no JavaScript needed); a mark is a POST that redirects
back (post/redirect/get), so reloading never marks twice. Until keys arrive, an adviser signs marks
with a name kept in a cookie.
"""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import ServicesDep
from api.schemas import Filters, MatchRequest
from api.web_views import labelled_codes, mark_label, result_views, split_list
from matcher.filters import MatchFilters
from service import feedback, readiness, shortlists
from service.errors import InvalidInput, NotFound
from store import repository
from store.models import FeedbackCreate
from store.repository import NEEDS

ADVISER_COOKIE = "matchmaker_adviser"
FEWER_LIKE_THIS = 0.5  # the diversity of "fewer like this" (MMR λ = 0.5: relevance and novelty weigh alike)
PAGE = 50

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["mark_label"] = mark_label
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context["adviser"] = request.cookies.get(ADVISER_COOKIE)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _problems(exc: ValidationError | InvalidInput | ValueError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return [str(exc)]


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
) -> HTMLResponse:
    form = {"q": q, "cpv": cpv, "countries": countries, "regions": regions, "size": size or [], "diversity": diversity, "k": k}
    if not q.strip():
        return _render(request, "search.html", form=form, results=None, errors=[])
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
        return _render(request, "search.html", 422, form=form, results=None, errors=_problems(exc))
    views = result_views(results, services.catalog)
    return _render(request, "search.html", form=form, results=views, errors=[])


@router.get("/ui/needs", response_class=HTMLResponse)
def needs_page(request: Request, services: ServicesDep, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    with Session(services.engine) as session:
        rows, total = repository.list_page(session, NEEDS, offset=offset, limit=PAGE)
    return _render(request, "needs.html", needs=rows, total=total, offset=offset, page=PAGE)


@router.get("/ui/needs/{need_id}", response_class=HTMLResponse)
def need_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    diversity: str = "more",
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    try:
        need, results = shortlists.suppliers_for_need(
            services, need_id, k=k, diversity=FEWER_LIKE_THIS if diversity == "fewer" else 0.0
        )
    except NotFound as exc:
        return _render(request, "problem.html", 404, message=str(exc))
    marks = feedback.marks_for_need(services, need_id)
    by_key = {m.supplier.key: m for m in marks}
    _need, figures = readiness.readiness_for_need(services, need_id)
    return _render(
        request,
        "need.html",
        need=need,
        codes=labelled_codes(need.cpv_codes, services.catalog),
        results=result_views(results, services.catalog, by_key),
        marks=marks,
        readiness=figures,
        form={"diversity": diversity, "k": k},
    )


@router.post("/ui/needs/{need_id}/marks")
def mark_from_page(
    request: Request,
    need_id: str,
    services: ServicesDep,
    supplier_id: Annotated[str, Form()],
    mark: Annotated[str, Form()],
) -> Response:
    adviser = request.cookies.get(ADVISER_COOKIE, "")
    if not adviser.strip():
        return _render(request, "problem.html", 422, message="Give your name (top of the page) before marking suppliers.")
    try:
        feedback.mark_supplier(services, need_id, FeedbackCreate(supplier_id=supplier_id, mark=mark, adviser=adviser))  # type: ignore[arg-type]
    except ValidationError as exc:
        return _render(request, "problem.html", 422, message="; ".join(_problems(exc)))
    except NotFound as exc:
        return _render(request, "problem.html", 404, message=str(exc))
    target = f"/ui/needs/{quote(need_id, safe='')}#s-{quote(supplier_id, safe='')}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/ui/adviser")
def sign_in_as(name: Annotated[str, Form(max_length=300)], back: Annotated[str, Form()] = "/") -> Response:
    """Remember who marks (a name, not yet a login; keys replace it)."""
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if name.strip():
        response.set_cookie(ADVISER_COOKIE, name.strip(), max_age=60 * 60 * 24 * 180, httponly=True, samesite="lax")
    else:
        response.delete_cookie(ADVISER_COOKIE)
    return response


@router.get("/ui/suppliers/{supplier_id}", response_class=HTMLResponse)
def supplier_page(request: Request, supplier_id: str, services: ServicesDep) -> HTMLResponse:
    try:
        supplier, results = shortlists.needs_for_supplier(services, supplier_id, k=10)
    except NotFound as exc:
        return _render(request, "problem.html", 404, message=str(exc))
    evidence = services.suppliers.evidence([supplier.key]).get(supplier.key, [])
    return _render(
        request,
        "supplier.html",
        supplier=supplier,
        codes=labelled_codes(supplier.all_cpv_codes, services.catalog),
        evidence=evidence,
        results=result_views(results, services.catalog),
    )
