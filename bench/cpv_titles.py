"""CPV suggestion on what a buyer types first, a short title, for notices later than the evidence
(issue 17). Part of ``matchmaker bench cpv``.

Slices (bench/cpv_notices.py), each answered from the notices published before it, held as the
service holds stored needs (bench/cpv_evidence.py); truth: the notice's main code:
- Doffin 2020: evidence before 2020-11-01, queries the titles of the later notices (the data runs
  from 2020-09-01 to 2020-11-28, so this leaves a third as queries);
- UK Contracts Finder (Lancashire, every notice, awarded or not): evidence before 2023-01-01, queries
  the titles from 2023 on; and the same less the titles that nearly repeat an evidence notice of the
  same buyer;
- tuning slices, the only data the constants were chosen on: the Doffin evidence's own titles, each
  answered from the rest of it, and the UK titles of 2019–2022 answered from the notices before 2019.
Side by side in one run: labels only, plain voting of the nearest notices, BM25 nearest notices, the
service's mix before issue 17 and now. Top-1/top-5 at division and group with bootstrap 95 %
intervals; then the codes ``confident_codes`` lets stand in for a need's missing ones, and how its
thresholds were chosen.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.cpv_evidence import QueryEvidence, embed_corpus, slice_evidence
from bench.cpv_notices import (
    DatedNotice,
    TitleSlice,
    date_split,
    leave_one_out,
    read_doffin_dated,
    read_uk_notices,
    without_near_repeats,
)
from bench.metrics import bootstrap_ci, hit_at
from bench.report import markdown_table
from bench.uk_awards import UK_FILE
from indexer.embedder import Embedder
from matcher.cpv_suggest import BEFORE_ISSUE_17, NEIGHBOURS, CpvSuggestion, MixSettings, Neighbour, suggest_codes
from service.container import cpv_label_index
from service.cpv_suggestions import CONFIDENT, LABEL_SUPPORT, is_confident
from service.reference import load_catalog

DOFFIN_CUT = dt.date(2020, 11, 1)
UK_CUT = dt.date(2023, 1, 1)
UK_TUNING_CUT = dt.date(2019, 1, 1)
# Plain voting: of 5/10/20/30 neighbours, one vote or the similarity each, on the tuning slices 10 and 20
# similarity-weighted were within 0.01 of each other (mean top-5); 10, the service's number before issue 17.
PLAIN_NEIGHBOURS = 10
BEFORE_NEIGHBOURS = 10  # the service's neighbours per side before issue 17
BEFORE_CONFIDENT = 0.3  # and its rule: mixed confidence ≥ 0.3
AT_MOST = 2  # confident_codes' default
TUNING_PRECISION = 0.85  # asked of the tuning slices: a margin for the 80 % asked of new titles
RANKED = 20


@dataclass(frozen=True)
class Slice:
    name: str
    queries: list[QueryEvidence]
    tuning: bool


def vote(neighbours: Sequence[Neighbour]) -> list[str]:
    """Plain voting: each neighbour adds its similarity (or BM25 score) to every code it carries."""
    votes: dict[str, float] = defaultdict(float)
    for neighbour in neighbours:
        for code in neighbour.codes:
            votes[code] += neighbour.similarity
    return sorted(votes, key=lambda c: (-votes[c], c))


def before(q: QueryEvidence, k: int = RANKED) -> list[CpvSuggestion]:
    return suggest_codes(q.label_scores, q.nearest[:BEFORE_NEIGHBOURS], k=k, settings=BEFORE_ISSUE_17)


def now(q: QueryEvidence, k: int = RANKED) -> list[CpvSuggestion]:
    return suggest_codes(q.label_scores, q.nearest[:NEIGHBOURS], k=k, settings=MixSettings())


SYSTEMS: dict[str, Callable[[QueryEvidence], list[str]]] = {
    "dense: CPV labels only": lambda q: sorted(q.label_scores, key=lambda c: (-q.label_scores[c], c)),
    f"dense: plain vote of the {PLAIN_NEIGHBOURS} nearest notices": lambda q: vote(q.nearest[:PLAIN_NEIGHBOURS]),
    f"lexical: vote of the {PLAIN_NEIGHBOURS} BM25 nearest notices": lambda q: vote(q.lexical[:PLAIN_NEIGHBOURS]),
    f"service before issue 17: labels + {BEFORE_NEIGHBOURS} nearest": lambda q: [s.code for s in before(q)],
    f"service now: labels + {NEIGHBOURS} nearest, by group": lambda q: [s.code for s in now(q)],
}


def _cell(values: Sequence[float]) -> str:
    low, high = bootstrap_ci(values)
    return f"{np.mean(values):.3f} ({low:.2f}–{high:.2f})"


def accuracy_table(queries: Sequence[QueryEvidence]) -> str:
    rows = []
    for name, predict in SYSTEMS.items():
        ranked = [predict(q) for q in queries]
        cells = [
            _cell([hit_at(r, q.truth, digits, k) for r, q in zip(ranked, queries, strict=True)])
            for digits, k in ((2, 1), (2, 5), (3, 1), (3, 5))
        ]
        rows.append([name, *cells])
    return markdown_table(["system", "division top-1", "division top-5", "group top-1", "group top-5"], rows)


@dataclass(frozen=True)
class Confident:
    coverage: float  # share of queries with at least one confident code
    codes: list[tuple[str, str]]  # (confident code, truth)

    def right(self, digits: int) -> list[float]:
        return [float(code[:digits] == truth[:digits]) for code, truth in self.codes]

    def precision(self, digits: int) -> float:
        return float(np.mean(self.right(digits))) if self.codes else float("nan")


Rule = Callable[[CpvSuggestion], bool]


def confident(queries: Sequence[QueryEvidence], tops: Sequence[list[CpvSuggestion]], keep: Rule) -> Confident:
    """``tops``: each query's best ``AT_MOST`` suggestions, of which ``keep`` picks the confident ones."""
    picked = [[s.code for s in top if keep(s)] for top in tops]
    codes = [(c, q.truth) for p, q in zip(picked, queries, strict=True) for c in p]
    return Confident(float(np.mean([bool(p) for p in picked])), codes)


