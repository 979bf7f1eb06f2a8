"""Alerts to suppliers over HTTP: a supplier's alerts, settings and feed; who was told about a need."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.deps import PrincipalDep, ServicesDep
from service import alert_feed, alert_inbox, alert_links, alert_settings
from service.alert_inbox import AlertView
from service.alert_settings import AlertSettingsInput
from service.container import Services
from service.errors import NotFound
from store import alert_queries
from store.alert_models import AlertSettings

router = APIRouter(tags=["alerts"])
ATOM_TYPE = "application/atom+xml; charset=utf-8"


class AlertOut(BaseModel):
    need_id: str
    title: str
    score: float
    why: str
    alerted_at: dt.datetime
    channels: dict[str, str] = Field(description="inbox, feed, email, webhook: where it went and how far it got")
    webhook_error: str | None = None
    read_at: dt.datetime | None
    opened_at: dt.datetime | None
    answer: str | None
    answered_at: dt.datetime | None

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        a = view.alert
        return cls(
            need_id=a.need_id,
            title=a.need_title,
            score=a.score,
            why=a.why,
            alerted_at=a.created_at,
            channels=view.channels,
            webhook_error=view.webhook_error,
            read_at=a.read_at,
            opened_at=a.opened_at,
            answer=a.answer,
            answered_at=a.answered_at,
        )


class SupplierAlerts(BaseModel):
    supplier_id: str
    total: int
    alerts: list[AlertOut]


class AlertedSupplier(AlertOut):
    supplier_id: str
    answer_note: str | None = None


class AlertSettingsOut(BaseModel):
    supplier_id: str
    enabled: bool
    cadence: str
    min_score: float | None = Field(description="null: the readiness threshold (`default_min_score`)")
    default_min_score: float
    countries: list[str]
    regions: list[str]
    cpv: list[str]
    email: bool
    contact_email: str | None
    webhook_url: str | None
    webhook_secret: str | None = Field(default=None, description="shown to the supplier itself only")
    confirmation_sent_to: str | None = None

    @classmethod
    def of(cls, s: AlertSettings, services: Services, *, own: bool, confirmation_sent_to: str | None = None) -> AlertSettingsOut:
        return cls(
            supplier_id=s.supplier_id,
            enabled=s.enabled,
            cadence=s.cadence,
            min_score=s.min_score,
            default_min_score=services.readiness_threshold,
            countries=s.countries,
            regions=s.regions,
            cpv=s.cpv_prefixes,
            email=s.email,
            contact_email=s.contact_email,
            webhook_url=s.webhook_url,
            webhook_secret=s.webhook_secret if own else None,
            confirmation_sent_to=confirmation_sent_to,
        )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Literal["interested", "not_interested"]
    note: str | None = Field(default=None, max_length=2000)


class FeedAddress(BaseModel):
    url: str


@router.get("/suppliers/{supplier_id}/alerts", response_model=SupplierAlerts, summary="A supplier's alerts, newest first")
def supplier_alerts(
    supplier_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Each need the supplier was told about: score, why, when, and each channel's delivery state. The
    supplier itself and advisers only."""
    views, total = alert_inbox.of_supplier(services, principal, supplier_id, limit=limit, offset=offset)
    return SupplierAlerts(supplier_id=supplier_id, total=total, alerts=[AlertOut.of(v) for v in views])


@router.get(
    "/suppliers/{supplier_id}/alerts.atom",
    summary="A supplier's alerts as an Atom feed (with a key)",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}}}},
)
def supplier_feed(supplier_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    views, _total = alert_inbox.of_supplier(services, principal, supplier_id, limit=alert_feed.FEED_SIZE)
    return _atom(services, supplier_id, views)


@router.get(
    "/feeds/alerts/{supplier_id}/{token}.atom",
    summary="A supplier's alerts as an Atom feed, at its secret address",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}}}},
)
def secret_feed(supplier_id: str, token: str, services: ServicesDep) -> Response:
    """No key: the address is the secret (``POST /suppliers/{id}/alert-settings/feed`` makes a new one).
    A wrong token is answered as a missing supplier, so the address tells nothing."""
    with Session(services.engine) as session:
        version = alert_queries.settings_of(session, [supplier_id])[supplier_id].feed_version
        alerts, _total = alert_queries.of_supplier(session, supplier_id, limit=alert_feed.FEED_SIZE)
    if not alert_links.feed_ok(services.engine, supplier_id, version, token):
        raise NotFound("supplier", supplier_id)
    body = alert_feed.atom(services.engine, services.pages_url, supplier_id, alerts)
    return Response(
        body, media_type=ATOM_TYPE, headers={"Cache-Control": "private, max-age=60", "Referrer-Policy": "no-referrer"}
    )


def _atom(services: Services, supplier_id: str, views: list[AlertView]) -> Response:
    body = alert_feed.atom(services.engine, services.pages_url, supplier_id, [v.alert for v in views])
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "private, max-age=60"})


@router.get("/suppliers/{supplier_id}/alert-settings", response_model=AlertSettingsOut, summary="A supplier's alert settings")
def get_alert_settings(supplier_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    settings = alert_settings.settings_for(services, principal, supplier_id)
    own = principal.role == "supplier" and principal.supplier_id == supplier_id
    return AlertSettingsOut.of(settings, services, own=own)


@router.put(
    "/suppliers/{supplier_id}/alert-settings", response_model=AlertSettingsOut, summary="Change a supplier's alert settings"
)
def put_alert_settings(supplier_id: str, wanted: AlertSettingsInput, services: ServicesDep, principal: PrincipalDep) -> Any:
    """The supplier itself only. A new contact address receives a confirmation link and gets alerts once
    confirmed; a new webhook address gets a new signing secret (in the answer)."""
    saved = alert_settings.save(services, principal, supplier_id, wanted)
    return AlertSettingsOut.of(saved.settings, services, own=True, confirmation_sent_to=saved.confirmation_sent_to)


@router.post("/suppliers/{supplier_id}/alert-settings/feed", response_model=FeedAddress, summary="A new secret feed address")
def new_feed(supplier_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    """The old address stops working."""
    alert_settings.new_feed_address(services, principal, supplier_id)
    return FeedAddress(url=alert_settings.feed_address(services, principal, supplier_id))


@router.get("/suppliers/{supplier_id}/alert-settings/feed", response_model=FeedAddress, summary="The secret feed address")
def feed_address(supplier_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    return FeedAddress(url=alert_settings.feed_address(services, principal, supplier_id))


@router.post("/suppliers/{supplier_id}/alerts/{need_id}/answer", response_model=AlertOut, summary="Answer an alert")
def answer_alert(supplier_id: str, need_id: str, reply: AnswerIn, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Tell the programme whether the need interests the supplier (recorded in the need's audit trail)."""
    return AlertOut.of(alert_inbox.answer(services, principal, supplier_id, need_id, reply.answer, reply.note))


@router.get("/needs/{need_id}/alerts", response_model=list[AlertedSupplier], summary="Who was told about a need")
def need_alerts(need_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Advisers: every supplier told, when, with which score and why; each channel's state; who opened
    the need and who answered."""
    return [
        AlertedSupplier(supplier_id=v.alert.supplier_id, answer_note=v.alert.answer_note, **AlertOut.of(v).model_dump())
        for v in alert_inbox.of_need(services, principal, need_id)
    ]
