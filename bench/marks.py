"""``matchmaker bench marks``: shortlists judged by the advisers' own marks, in any matchmaker database.

A need's current marks are its judgements: suppliers marked invited or relevant are relevant, those
marked not relevant are not, and every other supplier is unjudged (advisers mark what they look at,
not the whole register). So two sets of figures: the usual ones, which count an unjudged supplier as
not relevant (lower bounds), and judged-only ones computed on the "condensed" ranking, from which the
unjudged suppliers are removed (Sakai 2007), which do not punish a ranking for showing what nobody
has marked yet.

Side by side: the shortlist as served (the need's own shortlist the audit trail recorded last before
its first mark: what the advisers judged from, before any mark could move anything) and today's
ranking of the same need by the matcher alone (no reader, so marks move nothing in it; otherwise the
marks would grade their own echo). Both are cut at the ``k`` an adviser is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import inspect, make_url
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.metrics import bootstrap_ci, condensed, ndcg_at_k, precision_at_k, recall_at_k, reciprocal_rank
from bench.report import describe_machine, markdown_table, write_report
from service import audit, shortlists
from service.container import Services
from store import feedback, repository
from store.db import make_engine
from store.repository import NEEDS, SUPPLIERS

RELEVANT_MARKS = frozenset({"invited", "relevant"})
NOT_RELEVANT_MARKS = frozenset({"not_relevant"})
MARKS_TABLE = "feedback"

Scores = dict[str, float | None]  # None: not defined for this need (P' with no marked supplier in the top k)


@dataclass(frozen=True)
class Judgements:
    relevant: frozenset[str]
    not_relevant: frozenset[str]

    @property
    def judged(self) -> frozenset[str]:
        return self.relevant | self.not_relevant


def stored_judgements(engine: Engine) -> dict[str, Judgements]:
    """Need id → its current marks as judgements, for every need with one (none in a database without marks)."""
    if not inspect(engine).has_table(MARKS_TABLE):
        return {}
    with Session(engine) as session:
        marks = feedback.current_marks_of_all_needs(session)
        needs = repository.get_by_keys(session, NEEDS, marks)
        suppliers = repository.get_by_keys(session, SUPPLIERS, {key for by_need in marks.values() for key in by_need})
    found = {}
    for need_key, by_supplier in marks.items():
        given = {suppliers[key].id: row.mark for key, row in by_supplier.items() if key in suppliers}
        if need_key in needs and given:
            found[needs[need_key].id] = Judgements(
                frozenset(s for s, m in given.items() if m in RELEVANT_MARKS),
                frozenset(s for s, m in given.items() if m in NOT_RELEVANT_MARKS),
            )
    return dict(sorted(found.items()))


def served_rankings(engine: Engine, need_ids: Iterable[str]) -> dict[str, list[str]]:
    """Need id → the suppliers of its own shortlist as last served before its first mark, in the order shown.

    A joint dialogue's shortlist (ranked for several needs at once) is not this need's ranking and is
    passed over; a need marked before any shortlist was recorded has none."""
    served = {}
    for need_id in need_ids:
        shown = None
        for event in audit.events_for(engine, need_id):
            if event.action == "mark":
                break
            if event.action == "shortlist" and "dialogue" not in event.details:
                shown = event.details.get("shown", [])
        if shown is not None:
            served[need_id] = [entry["supplier_id"] for entry in sorted(shown, key=lambda entry: entry["rank"])]
    return served


def todays_rankings(services: Services, need_ids: Iterable[str], k: int) -> dict[str, list[str]]:
    """The matcher's ranking now, for no reader: marks move nothing in it."""
    return {
        need_id: [r.row.id for r in shortlists.suppliers_for_need(services, need_id, k=k, explain=False)[1]]
        for need_id in need_ids
    }


def need_scores(ranked: Sequence[str], judgements: Judgements, k: int) -> Scores:
    """One need's figures for a ranking cut at ``k``; primed ones on the condensed (marked-only) list."""
    top = list(ranked[:k])
    relevant = set(judgements.relevant)
    kept = condensed(top, set(judgements.judged))
    return {
        f"nDCG@{k}": ndcg_at_k(top, relevant, k),
        f"recall@{k}": recall_at_k(top, relevant, k),
        f"MRR@{k}": reciprocal_rank(top, relevant),
        f"P@{k}": precision_at_k(top, relevant, k),
        f"judged@{k}": len(kept) / k,
        f"nDCG'@{k}": ndcg_at_k(kept, relevant, k),
        f"MRR'@{k}": reciprocal_rank(kept, relevant),
        f"P'@{k}": precision_at_k(kept, relevant, len(kept)) if kept else None,
    }


def mean_cell(values: Sequence[float | None], *, signed: bool = False) -> str:
    """Mean and 95 % bootstrap interval over the needs where the figure is defined (their number if fewer)."""
    data = [v for v in values if v is not None]
    if not data:
        return "–"
    low, high = bootstrap_ci(data)
    form = "+.3f" if signed else ".3f"
    bounds = "+.2f" if signed else ".2f"
    text = f"{float(np.mean(data)):{form}} [{low:{bounds}}, {high:{bounds}}]"
    return text + (f" (n={len(data)})" if len(data) < len(values) else "")


