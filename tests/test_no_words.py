"""Free text with nothing to match on, and NUL characters (issue 12, item 6).

A query of only spaces, NUL characters or emoji used to get an arbitrary shortlist; a NUL inside
otherwise fine text was a 500 on PostgreSQL (it refuses NUL in text) and stored silently on SQLite.
Runs on SQLite and, when configured, PostgreSQL.
"""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from service.container import Services
from service.ocds_import import import_ocds
from store import repository
from store.repository import NEEDS, SUPPLIERS

NO_WORDS = ["   ", "\u0000\u0000\u0000", "🙂🙂🙂🙂", "— … !? ___", "\t\n\r\u200b\u00a0"]
OCDS = Path(__file__).parent / "fixtures" / "ocds"


def _problems(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The last element of each problem's loc, with its reason."""
    assert response.status_code == 422, response.text
    return {str(p["loc"][-1]) if p["loc"] else "": p["msg"] for p in response.json()["detail"]}


@pytest.mark.parametrize("text", NO_WORDS)
def test_a_text_without_letters_or_digits_has_no_words(text: str) -> None:
    from matcher.analysis import has_words

    assert not has_words(text)


@pytest.mark.parametrize("text", ["x", "5G", "ø", "снегоуборщик", "除雪机", "χιόνι", "🙂 snow 🙂", "a\u0000b"])
def test_a_letter_or_digit_in_any_script_is_a_word(text: str) -> None:
    from matcher.analysis import has_words

    assert has_words(text)


@pytest.mark.parametrize("text", NO_WORDS)
def test_match_refuses_text_with_no_words(client: TestClient, text: str) -> None:
    assert _problems(client.post("/match", json={"text": text})) == {"text": "no words to match on"}
    assert _problems(client.post("/cpv/suggest", json={"text": text})) == {"text": "no words to match on"}


def test_match_still_takes_text_with_words_among_symbols(client: TestClient) -> None:
    response = client.post("/match", json={"text": "🙂 fallsensorer \u0000 🙂", "k": 1})
    assert response.status_code == 200 and response.json()["results"][0]["name"] == "Trygghetssensor AS"


def test_search_page_refuses_text_with_no_words_and_keeps_the_form(client: TestClient) -> None:
    page = client.get("/", params={"q": "🙂🙂🙂🙂"})
    assert page.status_code == 422 and "no words to match on" in page.text
    assert "🙂🙂🙂🙂</textarea>" in page.text and "Trygghetssensor" not in page.text
    assert client.get("/", params={"q": ""}).status_code == 200, "the empty form is not an error"


def test_a_supplier_or_need_with_no_words_is_refused(client: TestClient) -> None:
    assert _problems(client.post("/suppliers", json={"id": "X-1", "description": "🙂🙂🙂"})) == {
        "description": "no words to match on"
    }
    assert "no words to match on" in client.post("/needs", json={"id": "n-x", "title": "!!!", "description": "   "}).text
    assert client.post("/needs", json={"id": "n-y", "title": "🙂", "description": "Snow clearing"}).status_code == 201
    assert "no words to match on" in client.patch("/suppliers/SE-BLV-5500000002", json={"description": "…"}).text


def test_nul_characters_are_refused_with_the_field(client: TestClient) -> None:
    nul = "We clean\u0000 schools."
    assert _problems(client.post("/suppliers", json={"id": "X-1", "description": nul})) == {
        "description": "must not contain NUL characters"
    }
    assert "name" in _problems(client.post("/suppliers", json={"id": "X-2", "name": "A\u0000B", "description": "Cleaning."}))
    email = {"id": "X-3", "contact_email": "a\u0000@b.se", "description": "Cleaning."}
    assert "contact_email" in _problems(client.post("/suppliers", json=email))
    assert "title" in _problems(client.post("/needs", json={"id": "n-x", "title": "Snow\u0000 clearing"}))
    assert "notes" in _problems(client.patch("/suppliers/SE-BLV-5500000002", json={"notes": "x\u0000y"}))
    imported = client.post("/suppliers/import", content=json.dumps({"id": "X-5", "description": nul}) + "\n")
    assert imported.status_code == 422 and imported.json()["detail"][0]["line"] == 1
    assert client.get("/suppliers/X-1").status_code == 404


def test_an_id_with_a_nul_is_simply_not_found(client: TestClient) -> None:
    assert client.get("/suppliers/a%00b").status_code == 404
    assert client.get("/needs/a%00b").status_code == 404


def _with_nul_in_every_string(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        return {k: _with_nul_in_every_string(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_nul_in_every_string(v) for v in value]
    return value[:1] + "\u0000" + value[1:] if isinstance(value, str) else value


def test_a_publishers_stray_nul_is_dropped_from_an_ocds_import(services: Services) -> None:
    clean = json.loads((OCDS / "release_package.json").read_text(encoding="utf-8"))
    poisoned = json.dumps(_with_nul_in_every_string(clean))
    assert "\\u0000" in poisoned
    report = import_ocds(services, poisoned)
    assert report.suppliers_created > 0
    with Session(services.engine) as session:
        suppliers, _ = repository.list_page(session, SUPPLIERS, offset=0, limit=100)
        needs, _ = repository.list_page(session, NEEDS, offset=0, limit=100)
        evidence = repository.evidence_for(session, [s.key for s in suppliers])
    stored = [*suppliers, *needs, *(e for items in evidence.values() for e in items)]
    assert evidence, "the awards were kept as evidence"
    assert stored and not any("\x00" in str(v) for row in stored for v in row.model_dump().values())


def test_an_ocds_tender_with_no_words_is_no_need_and_does_not_block_the_file(services: Services) -> None:
    package = json.loads((OCDS / "release_package.json").read_text(encoding="utf-8"))
    planning = package["releases"][0]
    planning["tender"]["title"], planning["tender"]["description"] = "—", "***"
    report = import_ocds(services, json.dumps(package))
    assert report.suppliers_created > 0 and report.needs_created == 0
    with Session(services.engine) as session:
        assert repository.get(session, NEEDS, "ocds-b5fd17-bergen-2025-0042") is None


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    from service.ocds_reader import _without_nul

    assert json.loads(_without_nul(r'"a\\u0000b"')) == "a\\u0000b"
    assert json.loads(_without_nul(r'"a\\\u0000b"')) == "a\\b"


@pytest.mark.parametrize("command", [["match", "   "], ["cpv", "suggest", "🙂🙂🙂"]])
def test_the_command_line_refuses_text_with_no_words(home: Path, command: list[str]) -> None:
    from api.cli import app

    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2 and "no words to match on" in result.output
