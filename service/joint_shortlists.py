"""One shortlist and one invitation list for a joint market dialogue (service/joint_dialogues.py).

The group's shortlist ranks suppliers for all member needs together: each need's own best suppliers are
pooled, every pooled supplier is scored for every member need by the same matcher, and the mean of those
scores ranks them, so a supplier that fits every buyer's need comes before one that fits a single need
very well. Marking a supplier on the dialogue marks it for every member need (each buyer's own record
holds it); the invitation list is the union of the member needs' invited suppliers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from matcher.explain import Explanation
from service import access, audit, feedback, shortlists
from service.access import Principal
from service.container import Services
from service.feedback import Mark
from service.invitations import supplier_columns
from service.joint_dialogues import Dialogue, get_dialogue, record_for_members
from service.shortlists import MatchResult
from store.db import session_scope
from store.models import FeedbackCreate
from store.repository import ConflictError

POOL_FACTOR = 2  # each need contributes its 2k best: one just below each need's own top k may fit them all best
MAX_POOL = 100
INVITATION_COLUMNS = (
    "name", "id", "country", "region", "size", "website", "score", "invited_for", "best_need", "why", "marked_by", "marked_at",
)  # fmt: skip


@dataclass(frozen=True)
class GroupMatch:
    rank: int
    row: Any  # the supplier
    score: float  # the mean of its scores over the member needs
    per_need: dict[str, float]  # need id → the supplier's score for that need, in member order
    best_need: str  # the member need it fits best: its explanation is that need's
    explanation: Explanation | None


def score_for_needs(services: Services, need_ids: Sequence[str], supplier_keys: Sequence[int]) -> list[GroupMatch]:
    """These suppliers scored for every one of the needs and ranked by their mean score, best first."""
    if not need_ids or not supplier_keys:
        return []
    scored: dict[str, dict[int, MatchResult]] = {
        need_id: {r.row.key: r for r in shortlists.given_suppliers_for_need(services, need_id, supplier_keys)}
        for need_id in need_ids
    }
    matches = []
    for key in dict.fromkeys(supplier_keys):
        results = {need_id: scored[need_id][key] for need_id in need_ids if key in scored[need_id]}
        if len(results) < len(need_ids):
            continue  # deleted since the pool was gathered
        best = max(results, key=lambda need_id: results[need_id].score)
        mean = sum(r.score for r in results.values()) / len(results)
        per_need = {need_id: r.score for need_id, r in results.items()}
        matches.append(GroupMatch(0, results[best].row, mean, per_need, best, results[best].explanation))
    matches.sort(key=lambda m: (-m.score, m.row.id))
    return [replace(m, rank=i + 1) for i, m in enumerate(matches)]


def rank_for_needs(services: Services, need_ids: Sequence[str], *, k: int = 10) -> list[GroupMatch]:
    """The ``k`` suppliers that fit the needs best together."""
    pool: dict[int, None] = {}
    for need_id in need_ids:
        _need, found = shortlists.suppliers_for_need(services, need_id, k=min(MAX_POOL, POOL_FACTOR * k), explain=False)
        pool.update(dict.fromkeys(r.row.key for r in found))
    return score_for_needs(services, need_ids, list(pool))[:k]


def group_shortlist(services: Services, principal: Principal, dialogue: Dialogue, *, k: int = 10) -> list[GroupMatch]:
    """The dialogue's shortlist, recorded in each member need's audit trail (what was shown, and this
    need's own score for each supplier shown)."""
    need_ids = [n.id for n in dialogue.needs]
    matches = rank_for_needs(services, need_ids, k=k)
    base = audit.shortlist_details({}, k, 0.0, matches)
    with session_scope(services.engine) as session:
        for need_id in need_ids:
            shown = [
                {**entry, "need_score": round(m.per_need[need_id], 4)} for entry, m in zip(base["shown"], matches, strict=True)
            ]
            details = {**base, "shown": shown, "dialogue": dialogue.id, "needs": need_ids, "score": "mean over the needs"}
            audit.add_event(session, need_id, "shortlist", principal, details)
    return matches


def mark_for_dialogue(
    services: Services, principal: Principal, dialogue_id: str, payload: FeedbackCreate
) -> list[tuple[str, Mark]]:
    """The mark for every member need, in one transaction: all of them hold it, or none does."""
    access.require_staff(principal, "marking suppliers")
    dialogue = get_dialogue(services, principal, dialogue_id)
    if not dialogue.needs:
        raise ConflictError(f"the joint dialogue '{dialogue.id}' has no needs to mark suppliers for")
    with session_scope(services.engine) as session:
        return [
            (need.id, feedback.mark_in(session, need.id, payload, principal, dialogue=dialogue.id)) for need in dialogue.needs
        ]


@dataclass(frozen=True)
class Invitation:
    match: GroupMatch
    invited_for: list[str]  # the member needs whose current mark is "invited"
    latest: Mark  # the newest of those marks: by whom, when


def invitations(services: Services, dialogue: Dialogue) -> list[Invitation]:
    """Suppliers invited in any member need, once each, best group score first."""
    need_ids = [n.id for n in dialogue.needs]
    invited: dict[int, list[tuple[str, Mark]]] = {}
    for need_id in need_ids:
        for mark in feedback.marks_for_need(services, need_id):
            if mark.mark == "invited":
                invited.setdefault(mark.supplier.key, []).append((need_id, mark))
    found = []
    for match in score_for_needs(services, need_ids, list(invited)):
        marks = invited[match.row.key]
        found.append(
            Invitation(match, [n for n in need_ids if n in dict(marks)], max((m for _n, m in marks), key=lambda m: m.at))
        )
    return found


def invitation_rows(invitations: Sequence[Invitation]) -> list[dict[str, Any]]:
    """The rows of the dialogue's invitation list (CSV or JSON)."""
    rows = []
    for invitation in invitations:
        match, supplier = invitation.match, invitation.match.row
        rows.append(
            {
                **supplier_columns(supplier),
                "score": f"{match.score:.4f}",
                "invited_for": " ".join(invitation.invited_for),
                "best_need": match.best_need,
                "why": match.explanation.summary() if match.explanation else "",
                "marked_by": invitation.latest.adviser,
                "marked_at": invitation.latest.at.isoformat(timespec="seconds"),
            }
        )
    return rows


def export_invitations(services: Services, principal: Principal, dialogue_id: str) -> tuple[Dialogue, list[dict[str, Any]]]:
    """The invitation list for export, the export recorded in each member need's trail."""
    dialogue = get_dialogue(services, principal, dialogue_id)
    rows = invitation_rows(invitations(services, dialogue))
    record_for_members(services, dialogue, "export", principal, {"marks": ["invited"], "suppliers": [r["id"] for r in rows]})
    return dialogue, rows
