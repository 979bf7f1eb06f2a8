"""``matchmaker bench similar``: do the needs ranked as "other buyers with this need" come from other
buyers, and are they about the same thing? On real Norwegian notices (Doffin 2020, ../shared/data).

Every notice is stored as a need (its buyer, title and description, main and extra CPV codes), then each
one asks for its 5 most similar needs (itself left out; the buyer's own are kept here, to see whether a
ranking just finds the same buyer's repeat notices). Side by side in one run:
- CPV only: the notices ranked by the overlap of their codes (matcher/cpv.py), ties in file order;
- BM25 on the text;
- the service's matcher (service/similar_needs.py) with the query's codes hidden: meaning and words alone;
- the service's matcher on the whole need: meaning, words, CPV codes.
Reported at 5: the share of results from another buyer, the share in the same CPV group (3 digits) and
division (2 digits) as the query's main code, and the mean number of results that are both (what a
joint market dialogue needs: another buyer, the same kind of purchase).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sqlmodel import Session, select
from tqdm import tqdm

from bench.cpv_doffin import DOFFIN_FILE, TEXT_CHARS
from bench.report import markdown_table, write_report
from indexer.embedder import Embedder
from indexer.lexical import LexicalIndex
from matcher.analysis import query_stems
from matcher.cpv import CpvError, cpv_overlap, parse_cpv
from matcher.filters import MatchFilters
from service import shortlists, writes
from service.container import Services, open_services
from service.settings import Settings
from store.models import Need
from store.repository import NEEDS

K = 5
ALL = MatchFilters(statuses=("planning", "open", "closed"))


@dataclass(frozen=True)
class Notice:
    id: str
    title: str
    description: str
    buyer: str
    codes: tuple[str, ...]  # main first

    @property
    def main(self) -> str:
        return self.codes[0]


def read_notices(path: Path = DOFFIN_FILE) -> list[Notice]:
    notices = []
    for i, row in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        try:
            main = parse_cpv(str(row.get("cpvnumber") or ""))
        except CpvError:
            continue
        extra = []
        for item in row.get("tilleggsCPV") or []:
            for code in item:
                with contextlib.suppress(CpvError):  # a malformed extra code is left out
                    extra.append(parse_cpv(str(code)))
        paragraphs = row.get("beskrivelse") or []
        body = " ".join(paragraphs) if isinstance(paragraphs, list) else str(paragraphs)
        buyer = str(row.get("orgnr") or row.get("oppdragsgiver") or "")
        notices.append(
            Notice(f"doffin-{i}", str(row.get("tittel") or ""), body[:TEXT_CHARS], buyer, tuple(dict.fromkeys([main, *extra])))
        )
    return notices


def _store(embedder: Embedder, home: Path, notices: list[Notice]) -> tuple[Services, dict[str, int]]:
    services = open_services(Settings(home=home), embedder=embedder)
    lines = [
        json.dumps(
            {
                "id": n.id,
                "title": n.title or None,
                "description": n.description,
                "buyer": n.buyer,
                "cpv_codes": list(n.codes),
                "country": "NO",
            },
            ensure_ascii=False,
        )
        for n in notices
    ]
    writes.import_records(services, NEEDS, lines, progress=True)
    with Session(services.engine) as session:
        keys = {need.id: int(need.key or 0) for need in session.exec(select(Need))}
    return services, keys


def cpv_ranking(codes: Sequence[Sequence[str]], i: int, k: int = K, skip: Collection[int] = ()) -> list[int]:
    """Indices of the ``k`` entries whose codes overlap most with entry ``i``'s (itself and ``skip`` left out),
    ties in list order: the CPV-only baseline, shared with bench/similar_sample.py."""
    scores = [(cpv_overlap(codes[i], other), -j) for j, other in enumerate(codes) if j != i and j not in skip]
    return [-negated for _score, negated in sorted(scores, reverse=True)[:k]]


def bm25_ranking(lexical: LexicalIndex, text: str, i: int, k: int = K, allowed: Sequence[int] | None = None) -> list[int]:
    """Keys of the ``k`` best BM25 matches of ``text`` (key ``i`` left out; only ``allowed`` keys if given)."""
    hits = lexical.query(query_stems(text), allowed).top(k + 1)
    return [key for key in hits if key != i][:k]


def run(embedder: Embedder, out: Path) -> str:
    notices = read_notices()
    by_id = {n.id: n for n in notices}
    with tempfile.TemporaryDirectory() as folder:
        services, keys = _store(embedder, Path(folder), notices)
        lexical = LexicalIndex()
        for i, notice in enumerate(notices):
            lexical.upsert(i, f"{notice.title}. {notice.description}")

        codes = [n.codes for n in notices]

        def cpv_only(i: int) -> list[str]:
            return [notices[j].id for j in cpv_ranking(codes, i)]

        def bm25(i: int) -> list[str]:
            notice = notices[i]
            return [notices[key].id for key in bm25_ranking(lexical, f"{notice.title}. {notice.description}", i)]

        def matcher(i: int, with_codes: bool) -> list[str]:
            n = notices[i]
            need = SimpleNamespace(
                title=n.title, description=n.description, cpv_codes=list(n.codes) if with_codes else [], country="NO", region=None
            )
            found = shortlists.needs_like(services, need, filters=ALL, k=K, exclude=[keys[n.id]])
            return [r.row.id for r in found]

        systems: dict[str, Callable[[int], list[str]]] = {
            "CPV only: overlap of the codes": cpv_only,
            "BM25 on the text": bm25,
            "matcher, codes hidden (meaning + words)": lambda i: matcher(i, False),
            "matcher, whole need (meaning + words + CPV)": lambda i: matcher(i, True),
        }
        rows = []
        for name, rank in systems.items():
            other, group, division, pooled = [], [], [], []
            for i, notice in enumerate(tqdm(notices, desc=name, unit="notice")):
                found = [by_id[found_id] for found_id in rank(i)]
                other.append(np.mean([f.buyer != notice.buyer for f in found]) if found else 0.0)
                group.append(np.mean([f.main[:3] == notice.main[:3] for f in found]) if found else 0.0)
                division.append(np.mean([f.main[:2] == notice.main[:2] for f in found]) if found else 0.0)
                pooled.append(sum(f.buyer != notice.buyer and f.main[:3] == notice.main[:3] for f in found))
            rows.append(
                [name, f"{np.mean(other):.3f}", f"{np.mean(group):.3f}", f"{np.mean(division):.3f}", f"{np.mean(pooled):.2f}"]
            )
        services.engine.dispose()
    buyers = len({n.buyer for n in notices})
    table = markdown_table(
        [
            "ranking",
            f"other buyer @{K}",
            f"same CPV group @{K}",
            f"same CPV division @{K}",
            f"other buyer and same group (of {K})",
        ],
        rows,
    )
    intro = (
        f"Model: {embedder.name}. {len(notices)} Doffin 2020 contract notices (form F02) of {buyers} buyers, each stored as "
        f"a need; each asks for its {K} most similar needs (itself left out, its buyer's other notices kept). The "
        "CPV-only ranking sees the codes the metric is computed from, so its CPV columns are an upper reference, "
        "not a fair competitor; the codes-hidden matcher sees only the text, as for a buyer's draft without codes."
    )
    return write_report(out, "Similar needs (demand pooling) on Doffin 2020", intro, table)
