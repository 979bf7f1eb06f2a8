"""Synthetic supplier profiles for the speed benchmark: importable by the service as they are, varied,
multilingual and reproducible."""

import json
from collections import Counter
from typing import Any

import pytest

from bench.profile_generator import generate_profiles
from matcher.analysis import detect_language
from service.reference import load_catalog
from service.writes import parse_jsonl
from store.repository import SUPPLIERS
from tests.conftest import SHARED_DATA

OFFICIAL_CPV = SHARED_DATA / "cpv_labels_en_da_sv.csv"


@pytest.fixture(scope="module")
def profiles() -> list[dict[str, Any]]:
    return generate_profiles(500, seed=7)


@pytest.mark.parametrize("official", [False, True], ids=["shipped-cpv-list", "cpv-file-from-shared-data"])
def test_every_profile_passes_the_import_validation(profiles: list[dict[str, Any]], official: bool) -> None:
    if official and not OFFICIAL_CPV.exists():
        pytest.skip(f"{OFFICIAL_CPV} is absent")
    lines = [json.dumps(record, ensure_ascii=False) for record in profiles]
    assert len(parse_jsonl(lines, SUPPLIERS, load_catalog(OFFICIAL_CPV if official else None))) == 500


def test_ids_and_names_are_unique(profiles: list[dict[str, Any]]) -> None:
    assert len({r["id"] for r in profiles}) == len({r["name"] for r in profiles}) == 500


def test_same_seed_same_profiles_other_seed_other_profiles(profiles: list[dict[str, Any]]) -> None:
    assert generate_profiles(500, seed=7) == profiles
    other = generate_profiles(500, seed=8)
    assert sum(a["description"] == b["description"] for a, b in zip(profiles, other, strict=True)) < 10


def test_three_languages_each_written_where_it_is_spoken(profiles: list[dict[str, Any]]) -> None:
    languages = [detect_language(r["description"]) for r in profiles]
    shares = Counter(languages)
    assert all(shares[lang] >= 0.15 * len(profiles) for lang in ("sv", "no", "en")), shares
    home = {"sv": "SE", "no": "NO"}
    misplaced = [r["id"] for r, lang in zip(profiles, languages, strict=True) if lang in home and r["country"] != home[lang]]
    assert len(misplaced) <= 0.03 * len(profiles), misplaced


def test_profiles_vary_in_length_codes_size_and_reach(profiles: list[dict[str, Any]]) -> None:
    lengths = [len(r["description"]) for r in profiles]
    assert min(lengths) < 200 and max(lengths) > 600
    assert {len(r["cpv_codes"]) for r in profiles} == {1, 2, 3, 4}
    assert {r["size"] for r in profiles} == {"micro", "small", "medium", "large"}
    assert any(len(r["operating_countries"]) == 2 for r in profiles)
    assert {r["country"] for r in profiles} == {"NO", "SE", "GB", "DK", "FI"}


def test_descriptions_are_recombined_not_copied(profiles: list[dict[str, Any]]) -> None:
    repeats = sum(count - 1 for count in Counter(r["description"] for r in profiles).values())
    assert repeats < 0.01 * len(profiles)


def test_twenty_thousand_profiles() -> None:
    records = generate_profiles(20_000, seed=1)
    assert len(records) == len({r["id"] for r in records}) == 20_000
