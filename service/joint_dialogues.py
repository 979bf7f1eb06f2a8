"""Joint market dialogues (demand pooling): an adviser groups several buyers' needs into one dialogue, so
the market meets them once: one shortlist, one invitation list, one audit trail (service/joint_shortlists.py).

Rules: advisers and admins group, add and remove needs; a buyer whose need is a member may read the
dialogue, never change it; suppliers and other buyers may not. A need is in at most one joint dialogue.
Every change is written to each member need's audit trail in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service import access, audit
from service.access import Denied, Principal
from service.container import Services
from service.errors import FieldProblem, InvalidInput, NotFound
from store import dialogue_queries
from store.db import session_scope
from store.dialogue_models import JointDialogue
from store.repository import ConflictError
from store.trust_models import AuditEvent

MAX_NEEDS = 50


@dataclass(frozen=True)
class Member:
    need_id: str
    need: Any | None  # None: the need was deleted after it joined (its audit trail remains)
    added_by: str
    added_at: dt.datetime


@dataclass(frozen=True)
class Dialogue:
    """A dialogue as a reader may see it: only :func:`get_dialogue` makes one, after checking the reader."""

    row: JointDialogue
    members: list[Member]

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def need_ids(self) -> list[str]:
        return [m.need_id for m in self.members]

    @property
    def needs(self) -> list[Any]:
        """The member needs still stored, in the order they joined."""
        return [m.need for m in self.members if m.need is not None]


def check_read(principal: Principal, members: Sequence[Member]) -> None:
    """Advisers, and the buyers whose needs are members (they share the dialogue, so they see it whole)."""
    access.require_key(principal)
    if principal.is_staff or any(m.need is not None and access.owns_need(principal, m.need) for m in members):
        return
    raise Denied("a joint dialogue is for advisers and the buyers of its needs")


def get_dialogue(services: Services, principal: Principal, dialogue_id: str) -> Dialogue:
    access.require_key(principal)  # before looking: a visitor learns nothing about which dialogues exist
    if principal.role == "supplier":
        raise Denied("joint dialogues are for advisers and the buyers of their needs")
    with Session(services.engine) as session:
        dialogue = _load(session, dialogue_id)
    check_read(principal, dialogue.members)
    return dialogue


def _load(session: Session, dialogue_id: str) -> Dialogue:
    row = dialogue_queries.get(session, dialogue_id)
    if row is None:
        raise NotFound("joint dialogue", dialogue_id)
    joined = dialogue_queries.members(session, row)
    stored = dialogue_queries.needs_by_id(session, [m.need_id for m in joined])
    return Dialogue(row, [Member(m.need_id, stored.get(m.need_id), m.added_by, m.added_at) for m in joined])


def list_dialogues(services: Services, principal: Principal) -> list[tuple[JointDialogue, int]]:
    """Newest first, with how many needs each holds: all for advisers, a buyer's own for a buyer."""
    access.require_key(principal)
    if principal.role == "supplier":
        raise Denied("joint dialogues are for advisers and the buyers of their needs")
    with Session(services.engine) as session:
        if principal.is_staff:
            return dialogue_queries.newest_first(session)
        return dialogue_queries.newest_first(session, buyer=principal.buyer) if principal.buyer else []


def dialogue_of_need(services: Services, need_id: str) -> JointDialogue | None:
    """The joint dialogue the need is in, if any (for a link from the need's page)."""
    with Session(services.engine) as session:
        return dialogue_queries.dialogues_of_needs(session, [need_id]).get(need_id)


def _distinct(need_ids: Sequence[str], *, at_least: int) -> list[str]:
    wanted = list(dict.fromkeys(need_ids))
    if len(wanted) < at_least:
        raise InvalidInput([FieldProblem(("body", "need_ids"), f"at least {at_least} different needs")])
    if len(wanted) > MAX_NEEDS:
        raise InvalidInput([FieldProblem(("body", "need_ids"), f"at most {MAX_NEEDS} needs")])
    return wanted


def _stored(session: Session, need_ids: Sequence[str]) -> dict[str, Any]:
    found = dialogue_queries.needs_by_id(session, need_ids)
    for need_id in need_ids:
        if need_id not in found:
            raise NotFound("need", need_id)
    return found


def _already_grouped(need_id: str, other: JointDialogue) -> ConflictError:
    return ConflictError(f"need '{need_id}' is already in the joint dialogue '{other.title}' ({other.id}); remove it there first")


def _first_grouped(need_ids: Sequence[str], taken: dict[str, JointDialogue]) -> ConflictError | None:
    """The refusal naming the first of the needs (in the order asked) that is already in a dialogue."""
    for need_id in need_ids:
        if need_id in taken:
            return _already_grouped(need_id, taken[need_id])
    return None


def _record(session: Session, principal: Principal, action: str, row: JointDialogue, trails: Sequence[str], **extra: Any) -> None:
    """One event in each need's trail; ``needs`` lists the members after the change."""
    details = {"dialogue": row.id, "needs": dialogue_queries.member_ids(session, row), **extra}
    for need_id in trails:
        audit.add_event(session, need_id, action, principal, details)