def summary_row(label: str, scores: Sequence[Scores], names: Sequence[str]) -> list[str]:
    return [label, str(len(scores)), *[mean_cell([s[name] for s in scores]) for name in names]]


def difference_row(label: str, after: Sequence[Scores], before: Sequence[Scores], names: Sequence[str]) -> list[str]:
    """Per need, paired: today's figure minus the served one, where both are defined."""

    def delta(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    cells = [mean_cell([delta(a[name], b[name]) for a, b in zip(after, before, strict=True)], signed=True) for name in names]
    return [label, str(len(after)), *cells]


def per_need_table(judged: dict[str, Judgements], served: dict[str, Scores], today: dict[str, Scores], k: int) -> str:
    def fig(scores: Scores | None, name: str) -> str:
        value = None if scores is None else scores[name]
        return "–" if value is None else f"{value:.2f}"

    shown = (f"nDCG@{k}", f"P@{k}", f"P'@{k}")
    headers = ["need", "relevant", "not relevant"] + [f"{name} {when}" for name in shown for when in ("served", "today")]
    rows = [
        [need_id, len(j.relevant), len(j.not_relevant)]
        + [fig(scores, name) for name in shown for scores in (served.get(need_id), today[need_id])]
        for need_id, j in judged.items()
    ]
    return markdown_table(headers, rows)


def no_marks_message(where: str) -> str:
    return (
        f"No advisers' marks in {where}: nothing to judge the ranking by. Marks are given on a need's page "
        "or with POST /needs/{id}/feedback; `matchmaker bench marks --sample` shows the report on the sample data."
    )


def run(
    services: Services, out: Path | None, *, k: int = 10, title: str = "Shortlists judged by advisers' marks", about: str = ""
) -> str:
    """The report on the marks in ``services``' database: printed text, saved to ``out`` when given."""
    judgements = stored_judgements(services.engine)
    if not judgements:
        return no_marks_message(about or "the database")
    judged = {need_id: j for need_id, j in judgements.items() if j.relevant}
    served_ranked = served_rankings(services.engine, judged)
    today_ranked = todays_rankings(services, judged, k)
    served = {need_id: need_scores(served_ranked[need_id], judged[need_id], k) for need_id in served_ranked}
    today = {need_id: need_scores(today_ranked[need_id], judged[need_id], k) for need_id in judged}
    names = list(next(iter(today.values())).keys()) if today else []
    paired = sorted(served)
    rows = []
    if paired:
        rows.append(summary_row("as served (before the first mark)", [served[n] for n in paired], names))
        rows.append(summary_row("today, the same needs", [today[n] for n in paired], names))
        rows.append(difference_row("today − as served (paired)", [today[n] for n in paired], [served[n] for n in paired], names))
    if today:
        rows.append(summary_row("today, every need with a relevant mark", list(today.values()), names))
    relevant = sum(len(j.relevant) for j in judgements.values())
    not_relevant = sum(len(j.not_relevant) for j in judgements.values())
    intro = (
        f"{about}{len(judgements)} needs carry current marks ({relevant} suppliers marked invited or relevant, "
        f"{not_relevant} not relevant); the {len(judged)} with a relevant mark are judged"
        + (
            f" ({len(judgements) - len(judged)} with only not-relevant marks have nothing to find and are left out)"
            if len(judged) < len(judgements)
            else ""
        )
        + f". {len(paired)} of them had their own shortlist served before their first mark (audit trail). "
        f"Rankings are cut at k = {k}. nDCG, recall, MRR and P (precision) count an unmarked supplier as not "
        f"relevant, so they are lower bounds; judged@{k} is the share of the first {k} places holding a marked "
        "supplier; the primed figures are computed after removing unmarked suppliers from the ranking (condensed "
        f"lists, Sakai 2007), P'@{k} being the share of relevant ones among the marked suppliers in the first {k} "
        "(defined only where there is one). Means with 95 % bootstrap intervals over needs; the difference row is "
        "paired need by need. Today's ranking is the matcher's alone: marks do not move suppliers in it."
    )
    table = markdown_table(["ranking", "needs", *[f"{name} (95% CI)" for name in names]], rows)
    table += "\n\n## Per need\n\n" + per_need_table(judged, served, today, k)
    if out is not None:
        return write_report(out, title, intro, table)
    return f"# {title}\n\nMachine: {describe_machine()}. {intro}\n\n{table}\n"


def judgements_at(url: str) -> dict[str, Judgements]:
    """The marks of the database at ``url``, read without creating anything: one not made yet has none."""
    location = make_url(url)
    if location.get_backend_name() == "sqlite" and location.database and not Path(location.database).exists():
        return {}
    engine = make_engine(url)
    try:
        return stored_judgements(engine)
    finally:
        engine.dispose()
