"""Typed dependencies for the routers: the services, and who is asking (from the API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from service.access import ANONYMOUS, Principal
from service.container import Services
from service.keys import authenticate
from service.settings import Settings
from service.web_sessions import session_principal

SESSION_COOKIE = "matchmaker_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURE_PREFIX = "__Host-"


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def cookie_secure(request: Request) -> bool:
    """Secure cookies over HTTPS, or wherever configured (behind a proxy that ends TLS)."""
    configured = settings_of(request).cookie_secure
    return request.url.scheme == "https" if configured is None else bool(configured)


def cookie_name(request: Request, base: str) -> str:
    """Secure cookies are ``__Host-`` cookies: a page on another port of the same host (HTTP) cannot set
    one, so it cannot plant its own session in a victim's browser. Only that name is read then."""
    return SECURE_PREFIX + base if cookie_secure(request) else base


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def header_key(request: Request) -> str | None:
    """``Authorization: Bearer <key>`` or ``X-API-Key: <key>``: how programs present a key."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def from_another_site(request: Request) -> bool:
    """A request another site's page made the browser send (an image, a fetch, a frame), by the browser's
    own Fetch Metadata: the session cookie must not count there, since even a read can record (an export,
    a shortlist in the audit trail). Following a link is a navigation and still counts."""
    site = request.headers.get("sec-fetch-site")
    navigating = request.headers.get("sec-fetch-mode") == "navigate" and request.method in SAFE_METHODS
    return site in ("same-site", "cross-site") and not navigating


def browser_principal(request: Request, services: Services) -> Principal:
    """Who the pages' session cookie belongs to; signed out (anonymous) if none, expired or revoked,
    or when another site's page sent the request."""
    if from_another_site(request):
        return ANONYMOUS
    return session_principal(services.engine, request.cookies.get(cookie_name(request, SESSION_COOKIE))) or ANONYMOUS


def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The key in a header; else, for reading only, the pages' session (a cross-site page could make a
    browser send the cookie with a change, so the API never takes the cookie for one)."""
    key = header_key(request)
    if key is None:
        return browser_principal(request, services) if request.method in SAFE_METHODS else ANONYMOUS
    principal = authenticate(services.engine, key)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
