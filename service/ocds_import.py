"""Importing OCDS releases: suppliers and the contracts they won, and needs from open tenders.

Winners and tenderers become suppliers, or fill the empty fields of suppliers already known (a profile
a supplier wrote itself is never overwritten). Each active award becomes evidence on its winners'
profiles, which explanations cite. A tender still in planning or open becomes a need. The whole file is
mapped and validated first, then written in one transaction; re-importing it changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from matcher.catalog import CpvCatalog
from matcher.cpv import CpvError, parse_cpv
from service.container import Services
from service.errors import FieldProblem, InvalidInput
from service.ocds_reader import (
    FoundRelease,
    country_of,
    cpv_ids,
    date_of,
    entity_id,
    read_releases,
    region_of,
    supplier_fields,
    supplier_id,
    text_of,
)
from service.writes import index_after_commit
from store import models, repository
from store.db import session_scope
from store.repository import NEEDS, SUPPLIERS

EVIDENCE_TEXT = 4000
SUPPLIER_ROLES = frozenset({"supplier", "tenderer"})
NEED_STATUSES = {"planning": "planning", "planned": "planning", "active": "open"}  # OCDS tenderStatus → ours


@dataclass(frozen=True)
class OcdsReport:
    releases: int = 0
    releases_skipped: int = 0
    suppliers_created: int = 0
    suppliers_enriched: int = 0
    suppliers_unchanged: int = 0
    evidence_added: int = 0
    needs_created: int = 0
    needs_updated: int = 0
    needs_unchanged: int = 0
    invalid_cpv_dropped: int = 0


@dataclass
class _Tender:
    """One contracting process's tender and buyer, merged over its releases in date order
    (releases may carry only what changed)."""

    found: FoundRelease
    tender: dict[str, Any] = field(default_factory=dict)
    buyer: str | None = None
    buyer_party: dict[str, Any] = field(default_factory=dict)
    date: Any = None


@dataclass
class _Plan:
    """What a file will write, merged across its releases so each row is written once."""

    catalog: CpvCatalog
    suppliers: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # supplier id → source → item
    tenders: dict[str, _Tender] = field(default_factory=dict)  # by ocid
    needs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped_cpv: set[tuple[str, str]] = field(default_factory=set)
    skipped: int = 0
    problems: list[FieldProblem] = field(default_factory=list)


# ---------------------------------------------------------------- mapping


def _cpv(plan: _Plan, ocid: str, raw_codes: Sequence[str]) -> list[str]:
    """8-digit codes; invalid ones are dropped (a notice is still worth importing) and counted once per process."""
    codes: list[str] = []
    for raw in raw_codes:
        try:
            codes.append(parse_cpv(raw, plan.catalog.check_digits))
        except CpvError:
            plan.dropped_cpv.add((ocid, raw))
    return list(dict.fromkeys(codes))[: models.MAX_CODES]


def _tender_codes(plan: _Plan, ocid: str, tender: dict[str, Any]) -> list[str]:
    return _cpv(plan, ocid, cpv_ids(tender.get("items") or []) or cpv_ids([], tender.get("classification")))


def _map_release(plan: _Plan, found: FoundRelease) -> None:
    """Add one release's suppliers, awards and tender to the plan; count it skipped if it has none of them."""
    release, ocid = found.release, found.release["ocid"].strip()
    state = _merge_tender(plan, found, ocid)
    used = _map_suppliers(plan, release, ocid, state)
    tender = state.tender
    has_text = text_of(tender.get("title")) or text_of(tender.get("description"))
    opens_need = bool(release.get("tender") and has_text) and text_of(tender.get("status")) in NEED_STATUSES
    if not (used or opens_need):
        plan.skipped += 1


def _merge_tender(plan: _Plan, found: FoundRelease, ocid: str) -> _Tender:
    """Later releases override what earlier ones said about the tender and its buyer."""
    release = found.release
    state = plan.tenders.setdefault(ocid, _Tender(found))
    ref = release.get("buyer") or {}
    parties: list[dict[str, Any]] = release.get("parties") or []
    by_id = [p for p in parties if text_of(ref.get("id")) and text_of(p.get("id")) == text_of(ref.get("id"))]
    party = (by_id or [p for p in parties if "buyer" in (p.get("roles") or [])] or [{}])[0]
    state.buyer = text_of(ref.get("name"), models.MAX_NAME) or text_of(party.get("name"), models.MAX_NAME) or state.buyer
    state.buyer_party = party or state.buyer_party
    if release.get("tender"):
        state.tender = {**state.tender, **{k: v for k, v in release["tender"].items() if v is not None}}
        state.found, state.date = found, release.get("date") or state.date
    return state


def _map_suppliers(plan: _Plan, release: dict[str, Any], ocid: str, state: _Tender) -> bool:
    """Suppliers and tenderers, and the active awards as evidence of their winners; True if any."""
    used = False
    for party in release.get("parties") or []:
        if SUPPLIER_ROLES & set(party.get("roles") or []):
            used = _add_supplier(plan, party) is not None or used
    parties = {key: p for p in release.get("parties") or [] if (key := text_of(p.get("id")))}
    for index, award in enumerate(release.get("awards") or []):
        if award.get("status") not in (None, "active"):  # pending, cancelled, unsuccessful: nothing was won
            continue
        item = _evidence(plan, ocid, state, award, index)
        for ref in award.get("suppliers") or []:
            supplier = _add_supplier(plan, parties.get(text_of(ref.get("id")) or "") or ref)
            used = used or supplier is not None
            if supplier and item:
                plan.evidence.setdefault(supplier, {})[item["source"]] = item
    return used


