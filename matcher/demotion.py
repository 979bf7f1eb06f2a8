"""Advisers' marks as judgements inside one need: a supplier an adviser marked not relevant is moved
below every other supplier of that need's shortlist, and still shown (so it can be seen and cleared).

Pure ordering; which marks count and for whom is decided in ``service/mark_demotion.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

DEMOTING_MARKS = frozenset({"not_relevant"})
"""The marks that move a supplier down; ``cleared`` withdraws a mark and so restores the place."""


@dataclass(frozen=True)
class MarkNote:
    """Why a supplier sits below the others: the adviser's mark, who gave it and when."""

    mark: str
    adviser: str
    at: dt.datetime
    rank_before: int | None = None  # its place by score alone, when it was in the ranked list

    def text(self) -> str:
        what = self.mark.replace("_", " ")
        return f"marked {what} by {self.adviser} on {self.at:%Y-%m-%d}"


def demote_marked(items: Sequence[T], key: Callable[[T], int], marked: Collection[int], k: int) -> tuple[list[T], list[T]]:
    """The ``k`` best unmarked items in their order, and the marked ones that ranked above the ``k``-th
    of those (best first): shown after them, so a mark moves a supplier down but never hides it.

    ``items`` are ranked best first and should reach ``k`` plus the number of marked keys, so the list
    keeps ``k`` unmarked entries however many marked ones sat among the best. A marked item that ranked
    below all ``k`` kept ones would not have been shown anyway and is dropped.
    """
    kept: list[T] = []
    moved: list[T] = []
    for item in items:
        if len(kept) == k:
            break
        (moved if key(item) in marked else kept).append(item)
    return kept, moved
