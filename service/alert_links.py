"""Links in alerts that work without signing in: unsubscribing, a supplier's feed, opening a need from
its alert, and confirming a contact address.

Each carries an HMAC of what it may do under a secret every server of the database shares
(service/form_tokens.py), so nothing per link is stored and a link made for one supplier does nothing for
another. A feed's address changes when the supplier asks for a new one (its ``feed_version``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import quote, urlencode

from sqlalchemy.engine import Engine

from service.form_tokens import server_secret

SECRET_NAME = "alert-links"
CONFIRM_FOR = dt.timedelta(days=3)


def _sign(engine: Engine, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(server_secret(engine, SECRET_NAME), message, hashlib.sha256).hexdigest()[:40]


def _matches(expected: str, given: str | None) -> bool:
    """Constant time; bytes, since a token someone typed may hold any character (str needs ASCII)."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def unsubscribe_token(engine: Engine, supplier_id: str) -> str:
    return _sign(engine, "unsubscribe", supplier_id)


def unsubscribe_ok(engine: Engine, supplier_id: str, token: str | None) -> bool:
    return _matches(unsubscribe_token(engine, supplier_id), token)


def unsubscribe_url(engine: Engine, base_url: str, supplier_id: str) -> str:
    query = urlencode({"supplier": supplier_id, "token": unsubscribe_token(engine, supplier_id)})
    return f"{base_url}/ui/alerts/unsubscribe?{query}"


def feed_token(engine: Engine, supplier_id: str, version: int) -> str:
    return _sign(engine, "feed", supplier_id, str(version))


def feed_ok(engine: Engine, supplier_id: str, version: int, token: str | None) -> bool:
    return _matches(feed_token(engine, supplier_id, version), token)


def feed_url(engine: Engine, base_url: str, supplier_id: str, version: int) -> str:
    return f"{base_url}/feeds/alerts/{quote(supplier_id, safe='')}/{feed_token(engine, supplier_id, version)}.atom"


def open_token(engine: Engine, supplier_id: str, need_id: str) -> str:
    return _sign(engine, "open", supplier_id, need_id)


def open_ok(engine: Engine, supplier_id: str, need_id: str, token: str | None) -> bool:
    return _matches(open_token(engine, supplier_id, need_id), token)


def need_url(engine: Engine, base_url: str, supplier_id: str, need_id: str) -> str:
    """The need's page; opening it from the alert records that the supplier opened it."""
    query = urlencode({"alert": supplier_id, "token": open_token(engine, supplier_id, need_id)})
    return f"{base_url}/ui/needs/{quote(need_id, safe='')}?{query}"


def confirm_token(engine: Engine, supplier_id: str, address: str, expires: int) -> str:
    return _sign(engine, "confirm", supplier_id, address.lower(), str(expires))


def confirm_url(engine: Engine, base_url: str, supplier_id: str, address: str, *, now: dt.datetime) -> str:
    expires = int((now + CONFIRM_FOR).timestamp())
    token = confirm_token(engine, supplier_id, address, expires)
    query = urlencode({"supplier": supplier_id, "address": address, "expires": expires, "token": token})
    return f"{base_url}/ui/alerts/confirm?{query}"


def confirm_ok(engine: Engine, supplier_id: str, address: str, expires: int, token: str | None, *, now: dt.datetime) -> bool:
    return expires > now.timestamp() and _matches(confirm_token(engine, supplier_id, address, expires), token)
