"""Which OCDS tenders become needs, with which id and status.

Publishers often leave a tender ``active`` long after its tender period ended (the award, if any, is
published elsewhere or never), so the status alone would list years-old tenders as open needs: the
tender's dates decide too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from service.ocds_reader import date_of, entity_id, text_of
from store import repository
from store.repository import NEEDS

NEED_STATUSES = {"planning": "planning", "planned": "planning", "active": "open"}  # OCDS tenderStatus → ours
STALE_AFTER = dt.timedelta(days=365)
"""An active tender with no end date whose latest release is older than this is taken as closed: tender
periods run weeks or months, and a live tender gets amendments, clarifications or an award."""
PREFIX = "ocds-"


def need_id(ocid: str) -> str | None:
    """The ocid itself when it already carries the ``ocds-`` prefix (every registered ocid does), else
    prefixed with it, so imported needs are recognisable and never ``ocds-ocds-…``."""
    return entity_id(ocid if ocid.casefold().startswith(PREFIX) else f"{PREFIX}{ocid}")


def legacy_need_id(ocid: str) -> str | None:
    """The id imports gave before the prefix stopped doubling (``ocds-ocds-…``), where it differs, so a
    need imported then is updated in place instead of gaining a twin."""
    legacy = entity_id(f"{PREFIX}{ocid}")
    return legacy if legacy != need_id(ocid) else None


def keep_legacy_id(session: Session, values: dict[str, Any], legacy: str | None) -> dict[str, Any]:
    """A need imported under its legacy id keeps that id, and with it its marks, audit trail and links,
    rather than gaining a twin under the new one."""
    if legacy and repository.get(session, NEEDS, values["id"]) is None and repository.get(session, NEEDS, legacy):
        return {**values, "id": legacy}
    return values


def need_status(tender: dict[str, Any], release_date: Any, today: dt.date) -> tuple[str | None, bool]:
    """Our status for the tender (None: not a need), and whether its dates closed it: an ``active`` tender
    whose tender period ended before ``today``, or with no end date whose latest release is stale."""
    status = NEED_STATUSES.get(text_of(tender.get("status")) or "")
    if status != "open":
        return status, False
    ends = date_of((tender.get("tenderPeriod") or {}).get("endDate"))
    released = date_of(release_date)
    if (ends is not None and ends < today) or (ends is None and released is not None and released < today - STALE_AFTER):
        return "closed", True
    return status, False


def not_a_need(tender: dict[str, Any]) -> str:
    """Why a tender did not become a need, for the import report."""
    if (status := text_of(tender.get("status"))) not in NEED_STATUSES:
        return f"tender status {status or 'missing'}"
    return "tender without a title or description"
