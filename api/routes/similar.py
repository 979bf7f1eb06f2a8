"""Buyers who share a need: other buyers' needs ranked for a stored need or a draft (service/similar_needs.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.consistency import read_after
from api.deps import PrincipalDep, ServicesDep
from api.routes.matching import K, ListParam, match_filters
from api.schemas import MatchRequest, NeedMatch, NeedShortlist
from service import similar_needs
from service.errors import FieldProblem, InvalidInput
from service.writes import normalise_cpv

router = APIRouter(tags=["matching"], dependencies=[Depends(read_after)])
Closed = Annotated[bool, Query(description="also closed needs (by default only planning and open)")]


@router.get("/needs/{need_id}/similar", response_model=NeedShortlist, summary="Other buyers' needs like this one")
def similar_to_need(
    need_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    k: K = 10,
    include_closed: Closed = False,
    cpv: ListParam = None,
    country: ListParam = None,
    region: ListParam = None,
) -> Any:
    """Ranked and explained like a shortlist; the need's own buyer's needs are left out."""
    filters = match_filters(("query",), cpv=cpv, countries=country, regions=region)
    need, results = similar_needs.similar_to_need(
        services, principal, need_id, k=k, include_closed=include_closed, filters=filters
    )
    summary = {"id": need.id, "title": need.title, "buyer": need.buyer, "cpv_codes": need.cpv_codes, "country": need.country}
    return NeedShortlist(need=summary, count=len(results), results=[NeedMatch.of(r) for r in results])


@router.post("/needs/similar", response_model=NeedShortlist, summary="Needs like a draft (same body as /match)")
def similar_to_draft(
    request: MatchRequest, services: ServicesDep, principal: PrincipalDep, include_closed: Closed = False
) -> Any:
    """A need not stored: the text, its CPV codes and place; a buyer's own needs are left out."""
    f = request.filters
    if f.sizes:
        raise InvalidInput([FieldProblem(("body", "filters", "sizes"), "needs have no size: filter suppliers by size")])
    filters = match_filters(("body",), cpv=f.cpv, countries=f.countries, regions=f.regions)
    values = {
        "description": request.text,
        "cpv_codes": normalise_cpv(request.cpv_codes, services.catalog),
        "country": request.country,
        "region": request.region,
    }
    results = similar_needs.similar_to_draft(
        services, principal, values, k=request.k, include_closed=include_closed, filters=filters
    )
    return NeedShortlist(count=len(results), results=[NeedMatch.of(r) for r in results])
