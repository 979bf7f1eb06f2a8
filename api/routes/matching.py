"""Shortlists: ad-hoc needs, stored needs, and needs for a supplier."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.consistency import read_after
from api.deps import PrincipalDep, ServicesDep
from api.schemas import MAX_K, MatchRequest, NeedMatch, NeedShortlist, SupplierMatch, SupplierShortlist
from matcher.filters import MatchFilters
from matcher.geography import Location
from service import access, audit, mark_demotion, shortlists
from service.errors import FieldProblem, InvalidInput
from service.writes import normalise_cpv

router = APIRouter(tags=["matching"], dependencies=[Depends(read_after)])

K = Annotated[int, Query(ge=1, le=MAX_K, description="how many results")]
Diversity = Annotated[float, Query(ge=0.0, le=1.0, description="0 = pure relevance; higher = fewer look-alikes")]
ListParam = Annotated[list[str] | None, Query(max_length=30)]


def match_filters(location: tuple[str, ...], **values: Any) -> MatchFilters:
    try:
        return MatchFilters.build(**{name: v or () for name, v in values.items()})
    except ValueError as exc:
        raise InvalidInput([FieldProblem((*location, "filters"), str(exc))]) from exc


@router.post("/match", response_model=SupplierShortlist, summary="Suppliers for an ad-hoc need")
def match(request: MatchRequest, services: ServicesDep, principal: PrincipalDep) -> Any:
    access.check_matching(principal)
    f = request.filters
    filters = match_filters(("body",), cpv=f.cpv, countries=f.countries, regions=f.regions, sizes=f.sizes)
    results = shortlists.suppliers_for_text(
        services,
        request.text,
        cpv_codes=normalise_cpv(request.cpv_codes, services.catalog),
        location=Location(request.country, request.region),
        filters=filters,
        k=request.k,
        diversity=request.diversity,
    )
    return SupplierShortlist(count=len(results), results=[SupplierMatch.of(r, for_advisers=principal.is_staff) for r in results])


@router.get("/needs/{need_id}/shortlist", response_model=SupplierShortlist, summary="Suppliers for a stored need")
def need_shortlist(
    need_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    k: K = 10,
    diversity: Diversity = 0.0,
    cpv: ListParam = None,
    country: ListParam = None,
    region: ListParam = None,
    size: ListParam = None,
) -> Any:
    """Recorded in the need's audit trail: who asked, when, the filters, and the suppliers and scores shown.
    A supplier an adviser marked not relevant for the need comes after the `k` others, saying so
    (`explanation.marked`), and the audit event names it under `demoted`."""
    access.require_key(principal)  # before looking: a visitor learns nothing about which needs exist
    access.check_need_dialogue(principal, shortlists.stored_need(services, need_id), "the shortlist")
    filters = match_filters(("query",), cpv=cpv, countries=country, regions=region, sizes=size)
    need, results = shortlists.suppliers_for_need(services, need_id, filters=filters, k=k, diversity=diversity, reader=principal)
    asked = {"cpv": cpv or [], "country": country or [], "region": region or [], "size": size or []}
    details = audit.shortlist_details(asked, k, diversity, results) | mark_demotion.audit_details(results)
    audit.record(services.engine, need.id, "shortlist", principal, details)
    summary = {"id": need.id, "title": need.title, "buyer": need.buyer, "cpv_codes": need.cpv_codes, "country": need.country}
    return SupplierShortlist(
        need=summary, count=len(results), results=[SupplierMatch.of(r, for_advisers=principal.is_staff) for r in results]
    )


@router.get("/suppliers/{supplier_id}/needs", response_model=NeedShortlist, summary="Needs for a supplier")
def supplier_needs(
    supplier_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    k: K = 10,
    diversity: Diversity = 0.0,
    cpv: ListParam = None,
    country: ListParam = None,
    region: ListParam = None,
    status: Annotated[list[str] | None, Query(max_length=3, description="default: planning and open")] = None,
) -> Any:
    access.check_needs_for_supplier(principal, supplier_id)
    filters = match_filters(("query",), cpv=cpv, countries=country, regions=region, statuses=status)
    supplier, results = shortlists.needs_for_supplier(services, supplier_id, filters=filters, k=k, diversity=diversity)
    summary = {"id": supplier.id, "name": supplier.name, "country": supplier.country}
    return NeedShortlist(supplier=summary, count=len(results), results=[NeedMatch.of(r) for r in results])
