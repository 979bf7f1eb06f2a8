"""A supplier's alert settings: what it wants to hear about and how, who may read and change them, and
the addresses alerts may be e-mailed to.

E-mail goes only to addresses the supplier confirmed: the address of an account that signed in with a link
sent to it, or a contact address confirmed by a link (so imported profiles are never mailed unasked).
Webhook addresses are checked here when saved and again when posting (service/webhook_sender.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from matcher.filters import MatchFilters
from service import access, alert_links, sign_in, webhook_addresses
from service.access import Denied, Principal
from service.container import Services
from service.errors import FieldProblem, InvalidInput, NotFound
from service.mail import address_problem, enqueue_mail
from store import alert_queries, repository
from store.alert_models import AlertSettings
from store.db import session_scope
from store.people_models import Person, SignInLink
from store.repository import SUPPLIERS


class AlertSettingsInput(BaseModel):
    """The whole of a supplier's settings (PUT): what is left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    cadence: Literal["immediate", "daily", "weekly"] = "immediate"
    min_score: float | None = Field(default=None, ge=0.0, le=1.0, description="null: the readiness threshold")
    countries: list[str] = Field(default_factory=list, max_length=60)
    regions: list[str] = Field(default_factory=list, max_length=100)
    cpv: list[str] = Field(default_factory=list, max_length=50)
    email: bool = True
    contact_email: str | None = Field(default=None, max_length=254, description="a further address: confirmed by a link first")
    webhook_url: str | None = Field(default=None, max_length=500)


@dataclass(frozen=True)
class SavedSettings:
    settings: AlertSettings
    confirmation_sent_to: str | None = None
    new_webhook_secret: bool = False


def check_reader(principal: Principal, supplier_id: str) -> None:
    """The supplier itself and advisers; anyone else is refused as for the supplier's needs."""
    access.require_key(principal)
    if principal.is_staff or (principal.role == "supplier" and principal.supplier_id == supplier_id):
        return
    raise Denied("a supplier's alerts are for the supplier itself and advisers")


def check_owner(principal: Principal, supplier_id: str) -> None:
    """Only the supplier changes its settings (an adviser must not subscribe a company to e-mail)."""
    access.require_key(principal)
    if principal.role == "supplier" and principal.supplier_id == supplier_id:
        return
    raise Denied("alert settings are changed by the supplier itself")


def _require_supplier(session: Session, supplier_id: str) -> None:
    if repository.get(session, SUPPLIERS, supplier_id) is None:
        raise NotFound("supplier", supplier_id)


def settings_for(services: Services, principal: Principal, supplier_id: str) -> AlertSettings:
    check_reader(principal, supplier_id)
    with Session(services.engine) as session:
        _require_supplier(session, supplier_id)
        return alert_queries.settings_of(session, [supplier_id])[supplier_id]


def filters_of(settings: AlertSettings) -> MatchFilters:
    return MatchFilters(tuple(settings.cpv_prefixes), tuple(settings.countries), tuple(settings.regions))


def _validated_filters(wanted: AlertSettingsInput) -> MatchFilters:
    try:
        return MatchFilters.build(cpv=wanted.cpv, countries=wanted.countries, regions=wanted.regions)
    except ValueError as exc:
        field = next((f for f in ("cpv", "countries", "regions") if str(exc).startswith(f.rstrip("s"))), "countries")
        raise InvalidInput([FieldProblem(("body", field), str(exc))]) from exc


def save(services: Services, principal: Principal, supplier_id: str, wanted: AlertSettingsInput) -> SavedSettings:
    """Replace the settings. A new contact address is only mailed a confirmation link; a new webhook
    address gets a new signing secret."""
    check_owner(principal, supplier_id)
    filters = _validated_filters(wanted)
    problems = []
    if wanted.contact_email:
        problem = address_problem(wanted.contact_email, "contact_email")
        if problem:
            problems.append(FieldProblem(("body", *problem.loc), problem.msg))
    if wanted.webhook_url:
        reason = webhook_addresses.problem(wanted.webhook_url, allow_private=services.webhook_allow_private)
        if reason:
            problems.append(FieldProblem(("body", "webhook_url"), reason))
    if problems:
        raise InvalidInput(problems)
    confirm_to, new_secret = None, False
    with session_scope(services.engine) as session:
        _require_supplier(session, supplier_id)
        row = alert_queries.settings_for_update(session, supplier_id)
        row.enabled, row.cadence, row.min_score, row.email = wanted.enabled, wanted.cadence, wanted.min_score, wanted.email
        row.countries, row.regions, row.cpv_prefixes = list(filters.countries), list(filters.regions), list(filters.cpv_prefixes)
        if wanted.webhook_url != row.webhook_url:
            row.webhook_url = wanted.webhook_url or None
            row.webhook_secret = secrets.token_hex(32) if row.webhook_url else None
            new_secret = row.webhook_url is not None
        contact = (wanted.contact_email or "").strip().lower() or None
        if contact is None:
            row.contact_email = None
        elif contact != row.contact_email:
            if sign_in.mails_this_hour(session, contact) >= sign_in.MAX_MAILS_PER_HOUR:  # not a way to flood an inbox
                raise InvalidInput([FieldProblem(("body", "contact_email"), "too many messages went to this address this hour")])
            confirm_to = contact
            _send_confirmation(services, session, supplier_id, contact)
        row.updated_at = dt.datetime.now(dt.UTC)
        session.add(row)
    return SavedSettings(row, confirm_to, new_secret)


