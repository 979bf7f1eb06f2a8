"""Buyers who share a need: other buyers' needs ranked for a stored need or a draft, explained like a
shortlist; the buyer's own needs and closed ones left out unless asked (fake embedder; SQLite and
PostgreSQL)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from tests.builders import key_headers
from tests.web_forms import post_form, sign_in

MORE_NEEDS = [
    {
        "id": "oslo-falls",
        "title": "Fallsensorer i hjemmetjenesten",
        "description": "Oslo kommune ønsker fallsensorer som varsler hjemmetjenesten når eldre faller i eget hjem.",
        "buyer": "Oslo kommune",
        "cpv_codes": ["33196200"],
        "country": "NO",
        "status": "planning",
    },
    {
        "id": "bergen-falls-2",
        "title": "Fallsensorer, fase 2",
        "description": "Bergen kommune utvider med fallsensorer som varsler hjemmetjenesten ved fall hos eldre.",
        "buyer": "Bergen kommune",
        "cpv_codes": ["33196200"],
        "country": "NO",
        "status": "open",
    },
    {
        "id": "stavanger-falls-old",
        "title": "Fallalarm for eldre (avsluttet)",
        "description": "Stavanger kommune kjøpte fallsensorer som varsler hjemmetjenesten når eldre faller hjemme.",
        "buyer": "Stavanger kommune",
        "cpv_codes": ["33196200"],
        "country": "NO",
        "status": "closed",
    },
]


@pytest.fixture
def api(client: TestClient) -> TestClient:
    for need in MORE_NEEDS:
        assert client.post("/needs", json=need).status_code == 201
    return client


def _ids(answer: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["id"] for r in answer["results"]]


def test_other_buyers_needs_come_first_explained_without_the_buyers_own(api: TestClient) -> None:
    answer = api.get("/needs/need-1/similar", params={"k": 5}).json()
    assert answer["need"]["id"] == "need-1"
    found = _ids(answer)
    assert found[0] == "oslo-falls"
    assert "need-1" not in found and "bergen-falls-2" not in found  # Bergen's own needs
    assert "stavanger-falls-old" not in found  # closed
    best = answer["results"][0]
    assert best["score"] > 0 and best["explanation"]["summary"] and best["buyer"] == "Oslo kommune"


def test_closed_needs_only_when_asked(api: TestClient) -> None:
    assert "stavanger-falls-old" in _ids(api.get("/needs/need-1/similar", params={"include_closed": True}).json())


def test_a_draft_finds_other_buyers_needs_and_leaves_out_the_buyers_own(services: Services, api: TestClient) -> None:
    body = {"text": "Sensorer som varsler hemtjänsten när äldre faller i hemmet", "country": "SE", "k": 5}
    oslo = api.post("/needs/similar", json=body, headers=key_headers(services, "buyer", buyer="Oslo kommune")).json()
    assert "oslo-falls" not in _ids(oslo) and "need-1" in _ids(oslo)
    adviser = api.post("/needs/similar", json=body).json()
    assert "oslo-falls" in _ids(adviser)


def test_bad_requests_name_the_field_and_strangers_are_turned_away(services: Services, api: TestClient) -> None:
    refused = api.post("/needs/similar", json={"text": "fallsensorer", "filters": {"sizes": ["small"]}})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "filters", "sizes"]
    assert api.get("/needs/no-such-need/similar").status_code == 404
    with TestClient(create_app(services=services)) as anonymous:
        assert anonymous.get("/needs/need-1/similar").status_code == 401
        assert anonymous.post("/needs/similar", json={"text": "fallsensorer"}).status_code == 401


@pytest.fixture
def adviser_page(services: Services, api: TestClient) -> Iterator[TestClient]:
    from service.keys import create_key

    with TestClient(create_app(services=services)) as browser:
        sign_in(browser, create_key(services.engine, "adviser", label="Kari")[0])
        yield browser


def test_the_need_page_and_the_buyers_draft_show_other_buyers_with_the_need(
    services: Services, api: TestClient, adviser_page: TestClient
) -> None:
    page = adviser_page.get("/ui/needs/need-1").text
    similar = page.split('id="similar"', 1)[1]
    assert "Fallsensorer i hjemmetjenesten" in similar and "Fallsensorer, fase 2" not in similar
    from service.keys import create_key

    with TestClient(create_app(services=services)) as buyer:
        sign_in(buyer, create_key(services.engine, "buyer", buyer="Umeå kommun")[0])
        draft = {"title": "Fallsensorer", "description": "Sensorer som varsler hemtjänsten när äldre faller", "action": "check"}
        checked = post_form(buyer, "/ui/my/needs/new", "/ui/my/needs/new", draft).text
    assert (
        "Other buyers with this need" in checked
        and "Fallsensorer i hjemmetjenesten" in checked.split("Other buyers with this need", 1)[1]
    )
