"""Importing OCDS releases: suppliers and the contracts they won, and needs from open tenders.

Winners and tenderers become suppliers, or fill the empty fields of suppliers already known (a profile
a supplier wrote itself is never overwritten). Each active award becomes evidence on its winners'
profiles, which explanations cite. A tender still in planning or open becomes a need (closed once its
tender period has ended, see ``service/ocds_needs.py``). What is left out is counted with the reason, so
nothing disappears without a word. The whole file is mapped and validated first, then written in one
transaction; re-importing it changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from matcher.analysis import has_words
from matcher.catalog import CpvCatalog
from matcher.cpv import CpvError, parse_cpv
from service.container import Services
from service.errors import FieldProblem, InvalidInput
from service.ocds_needs import keep_legacy_id, legacy_need_id, need_id, need_status, not_a_need
from service.ocds_reader import (
    FoundRelease,
    country_of,
    cpv_ids,
    date_of,
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
WON = (None, "active")  # an award's status; MTender publishes "" for awards it means as won (text_of gives None)


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
    needs_closed: int = 0
    """Tenders still marked active whose tender period had ended: imported as closed needs."""
    invalid_cpv_dropped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    """What was left out, by reason: ``{"award status pending": 3, "tender status complete": 30}``."""


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
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    needs: dict[str, dict[str, Any]] = field(default_factory=dict)
    legacy_ids: dict[str, str] = field(default_factory=dict)  # need id → the id an earlier import gave it
    closed: set[str] = field(default_factory=set)  # needs closed by their dates
    dropped_cpv: set[tuple[str, str]] = field(default_factory=set)
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # what was left out, and why
    award_skips: dict[str, str] = field(default_factory=dict)  # award source → why; once per award, not per release
    awards_used: set[str] = field(default_factory=set)
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
    opens_need = bool(release.get("tender") and has_text) and need_status(tender, None, plan.today)[0] is not None
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
        source = f"ocds:{ocid}/{text_of(award.get('id')) or index}"[:200]
        if (status := text_of(award.get("status"))) not in WON:  # pending, cancelled, unsuccessful: nothing won
            _skip_award(plan, source, f"award status {status}")
            continue
        item = _evidence(plan, ocid, source, state, award)
        refs = [parties.get(text_of(ref.get("id")) or "") or ref for ref in award.get("suppliers") or []]
        winners = [supplier for ref in refs if (supplier := _add_supplier(plan, ref))]
        used = used or bool(winners)
        if not (item and winners):
            _skip_award(plan, source, "award without a title" if winners else "award without a named winner")
            continue
        plan.awards_used.add(source)
        plan.award_skips.pop(source, None)
        for supplier in winners:
            plan.evidence.setdefault(supplier, {})[source] = item
    return used


def _skip_award(plan: _Plan, source: str, reason: str) -> None:
    """Releases repeat awards as they change: an award counts once, as its latest release left it."""
    if source not in plan.awards_used:
        plan.award_skips[source] = reason


def _add_supplier(plan: _Plan, party: dict[str, Any]) -> str | None:
    supplier = supplier_id(party)
    if supplier is None:
        plan.reasons["firm without an identifier or name"] += 1
    else:
        fields = plan.suppliers.setdefault(supplier, {})
        for key, value in supplier_fields(party).items():
            fields.setdefault(key, value)  # the first release that says it wins; later ones only fill gaps
    return supplier


def _evidence(plan: _Plan, ocid: str, source: str, state: _Tender, award: dict[str, Any]) -> dict[str, Any] | None:
    """The award as an evidence item; None when it has no title to cite or match on."""
    tender = state.tender
    title = text_of(award.get("title"), models.MAX_NAME) or text_of(tender.get("title"), models.MAX_NAME)
    if title is None:
        return None
    raw_codes = cpv_ids(award.get("items") or [])
    return {
        "source": source,
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
    status, closed_by_dates = need_status(tender, state.date, plan.today)
    title = text_of(tender.get("title"), models.MAX_NAME)
    description = text_of(tender.get("description"), models.MAX_TEXT) or title
    if not has_words(f"{title or ''} {description or ''}"):
        description = None  # "—" or "***": nothing to match on, so no need (NeedCreate would refuse the file)
    new_id = need_id(ocid)
    if status is None or description is None or new_id is None:
        plan.reasons[not_a_need(tender)] += 1
        return None
    if legacy := legacy_need_id(ocid):
        plan.legacy_ids[new_id] = legacy
    if closed_by_dates:
        plan.closed.add(new_id)
    address = state.buyer_party.get("address") or {}
    published, deadline = date_of(state.date), date_of((tender.get("tenderPeriod") or {}).get("endDate"))
    if published and deadline and published > deadline:
        # The date is the latest release's: an amendment or award issued after the tender closed is no
        # publication date (and a need may not be published after its deadline).
        published = None
    values = {
        "id": new_id,
        "title": title,
        "description": description,
        "buyer": state.buyer,
        "cpv_codes": _tender_codes(plan, ocid, tender),
        "country": country_of(address),
        "region": region_of(address),
        "status": status,
        "published": published,
        "deadline": deadline,
    }
    try:
        return models.NeedCreate.model_validate(values).model_dump()
    except ValidationError as exc:
        where, line = (*state.found.loc, "tender"), state.found.line
        plan.problems.extend(FieldProblem((*where, *e["loc"]), e["msg"], line) for e in exc.errors())
        return None


def plan_import(releases: Sequence[FoundRelease], catalog: CpvCatalog, *, today: dt.date | None = None) -> _Plan:
    """Map every release; raises :class:`InvalidInput` if any cannot be, so nothing is written. ``today``
    (default: today in UTC) is when a tender period counts as ended."""
    plan = _Plan(catalog, today=today) if today else _Plan(catalog)
    for found in sorted(releases, key=lambda f: str(f.release.get("date") or "")):  # stable: ties keep file order
        _map_release(plan, found)
    for ocid, state in plan.tenders.items():
        if state.tender and (values := _need(plan, ocid, state)):
            plan.needs[values["id"]] = values
    if plan.problems:
        raise InvalidInput(plan.problems)
    plan.reasons.update(plan.award_skips.values())
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


def import_ocds(services: Services, text: str, *, progress: bool = False, today: dt.date | None = None) -> OcdsReport:
    """Import an OCDS file's text (see :func:`import_releases`)."""
    return import_releases(services, read_releases(text), progress=progress, today=today)


def import_releases(
    services: Services, releases: Sequence[FoundRelease], *, progress: bool = False, today: dt.date | None = None
) -> OcdsReport:
    """All or nothing: every release is mapped before one transaction writes them; the indexes follow the commit."""
    plan = plan_import(releases, services.catalog, today=today)
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
        for need, values in plan.needs.items():
            row, status = repository.upsert(session, NEEDS, keep_legacy_id(session, values, plan.legacy_ids.get(need)))
            counts[f"needs_{status}"] += 1
            if status != "unchanged":
                changed_needs.append(row)
    index_after_commit(services, SUPPLIERS, changed_suppliers, progress=progress)
    index_after_commit(services, NEEDS, changed_needs, progress=progress)
    return OcdsReport(
        releases=len(releases),
        releases_skipped=plan.skipped,
        needs_closed=len(plan.closed),
        invalid_cpv_dropped=len(plan.dropped_cpv),
        skipped=dict(plan.reasons.most_common()),
        **counts,
    )
