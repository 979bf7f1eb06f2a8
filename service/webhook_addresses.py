"""Which addresses a supplier's webhook may post to.

The server posts to an address a supplier typed, from inside the network it runs in: unless the operator
allows it (``MATCHMAKER_WEBHOOK_ALLOW_PRIVATE``), only HTTPS to public internet addresses, checked when the
address is saved and again on every post, against the address actually connected to (a name that
resolved to a public address yesterday may resolve to 127.0.0.1 today).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedAddress(Exception):
    """The webhook may not be posted to: the reason is for the supplier and the advisers."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_global and not ip.is_multicast


def problem(url: str, *, allow_private: bool) -> str | None:
    """Why this URL cannot be a webhook (its form only: no lookup), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// address"
    if parts.scheme == "http" and not allow_private:
        return "must be an https:// address (the alerts it carries are signed, not encrypted)"
    if parts.username or parts.password:
        return "must not carry a user name or password (each post is signed with the webhook's secret instead)"
    if not allow_private:
        try:
            if not _is_public(parts.hostname):
                return "must be an address on the public internet"
        except ValueError:
            pass  # a name: checked when posting, against where it resolves then
    return None


def resolve(url: str, *, allow_private: bool) -> tuple[str, int, str]:
    """The (IP address, port, host name) to connect to for ``url``; raises :class:`RefusedAddress` when
    the URL is not allowed or a name resolves to a private address."""
    reason = problem(url, allow_private=allow_private)
    if reason:
        raise RefusedAddress(reason)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedAddress(f"the name {host} could not be resolved: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private and not all(_is_public(a) for a in addresses):
        raise RefusedAddress(f"{host} resolves to an address that is not on the public internet")
    return addresses[0], port, host
