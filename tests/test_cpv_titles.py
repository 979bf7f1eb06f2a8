"""The title benchmark's split by date (bench/cpv_notices.py, bench/cpv_evidence.py): a query is only ever
answered from notices published before it, never from itself; tiny synthetic notices, no model."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from bench.cpv_evidence import CorpusVectors, slice_evidence
from bench.cpv_notices import (
    DatedNotice,
    TitleSlice,
    date_split,
    evidence_mask,
    leave_one_out,
    read_doffin_dated,
    read_uk_notices,
    without_near_repeats,
)
from indexer.cpv_labels import CpvLabelIndex


def _notice(key: str, day: str, code: str, title: str = "", buyer: str = "Preston City Council") -> DatedNotice:
    return DatedNotice(key, title or f"notice {key}", "", buyer, (code,), dt.date.fromisoformat(day))


NOTICES = [
    _notice("a", "2022-06-01", "45233141"),
    _notice("b", "2022-12-31", "79111000"),
    _notice("c", "2023-01-01", "90620000"),  # the cut day itself is a query, not evidence
    _notice("d", "2023-03-01", "33100000"),
    _notice("e", "2021-01-01", "72000000"),
]


def test_evidence_is_published_before_the_cut_and_queries_on_or_after_it() -> None:
    split = date_split(NOTICES, "t", dt.date(2023, 1, 1))
    assert [NOTICES[i].id for i in split.evidence] == ["a", "b", "e"]
    assert [NOTICES[i].id for i in split.queries] == ["c", "d"]
    tuning = date_split(NOTICES, "t", dt.date(2022, 1, 1), until=dt.date(2023, 1, 1))
    assert [NOTICES[i].id for i in tuning.evidence] == ["e"] and [NOTICES[i].id for i in tuning.queries] == ["a", "b"]


def test_no_query_is_answered_from_itself_or_from_a_later_notice() -> None:
    # a slice that (wrongly) offers every notice as evidence: the mask still keeps only the earlier ones
    everything = TitleSlice("all", tuple(range(len(NOTICES))), tuple(range(len(NOTICES))))
    mask = evidence_mask(NOTICES, everything)
    for row, i in enumerate(everything.queries):
        allowed = {NOTICES[j].id for column, j in enumerate(everything.evidence) if mask[row, column]}
        assert allowed == {n.id for n in NOTICES if n.published < NOTICES[i].published}
    assert not mask.diagonal().any()


def test_leave_one_out_leaves_out_only_the_query_itself() -> None:
    evidence = date_split(NOTICES, "t", dt.date(2023, 1, 1))
    mask = evidence_mask(NOTICES, leave_one_out(evidence, "loo"))
    assert mask.tolist() == [[False, True, True], [True, False, True], [True, True, False]]


def test_the_nearest_notices_of_a_query_are_earlier_ones_even_when_a_later_one_is_closest() -> None:
    """Notice d's vector is the very title of c, and c's own stored vector equals its title's: neither
    may be c's evidence; the earlier notices answer it, in order of similarity."""
    everything = TitleSlice("all", (2,), (0, 1, 2, 3))
    basis = np.eye(4, dtype=np.float32)
    titles = np.stack([basis[0], basis[1], basis[2], basis[3], basis[0]])
    stored = {0: 0.6 * basis[2] + 0.8 * basis[0], 1: 0.3 * basis[2] + 0.95 * basis[1], 2: basis[2], 3: basis[2]}
    labels = CpvLabelIndex(np.array(["90620000", "45000000"]), np.stack([basis[2], basis[0]]))
    (answer,) = slice_evidence(NOTICES, everything, CorpusVectors(titles, stored), labels)
    assert answer.truth == "90620000"
    assert [n.codes for n in answer.nearest] == [("45233141",), ("79111000",)]
    assert next(iter(answer.label_scores)) == "90620000"


def test_near_repeats_of_the_same_buyers_earlier_notice_are_left_out() -> None:
    notices = [
        _notice("old", "2022-01-01", "90620000", "Winter gritting services 2022"),
        _notice("repeat", "2023-01-05", "90620000", "Winter gritting services 2023"),
        _notice("other buyer", "2023-01-06", "90620000", "Winter gritting services 2023", buyer="Chorley Council"),
        _notice("new", "2023-01-07", "79111000", "Legal advice on a land sale"),
    ]
    split = date_split(notices, "t", dt.date(2023, 1, 1))
    assert [notices[i].id for i in without_near_repeats(notices, split, "c").queries] == ["other buyer", "new"]


def test_readers_keep_the_main_code_first_and_skip_notices_without_one(tmp_path: Path) -> None:
    doffin = tmp_path / "doffin.json"
    rows = [
        {"tittel": "Brøyting", "beskrivelse": ["Brøyting av veier."], "cpvnumber": "90620000", "kunngjoringsdato": "2020-10-01"},
        {"tittel": "Møbler", "cpvnumber": "39100000", "kunngjoringsdato": "2020-10-02", "tilleggsCPV": [{"39110000": "x"}]},
        {"tittel": "Ugyldig", "cpvnumber": "123", "kunngjoringsdato": "2020-10-03"},
    ]
    doffin.write_text(json.dumps(rows), encoding="utf-8")
    read = read_doffin_dated(doffin)
    assert [(n.title, n.codes, n.published) for n in read] == [
        ("Brøyting", ("90620000",), dt.date(2020, 10, 1)),
        ("Møbler", ("39100000", "39110000"), dt.date(2020, 10, 2)),
    ]
    uk = tmp_path / "uk.jsonl"
    lines = [
        {"id": "1", "title": "Gritting", "cpv_codes": "90620000 90610000", "published_date": "2023-02-01T00:00:00"},
        {"id": "2", "title": "No code", "cpv_codes": "", "published_date": "2023-02-01"},
    ]
    uk.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    assert [(n.id, n.main, n.codes) for n in read_uk_notices(uk)] == [("1", "90620000", ("90620000", "90610000"))]
