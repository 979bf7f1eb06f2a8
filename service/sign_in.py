"""Signing in by e-mail: a one-time link, then a server-side session like a key's.

Asking for a link answers the same whatever the address (an account or not, pending or not), and does
the same work: a message to that address is written in every case, saying what applies. So the page
never tells anyone who has an account, and neither does its timing. At most ``MAX_MAILS_PER_HOUR``
messages go to one address in an hour, whoever asks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import people_mail
from service.errors import InvalidInput
from service.mail import address_problem, enqueue_mail
from store import outbox_queries
from store.db import session_scope
from store.people_models import Person, SignInLink

SIGN_IN_LIFETIME = dt.timedelta(minutes=15)
INVITATION_LIFETIME = dt.timedelta(days=7)
MAX_MAILS_PER_HOUR = 5


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(text: str, field: str = "email") -> str:
    """The address as stored (trimmed, lower-cased); a clear 422 for one the mail could not go to (the
    sender's own rule, service/mail.py)."""
    email = text.strip().lower()
    problem = address_problem(email, field)
    if problem is not None:
        raise InvalidInput([problem])
    return email


def new_link(session: Session, person: Person, purpose: str, base_url: str) -> str:
    """A one-time link for this person, stored hashed in the caller's transaction; the URL to send."""
    token = secrets.token_urlsafe(32)
    lifetime = SIGN_IN_LIFETIME if purpose == "sign-in" else INVITATION_LIFETIME
    assert person.key is not None
    session.add(SignInLink(token_hash=_hash(token), person_key=person.key, purpose=purpose, expires_at=_now() + lifetime))
    return f"{base_url.rstrip('/')}/ui/login/link?token={token}"


def mails_this_hour(session: Session, email: str) -> int:
    return outbox_queries.written_to(session, email, since=_now() - dt.timedelta(hours=1))


def request_link(engine: Engine, email_text: str, base_url: str) -> None:
    """Write the message this address should get (a link, or why there is none)."""
    email = normalise_email(email_text)
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.email == email)).first()
        if mails_this_hour(session, email) >= MAX_MAILS_PER_HOUR:
            return
        if person is None:
            subject, body = people_mail.no_account(f"{base_url.rstrip('/')}/ui/register")
        elif person.status != "active":
            subject, body = people_mail.not_yet(person.status)
        else:
            subject, body = people_mail.sign_in(new_link(session, person, "sign-in", base_url))
        enqueue_mail(session, to=email, subject=subject, body=body)


def link_holder(engine: Engine, token: str) -> Person | None:
    """Whom an unused, unexpired link would sign in (for the page that asks to confirm); nothing is used up."""
    with Session(engine) as session:
        found = session.exec(
            select(Person)
            .join(SignInLink, col(SignInLink.person_key) == col(Person.key))
            .where(SignInLink.token_hash == _hash(token), col(SignInLink.used_at).is_(None), col(SignInLink.expires_at) > _now())
        ).first()
    return found if found is not None and found.status == "active" else None


def redeem(engine: Engine, token: str) -> Person | None:
    """Use the link up (once, even when two requests race) and return its active person; None for a link
    that is unknown, used, expired, or whose person may no longer sign in."""
    now = _now()
    with session_scope(engine) as session:
        used = session.execute(
            update(SignInLink)
            .where(
                col(SignInLink.token_hash) == _hash(token), col(SignInLink.used_at).is_(None), col(SignInLink.expires_at) > now
            )
            .values(used_at=now)
            .returning(col(SignInLink.person_key)),
            execution_options={"synchronize_session": False},
        ).first()
        if used is None:
            return None
        person = session.get(Person, used[0])
        if person is None or person.status != "active":
            return None
        session.expunge(person)
        return person
