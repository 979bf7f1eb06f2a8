"""Dated notices with their CPV codes, and the splits by date that CPV suggestion is judged on.

A buyer first types a short title; the service answers from the notices it already holds. So each
slice pairs queries (titles) with evidence (earlier notices, whole, with all their codes), and a
query may only be answered from notices published before it (``evidence_mask``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from bench.uk_awards import SHARED_DATA, UK_FILE
from matcher.cpv import CpvError, parse_cpv
from matcher.names import name_key

DOFFIN_FILE = SHARED_DATA / "doffin_notices_2020.json"
NEAR_REPEAT_TITLE = 0.8  # as bench/quality.py: a buyer's repeat notice is an easy, unrepresentative query


@dataclass(frozen=True)
class DatedNotice:
    id: str
    title: str
    description: str
    buyer: str
    codes: tuple[str, ...]  # the main code first
    published: dt.date

    @property
    def main(self) -> str:
        return self.codes[0]


@dataclass(frozen=True)
class TitleSlice:
    """Queries and evidence as positions in one list of notices. ``leave_one_out``: the queries are
    the evidence's own notices (a tuning slice), each answered from all the others."""

    name: str
    queries: tuple[int, ...]
    evidence: tuple[int, ...]
    leave_one_out: bool = False


def _code(raw: object) -> str | None:
    try:
        return parse_cpv(str(raw or ""))
    except CpvError:
        return None


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def read_doffin_dated(path: Path = DOFFIN_FILE) -> list[DatedNotice]:
    """Notices with a valid main code and a publication date; extra codes (``tilleggsCPV``) after it."""
    notices = []
    for position, row in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        main, published = _code(row.get("cpvnumber")), _date(row.get("kunngjoringsdato"))
        if main is None or published is None:
            continue
        extra = [_code(key) for entry in row.get("tilleggsCPV") or [] for key in entry]
        paragraphs = row.get("beskrivelse") or []
        body = " ".join(paragraphs) if isinstance(paragraphs, list) else str(paragraphs)
        codes = tuple(dict.fromkeys([main, *(c for c in extra if c)]))
        title = (row.get("tittel") or "").strip()
        notices.append(DatedNotice(f"doffin-{position}", title, body, row.get("oppdragsgiver") or "", codes, published))
    return notices


def read_uk_notices(path: Path = UK_FILE) -> list[DatedNotice]:
    """Every notice (awarded or not) with a code and a publication date; the first code is the main one."""
    notices = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            codes = tuple(dict.fromkeys(c for c in map(_code, (row.get("cpv_codes") or "").replace(",", " ").split()) if c))
            published = _date(row.get("published_date"))
            if not codes or published is None:
                continue
            title, description = (row.get("title") or "").strip(), (row.get("description") or "").strip()
            notices.append(DatedNotice(row["id"], title, description, (row.get("organisation") or "").strip(), codes, published))
    return notices


def date_split(
    notices: Sequence[DatedNotice], name: str, cut: dt.date, *, since: dt.date | None = None, until: dt.date | None = None
) -> TitleSlice:
    """Evidence: notices published in [since, cut); queries: those in [cut, until)."""
    evidence = [i for i, n in enumerate(notices) if n.published < cut and (since is None or n.published >= since)]
    queries = [i for i, n in enumerate(notices) if n.published >= cut and (until is None or n.published < until)]
    return TitleSlice(name, tuple(queries), tuple(evidence))


def leave_one_out(evidence: TitleSlice, name: str) -> TitleSlice:
    """The evidence's titles as queries against the rest of the evidence (for tuning)."""
    return TitleSlice(name, evidence.evidence, evidence.evidence, leave_one_out=True)


def evidence_mask(notices: Sequence[DatedNotice], split: TitleSlice) -> np.ndarray:
    """Which evidence (columns) may answer which query (rows): never the query's own notice, and in a
    split by date only notices published before the query."""
    query_ids = np.array([notices[i].id for i in split.queries], dtype=object)
    evidence_ids = np.array([notices[j].id for j in split.evidence], dtype=object)
    mask = query_ids[:, None] != evidence_ids[None, :]
    if not split.leave_one_out:
        query_days = np.array([notices[i].published.toordinal() for i in split.queries])
        evidence_days = np.array([notices[j].published.toordinal() for j in split.evidence])
        mask &= evidence_days[None, :] < query_days[:, None]
    return mask


def _title_key(notice: DatedNotice) -> str:
    return " ".join(name_key(notice.title).split())


def _buyer_key(notice: DatedNotice) -> str:
    words = [w for w in name_key(notice.buyer).split() if w not in {"borough", "city", "county", "council", "district"}]
    return " ".join(words[:2])


def without_near_repeats(notices: Sequence[DatedNotice], split: TitleSlice, name: str) -> TitleSlice:
    """The slice less the queries whose title nearly repeats an evidence notice's by the same buyer."""
    titles: dict[str, list[str]] = defaultdict(list)
    for j in split.evidence:
        titles[_buyer_key(notices[j])].append(_title_key(notices[j]))
    kept = [
        i
        for i in split.queries
        if not any(
            SequenceMatcher(None, _title_key(notices[i]), t).ratio() >= NEAR_REPEAT_TITLE for t in titles[_buyer_key(notices[i])]
        )
    ]
    return TitleSlice(name, tuple(kept), split.evidence, split.leave_one_out)
