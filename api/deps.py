"""Typed dependencies for the routers: the services, and who is asking (from the API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from service.access import Principal
from service.container import Services
from service.keys import authenticate

KEY_COOKIE = "matchmaker_key"


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def presented_key(request: Request) -> str | None:
    """``Authorization: Bearer <key>``, ``X-API-Key: <key>``, or the web pages' login cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key") or request.cookies.get(KEY_COOKIE)


def get_principal(request: Request, services: ServicesDep) -> Principal:
    principal = authenticate(services.engine, presented_key(request))
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