def _add_supplier(plan: _Plan, party: dict[str, Any]) -> str | None:
    supplier = supplier_id(party)
    if supplier is not None:
        fields = plan.suppliers.setdefault(supplier, {})
        for key, value in supplier_fields(party).items():
            fields.setdefault(key, value)  # the first release that says it wins; later ones only fill gaps
    return supplier


def _evidence(plan: _Plan, ocid: str, state: _Tender, award: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The award as an evidence item; None when it has no title to cite or match on."""
    tender = state.tender
    title = text_of(award.get("title"), models.MAX_NAME) or text_of(tender.get("title"), models.MAX_NAME)
    if title is None:
        return None
    raw_codes = cpv_ids(award.get("items") or [])
    return {
        "source": f"ocds:{ocid}/{text_of(award.get('id')) or index}"[:200],
        "title": title,
        "description": text_of(award.get("description"), EVIDENCE_TEXT)
        or text_of(tender.get("description"), EVIDENCE_TEXT)
        or "",
        "buyer": state.buyer,
        "cpv_codes": (_cpv(plan, ocid, raw_codes) if raw_codes else []) or _tender_codes(plan, ocid, tender),
        "awarded_on": date_of(award.get("date")),
    }


def _need(plan: _Plan, ocid: str, state: _Tender) -> dict[str, Any] | None:
    """The need a tender still in planning or open describes, validated like any other need."""
    tender = state.tender
    status = NEED_STATUSES.get(text_of(tender.get("status")) or "")
    title = text_of(tender.get("title"), models.MAX_NAME)
    description = text_of(tender.get("description"), models.MAX_TEXT) or title
    need_id = entity_id(f"ocds-{ocid}")
    if status is None or description is None or need_id is None:
        return None
    address = state.buyer_party.get("address") or {}
    values = {
        "id": need_id,
        "title": title,
        "description": description,
        "buyer": state.buyer,
        "cpv_codes": _tender_codes(plan, ocid, tender),
        "country": country_of(address),
        "region": region_of(address),
        "status": status,
        "published": date_of(state.date),
        "deadline": date_of((tender.get("tenderPeriod") or {}).get("endDate")),
    }
    try:
        return models.NeedCreate.model_validate(values).model_dump()
    except ValidationError as exc:
        where, line = (*state.found.loc, "tender"), state.found.line
        plan.problems.extend(FieldProblem((*where, *e["loc"]), e["msg"], line) for e in exc.errors())
        return None


def plan_import(releases: Sequence[FoundRelease], catalog: CpvCatalog) -> _Plan:
    """Map every release; raises :class:`InvalidInput` if any cannot be, so nothing is written."""
    plan = _Plan(catalog)
    for found in sorted(releases, key=lambda f: str(f.release.get("date") or "")):  # stable: ties keep file order
        _map_release(plan, found)
    for ocid, state in plan.tenders.items():
        if state.tender and (values := _need(plan, ocid, state)):
            plan.needs[values["id"]] = values
    if plan.problems:
        raise InvalidInput(plan.problems)
    return plan


# ---------------------------------------------------------------- writing


def _write_supplier(
    session: Session, supplier: str, fields: dict[str, Any], evidence: list[dict[str, Any]]
) -> tuple[Any, str, int]:
    """Create the supplier, or fill only the fields it lacks; then attach its awards."""
    row = repository.get(session, SUPPLIERS, supplier)
    if row is None:  # a tenderer that won nothing here is still a firm active in this market
        row, status = repository.upsert(session, SUPPLIERS, {"id": supplier, "description": "", **fields})
    else:
        missing = {key: value for key, value in fields.items() if not getattr(row, key)}
        if missing:
            repository.patch(session, SUPPLIERS, row, missing)
        status = "enriched" if missing else "unchanged"
    added = repository.add_evidence(session, row, evidence) if evidence else 0
    return row, "enriched" if added and status == "unchanged" else status, added


def import_ocds(services: Services, text: str, *, progress: bool = False) -> OcdsReport:
    """Import an OCDS file's text (see :func:`import_releases`)."""
    return import_releases(services, read_releases(text), progress=progress)


def import_releases(services: Services, releases: Sequence[FoundRelease], *, progress: bool = False) -> OcdsReport:
    """All or nothing: every release is mapped before one transaction writes them; the indexes follow the commit."""
    plan = plan_import(releases, services.catalog)
    counts: Counter[str] = Counter()
    changed_suppliers: list[Any] = []
    changed_needs: list[Any] = []
    with session_scope(services.engine) as session:
        for supplier, fields in plan.suppliers.items():
            evidence = list(plan.evidence.get(supplier, {}).values())
            row, status, added = _write_supplier(session, supplier, fields, evidence)
            counts[f"suppliers_{status}"] += 1
            counts["evidence_added"] += added
            if status in ("created", "enriched"):
                changed_suppliers.append(row)
        for values in plan.needs.values():
            row, status = repository.upsert(session, NEEDS, values)
            counts[f"needs_{status}"] += 1
            if status != "unchanged":
                changed_needs.append(row)
    index_after_commit(services, SUPPLIERS, changed_suppliers, progress=progress)
    index_after_commit(services, NEEDS, changed_needs, progress=progress)
    return OcdsReport(releases=len(releases), releases_skipped=plan.skipped, invalid_cpv_dropped=len(plan.dropped_cpv), **counts)
