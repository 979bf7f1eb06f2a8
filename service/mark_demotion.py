"""Advisers' marks as judgements in a need's later shortlists: a supplier marked not relevant for the
need is moved below every unmarked or positively marked supplier, still shown, its explanation saying
who marked it and when. Clearing the mark (``cleared``) restores its place by score.

Who is shown the effect: a stored need's shortlist is served only to advisers, admins and the need's
buyer (``access.check_need_dialogue``), and exactly those readers may read the need's marks
(``access.can_read_marks``; the buyer already reads them through ``GET /needs/{id}/feedback``). So
every reader who gets the shortlist gets the demotion and the note, and every other reader (a
supplier's key, another buyer's, a visitor) is refused the shortlist outright. The other users of a
need's ranking that reach suppliers or judge the matcher (alerts telling suppliers about a need,
readiness, joint dialogues, benchmarks) pass no reader: their order is the matcher's alone, so nobody
learns a mark from an order, a field or an explanation they were not allowed to read. Ad-hoc text
searches and other needs' shortlists are never touched: a mark belongs to one need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from matcher.demotion import DEMOTING_MARKS, MarkNote, demote_marked
from service import access
from service.access import Principal
from service.container import Services
from store import feedback

if TYPE_CHECKING:  # shortlists calls this module
    from service.shortlists import MatchResult


def marks_against(services: Services, need: Any, reader: Principal | None) -> dict[int, MarkNote]:
    """The need's current demoting marks (supplier key → mark), when ``reader`` may read them; else none."""
    if reader is None or not access.can_read_marks(reader, need):
        return {}
    with Session(services.engine) as session:
        current = feedback.current_marks(session, need.key)
    return {key: MarkNote(row.mark, row.adviser, row.created_at) for key, row in current.items() if row.mark in DEMOTING_MARKS}


def demote(results: Sequence[MatchResult], marks: dict[int, MarkNote], k: int) -> list[MatchResult]:
    """``k`` results not marked down, best first, then the marked ones that ranked among them, renumbered;
    each of those explains its mark. ``results`` were ranked ``k + len(marks)`` deep, so ``k`` remain."""
    if not marks:
        return list(results[:k])
    kept, moved = demote_marked(results, lambda r: r.row.key, marks, k)
    shown = []
    for rank, result in enumerate([*kept, *moved], start=1):
        explanation = result.explanation
        note = marks.get(result.row.key)
        if note is not None and explanation is not None:
            explanation = replace(explanation, marked=replace(note, rank_before=result.rank))
        shown.append(replace(result, rank=rank, explanation=explanation))
    return shown


def audit_details(results: Sequence[MatchResult]) -> dict[str, Any]:
    """For the shortlist's audit event: which suppliers were moved down because of a mark, from where."""
    demoted = [
        {"supplier_id": r.row.id, "mark": r.explanation.marked.mark, "rank_before": r.explanation.marked.rank_before}
        for r in results
        if r.explanation is not None and r.explanation.marked is not None
    ]
    return {"demoted": demoted}