def _send_confirmation(services: Services, session: Session, supplier_id: str, address: str) -> None:
    link = alert_links.confirm_url(services.engine, services.pages_url, supplier_id, address, now=dt.datetime.now(dt.UTC))
    body = (
        f"Someone signed in for {supplier_id} asked for alerts about public buyers' needs to be sent to this address.\n\n"
        f"To confirm, open this link within three days:\n{link}\n\n"
        "If you did not expect this, ignore this message: nothing is sent to you unless you confirm."
    )
    enqueue_mail(session, to=address, subject="Confirm the address for needs alerts", body=body)


def confirm_contact(services: Services, supplier_id: str, address: str, expires: int, token: str | None) -> bool:
    """The confirmation link was opened: the address receives alerts from now on."""
    if not alert_links.confirm_ok(services.engine, supplier_id, address, expires, token, now=dt.datetime.now(dt.UTC)):
        return False
    with session_scope(services.engine) as session:
        if repository.get(session, SUPPLIERS, supplier_id) is None:
            return False
        row = alert_queries.settings_for_update(session, supplier_id)
        row.contact_email = address.lower()
        session.add(row)
    return True


def unsubscribe(services: Services, supplier_id: str, token: str | None) -> bool:
    """E-mail alerts off, from the link in any alert (no sign-in); the inbox and feed go on."""
    if not alert_links.unsubscribe_ok(services.engine, supplier_id, token):
        return False
    with session_scope(services.engine) as session:
        if repository.get(session, SUPPLIERS, supplier_id) is None:
            return False
        row = alert_queries.settings_for_update(session, supplier_id)
        row.email = False
        session.add(row)
    return True


def new_feed_address(services: Services, principal: Principal, supplier_id: str) -> AlertSettings:
    """The old secret feed address stops working (it was shared too widely)."""
    check_owner(principal, supplier_id)
    with session_scope(services.engine) as session:
        _require_supplier(session, supplier_id)
        row = alert_queries.settings_for_update(session, supplier_id)
        row.feed_version += 1
        session.add(row)
    return row


def feed_address(services: Services, principal: Principal, supplier_id: str) -> str:
    """The secret feed address: the supplier's own to hand out (advisers read the feed with their key)."""
    check_owner(principal, supplier_id)
    with Session(services.engine) as session:
        version = alert_queries.settings_of(session, [supplier_id])[supplier_id].feed_version
    return alert_links.feed_url(services.engine, services.pages_url, supplier_id, version)


def email_addresses(services: Services, principal: Principal, supplier_id: str) -> list[str]:
    """Where the supplier's alerts are e-mailed now: what its settings page tells it."""
    check_reader(principal, supplier_id)
    with Session(services.engine) as session:
        return confirmed_addresses(session, alert_queries.settings_of(session, [supplier_id])[supplier_id])


def confirmed_addresses(session: Session, settings: AlertSettings) -> list[str]:
    """Where the supplier's alerts may be e-mailed: its accounts that proved their address by signing in
    with a link, and a contact address confirmed by a link; none when e-mail is off."""
    if not settings.email:
        return []
    proved = (
        select(Person.email)
        .where(col(Person.supplier_id) == settings.supplier_id, col(Person.role) == "supplier", col(Person.status) == "active")
        .where(col(Person.key).in_(select(SignInLink.person_key).where(col(SignInLink.used_at).is_not(None))))
    )
    addresses = [str(a).lower() for a in session.exec(proved)]
    if settings.contact_email:
        addresses.append(settings.contact_email)
    return sorted(set(addresses))
