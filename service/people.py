"""People's accounts: advisers invite buyers and suppliers (admins also invite advisers), suppliers
register themselves and wait for an adviser, who approves or refuses them.

Every change that owes someone an e-mail writes it in the same transaction (service/mail.py), so an
invitation is never stored without its message, nor a message sent for an invitation that was not.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import people_mail
from service.access import Denied, Principal, require_staff
from service.errors import FieldProblem, InvalidInput, NotFound
from service.mail import enqueue_mail
from service.sign_in import MAX_MAILS_PER_HOUR, mails_this_hour, new_link, normalise_email
from store import repository
from store.db import session_scope
from store.people_models import HANDLE_PREFIX, Person
from store.repository import SUPPLIERS
from store.trust_models import ROLES

INVITABLE = {"admin": ("admin", "adviser", "buyer", "supplier"), "adviser": ("buyer", "supplier")}


@dataclass(frozen=True)
class Invitation:
    email: str
    role: str
    name: str | None = None
    buyer: str | None = None
    supplier_id: str | None = None


@dataclass(frozen=True)
class Registration:
    email: str
    name: str | None
    organisation: str
    supplier_id: str
    country: str | None = None


def _handle() -> str:
    return HANDLE_PREFIX + secrets.token_hex(4)


def _text(value: str | None, field: str, *, required: bool = False, limit: int = 300) -> str | None:
    cleaned = " ".join((value or "").split())
    if required and not cleaned:
        raise InvalidInput([FieldProblem((field,), "required")])
    if len(cleaned) > limit:
        raise InvalidInput([FieldProblem((field,), f"at most {limit} characters")])
    return cleaned or None


def _check_invitation(by: Principal, wanted: Invitation) -> None:
    require_staff(by, "inviting people")
    if wanted.role not in ROLES:
        raise InvalidInput([FieldProblem(("role",), f"'{wanted.role}' is not one of {', '.join(ROLES)}")])
    if wanted.role not in INVITABLE.get(by.role or "", ()):
        raise Denied(f"an {by.role} cannot invite an {wanted.role}")
    if wanted.role == "buyer" and not (wanted.buyer or "").strip():
        raise InvalidInput([FieldProblem(("buyer",), "a buyer acts for an organisation: its name, as written in its needs")])
    if wanted.role == "supplier" and not (wanted.supplier_id or "").strip():
        raise InvalidInput([FieldProblem(("supplier_id",), "a supplier acts for a supplier: its id (organisation number)")])


def invite(engine: Engine, wanted: Invitation, by: Principal, base_url: str) -> Person:
    """A new active account and its invitation e-mail (a sign-in link valid for 7 days)."""
    _check_invitation(by, wanted)
    email = normalise_email(wanted.email)
    with session_scope(engine) as session:
        if session.exec(select(Person.key).where(Person.email == email)).first() is not None:
            raise InvalidInput([FieldProblem(("email",), "this address already has an account")])
        supplier_id = _text(wanted.supplier_id, "supplier_id", limit=80) if wanted.role == "supplier" else None
        if supplier_id and repository.get(session, SUPPLIERS, supplier_id) is None:
            raise NotFound("supplier", supplier_id)
        person = Person(
            handle=_handle(),
            email=email,
            name=_text(wanted.name, "name"),
            role=wanted.role,
            supplier_id=supplier_id,
            buyer=_text(wanted.buyer, "buyer") if wanted.role == "buyer" else None,
            invited_by=by.who,
        )
        session.add(person)
        session.flush()
        link = new_link(session, person, "invitation", base_url)
        subject, body = people_mail.invitation(
            link, invited_by=by.label or by.who, role=person.role, acts_for=person.buyer or supplier_id
        )
        enqueue_mail(session, to=email, subject=subject, body=body)
        session.expunge(person)
        return person


def register_supplier(engine: Engine, wanted: Registration, base_url: str) -> None:
    """A pending account for a supplier (an adviser decides); an address that already has an account gets
    a note instead, so the page answers alike either way."""
    email = normalise_email(wanted.email)
    organisation = _text(wanted.organisation, "organisation", required=True)
    supplier_id = _text(wanted.supplier_id, "supplier_id", required=True, limit=80)
    assert organisation is not None and supplier_id is not None
    with session_scope(engine) as session:
        if session.exec(select(Person.key).where(Person.email == email)).first() is not None:
            subject, body = people_mail.already_registered(f"{base_url.rstrip('/')}/ui/login")
        else:
            session.add(
                Person(
                    handle=_handle(),
                    email=email,
                    name=_text(wanted.name, "name"),
                    role="supplier",
                    supplier_id=supplier_id,
                    organisation=organisation,
                    country=(wanted.country or "").strip().upper()[:2] or None,
                    status="pending",
                )
            )
            subject, body = people_mail.registration_received(organisation)
        if mails_this_hour(session, email) < MAX_MAILS_PER_HOUR:
            enqueue_mail(session, to=email, subject=subject, body=body)


def _decide(engine: Engine, handle: str, by: Principal, base_url: str, *, approve: bool) -> Person:
    require_staff(by, "deciding on registrations")
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.handle == handle)).first()
        if person is None or person.status != "pending":
            raise NotFound("registration", handle)
        person.status = "active" if approve else "refused"
        person.decided_by, person.decided_at = by.who, dt.datetime.now(dt.UTC)
        organisation = person.organisation or person.supplier_id or person.email
        if approve:
            subject, body = people_mail.approved(new_link(session, person, "approval", base_url), organisation)
        else:
            subject, body = people_mail.refused(organisation)
        enqueue_mail(session, to=person.email, subject=subject, body=body)
        session.flush()
        session.expunge(person)
        return person


def approve(engine: Engine, handle: str, by: Principal, base_url: str) -> Person:
    return _decide(engine, handle, by, base_url, approve=True)


def refuse(engine: Engine, handle: str, by: Principal, base_url: str) -> Person:
    return _decide(engine, handle, by, base_url, approve=False)


def disable(engine: Engine, handle: str, by: Principal) -> None:
    """Signs the person out everywhere for good (every request checks the status)."""
    require_staff(by, "disabling accounts")
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.handle == handle)).first()
        if person is None:
            raise NotFound("person", handle)
        if person.role in ("admin", "adviser") and by.role != "admin":
            raise Denied("only an admin disables an adviser's or admin's account")
        person.status = "disabled"


def everyone(engine: Engine, by: Principal) -> list[Person]:
    """Every account, pending registrations first (staff only)."""
    require_staff(by, "the list of people")
    with Session(engine) as session:
        rows = list(session.exec(select(Person).order_by(col(Person.created_at).desc())))
    return sorted(rows, key=lambda p: p.status != "pending")


def claimed_suppliers(engine: Engine, registrations: list[Person]) -> dict[str, str]:
    """For the adviser deciding: which registrations name a supplier already stored (id → its name), since
    approving one lets the registrant edit that supplier's profile."""
    ids = {p.supplier_id for p in registrations if p.supplier_id}
    with Session(engine) as session:
        rows = [repository.get(session, SUPPLIERS, supplier_id) for supplier_id in sorted(ids)]
    return {row.id: row.name or row.id for row in rows if row is not None}
