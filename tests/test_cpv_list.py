"""The official CPV 2008 list ships with the service: a fresh install, with no MATCHMAKER_CPV_FILE,
accepts every official code with its official check digit and labels each code with its own name."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from matcher.cpv import rule_check_digit
from service.container import Services, open_services
from service.reference import CPV_LIST_FILE, load_catalog
from service.settings import Settings
from service.writes import normalise_cpv
from tests.builders import key_headers
from tests.fakes import HashingEmbedder
from tools.build_cpv_list import SOURCE, cpv_rows, csv_text


@pytest.fixture
def fresh(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """The service as a fresh install opens it: no CPV file configured anywhere."""
    monkeypatch.delenv("MATCHMAKER_CPV_FILE", raising=False)
    fresh_settings = Settings(home=settings.home, database_url=settings.database_url)
    assert fresh_settings.cpv_file is None
    opened = open_services(fresh_settings, embedder=HashingEmbedder())
    yield opened
    opened.engine.dispose()


def test_the_shipped_list_is_what_the_script_generates_from_the_source() -> None:
    if not SOURCE.exists():
        pytest.skip(f"{SOURCE} is absent (the list's source lives beside the project)")
    shipped = gzip.decompress(CPV_LIST_FILE.read_bytes()).decode("utf-8")
    assert shipped == csv_text(cpv_rows(SOURCE)), "run `python -m tools.build_cpv_list` and commit data/cpv_2008.csv.gz"


def test_every_official_code_and_its_check_digit_is_known_without_configuration() -> None:
    catalog = load_catalog()
    assert catalog.check_digits is not None and len(catalog.check_digits) == 9454
    legacy = [code for code, check in catalog.check_digits.items() if int(check) != rule_check_digit(code)]
    assert len(legacy) == 532, "the codes the mod-10 rule gets wrong"
    assert "03311000" in legacy and catalog.check_digits["03311000"] == "2"  # Fish
    assert normalise_cpv([f"{code}-{catalog.check_digits[code]}" for code in legacy], catalog) == legacy


def test_exact_codes_have_their_own_label_in_each_language_with_norwegian_division_labels_on_top() -> None:
    catalog = load_catalog()
    assert catalog.label("79111000") == "Legal advisory services"
    assert catalog.label("03311000", "sv") == "Fisk"
    assert catalog.label("79111000", "no") == catalog.labels["79111000"]["da"], "Norwegian falls back to Danish"
    assert catalog.label("45000000", "no") == "Bygg- og anleggsarbeid", "the hand-written Norwegian division label"


def test_a_fresh_install_accepts_fish_and_explains_legal_advice_by_its_name(fresh: Services) -> None:
    with TestClient(create_app(services=fresh), headers=key_headers(fresh)) as client:
        fish = {"id": "NO-BRC-900000077", "description": "Fersk fisk levert til storkjøkken.", "cpv_codes": ["03311000-2"]}
        created = client.post("/suppliers", json=fish)
        assert created.status_code == 201, created.text
        assert created.json()["cpv_codes"] == ["03311000"]
        lawyers = {
            "id": "SE-BLV-5500000078",
            "description": "Juridisk rådgivning i offentlig upphandling.",
            "cpv_codes": ["79111000"],
        }
        assert client.post("/suppliers", json=lawyers).status_code == 201
        found = client.post("/match", json={"text": "legal advice on public procurement", "cpv_codes": ["79111000"]})
        assert found.status_code == 200, found.text
        shared = next(r for r in found.json()["results"] if r["id"] == lawyers["id"])["explanation"]["shared_cpv"]
        assert [(s["shared_code"], s["label"]) for s in shared] == [("79111000", "Legal advisory services")]


def test_a_configured_file_still_replaces_the_shipped_list(tmp_path: Path) -> None:
    own = tmp_path / "own.csv"
    own.write_text("code,code_with_check,en\n03311000,03311000-7,Our fish\n", encoding="utf-8")
    catalog = load_catalog(own)
    assert catalog.label("03311000") == "Our fish" and catalog.check_digits == {"03311000": "7"}
