"""Advisers' marks on suppliers for a need: appended, never updated; the latest per pair counts."""

from __future__ import annotations

from sqlmodel import Session, col, select

from store import models


def record_mark(session: Session, *, need_key: int, supplier_key: int, mark: str, adviser: str) -> models.Feedback:
    row = models.Feedback(need_key=need_key, supplier_key=supplier_key, mark=mark, adviser=adviser)
    session.add(row)
    session.flush()
    return row


def history(session: Session, need_key: int) -> list[models.Feedback]:
    """Every mark given for the need, oldest first."""
    stmt = select(models.Feedback).where(models.Feedback.need_key == need_key).order_by(col(models.Feedback.key))
    return list(session.exec(stmt))


def current_marks(session: Session, need_key: int) -> dict[int, models.Feedback]:
    """Each supplier's latest mark for the need; a cleared mark removes it."""
    latest: dict[int, models.Feedback] = {}
    for row in history(session, need_key):
        latest[row.supplier_key] = row
    return {key: row for key, row in latest.items() if row.mark != "cleared"}


def current_marks_of_all_needs(session: Session) -> dict[int, dict[int, models.Feedback]]:
    """Every need's current marks (need key → supplier key → latest mark), needs left with none omitted:
    the advisers' judgements, for benchmarks (bench/marks.py)."""
    latest: dict[tuple[int, int], models.Feedback] = {}
    for row in session.exec(select(models.Feedback).order_by(col(models.Feedback.key))):
        latest[(row.need_key, row.supplier_key)] = row
    found: dict[int, dict[int, models.Feedback]] = {}
    for (need_key, supplier_key), row in latest.items():
        if row.mark != "cleared":
            found.setdefault(need_key, {})[supplier_key] = row
    return found
