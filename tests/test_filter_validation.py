"""Filters are validated once, the same way for every route, page and command (MatchFilters.build):
a wildcard or a country code no record can carry is refused with 422, never read as "everything" or
"nothing". The store matches prefixes literally even for filters built some other way."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from matcher.filters import MatchFilters
from service.container import Services
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as BUILT_SUPPLIERS

WILDCARDS = ["%", "_", "N_", "NO%", "NO08_"]


@pytest.mark.parametrize("region", WILDCARDS)
def test_a_wildcard_region_is_refused_on_both_shortlist_routes(client: TestClient, region: str) -> None:
    for path in ("/needs/need-1/shortlist", f"/suppliers/{BUILT_SUPPLIERS[0]['id']}/needs"):
        response = client.get(path, params={"region": region})
        assert response.status_code == 422, (path, response.text)
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["query", "filters"] and problem["msg"].startswith("region: ") and "NUTS" in problem["msg"]


@pytest.mark.parametrize("country", ["NOR", "XX", "N%", "_"])
def test_a_country_that_is_not_iso_3166_is_refused_on_every_route(client: TestClient, country: str) -> None:
    for path in ("/needs/need-1/shortlist", f"/suppliers/{BUILT_SUPPLIERS[0]['id']}/needs"):
        response = client.get(path, params={"country": country})
        assert response.status_code == 422 and "ISO 3166" in response.text, (path, response.text)
    assert client.post("/match", json={"text": "fallsensor", "filters": {"countries": [country]}}).status_code == 422


def test_a_cpv_prefix_must_be_digits_on_every_route(client: TestClient) -> None:
    for cpv in ("3%", "33_", "٣٣"):
        response = client.get("/needs/need-1/shortlist", params={"cpv": cpv})
        assert response.status_code == 422 and "cpv: " in response.json()["detail"][0]["msg"], response.text


def test_valid_filters_still_work_and_eu_codes_are_understood(client: TestClient) -> None:
    shortlist = client.get("/needs/need-1/shortlist", params={"region": "no08", "country": "NO"})
    assert shortlist.status_code == 200 and [r["id"] for r in shortlist.json()["results"]] == [BUILT_SUPPLIERS[0]["id"]]
    british = client.get("/needs/need-1/shortlist", params={"country": "UK"})
    assert [r["id"] for r in british.json()["results"]] == ["GB-COH-10000003"]


@pytest.mark.parametrize("region", WILDCARDS)
def test_the_search_page_refuses_a_wildcard_region(client: TestClient, region: str) -> None:
    page = client.get("/", params={"q": "fallsensorer", "regions": region})
    assert page.status_code == 422 and "Please check the search" in page.text and "Trygghetssensor" not in page.text


def test_the_search_page_refuses_a_country_that_is_not_iso_3166(client: TestClient) -> None:
    page = client.get("/", params={"q": "fallsensorer", "countries": "NOR"})
    assert page.status_code == 422 and "ISO 3166" in page.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("regions", "%"), ("regions", "N_"), ("regions", "NO0812"), ("countries", "NOR"), ("countries", "XX"), ("cpv", "3_")],
)
def test_build_names_the_field_and_the_value(field: str, value: str) -> None:
    name = {"regions": "region", "countries": "country", "cpv": "cpv"}[field]
    with pytest.raises(ValueError, match=rf"^{name}: '{value}'"):
        MatchFilters.build(**{field: [value]})


def test_build_normalises_case_and_the_eus_country_codes() -> None:
    built = MatchFilters.build(countries=["uk", "EL", "no", " "], regions=[" se23 ", ""], cpv=["33196200-2"])
    assert (built.countries, built.regions, built.cpv_prefixes) == (("GB", "GR", "NO"), ("SE23",), ("331962",))


def test_the_store_matches_region_and_cpv_prefixes_literally(services: Services) -> None:
    """Defence in depth: a filter built without MatchFilters.build never becomes a LIKE pattern."""
    rows = {
        "plain": {"region": "NO081", "cpv_codes": ["33196200"]},
        "underscore": {"region": "N_081", "cpv_codes": ["3_196200"]},
        "percent": {"region": "%0A", "cpv_codes": ["3%196200"]},
    }
    keys = {}
    with session_scope(services.engine) as session:
        for name, values in rows.items():
            row, _status = repository.upsert(session, SUPPLIERS, {"id": f"X-{name}", "description": name, **values})
            keys[name] = row.key

    def matching(**filters: tuple[str, ...]) -> set[str]:
        with Session(services.engine) as session:
            allowed = repository.allowed_keys(session, SUPPLIERS, MatchFilters(**filters)) or []
        return {name for name, key in keys.items() if key in allowed}

    assert matching(regions=("N_",)) == {"underscore"}
    assert matching(regions=("%",)) == {"percent"}
    assert matching(regions=("NO0",)) == {"plain"}
    assert matching(cpv_prefixes=("3_",)) == {"underscore"}
    assert matching(cpv_prefixes=("3%",)) == {"percent"}
    assert matching(cpv_prefixes=("331",)) == {"plain"}
