"""The sample data is what a fresh `make run` serves: it must pass the service's own validation and
cover what the issue asks (sizes, languages, divisions, countries)."""

import json
from collections import Counter

import pytest

from bench.sample_data import DATA, read_jsonl, relevance_judgements
from matcher.analysis import detect_language
from service.reference import division_catalog, load_catalog
from service.writes import parse_jsonl
from store.repository import NEEDS, SUPPLIERS
from tests.conftest import SHARED_DATA

OFFICIAL_CPV = SHARED_DATA / "cpv_labels_en_da_sv.csv"


@pytest.mark.parametrize("official", [False, True], ids=["shipped-cpv-list", "cpv-file-from-shared-data"])
def test_every_record_passes_validation(official: bool) -> None:
    """With the CPV list the service ships, and with the source file it was generated from configured instead."""
    if official and not OFFICIAL_CPV.exists():
        pytest.skip(f"{OFFICIAL_CPV} is absent")
    catalog = load_catalog(OFFICIAL_CPV if official else None)
    for name, kind in (("suppliers.jsonl", SUPPLIERS), ("needs.jsonl", NEEDS)):
        with (DATA / name).open(encoding="utf-8") as handle:
            assert parse_jsonl(handle, kind, catalog)


def test_sample_is_large_varied_and_multilingual() -> None:
    suppliers, needs = read_jsonl(DATA / "suppliers.jsonl"), read_jsonl(DATA / "needs.jsonl")
    assert len(suppliers) >= 300 and len(needs) >= 60
    divisions = {code[:2] for row in suppliers + needs for code in row["cpv_codes"]}
    assert len(divisions) >= 15
    for rows in (suppliers, needs):
        languages = Counter(detect_language(r["description"]) for r in rows)
        assert min(languages[lang] for lang in ("sv", "no", "en")) >= len(rows) // 10, languages
    assert sum({"NO", "SE"} <= set(r.get("operating_countries") or []) for r in suppliers) >= 20
    assert {r["size"] for r in suppliers} == {"micro", "small", "medium", "large"}
    assert all(r.get("region") for r in suppliers)


def test_relevance_judgements_refer_to_real_records() -> None:
    suppliers = {r["id"] for r in read_jsonl(DATA / "suppliers.jsonl")}
    needs = {r["id"] for r in read_jsonl(DATA / "needs.jsonl")}
    judgements = relevance_judgements()
    assert set(judgements) == needs
    assert all(relevant and relevant <= suppliers for relevant in judgements.values())


def test_division_labels_cover_all_45_divisions_in_three_languages() -> None:
    raw = json.loads((DATA / "cpv_divisions.json").read_text(encoding="utf-8"))
    assert len(raw) == 45
    assert all(set(labels) == {"en", "sv", "no"} and all(labels.values()) for labels in raw.values())
    assert division_catalog().label("45210000", "no") == raw["45"]["no"]
