"""Who may do what. Pure rules over a :class:`Principal`; the API turns a refusal into 401/403/404.

- anonymous: health and the public fields of needs still in planning or open;
- supplier: edits only its own profile, reads needs and suppliers' public fields, and the needs
  matched to itself; never other suppliers' private fields, shortlists or advisers' marks;
- buyer: its own needs (create, edit, shortlists, readiness, marks, audit) and ad-hoc matching;
- adviser: everything but keys; admin: everything.

A supplier's private description is shown to no one but the supplier (it is only matched on);
contact details and notes are shown to the supplier and to advisers and admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.errors import NotFound

STAFF = frozenset({"admin", "adviser"})
OPEN_STATUSES = frozenset({"planning", "open"})


class Denied(Exception):
    """Not allowed (403), or not signed in (``anonymous``: 401). What a reader may not know exists is
    never Denied: it is :class:`NotFound`, word for word as if it were missing (see ``check_need_visible``)."""

    def __init__(self, reason: str, *, anonymous: bool = False) -> None:
        super().__init__(reason)
        self.anonymous = anonymous


@dataclass(frozen=True)
class Principal:
    role: str | None  # None: no key
    prefix: str | None = None
    label: str | None = None
    supplier_id: str | None = None
    buyer: str | None = None
    email: str | None = None
    """Set for a person signed in by e-mail (``prefix`` is then their handle), not for an API key."""

    @property
    def who(self) -> str:
        """How marks and the audit trail name the person, or the key holder."""
        if self.role is None:
            return "anonymous"
        acts_for = self.buyer or self.supplier_id
        if self.email:
            name = self.label or self.email
            return f"{name} <{self.email}> ({self.role}" + (f", for {acts_for})" if acts_for else ")")
        name = self.label or acts_for or self.role
        return f"{name} ({self.role} key {self.prefix}" + (f", for {acts_for})" if acts_for and acts_for != name else ")")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


ANONYMOUS = Principal(role=None)


def require_key(p: Principal) -> None:
    if p.role is None:
        raise Denied("an API key is needed (Authorization: Bearer <key>)", anonymous=True)


def require_staff(p: Principal, what: str) -> None:
    require_key(p)
    if not p.is_staff:
        raise Denied(f"{what} is for advisers")


def owns_need(p: Principal, need: Any) -> bool:
    return p.role == "buyer" and bool(p.buyer) and need.buyer == p.buyer


def can_see_need(p: Principal, need: Any) -> bool:
    return p.role is not None or need.status in OPEN_STATUSES


def check_need_visible(p: Principal, need: Any) -> None:
    """A need the reader may not see is answered exactly as a missing one: same status, same words."""
    if not can_see_need(p, need):
        raise NotFound("need", need.id)


def check_need_dialogue(p: Principal, need: Any, what: str) -> None:
    """Shortlists, readiness, marks, exports and the audit of a stored need."""
    require_key(p)
    if p.is_staff or owns_need(p, need):
        return
    raise Denied(f"{what} of this need is for advisers and the need's buyer")


def can_read_marks(p: Principal, need: Any) -> bool:
    """Advisers' marks on a need's suppliers (what, by whom, when): staff and the need's buyer, the same
    readers :func:`check_need_dialogue` lets see the need's shortlist."""
    return p.role is not None and (p.is_staff or owns_need(p, need))


def check_need_write(p: Principal, need: Any | None, values: dict[str, Any]) -> None:
    require_key(p)
    if p.is_staff:
        return
    if p.role != "buyer":
        raise Denied("needs are written by advisers and buyers")
    if need is not None and not owns_need(p, need):
        raise Denied("a buyer key edits only its own needs")
    if "buyer" in values and values["buyer"] != p.buyer:
        raise Denied(f"a buyer key writes needs of '{p.buyer}' only")


def check_supplier_write(p: Principal, supplier_id: str) -> None:
    require_key(p)
    if p.is_staff:
        return
    if p.role == "supplier" and p.supplier_id == supplier_id:
        return
    raise Denied("a supplier key edits only its own profile" if p.role == "supplier" else "suppliers are written by advisers")


def check_matching(p: Principal) -> None:
    """Ad-hoc matching: advisers and buyers. (CPV suggestions are open to every key: their evidence is
    public text only, see service/cpv_suggestions.py.)"""
    require_key(p)
    if p.role == "supplier":
        raise Denied("matching is for advisers and buyers; a supplier sees the needs matched to itself")


def check_needs_for_supplier(p: Principal, supplier_id: str) -> None:
    require_key(p)
    if p.is_staff or (p.role == "supplier" and p.supplier_id == supplier_id):
        return
    raise Denied("the needs of a supplier are for advisers and the supplier itself")


def supplier_view(p: Principal, supplier_id: str) -> str:
    """Which fields of a supplier this principal may read: ``own``, ``advisers`` or ``public``."""
    if p.role == "supplier" and p.supplier_id == supplier_id:
        return "own"
    return "advisers" if p.is_staff else "public"
