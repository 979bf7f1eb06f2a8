"""Browser sessions for the pages: signing in with a key or a person's e-mail link opens one, signing out ends it.

The cookie carries a random session token (only its hash is stored), so a stolen cookie is not the
key itself, signing out ends it on every server at once, and revoking the key ends every session
opened with it (each request checks the key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from service.access import Principal
from service.keys import authenticate
from store.db import session_scope
from store.people_models import HANDLE_PREFIX, Person
from store.trust_models import ApiKey, WebSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_session(engine: Engine, key: str, lifetime: dt.timedelta) -> tuple[str, Principal] | None:
    """A new session for a valid key (its token, shown once, and who it is); None for a bad key."""
    principal = authenticate(engine, key)
    if principal is None or principal.role is None or principal.prefix is None:
        return None
    return _open(engine, principal.prefix, lifetime), principal


def open_person_session(engine: Engine, person: Person, lifetime: dt.timedelta) -> str:
    """A new session for a person who has just used a sign-in link; its token, shown once."""
    return _open(engine, person.handle, lifetime)


def _open(engine: Engine, holder: str, lifetime: dt.timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = _now()
    with session_scope(engine) as session:
        session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))  # tidy as we go
        session.add(WebSession(token_hash=_hash(token), key_prefix=holder, created_at=now, expires_at=now + lifetime))
    return token


def session_principal(engine: Engine, token: str | None) -> Principal | None:
    """Who an unexpired session belongs to, if its key is still valid or its person still active; None otherwise."""
    if not token:
        return None
    with Session(engine) as session:
        holder = session.exec(
            select(WebSession.key_prefix).where(WebSession.token_hash == _hash(token), col(WebSession.expires_at) > _now())
        ).first()
        if holder is None:
            return None
        if holder.startswith(HANDLE_PREFIX):
            person = session.exec(select(Person).where(Person.handle == holder)).first()
            return person_principal(person) if person is not None and person.status == "active" else None
        key = session.exec(select(ApiKey).where(ApiKey.prefix == holder)).first()
    if key is None or key.revoked_at is not None:
        return None
    return Principal(role=key.role, prefix=key.prefix, label=key.label, supplier_id=key.supplier_id, buyer=key.buyer)


def person_principal(person: Person) -> Principal:
    return Principal(
        role=person.role,
        prefix=person.handle,
        label=person.name,
        supplier_id=person.supplier_id,
        buyer=person.buyer,
        email=person.email,
    )


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with session_scope(engine) as session:
            session.exec(delete(WebSession).where(col(WebSession.token_hash) == _hash(token)))
