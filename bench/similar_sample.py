"""``matchmaker bench similar`` (alone: ``--sample-only``): similar needs on the project's 64 sample needs,
scored against hand-judged need pairs (data/similar_needs_judged.jsonl), a fast check beside the Doffin run.

The Doffin part can only say "same CPV group", which the CPV-only baseline sees and the texts may not; here
a person read both needs. Side by side, each query asks for its 5 most similar needs of OTHER buyers (as the
service does), closed needs included because judged pairs include them:
- the service's matcher (service/similar_needs.py, ``include_closed=True``);
- CPV only and BM25: the baselines of bench/similar_needs.py, the query's buyer left out.
Unjudged results count as not relevant, and how many there were is reported.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import bootstrap_ci
from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from bench.similar_needs import bm25_ranking, cpv_ranking
from indexer.embedder import Embedder
from indexer.lexical import LexicalIndex
from matcher.cpv import parse_cpv
from service import similar_needs
from service.access import Principal
from service.container import open_services
from service.settings import Settings
from service.writes import import_records
from store.repository import NEEDS

K = 5
JUDGED = DATA / "similar_needs_judged.jsonl"
ADVISER = Principal(role="adviser", label="bench")
MATCHER = "service's matcher (meaning + words + CPV + place)"

Grades = dict[str, dict[str, int]]  # need id → other need id → grade (2 same need, 1 related, 0 not)


def read_judgements(path: Path = JUDGED) -> Grades:
    grades: Grades = {}
    for row in read_jsonl(path):
        grades.setdefault(row["need"], {})[row["other"]] = int(row["grade"])
    return grades


def graded_ndcg_at_k(ranked: Sequence[str], grades: dict[str, int], k: int) -> float:
    """nDCG with the grade as the gain (bench/metrics.py's ndcg_at_k is binary); the ideal ranking is
    built from every judged pair of the need, not only the ones retrieved."""
    gain = sum(grades.get(item, 0) / math.log2(i + 2) for i, item in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(grades.values(), reverse=True)[:k]))
    return gain / ideal if ideal else 0.0


def score(rankings: dict[str, list[str]], judged: Grades) -> dict[str, Any]:
    """The table's numbers for one system, over the needs with at least one pair graded 1 or 2."""
    queries = [q for q in rankings if max(judged.get(q, {}).values(), default=0) >= 1]
    with_two = [q for q in queries if 2 in judged[q].values()]
    ndcg = [graded_ndcg_at_k(rankings[q], judged[q], K) for q in queries]
    precision = [sum(judged[q].get(o, 0) >= 1 for o in rankings[q][:K]) / K for q in queries]
    top_two = {q: bool(rankings[q]) and judged[q].get(rankings[q][0], 0) == 2 for q in queries}
    return {
        "queries": len(queries),
        "with_two": len(with_two),
        "ndcg": float(np.mean(ndcg)),
        "ndcg_ci": bootstrap_ci(ndcg),
        "precision": float(np.mean(precision)),
        "top_two": sum(top_two.values()) / len(queries),
        "top_two_of_two": sum(top_two[q] for q in with_two) / len(with_two),
        "unjudged": sum(o not in judged.get(q, {}) for q in queries for o in rankings[q][:K]),
        "results": sum(len(rankings[q][:K]) for q in queries),
        "best_precision": float(np.mean([min(K, sum(g >= 1 for g in judged[q].values())) / K for q in queries])),
    }


def _codes(need: dict[str, Any]) -> tuple[str, ...]:
    """The need's codes as the service stores them (8 digits, check digit dropped)."""
    return tuple(parse_cpv(str(raw)) for raw in need.get("cpv_codes") or [])


def rankings(embedder: Embedder, needs: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """System name → need id → its K most similar needs of other buyers, best first."""
    texts = [f"{n.get('title') or ''}. {n['description']}" for n in needs]
    others = [[j for j, m in enumerate(needs) if m["buyer"] != n["buyer"]] for n in needs]
    lexical = LexicalIndex()
    for i, text in enumerate(texts):
        lexical.upsert(i, text)
    codes = [_codes(n) for n in needs]
    with tempfile.TemporaryDirectory() as home:
        services = open_services(Settings(home=Path(home)), embedder=embedder)
        with (DATA / "needs.jsonl").open(encoding="utf-8") as handle:
            import_records(services, NEEDS, handle)

        def matcher(i: int) -> list[str]:
            _need, found = similar_needs.similar_to_need(services, ADVISER, needs[i]["id"], k=K, include_closed=True)
            return [r.row.id for r in found]

        def cpv_only(i: int) -> list[str]:
            same_buyer = set(range(len(needs))) - set(others[i])
            return [needs[j]["id"] for j in cpv_ranking(codes, i, K, same_buyer)]

        def bm25(i: int) -> list[str]:
            return [needs[j]["id"] for j in bm25_ranking(lexical, texts[i], i, K, others[i])]

        systems: dict[str, Callable[[int], list[str]]] = {
            "CPV only: overlap of the codes": cpv_only,
            "BM25 on the text": bm25,
            MATCHER: matcher,
        }
        ranked = {name: {n["id"]: rank(i) for i, n in enumerate(needs)} for name, rank in systems.items()}
        services.engine.dispose()
    return ranked


def _counts(judged: Grades) -> dict[int, int]:
    counts = dict.fromkeys((2, 1, 0), 0)
    for grades in judged.values():
        for grade in grades.values():
            counts[grade] += 1
    return counts


def run(embedder: Embedder, out: Path) -> str:
    needs = read_jsonl(DATA / "needs.jsonl")
    judged = read_judgements()
    scores = {name: score(ranked, judged) for name, ranked in rankings(embedder, needs).items()}
    rows = [
        [
            name,
            f"{s['ndcg']:.3f} [{s['ndcg_ci'][0]:.2f}, {s['ndcg_ci'][1]:.2f}]",
            f"{s['precision']:.3f}",
            f"{s['top_two']:.3f}",
            f"{s['top_two_of_two']:.3f}",
            f"{s['unjudged']} of {s['results']}",
        ]
        for name, s in scores.items()
    ]
    first = scores[MATCHER]
    counts = _counts(judged)
    table = markdown_table(
        [
            "ranking",
            f"nDCG@{K} [95% CI]",
            f"precision@{K} (grade ≥ 1)",
            "top-1 is grade 2",
            f"top-1 is grade 2, of the {first['with_two']} needs with one",
            f"unjudged results @{K}",
        ],
        rows,
    )
    buyers = len({n["buyer"] for n in needs})
    uncoded = sum(not n.get("cpv_codes") for n in needs)
    intro = (
        f"Model: {embedder.name}. The {len(needs)} sample needs (data/needs.jsonl) of {buyers} buyers; each asks for "
        f"its {K} most similar needs of other buyers (closed needs included). Judged pairs "
        f"(data/similar_needs_judged.jsonl, one line per direction): {counts[2]} graded 2 (the same need), "
        f"{counts[1]} graded 1 (related), {counts[0]} graded 0. Scored over the {first['queries']} needs with at "
        f"least one pair graded 1 or 2: nDCG@{K} with the grade as gain (ideal: all the need's judged pairs; 95% "
        "bootstrap interval), precision with grade ≥ 1 as relevant, the share of those needs whose first result is "
        f"graded 2, and the same share over the needs that have a grade-2 pair. Unjudged results count as not "
        f"relevant; after reading every need, the judge also graded every pair in the three rankings' top {K}s at the "
        f"time, so an unjudged result means a ranking has changed since. Most needs have fewer than "
        f"{K} related needs: the best possible precision@{K} is {first['best_precision']:.3f}. Where codes do not "
        f"overlap ({uncoded} needs have none) the CPV-only ranking ties at 0 and keeps file order. The sample was "
        "written by us and judged by one reader: a check of the feature, not a claim about real procurement."
    )
    return write_report(out, "Similar needs (demand pooling) on the hand-judged sample", intro, table)