def rule_now(neighbours_at_least: float = CONFIDENT, labels_at_least: float = LABEL_SUPPORT) -> Rule:
    """What ``service.cpv_suggestions.confident_codes`` keeps, at these thresholds."""
    return lambda s: is_confident(s, neighbours_at_least=neighbours_at_least, labels_at_least=labels_at_least)


NEIGHBOUR_STEPS = tuple(round(0.3 + 0.05 * i, 2) for i in range(7))
LABEL_STEPS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


def tuned_rule(tuning: Sequence[Slice]) -> tuple[float, float] | None:
    """How ``CONFIDENT`` and ``LABEL_SUPPORT`` were chosen: of the grid, the pair giving a code to the most
    tuning titles (mean over the slices) among those right at least ``TUNING_PRECISION`` of the time on
    each tuning slice."""
    tops = [[now(q, AT_MOST) for q in s.queries] for s in tuning]
    best: tuple[float, tuple[float, float]] | None = None
    for pair in ((a, b) for a in NEIGHBOUR_STEPS for b in LABEL_STEPS):
        found = [confident(s.queries, t, rule_now(*pair)) for s, t in zip(tuning, tops, strict=True)]
        if all(c.codes and c.precision(3) >= TUNING_PRECISION for c in found):
            coverage = float(np.mean([c.coverage for c in found]))
            if best is None or coverage > best[0]:
                best = (coverage, pair)
    return best[1] if best else None


def confident_table(slices: Sequence[Slice]) -> str:
    rules: list[tuple[str, Callable[[QueryEvidence, int], list[CpvSuggestion]], Rule]] = [
        (f"before: mixed confidence ≥ {BEFORE_CONFIDENT}", before, lambda s: s.confidence >= BEFORE_CONFIDENT),
        (f"now, neighbours' share alone ≥ {CONFIDENT}", now, rule_now(CONFIDENT, 0.0)),
        (f"now: neighbours' share ≥ {CONFIDENT}, labels' ≥ {LABEL_SUPPORT}", now, rule_now()),
    ]
    rows = []
    for s in slices:
        for name, suggest, keep in rules:
            c = confident(s.queries, [suggest(q, AT_MOST) for q in s.queries], keep)
            group = _cell(c.right(3)) if c.codes else "–"
            rows.append([s.name, name, f"{c.coverage:.3f}", len(c.codes), group, f"{c.precision(2):.3f}"])
    headers = [
        "slice",
        f"suggested codes (of the top {AT_MOST})",
        "coverage",
        "codes",
        "precision (group)",
        "precision (division)",
    ]
    return markdown_table(headers, rows)


