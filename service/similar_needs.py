"""Buyers who share a need (demand pooling): other buyers' needs ranked for a need, stored or a draft, by
the same matcher as a shortlist (meaning, words, CPV codes, place) and explained alike, so that one market
dialogue can serve several buyers.

A buyer's own needs are left out (it knows them); closed needs only when asked for. Every key holder may
read any need (service/access.py), so nothing here is hidden from a reader who may ask.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlmodel import Session

from matcher.filters import MatchFilters
from service import access, shortlists
from service.access import Principal
from service.container import Services
from service.shortlists import MatchResult
from store import repository

OPEN = ("planning", "open")


def _statuses(include_closed: bool) -> tuple[str, ...]:
    return (*OPEN, "closed") if include_closed else OPEN


def _own_keys(services: Services, buyer: str | None) -> list[int]:
    if not buyer:
        return []
    with Session(services.engine) as session:
        return [need.key for need in repository.needs_of_buyer(session, buyer)]


def _filters(base: MatchFilters, include_closed: bool) -> MatchFilters:
    return MatchFilters(base.cpv_prefixes, base.countries, base.regions, (), _statuses(include_closed))


def similar_to_need(
    services: Services,
    principal: Principal,
    need_id: str,
    *,
    k: int = 10,
    include_closed: bool = False,
    filters: MatchFilters = MatchFilters(),
) -> tuple[Any, list[MatchResult]]:
    """Other buyers' needs most like this stored one."""
    access.require_key(principal)
    need = shortlists.stored_need(services, need_id)
    access.check_need_visible(principal, need)
    exclude = [need.key, *_own_keys(services, need.buyer)]
    return need, shortlists.needs_like(services, need, filters=_filters(filters, include_closed), k=k, exclude=exclude)


def similar_to_draft(
    services: Services,
    principal: Principal,
    values: dict[str, Any],
    *,
    k: int = 10,
    include_closed: bool = False,
    filters: MatchFilters = MatchFilters(),
) -> list[MatchResult]:
    """Needs most like one not stored (a buyer's draft, or any text): a buyer's own are left out."""
    access.require_key(principal)
    draft = SimpleNamespace(
        title=values.get("title"),
        description=values.get("description") or "",
        cpv_codes=list(values.get("cpv_codes") or []),
        country=values.get("country"),
        region=values.get("region"),
    )
    exclude = _own_keys(services, principal.buyer if principal.role == "buyer" else None)
    return shortlists.needs_like(services, draft, filters=_filters(filters, include_closed), k=k, exclude=exclude)
