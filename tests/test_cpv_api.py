"""CPV suggestions over HTTP, with the fake embedder and the division labels."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from tests.builders import NEEDS, SUPPLIERS, key_headers


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        for supplier in SUPPLIERS:
            c.post("/suppliers", json=supplier)
        for need in NEEDS:
            c.post("/needs", json=need)
        yield c


def test_suggestions_come_with_labels_and_confidences(client: TestClient) -> None:
    response = client.post("/cpv/suggest", json={"text": "snöröjning med eldrivna maskiner för kommunen", "k": 3})
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert len(suggestions) == 3
    assert suggestions[0]["code"] == "90620000", "the stored need and supplier doing snow clearing vote for it"
    assert suggestions[0]["label"] and 0 < suggestions[0]["confidence"] <= 1
    assert [s["confidence"] for s in suggestions] == sorted((s["confidence"] for s in suggestions), reverse=True)


def test_bad_requests_name_the_field(client: TestClient) -> None:
    response = client.post("/cpv/suggest", json={"text": "x", "k": 50})
    assert response.status_code == 422
    assert {tuple(e["loc"])[-1] for e in response.json()["detail"]} == {"text", "k"}


def test_a_need_without_codes_is_matched_with_clear_suggestions_marked_as_such(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A suggested code must not be against the labels (service/cpv_suggestions.py), but the hashing embedder's
    # label similarities are noise (64 dimensions, 28,000 labels): the snow-clearing label gets the lead a real
    # model gives it for this text.
    scores = services.cpv_labels.scores
    monkeypatch.setattr(services.cpv_labels, "scores", lambda vector, n=50: {**scores(vector, n), "90620000": 0.85})
    results = client.post("/match", json={"text": "snöröjning med eldrivna maskiner för kommunen", "k": 1}).json()["results"]
    shared = results[0]["explanation"]["shared_cpv"]
    assert shared and shared[0]["suggested"] is True and shared[0]["query_code"] == "90620000"
    assert "(suggested)" in results[0]["explanation"]["summary"]
    given = client.post("/match", json={"text": "snöröjning", "cpv_codes": ["90620000"], "k": 1}).json()["results"]
    assert given[0]["explanation"]["shared_cpv"][0]["suggested"] is False
