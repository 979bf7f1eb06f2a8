"""What keeps the pages safe in a browser: security headers on every response, and a check that
every state-changing form came from one of our own pages (CSRF).

A page on the same site (another port on the same host counts, and SameSite=Lax does not stop it)
can make the browser post a form with the signed-in cookie. So a form post that relies on the
cookie (or signs in) must carry a token bound to this browser's session (service/form_tokens.py),
and its ``Origin`` (or, without one, its ``Referer``) must be the server's own origin or a trusted
one. Requests that carry a key in a header are programs, not browsers, and need neither.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import Request, Response

from api.deps import SAFE_METHODS, SESSION_COOKIE, cookie_name, cookie_secure, get_services, header_key, settings_of
from service.form_tokens import form_token, server_secret, token_matches

FORM_COOKIE = "matchmaker_form"  # a random value binding the sign-in form to this browser
TOKEN_FIELD = "csrf_token"
DOCS_PATHS = ("/docs", "/redoc")

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_CSP = "frame-ancestors 'none'"  # Swagger UI runs its own scripts
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"cross-origin-opener-policy": b"same-origin",
}


class FormRefused(Exception):
    """A form post that did not come from one of our pages (403)."""


class SecurityHeaders:
    """Adds the security headers to every response; the strict CSP to all but the API docs."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else PAGE_CSP

        async def with_headers(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(k, v) for k, v in HEADERS.items() if k not in present]
                if b"content-security-policy" not in present:
                    added.append((b"content-security-policy", csp.encode()))
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, with_headers)


def _binding(request: Request) -> tuple[str, str | None]:
    """What this browser's forms are bound to: its session, else its form cookie (and whether that is new)."""
    session = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    if session:
        return f"session:{session}", None
    seed = request.cookies.get(cookie_name(request, FORM_COOKIE))
    if seed:
        return f"browser:{seed}", None
    fresh = secrets.token_urlsafe(24)
    return f"browser:{fresh}", fresh


def issue_form_token(request: Request) -> tuple[str, str | None]:
    """The token the page's forms carry, and the new form cookie to set (if the browser had none)."""
    binding, fresh = _binding(request)
    return form_token(server_secret(get_services(request).engine), binding), fresh


def set_form_cookie(request: Request, response: Response, value: str) -> None:
    secure = cookie_secure(request)
    response.set_cookie(cookie_name(request, FORM_COOKIE), value, httponly=True, samesite="strict", secure=secure)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def from_trusted_origin(request: Request, trusted: Iterable[str]) -> bool:
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    allowed = {own, *(o.rstrip("/").lower() for o in trusted)}
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in allowed  # "null" (sandboxed frames, data: pages) is never allowed
    referer = request.headers.get("referer")
    return referer is not None and _origin(referer) in allowed


async def verify_form(request: Request) -> None:
    """Every page route's dependency: a state-changing request from a browser must be one of our forms."""
    if request.method in SAFE_METHODS or header_key(request) is not None:
        return
    if not from_trusted_origin(request, settings_of(request).trusted_origins):
        raise FormRefused("this form was sent from another site")
    binding, fresh = _binding(request)
    form = await request.form()
    token = form.get(TOKEN_FIELD)
    if fresh is not None or not token_matches(server_secret(get_services(request).engine), binding, str(token or "")):
        raise FormRefused("this form has expired or was not sent from this site's pages")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    hours = settings_of(request).session_hours
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE),
        token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


def session_lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(hours=settings_of(request).session_hours)
