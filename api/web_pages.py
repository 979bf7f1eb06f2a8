"""What every page route shares: who is asking, rendering a template with its form token, and the
pages that refuse (sign in first, not allowed, not found)."""

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import browser_principal, header_key
from api.web_security import issue_form_token, set_form_cookie
from api.web_views import mark_label
from service.access import ANONYMOUS, Denied, Principal
from service.container import Services
from service.errors import InvalidInput, NotFound
from service.keys import authenticate
from store import alert_queries

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["mark_label"] = mark_label


def page_principal(request: Request, services: Services) -> Principal:
    """A key in a header (programs), else the browser's session; unknown, expired or revoked: signed out."""
    key = header_key(request)
    if key is not None:
        return authenticate(services.engine, key) or ANONYMOUS
    return browser_principal(request, services)


def render(request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any) -> HTMLResponse:
    context["principal"] = principal
    if principal.role == "supplier" and principal.supplier_id:  # the nav's "Alerts" count: one cheap query
        with Session(request.app.state.services.engine) as session:
            context["unread_alerts"] = alert_queries.unread(session, principal.supplier_id)
    context["csrf_token"], fresh = issue_form_token(request)
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if fresh is not None:
        set_form_cookie(request, response, fresh)
    return response


def refused_form_page(request: Request, reason: str) -> HTMLResponse:
    """A form that did not come from our pages: nothing was changed."""
    services: Services = request.app.state.services
    return render(request, "problem.html", page_principal(request, services), 403, message=f"Nothing was changed: {reason}.")


def refused(request: Request, principal: Principal, exc: Denied | NotFound) -> Response:
    """Signed-out visitors are sent to sign in; others are told why (or that nothing is there)."""
    if isinstance(exc, Denied) and exc.anonymous:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=status.HTTP_303_SEE_OTHER)
    return render(request, "problem.html", principal, 404 if isinstance(exc, NotFound) else 403, message=str(exc))


def problems(exc: ValidationError | InvalidInput | ValueError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return [str(exc)]


def local_path(target: str) -> str:
    """Only a path on this site: browsers read ``/\\evil.example`` as ``//evil.example``, another host."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable()
    return target if safe else "/"
