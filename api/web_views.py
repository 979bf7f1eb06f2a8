"""What the pages show, shaped from service results: relative score bars, highlighted terms, labels.

Kept apart from the routes so the shaping is plain functions (and the routes stay short).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from matcher.catalog import CpvCatalog
from matcher.demotion import MarkNote
from matcher.explain import PRIVATE_MATCH_NOTE
from service.feedback import MARK_LABELS, Mark
from service.shortlists import MatchResult


@dataclass(frozen=True)
class ResultView:
    rank: int
    row: Any
    relative: int  # score as a percentage of the best result's score
    score: float
    summary: str
    matched_terms: list[str]
    shared_cpv: list[Any]
    best_sentence: Markup | None
    location: str | None
    components: dict[str, float]
    track_record: str | None = None
    note: str | None = None  # to advisers only: the match rests on the supplier's private details
    mark: Mark | None = None
    marked: MarkNote | None = None  # moved below the need's other suppliers by this mark (service/mark_demotion.py)
    codes: list[tuple[str, str | None]] = field(default_factory=list)


def highlight(text: str, terms: Sequence[str]) -> Markup:
    """The text, escaped, with every whole-word occurrence of the terms in <mark>."""
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    if not words:
        return Markup(escape(text))
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [str(escape(text[last : match.start()])), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def labelled_codes(codes: Sequence[str], catalog: CpvCatalog) -> list[tuple[str, str | None]]:
    return [(code, catalog.label(code)) for code in codes]


def result_views(
    results: Sequence[MatchResult], catalog: CpvCatalog, marks: dict[int, Mark] | None = None, *, for_advisers: bool = False
) -> list[ResultView]:
    """Results with bars relative to the best score: fused scores mean nothing on their own."""
    top = max((r.score for r in results), default=0.0)
    views = []
    for result in results:
        explanation = result.explanation
        if explanation is None:
            raise ValueError("pages show explained results only")
        terms = explanation.matched_terms
        views.append(
            ResultView(
                rank=result.rank,
                row=result.row,
                relative=max(0, round(100 * result.score / top)) if top > 0 else 0,
                score=result.score,
                summary=explanation.summary(),
                matched_terms=terms,
                shared_cpv=explanation.shared_cpv,
                best_sentence=highlight(explanation.best_sentence, terms) if explanation.best_sentence else None,
                location=explanation.location,
                components=explanation.components.as_dict(),
                track_record=explanation.track_record,
                note=PRIVATE_MATCH_NOTE if for_advisers and explanation.private_match else None,
                mark=(marks or {}).get(result.row.key),
                marked=explanation.marked,
                codes=labelled_codes(getattr(result.row, "cpv_codes", []), catalog),
            )
        )
    return views


def mark_label(mark: str) -> str:
    return MARK_LABELS.get(mark, mark)


def split_list(raw: str | None) -> list[str]:
    """Codes typed into one box, separated by commas or spaces."""
    return [part for part in re.split(r"[\s,;]+", raw or "") if part]
