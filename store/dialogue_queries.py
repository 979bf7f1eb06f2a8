"""Queries and writes for joint market dialogues. The rules (who may, what must hold) are in
service/joint_dialogues.py; these only read and write rows inside the caller's transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import delete as sa_delete
from sqlmodel import Session, col, func, select

from store import models
from store.dialogue_models import JointDialogue, JointDialogueNeed
from store.trust_models import AuditEvent

ID_PREFIX = "jd-"


def new_id() -> str:
    """Random, so an id says nothing about how many dialogues exist."""
    return ID_PREFIX + secrets.token_hex(4)


def get(session: Session, dialogue_id: str) -> JointDialogue | None:
    if "\x00" in dialogue_id:  # PostgreSQL would refuse the query; no stored id has one
        return None
    return session.exec(select(JointDialogue).where(JointDialogue.id == dialogue_id)).first()


def create(session: Session, *, title: str, created_by: str) -> JointDialogue:
    row = JointDialogue(id=new_id(), title=title, created_by=created_by)
    session.add(row)
    session.flush()
    return row


def add_need(session: Session, dialogue: JointDialogue, need_id: str, *, added_by: str) -> None:
    if dialogue.key is None:
        raise ValueError("the dialogue is not stored yet (flush it first)")
    session.add(JointDialogueNeed(dialogue_key=dialogue.key, need_id=need_id, added_by=added_by))
    session.flush()


def remove_need(session: Session, dialogue: JointDialogue, need_id: str) -> int:
    """How many rows went (0: the need was not a member)."""
    stmt = sa_delete(JointDialogueNeed).where(
        col(JointDialogueNeed.dialogue_key) == dialogue.key, col(JointDialogueNeed.need_id) == need_id
    )
    return int(session.execute(stmt, execution_options={"synchronize_session": "fetch"}).rowcount)  # type: ignore[attr-defined]


def member_ids(session: Session, dialogue: JointDialogue) -> list[str]:
    """The member needs' ids in the order they joined."""
    stmt = select(JointDialogueNeed.need_id).where(JointDialogueNeed.dialogue_key == dialogue.key)
    return list(session.exec(stmt.order_by(col(JointDialogueNeed.key))))


def members(session: Session, dialogue: JointDialogue) -> list[JointDialogueNeed]:
    stmt = select(JointDialogueNeed).where(JointDialogueNeed.dialogue_key == dialogue.key)
    return list(session.exec(stmt.order_by(col(JointDialogueNeed.key))))


def _storable(need_ids: Sequence[str]) -> list[str]:
    """Ids a stored row could have: PostgreSQL refuses a NUL in a query (a page's form is not validated)."""
    return [n for n in need_ids if "\x00" not in n]


def dialogues_of_needs(session: Session, need_ids: Sequence[str]) -> dict[str, JointDialogue]:
    """The joint dialogue of each of these needs that is in one."""
    need_ids = _storable(need_ids)
    if not need_ids:
        return {}
    stmt = (
        select(JointDialogueNeed.need_id, JointDialogue)
        .join(JointDialogue, col(JointDialogue.key) == col(JointDialogueNeed.dialogue_key))
        .where(col(JointDialogueNeed.need_id).in_(list(need_ids)))
    )
    return {need_id: dialogue for need_id, dialogue in session.exec(stmt)}


def newest_first(session: Session, *, buyer: str | None = None) -> list[tuple[JointDialogue, int]]:
    """Every dialogue with its number of needs, newest first; ``buyer``: only those holding one of its needs."""
    counts = (
        select(JointDialogueNeed.dialogue_key, func.count().label("n")).group_by(col(JointDialogueNeed.dialogue_key)).subquery()
    )
    stmt = select(JointDialogue, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.dialogue_key == JointDialogue.key)
    if buyer is not None:
        theirs = (
            select(JointDialogueNeed.dialogue_key)
            .join(models.Need, col(models.Need.id) == col(JointDialogueNeed.need_id))
            .where(models.Need.buyer == buyer)
        )
        stmt = stmt.where(col(JointDialogue.key).in_(theirs))
    stmt = stmt.order_by(col(JointDialogue.created_at).desc(), col(JointDialogue.key).desc())
    return [(dialogue, int(n)) for dialogue, n in session.exec(stmt)]


def needs_by_id(session: Session, need_ids: Sequence[str]) -> dict[str, models.Need]:
    """The stored needs among these ids (a deleted member is simply absent)."""
    need_ids = _storable(need_ids)
    if not need_ids:
        return {}
    return {n.id: n for n in session.exec(select(models.Need).where(col(models.Need.id).in_(list(need_ids))))}


def events_of_needs(session: Session, need_ids: Sequence[str]) -> list[AuditEvent]:
    """The audit events of all these needs, merged in the order they happened."""
    if not need_ids:
        return []
    stmt = select(AuditEvent).where(col(AuditEvent.need_id).in_(list(need_ids)))
    return list(session.exec(stmt.order_by(col(AuditEvent.at), col(AuditEvent.key))))