def curve_table(slices: Sequence[Slice]) -> str:
    """Group precision / coverage (codes) of the rule now at each neighbours' threshold, labels' as chosen."""
    tops = [[now(q, AT_MOST) for q in s.queries] for s in slices]
    rows = []
    for a in NEIGHBOUR_STEPS:
        cells = []
        for s, t in zip(slices, tops, strict=True):
            c = confident(s.queries, t, rule_now(a))
            cells.append(f"{c.precision(3):.2f} / {c.coverage:.3f} ({len(c.codes)})")
        rows.append([f"{a:.2f}", *cells])
    return markdown_table(["neighbours' share ≥", *(s.name for s in slices)], rows)


def build_slices(embedder: Embedder) -> tuple[list[Slice], str]:
    """The slices' evidence, and a line on their sizes."""
    catalog = load_catalog()
    labels = cpv_label_index(embedder, catalog)  # built once per machine by `matchmaker model build`
    slices, counts = [], []

    def add(notices: list[DatedNotice], test: TitleSlice, cleaned: TitleSlice | None, tuning: TitleSlice) -> None:
        vectors = embed_corpus(embedder, catalog, notices, set(test.evidence))
        for split, is_tuning in ((tuning, True), (test, False), (cleaned, False)):
            if split is not None:
                slices.append(Slice(split.name, slice_evidence(notices, split, vectors, labels), is_tuning))
                counts.append(f"{split.name}: {len(split.queries)} title queries, {len(split.evidence)} evidence notices")

    doffin = read_doffin_dated()
    doffin_test = date_split(doffin, f"Doffin titles from {DOFFIN_CUT}", DOFFIN_CUT)
    add(doffin, doffin_test, None, leave_one_out(doffin_test, f"tuning: Doffin titles before {DOFFIN_CUT}, leave-one-out"))
    if not UK_FILE.exists():
        counts.append(f"UK slices skipped: {UK_FILE} is absent")
        return slices, "; ".join(counts)
    uk = read_uk_notices()
    uk_test = date_split(uk, f"UK titles from {UK_CUT}", UK_CUT)
    uk_cleaned = without_near_repeats(uk, uk_test, f"UK titles from {UK_CUT}, no near-repeats")
    uk_tuning = date_split(uk, f"tuning: UK titles {UK_TUNING_CUT.year}–{UK_CUT.year - 1}", UK_TUNING_CUT, until=UK_CUT)
    add(uk, uk_test, uk_cleaned, uk_tuning)
    return slices, "; ".join(counts)


def title_sections(embedder: Embedder) -> tuple[str, str]:
    """The sections of the report on title queries, and a line for its intro."""
    slices, counts = build_slices(embedder)
    tuning = [s for s in slices if s.tuning]
    parts = [f"### {s.name}\n\n{accuracy_table(s.queries)}" for s in slices]
    tuned = tuned_rule(tuning)
    parts.append(
        "### Suggested codes (what matching uses for a need without codes)\n\n"
        f"Right: the suggested code shares its group (3 digits) with the notice's main code; the division-level rate "
        f"beside it. Coverage: the share of titles given at least one code. Thresholds the tuning slices call for "
        f"(the grid's pair giving the most titles a code, right ≥ {TUNING_PRECISION} on each tuning slice): "
        f"neighbours' share, labels' share = {tuned}; the service's CONFIDENT, LABEL_SUPPORT = {CONFIDENT}, {LABEL_SUPPORT}."
        f"\n\n{confident_table(slices)}\n\nGroup precision / coverage (codes) by the neighbours' threshold, the labels' "
        f"at {LABEL_SUPPORT}:\n\n{curve_table(slices)}"
    )
    return "\n\n".join(parts), counts
