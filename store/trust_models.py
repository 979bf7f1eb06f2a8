"""Tables of trust: API keys (only their hashes) and the audit trail of each need's market dialogue."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from store.models import MAX_NAME, Key, _utcnow

Role = Literal["admin", "adviser", "buyer", "supplier"]
ROLES: tuple[str, ...] = ("admin", "adviser", "buyer", "supplier")


class ApiKey(SQLModel, table=True):
    """A key is shown once; only its SHA-256 is kept (it is 32 random bytes, so a slow hash adds nothing)."""

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    prefix: str = Field(index=True, unique=True, max_length=16)
    """Public part of the key (``mm_<prefix>_…``): names it in lists, logs and the audit trail."""
    secret_hash: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(max_length=10)
    supplier_id: str | None = Field(default=None, max_length=80)
    buyer: str | None = Field(default=None, max_length=MAX_NAME)
    label: str | None = Field(default=None, max_length=MAX_NAME)
    """Who holds it, e.g. the adviser's name: shown as "who" in marks and the audit trail."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    revoked_at: dt.datetime | None = None


class AuditEvent(SQLModel, table=True):
    """One thing that happened in a need's market dialogue; rows are only ever added.

    Ids are kept as text, not keys, so the record outlives deleted rows."""

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    at: dt.datetime = Field(default_factory=_utcnow, index=True)
    need_id: str = Field(index=True, max_length=80)
    action: str = Field(max_length=20)
    actor: str = Field(max_length=MAX_NAME)
    role: str = Field(max_length=10)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token, never the API key; only the token's
    SHA-256 is kept. Signing out deletes the row; revoking the key it was opened with, or disabling the
    person, ends it."""

    token_hash: str = Field(primary_key=True, max_length=64)
    key_prefix: str = Field(index=True, max_length=16)
    """The API key's prefix, or the person's handle (``p_…``) for a person signed in by e-mail."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    expires_at: dt.datetime = Field(index=True)


class ServerSecret(SQLModel, table=True):
    """Random secrets every server of one database shares (e.g. what signs the pages' form tokens)."""

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=128)
