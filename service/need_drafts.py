"""A buyer's need as a form: a draft checked against the market without storing anything, then saved as
one of the buyer's needs (planning or open), edited, closed.

Checking a draft writes nothing: not the draft, not an audit row. It is matched exactly as the saved
need would be (service/shortlists.py ``suppliers_for_record``), so what the buyer sees before saving is
what the adviser will see after.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from matcher.readiness import Readiness
from service import readiness, shortlists, similar_needs, writes
from service.access import Denied, Principal, check_need_write, require_key
from service.container import Services
from service.cpv_suggestions import SuggestedCpv, suggest_cpv
from service.errors import FieldProblem, InvalidInput, NotFound
from service.shortlists import MatchResult
from store.models import NeedCreate, NeedUpdate
from store.repository import NEEDS

SHOWN = 10  # suppliers shown with a checked draft
SIMILAR_SHOWN = 5  # other buyers' needs shown with it


@dataclass(frozen=True)
class NeedDraft:
    title: str = ""
    description: str = ""
    cpv_codes: list[str] = field(default_factory=list)
    country: str = ""
    region: str = ""
    published: str = ""
    deadline: str = ""
    status: str = "planning"

    def values(self) -> dict[str, Any]:
        """The fields a stored need would have (blank ones left out)."""
        given = {
            "title": self.title.strip(),
            "description": self.description.strip(),
            "cpv_codes": self.cpv_codes,
            "country": self.country.strip().upper(),
            "region": self.region.strip().upper(),
            "published": self.published,
            "deadline": self.deadline,
            "status": self.status,
        }
        return {name: value for name, value in given.items() if value not in ("", [])}


@dataclass(frozen=True)
class MarketCheck:
    results: list[MatchResult]
    readiness: Readiness
    suggestions: list[SuggestedCpv]
    """Codes suggested from the text, not yet chosen."""
    similar: list[MatchResult]
    """Other buyers' needs like the draft (service/similar_needs.py)."""


def split_codes(text: str) -> list[str]:
    return [code for code in re.split(r"[\s,;]+", text) if code]


def validated(services: Services, draft: NeedDraft, buyer: str | None) -> dict[str, Any]:
    """The draft's fields as a need of this buyer, or a 422 naming each bad field."""
    values = draft.values()
    if "cpv_codes" in values:
        values["cpv_codes"] = writes.normalise_cpv(values["cpv_codes"], services.catalog)
    try:
        checked = NeedCreate.model_validate({"id": "draft", **values, "buyer": buyer})
    except ValidationError as exc:
        raise InvalidInput([FieldProblem(tuple(str(x) for x in e["loc"]) or ("form",), e["msg"]) for e in exc.errors()]) from exc
    return checked.model_dump(exclude={"id"})  # every field, None where blank: matched like a stored row


def check_market(services: Services, principal: Principal, draft: NeedDraft) -> MarketCheck:
    values = validated(services, draft, principal.buyer)
    results = shortlists.suppliers_for_record(services, values, k=SHOWN)
    text = f"{values.get('title', '')}. {values.get('description', '')}"
    chosen = set(values.get("cpv_codes", []))
    suggestions = [s for s in suggest_cpv(services, text, k=5) if s.code not in chosen]
    similar = similar_needs.similar_to_draft(services, principal, values, k=SIMILAR_SHOWN)
    return MarketCheck(results, readiness.readiness_for_draft(services, values), suggestions, similar)


NORDIC = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "þ": "th"})


def _new_id(buyer: str) -> str:
    """Readable and unguessable enough: the buyer (in ASCII: "Umeå kommun" → "umea-kommun"), the date,
    and random hex."""
    ascii_name = unicodedata.normalize("NFKD", buyer.lower().translate(NORDIC)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40] or "need"
    return f"{slug}-{dt.date.today():%Y%m%d}-{secrets.token_hex(3)}"


def require_buyer(principal: Principal) -> str:
    """The buying organisation a signed-in buyer acts for; refused for anyone else."""
    require_key(principal)
    if principal.role != "buyer" or not principal.buyer:
        raise Denied("these pages are for buyers (advisers see every need under Needs, and edit them through the API)")
    return principal.buyer


def save_new(services: Services, principal: Principal, draft: NeedDraft) -> Any:
    buyer = require_buyer(principal)
    values = validated(services, draft, buyer)
    check_need_write(principal, None, values)
    return writes.create(services, NEEDS, NeedCreate.model_validate({"id": _new_id(buyer), **values}))


def save_existing(services: Services, principal: Principal, need_id: str, draft: NeedDraft) -> Any:
    buyer = require_buyer(principal)
    need = own_need(services, principal, need_id)
    values = validated(services, draft, buyer)
    check_need_write(principal, need, values)
    return writes.patch(services, NEEDS, need_id, NeedUpdate.model_validate(values))  # every field: a blank one is cleared


def close(services: Services, principal: Principal, need_id: str) -> Any:
    require_buyer(principal)
    need = own_need(services, principal, need_id)
    check_need_write(principal, need, {"status": "closed"})
    return writes.patch(services, NEEDS, need_id, NeedUpdate(status="closed"))


def own_need(services: Services, principal: Principal, need_id: str) -> Any:
    """The buyer's own need; another buyer's reads as missing (it may be one it cannot see)."""
    need = shortlists.stored_need(services, need_id)
    if need.buyer != principal.buyer:
        raise NotFound("need", need_id)
    return need


def draft_of(need: Any) -> NeedDraft:
    return NeedDraft(
        title=need.title or "",
        description=need.description or "",
        cpv_codes=list(need.cpv_codes),
        country=need.country or "",
        region=need.region or "",
        published=need.published.isoformat() if need.published else "",
        deadline=need.deadline.isoformat() if need.deadline else "",
        status=need.status,
    )
