"""A supplier's private description is matched on, but is evidence for nothing a reader sees: not for
CPV suggestions, and not for an explanation that would cite an unrelated public sentence as the reason
(fake embedder; SQLite and PostgreSQL)."""

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from matcher.explain import PRIVATE_MATCH_NOTE, cite
from service.container import Services
from tests.builders import key_headers

LOCKS = {
    "id": "NO-LOCK-1",
    "name": "Låsløs AS",
    "description": "Digitale dørlåser for hjemmetjenesten. Ansatte åpner døren med mobilen.",
    "cpv_codes": ["44521000"],
    "country": "NO",
    "private_description": "Snow clearing robots autonomous ploughs for municipal pavements.",
}
SNOW_QUERY = "autonomous snow clearing robots ploughs for municipal pavements"


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        assert c.post("/suppliers", json=LOCKS).status_code == 201
        yield c


def test_cpv_suggestions_take_no_evidence_from_private_text(services: Services, client: TestClient) -> None:
    supplier = key_headers(services, "supplier", supplier_id="NO-LOCK-1")
    for headers in (supplier, key_headers(services, "buyer", buyer="Oslo kommune"), {}):
        asked = client.post("/cpv/suggest", json={"text": SNOW_QUERY, "k": 20}, headers=headers or None)
        codes = {s["code"] for s in asked.json()["suggestions"]}
        assert asked.status_code == 200 and not {c for c in codes if c.startswith("4452")}, codes
    public_twin = {**LOCKS, "id": "NO-SNOW-1", "name": "Brøyt AS", "description": LOCKS["private_description"]}
    del public_twin["private_description"]
    assert client.post("/suppliers", json=public_twin).status_code == 201
    codes = {s["code"] for s in client.post("/cpv/suggest", json={"text": SNOW_QUERY, "k": 20}).json()["suggestions"]}
    assert "44521000" in codes  # the same text in public is fair evidence


def test_a_match_resting_on_private_text_cites_no_public_sentence(services: Services, client: TestClient) -> None:
    buyer = key_headers(services, "buyer", buyer="Oslo kommune")
    adviser_view = client.post("/match", json={"text": SNOW_QUERY, "k": 1}).json()["results"][0]
    buyer_view = client.post("/match", json={"text": SNOW_QUERY, "k": 1}, headers=buyer).json()["results"][0]
    for seen in (adviser_view, buyer_view):
        assert seen["id"] == "NO-LOCK-1" and seen["explanation"]["best_sentence"] is None  # ranked on its private text
        assert "4452" not in str(seen["explanation"]["shared_cpv"])  # no suggested code from it either
    assert adviser_view["explanation"]["note"] == PRIVATE_MATCH_NOTE
    assert buyer_view["explanation"]["note"] is None
    page = client.get("/", params={"q": SNOW_QUERY, "k": 1}).text
    assert "shared privately with advisers" in page and "Ansatte åpner" not in page
    public = client.post("/match", json={"text": "digitale dørlåser hjemmetjenesten mobilen", "k": 1}).json()["results"][0]
    assert public["explanation"]["best_sentence"].startswith("Digitale dørlåser") and public["explanation"]["note"] is None


def test_a_public_sentence_close_to_the_private_one_is_still_cited() -> None:
    query = np.array([1.0, 0.0, 0.0])
    vectors = np.array([[0.80, 0.6, 0.0], [0.83, 0.0, 0.557], [0.1, 0.99, 0.0]])
    near = cite(query, ["public", "", "other"], vectors, [False, True, False])
    assert near.sentence == "public" and not near.private_match
    vectors[1] = [0.99, 0.0, 0.14]  # private passage far ahead of every public one
    far = cite(query, ["public", "", "other"], vectors, [False, True, False])
    assert far.sentence is None and far.private_match
