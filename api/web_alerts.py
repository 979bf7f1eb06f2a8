"""The alert pages: a supplier's inbox (answer an alert, mark all read) and its settings (what it hears
about and where: e-mail, its own webhook, a secret feed); the advisers' page of deliveries that gave up
(parked), to try again once the cause is fixed; and what a need's page shows of its alerts.

A supplier's id always comes from its own sign-in, never from the form or the address, so no page here
shows or changes another supplier's alerts.
"""

from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.deps import ServicesDep
from api.web_pages import page_principal, refused, render
from api.web_security import verify_form
from api.web_supplier import PROFILE
from api.web_views import split_list
from service import access, alert_inbox, alert_settings, supplier_profiles
from service.access import Denied, Principal
from service.alert_settings import AlertSettingsInput
from service.container import Services
from service.errors import InvalidInput, NotFound
from store import alert_queries, leased_queue, outbox_queries, repository
from store.alert_models import ANSWERS, Alert, AlertSettings
from store.change_notices import announce
from store.db import session_scope
from store.repository import SUPPLIERS

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])
Short = Annotated[str, Form(max_length=500)]
Long = Annotated[str, Form(max_length=5000)]
INBOX = "/ui/my/alerts"
SETTINGS = "/ui/my/alerts/settings"
PARKED = "/ui/alerts/parked"
PAGE = 50
PARKED_SHOWN = 200


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get(INBOX, response_model=None)
def inbox(request: Request, services: ServicesDep, offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """The supplier's alerts, newest first; unread ones stand out until it marks them read or answers."""
    principal = page_principal(request, services)
    try:
        supplier_id = supplier_profiles.own_supplier_id(principal)
        views, total = alert_inbox.of_supplier(services, principal, supplier_id, limit=PAGE, offset=offset)
    except Denied as exc:
        return refused(request, principal, exc)
    except NotFound:  # approved, profile not written yet: nothing can match it
        return _see_other(PROFILE)
    return render(request, "my_alerts.html", principal, alerts=views, total=total, offset=offset, page=PAGE)


@router.post(f"{INBOX}/read", response_model=None)
def mark_all_read(request: Request, services: ServicesDep) -> Response:
    principal = page_principal(request, services)
    try:
        alert_inbox.mark_read(services, principal, supplier_profiles.own_supplier_id(principal))
    except Denied as exc:
        return refused(request, principal, exc)
    return _see_other(INBOX)


@router.post(INBOX + "/{need_id}/answer", response_model=None)
def answer(
    request: Request,
    need_id: str,
    services: ServicesDep,
    reply: Annotated[str, Form(alias="answer", max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=10)] = "inbox",
    offset: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    """From the inbox or the need's page, back to where it was given; an answered alert counts as read."""
    principal = page_principal(request, services)
    if reply not in ANSWERS:
        return render(request, "problem.html", principal, 422, message=f"answer: one of {', '.join(ANSWERS)}")
    try:
        supplier_id = supplier_profiles.own_supplier_id(principal)
        alert_inbox.answer(services, principal, supplier_id, need_id, cast(alert_inbox.Answer, reply), note)
        alert_inbox.mark_read(services, principal, supplier_id, [need_id])
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    if back == "need":
        return _see_other(f"/ui/needs/{quote(need_id, safe='')}#your-alert")
    return _see_other(f"{INBOX}?offset={offset}#a-{quote(need_id, safe='')}")


def _form_of(current: AlertSettings) -> dict[str, Any]:
    """The settings as the form shows them: lists as comma-separated text."""
    return {
        "enabled": current.enabled,
        "cadence": current.cadence,
        "min_score": "" if current.min_score is None else f"{current.min_score:g}",
        "countries": ", ".join(current.countries),
        "regions": ", ".join(current.regions),
        "cpv": ", ".join(current.cpv_prefixes),
        "email": current.email,
        "contact_email": current.contact_email or "",
        "webhook_url": current.webhook_url or "",
    }


def _settings_page(
    request: Request,
    services: Services,
    principal: Principal,
    supplier_id: str,
    form: dict[str, Any],
    code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The form with what the supplier alone is shown: the webhook's secret and the feed's address."""
    current = alert_settings.settings_for(services, principal, supplier_id)
    context = {
        "form": form,
        "errors": {},
        "secret": current.webhook_secret,
        "feed_url": alert_settings.feed_address(services, principal, supplier_id),
        "addresses": alert_settings.email_addresses(services, principal, supplier_id),
        "default_min_score": services.readiness_threshold,
        "notices": [],
    }
    return render(request, "alert_settings.html", principal, code, **(context | extra))


NOTICES = {
    "saved": "Your alert settings are saved.",
    "confirming": "A confirmation link was sent to the new contact address: alerts go there once it is opened.",
    "new_secret": "Your webhook has a new signing secret (below): use it to check our posts.",
    "new_feed": "Your feed has a new address; the old one no longer works.",
}


@router.get(SETTINGS, response_model=None)
def settings_page(
    request: Request, services: ServicesDep, done: Annotated[list[str] | None, Query(max_length=4)] = None
) -> Response:
    principal = page_principal(request, services)
    try:
        supplier_id = supplier_profiles.own_supplier_id(principal)
        current = alert_settings.settings_for(services, principal, supplier_id)
        notices = [NOTICES[d] for d in done or [] if d in NOTICES]
        return _settings_page(request, services, principal, supplier_id, _form_of(current), notices=notices)
    except Denied as exc:
        return refused(request, principal, exc)
    except NotFound:
        return _see_other(PROFILE)


def _field_errors(exc: ValidationError | InvalidInput) -> dict[str, str]:
    """Each field's reason, by the form's field names."""
    found: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        pairs = [(e["loc"], e["msg"]) for e in exc.errors()]
    else:
        pairs = [(p.loc, p.msg) for p in exc.problems]
    for loc, msg in pairs:
        names = [str(x) for x in loc if x != "body" and not isinstance(x, int)]
        found.setdefault(names[0] if names else "settings", msg)
    return found


@router.post(SETTINGS, response_model=None)
def save_settings(
    request: Request,
    services: ServicesDep,
    enabled: Short = "",
    cadence: Short = "immediate",
    min_score: Short = "",
    countries: Long = "",
    regions: Long = "",
    cpv: Long = "",
    email: Short = "",
    contact_email: Short = "",
    webhook_url: Short = "",
) -> Response:
    """Saved whole, or not at all: a bad field is named and nothing changes."""
    principal = page_principal(request, services)
    form: dict[str, Any] = {
        "enabled": bool(enabled),
        "cadence": cadence,
        "min_score": min_score.strip(),
        "countries": countries,
        "regions": regions,
        "cpv": cpv,
        "email": bool(email),
        "contact_email": contact_email.strip(),
        "webhook_url": webhook_url.strip(),
    }
    try:
        supplier_id = supplier_profiles.own_supplier_id(principal)
        try:
            wanted = AlertSettingsInput.model_validate(
                {
                    **form,
                    "min_score": form["min_score"].replace(",", ".") or None,  # "0,6" as written in Sweden and Norway
                    "countries": split_list(countries),
                    "regions": split_list(regions),
                    "cpv": split_list(cpv),
                    "contact_email": form["contact_email"] or None,
                    "webhook_url": form["webhook_url"] or None,
                }
            )
            saved = alert_settings.save(services, principal, supplier_id, wanted)
        except (ValidationError, InvalidInput) as exc:
            return _settings_page(request, services, principal, supplier_id, form, 422, errors=_field_errors(exc))
    except Denied as exc:
        return refused(request, principal, exc)
    except NotFound:
        return _see_other(PROFILE)
    done = [
        "saved",
        *(["confirming"] if saved.confirmation_sent_to else []),
        *(["new_secret"] if saved.new_webhook_secret else []),
    ]
    return _see_other(f"{SETTINGS}?" + "&".join(f"done={d}" for d in done))


@router.post(f"{SETTINGS}/feed", response_model=None)
def new_feed(request: Request, services: ServicesDep) -> Response:
    """The old secret address stops working (it was shared too widely)."""
    principal = page_principal(request, services)
    try:
        alert_settings.new_feed_address(services, principal, supplier_profiles.own_supplier_id(principal))
    except (Denied, NotFound) as exc:
        return refused(request, principal, exc)
    return _see_other(f"{SETTINGS}?done=new_feed#feed")


@router.get(PARKED, response_model=None)
def parked(request: Request, services: ServicesDep, retried: Annotated[int | None, Query(ge=0)] = None) -> Response:
    """Webhook posts and e-mails that kept failing, with their errors: for advisers."""
    principal = page_principal(request, services)
    try:
        access.require_staff(principal, "undelivered alerts")
    except Denied as exc:
        return refused(request, principal, exc)
    with Session(services.engine) as session:
        hooks = leased_queue.parked(session, alert_queries.WEBHOOKS, PARKED_SHOWN)
        mails = outbox_queries.parked(session, PARKED_SHOWN)
        alerts = {
            a.key: a for a in session.exec(select(Alert).where(col(Alert.key).in_([h.alert_key for h in hooks])))
        } if hooks else {}  # fmt: skip
        suppliers = repository.get_many(session, SUPPLIERS, {h.supplier_id for h in hooks})
    return render(
        request, "alerts_parked.html", principal, hooks=hooks, mails=mails, alerts=alerts, suppliers=suppliers,
        retried=retried,
    )  # fmt: skip


@router.post(f"{PARKED}/retry", response_model=None)
def retry_parked(request: Request, services: ServicesDep) -> Response:
    """Every parked post and e-mail gets another round (its attempts start again)."""
    principal = page_principal(request, services)
    try:
        access.require_staff(principal, "undelivered alerts")
    except Denied as exc:
        return refused(request, principal, exc)
    with session_scope(services.engine) as session:
        again = leased_queue.retry_parked(session, alert_queries.WEBHOOKS) + outbox_queries.retry_parked(session)
        announce(session)  # wakes the senders of every process at the commit
    return _see_other(f"{PARKED}?retried={again}")


def need_alerts(services: Services, principal: Principal, need_id: str) -> dict[str, Any]:
    """What a need's page shows of alerts: to a supplier told about it, its own alert; to advisers, every
    supplier told (with names); to anyone else, nothing."""
    if principal.role == "supplier" and principal.supplier_id:
        with Session(services.engine) as session:
            return {"your_alert": alert_queries.one(session, principal.supplier_id, need_id)}
    if not principal.is_staff:
        return {}
    told = alert_inbox.of_need(services, principal, need_id)
    with Session(services.engine) as session:
        names = {s.id: s.name for s in repository.get_many(session, SUPPLIERS, {v.alert.supplier_id for v in told}).values()}
    return {"told": told, "told_names": names}