def _create(session: Session, principal: Principal, title: str | None, need_ids: Sequence[str], needs: dict[str, Any]) -> str:
    first = needs[need_ids[0]]
    row = dialogue_queries.create(session, title=(title or first.title or first.id).strip(), created_by=principal.who)
    for need_id in need_ids:
        dialogue_queries.add_need(session, row, need_id, added_by=principal.who)
    _record(session, principal, "grouped", row, need_ids)
    return row.id


def _join(session: Session, principal: Principal, row: JointDialogue, new: Sequence[str]) -> None:
    for need_id in new:
        dialogue_queries.add_need(session, row, need_id, added_by=principal.who)
    _record(session, principal, "grouped", row, dialogue_queries.member_ids(session, row), added=list(new))


def _raced(services: Services, need_ids: Sequence[str], exc: IntegrityError) -> ConflictError:
    """Another adviser grouped one of these needs between our check and our commit: say which."""
    with Session(services.engine) as session:
        conflict = _first_grouped(need_ids, dialogue_queries.dialogues_of_needs(session, need_ids))
    if conflict is None:
        raise exc
    return conflict


def create_dialogue(services: Services, principal: Principal, *, title: str | None, need_ids: Sequence[str]) -> Dialogue:
    """A new dialogue of at least two needs, none of them in another dialogue (409 names the one that is)."""
    access.require_staff(principal, "grouping needs into a joint dialogue")
    wanted = _distinct(need_ids, at_least=2)
    try:
        with session_scope(services.engine) as session:
            needs = _stored(session, wanted)
            conflict = _first_grouped(wanted, dialogue_queries.dialogues_of_needs(session, wanted))
            if conflict is not None:
                raise conflict
            dialogue_id = _create(session, principal, title, wanted, needs)
    except IntegrityError as exc:
        raise _raced(services, wanted, exc) from exc
    return get_dialogue(services, principal, dialogue_id)


def group_needs(services: Services, principal: Principal, need_ids: Sequence[str], *, title: str | None = None) -> Dialogue:
    """What the need page's "group" button does: add the needs to the dialogue one of them is already in,
    or else start a new one. Needs in two different dialogues are refused (409): merging is a person's call."""
    access.require_staff(principal, "grouping needs into a joint dialogue")
    wanted = _distinct(need_ids, at_least=2)
    try:
        with session_scope(services.engine) as session:
            needs = _stored(session, wanted)
            taken = dialogue_queries.dialogues_of_needs(session, wanted)
            homes = {d.id: d for d in taken.values()}
            if len(homes) > 1:
                listed = ", ".join(f"'{n}' ({d.id})" for n, d in taken.items())
                raise ConflictError(f"these needs are already in different joint dialogues: {listed}")
            if not homes:
                dialogue_id = _create(session, principal, title, wanted, needs)
            else:
                [home] = homes.values()
                new = [n for n in wanted if n not in taken]
                if new:
                    _join(session, principal, home, new)
                dialogue_id = home.id
    except IntegrityError as exc:
        raise _raced(services, wanted, exc) from exc
    return get_dialogue(services, principal, dialogue_id)


def add_need(services: Services, principal: Principal, dialogue_id: str, need_id: str) -> Dialogue:
    """Adds a need (already a member: nothing changes; in another dialogue: 409)."""
    access.require_staff(principal, "changing a joint dialogue")
    try:
        with session_scope(services.engine) as session:
            row = _load(session, dialogue_id).row
            _stored(session, [need_id])
            other = dialogue_queries.dialogues_of_needs(session, [need_id]).get(need_id)
            if other is not None and other.key != row.key:
                raise _already_grouped(need_id, other)
            if other is None:
                _join(session, principal, row, [need_id])
    except IntegrityError as exc:
        raise _raced(services, [need_id], exc) from exc
    return get_dialogue(services, principal, dialogue_id)


def remove_need(services: Services, principal: Principal, dialogue_id: str, need_id: str) -> Dialogue:
    """Takes a need out; the event goes to its trail and to each remaining member's. The dialogue stays,
    with its record, even with fewer than two needs left (an adviser may add others)."""
    access.require_staff(principal, "changing a joint dialogue")
    with session_scope(services.engine) as session:
        row = _load(session, dialogue_id).row
        before = dialogue_queries.member_ids(session, row)
        if need_id not in before or not dialogue_queries.remove_need(session, row, need_id):
            raise NotFound(f"need of joint dialogue {dialogue_id}", need_id)
        _record(session, principal, "ungrouped", row, before, removed=[need_id])
    return get_dialogue(services, principal, dialogue_id)


def audit_trail(services: Services, dialogue: Dialogue) -> list[AuditEvent]:
    """The member needs' audit events merged in time order: the record of the one dialogue."""
    with Session(services.engine) as session:
        return dialogue_queries.events_of_needs(session, dialogue.need_ids)


def record_for_members(
    services: Services, dialogue: Dialogue, action: str, principal: Principal, details: dict[str, Any]
) -> None:
    """The same event in each member need's trail, in one transaction (``dialogue`` named in it)."""
    with session_scope(services.engine) as session:
        for need_id in dialogue.need_ids:
            audit.add_event(session, need_id, action, principal, {"dialogue": dialogue.id, **details})
