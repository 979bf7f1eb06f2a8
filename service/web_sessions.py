"""Browser sessions for the pages: signing in with a key opens one, signing out ends it.

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
    token = secrets.token_urlsafe(32)
    now = _now()
    with session_scope(engine) as session:
        session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))  # tidy as we go
        session.add(WebSession(token_hash=_hash(token), key_prefix=principal.prefix, created_at=now, expires_at=now + lifetime))
    return token, principal


def session_principal(engine: Engine, token: str | None) -> Principal | None:
    """Who an unexpired session belongs to, if its key is still valid; None otherwise."""
    if not token:
        return None
    with Session(engine) as session:
        found = session.exec(
            select(ApiKey)
            .join(WebSession, col(WebSession.key_prefix) == col(ApiKey.prefix))
            .where(WebSession.token_hash == _hash(token), col(WebSession.expires_at) > _now())
        ).first()
    if found is None or found.revoked_at is not None:
        return None
    return Principal(role=found.role, prefix=found.prefix, label=found.label, supplier_id=found.supplier_id, buyer=found.buyer)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with session_scope(engine) as session:
            session.exec(delete(WebSession).where(col(WebSession.token_hash) == _hash(token)))
