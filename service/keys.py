"""API keys: created with a role (and the supplier or buyer they act for), shown once, stored hashed,
revoked by prefix. A key reads ``mm_<prefix>_<secret>``."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.access import ANONYMOUS, Principal
from service.errors import FieldProblem, InvalidInput, NotFound
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS
from store.trust_models import ROLES, ApiKey


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    engine: Engine, role: str, *, supplier_id: str | None = None, buyer: str | None = None, label: str | None = None
) -> tuple[str, ApiKey]:
    """A new key (the plaintext is returned once, never stored) and its row."""
    problems = []
    if role not in ROLES:
        problems.append(FieldProblem(("role",), f"'{role}' is not one of {', '.join(ROLES)}"))
    if role == "supplier" and not supplier_id:
        problems.append(FieldProblem(("supplier",), "a supplier key needs the supplier's id"))
    if role == "buyer" and not (buyer or "").strip():
        problems.append(FieldProblem(("buyer",), "a buyer key needs the buyer's name, as written in its needs"))
    if role not in ("supplier",) and supplier_id:
        problems.append(FieldProblem(("supplier",), "only supplier keys act for a supplier"))
    if problems:
        raise InvalidInput(problems)
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    plaintext = f"mm_{prefix}_{secret}"
    with session_scope(engine) as session:
        if supplier_id and repository.get(session, SUPPLIERS, supplier_id) is None:
            raise NotFound("supplier", supplier_id)
        row = ApiKey(
            prefix=prefix,
            secret_hash=_hash(plaintext),
            role=role,
            supplier_id=supplier_id,
            buyer=buyer.strip() if buyer else None,
            label=label,
        )
        session.add(row)
    return plaintext, row


def authenticate(engine: Engine, plaintext: str | None) -> Principal | None:
    """The key's principal; ``ANONYMOUS`` without a key; None for an unknown or revoked key."""
    if not plaintext:
        return ANONYMOUS
    with Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.secret_hash == _hash(plaintext.strip()))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(role=row.role, prefix=row.prefix, label=row.label, supplier_id=row.supplier_id, buyer=row.buyer)


def revoke_key(engine: Engine, prefix: str) -> ApiKey:
    with session_scope(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if row is None:
            raise NotFound("key", prefix)
        if row.revoked_at is None:
            row.revoked_at = dt.datetime.now(dt.UTC)
        return row


def list_keys(engine: Engine) -> list[ApiKey]:
    with Session(engine) as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.key))))


def has_keys(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(ApiKey.key).where(col(ApiKey.revoked_at).is_(None))).first() is not None
