"""Pages for people: sign in by an e-mail link, a supplier registers itself, advisers invite people and
decide on registrations.

A sign-in link opens a page that asks to confirm (a POST uses the link up): mail scanners that open
every link in a message must not spend it. Links in e-mails point at ``MATCHMAKER_PUBLIC_URL``, never at
the Host a request named.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import SESSION_COOKIE, ServicesDep, cookie_name, cookie_secure, settings_of
from api.web_pages import local_path, page_principal, problems, refused, render
from api.web_security import FORM_COOKIE, session_lifetime, set_session_cookie, verify_form
from service import people, sign_in, web_sessions
from service.access import ANONYMOUS, Denied, Principal
from service.container import Services
from service.errors import InvalidInput, NotFound
from store import repository
from store.people_models import Person
from store.repository import SUPPLIERS

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])
Text = Annotated[str, Form(max_length=300)]


def _home(services: Services, person: Person) -> str:
    """Where a person lands after signing in: a supplier on its profile (once it has one)."""
    if person.role == "supplier" and person.supplier_id:
        with Session(services.engine) as session:
            stored = repository.get(session, SUPPLIERS, person.supplier_id) is not None
        return "/ui/my/needs-for-you" if stored else "/ui/my/profile"
    return "/ui/my/needs" if person.role == "buyer" else "/"


@router.post("/ui/login/email", response_class=HTMLResponse)
def ask_for_link(request: Request, services: ServicesDep, email: Text, next: Annotated[str, Form()] = "/") -> Response:
    """The same answer for every address (see service/sign_in.py)."""
    try:
        sign_in.request_link(services.engine, email, settings_of(request).pages_url)
    except InvalidInput as exc:
        return render(request, "login.html", ANONYMOUS, 422, next=local_path(next), error=str(exc), email=email)
    return render(request, "login_sent.html", ANONYMOUS, email=email.strip())


@router.get("/ui/login/link", response_class=HTMLResponse)
def confirm_link(request: Request, services: ServicesDep, token: str = "") -> HTMLResponse:
    person = sign_in.link_holder(services.engine, token) if token else None
    if person is None:
        return render(request, "login_link.html", ANONYMOUS, 400, person=None, token="")
    return render(request, "login_link.html", ANONYMOUS, person=person, token=token)


@router.post("/ui/login/link", response_model=None)
def use_link(request: Request, services: ServicesDep, token: Annotated[str, Form(max_length=100)]) -> Response:
    person = sign_in.redeem(services.engine, token)
    if person is None:
        return render(request, "login_link.html", ANONYMOUS, 400, person=None, token="")
    session_cookie = cookie_name(request, SESSION_COOKIE)
    web_sessions.close_session(services.engine, request.cookies.get(session_cookie))  # a new session, not a fixed one
    response = RedirectResponse(_home(services, person), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, response, web_sessions.open_person_session(services.engine, person, session_lifetime(request)))
    response.delete_cookie(cookie_name(request, FORM_COOKIE), secure=cookie_secure(request))
    return response


@router.get("/ui/register", response_class=HTMLResponse)
def registration_page(request: Request, services: ServicesDep) -> HTMLResponse:
    return render(request, "register.html", page_principal(request, services), form={}, errors=[])


@router.post("/ui/register", response_class=HTMLResponse)
def register(
    request: Request,
    services: ServicesDep,
    email: Text,
    organisation: Text,
    supplier_id: Annotated[str, Form(max_length=80)],
    name: Text = "",
    country: Annotated[str, Form(max_length=2)] = "",
) -> HTMLResponse:
    form = {"email": email, "organisation": organisation, "supplier_id": supplier_id, "name": name, "country": country}
    wanted = people.Registration(email, name, organisation, supplier_id, country)
    try:
        people.register_supplier(services.engine, wanted, settings_of(request).pages_url)
    except InvalidInput as exc:
        return render(request, "register.html", ANONYMOUS, 422, form=form, errors=problems(exc))
    return render(request, "registered.html", ANONYMOUS, email=email.strip())


def _people_page(request: Request, principal: Principal, services: ServicesDep, code: int = 200, **extra: object) -> Response:
    try:
        everyone = people.everyone(services.engine, principal)
    except Denied as exc:
        return refused(request, principal, exc)
    pending = [p for p in everyone if p.status == "pending"]
    context: dict[str, object] = {
        "people": everyone,
        "pending": pending,
        "claimed": people.claimed_suppliers(services.engine, pending),
        "form": {},
        "errors": [],
        "invited": None,
    } | extra
    return render(request, "people.html", principal, code, **context)


@router.get("/ui/people", response_model=None)
def people_page(request: Request, services: ServicesDep) -> Response:
    return _people_page(request, page_principal(request, services), services)


@router.post("/ui/people/invite", response_model=None)
def invite(
    request: Request,
    services: ServicesDep,
    email: Text,
    role: Annotated[str, Form(max_length=10)],
    name: Text = "",
    buyer: Text = "",
    supplier_id: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, services)
    form = {"email": email, "role": role, "name": name, "buyer": buyer, "supplier_id": supplier_id}
    try:
        wanted = people.Invitation(email, role, name or None, buyer or None, supplier_id or None)
        person = people.invite(services.engine, wanted, principal, settings_of(request).pages_url)
    except (InvalidInput, ValidationError) as exc:
        return _people_page(request, principal, services, 422, form=form, errors=problems(exc))
    except NotFound as exc:  # the supplier id given: staff may know which exist
        return _people_page(request, principal, services, 422, form=form, errors=[str(exc)])
    except Denied as exc:
        return refused(request, principal, exc)
    return _people_page(request, principal, services, invited=person.email)


@router.post("/ui/people/{handle}/{decision}", response_model=None)
def decide(request: Request, services: ServicesDep, handle: str, decision: str) -> Response:
    principal = page_principal(request, services)
    actions = {
        "approve": lambda: people.approve(services.engine, handle, principal, settings_of(request).pages_url),
        "refuse": lambda: people.refuse(services.engine, handle, principal, settings_of(request).pages_url),
        "disable": lambda: people.disable(services.engine, handle, principal),
    }
    try:
        if decision not in actions:
            raise NotFound("action", decision)
        actions[decision]()
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    return RedirectResponse("/ui/people", status_code=status.HTTP_303_SEE_OTHER)
