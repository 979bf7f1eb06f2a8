"""People who sign in on the pages (programs keep API keys), and the one-time links they sign in with.

A person has no password: a sign-in link sent to their address is the proof. Only a link's SHA-256 is
kept (it is 32 random bytes), it expires, and it works once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from store.models import MAX_NAME, Key, _utcnow

PERSON_STATUSES: tuple[str, ...] = ("active", "pending", "refused", "disabled")
HANDLE_PREFIX = "p_"
"""A person's public handle reads ``p_<8 hex>``; API key prefixes are 8 hex digits alone, so the two never clash."""


class Person(SQLModel, table=True):
    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    handle: str = Field(index=True, unique=True, max_length=16)
    """Names the person in sessions, lists and links without showing the address."""
    email: str = Field(index=True, unique=True, max_length=254)
    """Lower-cased."""
    name: str | None = Field(default=None, max_length=MAX_NAME)
    role: str = Field(max_length=10)
    supplier_id: str | None = Field(default=None, max_length=80)
    buyer: str | None = Field(default=None, max_length=MAX_NAME)
    """The buying organisation, as written in its needs."""
    organisation: str | None = Field(default=None, max_length=MAX_NAME)
    """The company name a supplier gave when it registered itself (for the adviser who approves it)."""
    country: str | None = Field(default=None, max_length=2)
    status: str = Field(default="active", max_length=10)
    """``pending``: registered itself, waiting for an adviser; ``refused``; ``disabled``: signed out for good."""
    invited_by: str | None = Field(default=None, max_length=MAX_NAME)
    decided_by: str | None = Field(default=None, max_length=MAX_NAME)
    """The adviser who approved or refused a registration."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    decided_at: dt.datetime | None = None


class SignInLink(SQLModel, table=True):
    __tablename__ = "sign_in_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_key: int = Field(sa_column=Column(Key, nullable=False, index=True))
    purpose: str = Field(max_length=12)
    """``sign-in`` (asked for on the sign-in page), ``invitation`` or ``approval`` (live longer)."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
