"""Tokens that prove a form was served by us to this browser (CSRF protection for the pages).

A token is an HMAC of what the form is bound to (the browser's session, or before signing in a
random per-browser value) under a secret kept in the database, so every server of one database
issues and accepts the same tokens and nothing per form has to be stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store.db import session_scope
from store.trust_models import ServerSecret

SECRET_NAME = "form-tokens"


@lru_cache(maxsize=16)
def server_secret(engine: Engine, name: str = SECRET_NAME) -> bytes:
    """The named secret, created by whichever server asks first (a concurrent creator's value wins);
    read once per process, since it never changes."""
    with Session(engine) as session:
        found = session.get(ServerSecret, name)
    if found is None:
        try:
            with session_scope(engine) as session:
                session.add(ServerSecret(name=name, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another server created it a moment ago
        with Session(engine) as session:
            found = session.get(ServerSecret, name)
        if found is None:
            raise RuntimeError(f"server secret '{name}' could not be created")
    return bytes.fromhex(found.value)


def form_token(secret: bytes, binding: str) -> str:
    return hmac.new(secret, f"form:{binding}".encode(), hashlib.sha256).hexdigest()


def token_matches(secret: bytes, binding: str, token: str | None) -> bool:
    # bytes: a posted token may hold any character, and compare_digest refuses non-ASCII str (a 500)
    return bool(token) and hmac.compare_digest(form_token(secret, binding).encode(), (token or "").encode())
