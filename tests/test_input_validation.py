"""Records that cannot be right are refused with 422, the field and the reason: countries that are
not ISO 3166 codes, CPV codes that are not in the CPV list, a need whose deadline precedes its
publication. The EU's own country codes (UK, EL) are understood and stored in ISO form."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from matcher.countries import ISO_3166_ALPHA2, country_code
from service.container import Services
from service.ocds_import import import_ocds
from service.ocds_reader import country_of
from store import repository
from store.repository import NEEDS
from tests.test_api import problem


def _supplier(**fields: object) -> dict[str, object]:
    return {"id": "DK-CVR-30000009", "description": "Refurbished office furniture for public offices.", **fields}


def _need(**fields: object) -> dict[str, object]:
    return {"id": "need-dated", "title": "Refurbished furniture", "description": "Kontorsmöbler som renoveras.", **fields}


def test_a_country_that_is_not_iso_3166_is_refused_with_the_reason(client: TestClient) -> None:
    msg = problem(client.post("/suppliers", json=_supplier(country="XX")), "country")
    assert "'XX' is not an ISO 3166-1 alpha-2 country code" in msg
    assert "ISO 3166" in problem(
        client.post("/suppliers", json=_supplier(operating_countries=["SE", "XX"])), "operating_countries"
    )
    assert "ISO 3166" in problem(client.post("/needs", json=_need(country="XX")), "country")
    assert "ISO 3166" in problem(client.patch("/suppliers/GB-COH-10000003", json={"country": "QQ"}), "country")
    assert "ISO 3166" in problem(client.post("/match", json={"text": "fall sensors", "country": "XX"}), "country")


def test_the_eus_uk_and_el_are_stored_as_gb_and_gr(client: TestClient) -> None:
    created = client.post("/suppliers", json=_supplier(country="uk", operating_countries=["EL", "NO"]))
    assert created.status_code == 201, created.text
    assert (created.json()["country"], created.json()["operating_countries"]) == ("GB", ["GR", "NO"])


def test_a_cpv_code_missing_from_the_cpv_list_is_refused_for_suppliers_and_needs(client: TestClient) -> None:
    msg = problem(client.post("/suppliers", json=_supplier(cpv_codes=["33196200", "99999999"])), "cpv_codes")
    assert "'99999999' is not in the official CPV code list" in msg
    assert "not in the official CPV code list" in problem(client.post("/needs", json=_need(cpv_codes=["99999999"])), "cpv_codes")
    refused = client.post("/suppliers", json=_supplier(cpv_codes=["99999999"]))
    assert [item["loc"] for item in refused.json()["detail"]] == [["cpv_codes", 0]]


def test_a_deadline_before_publication_is_refused_naming_both_dates(client: TestClient) -> None:
    msg = problem(client.post("/needs", json=_need(published="2026-09-01", deadline="2026-08-01")), "deadline")
    assert "deadline 2026-08-01 is before the publication date 2026-09-01" in msg
    assert client.post("/needs", json=_need(published="2026-09-01", deadline="2026-09-01")).status_code == 201
    assert "before the publication date" in problem(
        client.patch("/needs/need-dated", json={"deadline": "2026-01-01"}), "deadline"
    )
    assert client.get("/needs/need-dated").json()["deadline"] == "2026-09-01"


def test_jsonl_import_names_the_line_of_each_bad_record(client: TestClient) -> None:
    lines = [
        json.dumps(_supplier(id="DK-CVR-1", country="XX")),
        json.dumps(_supplier(id="DK-CVR-2", cpv_codes=["99999999"])),
    ]
    refused = client.post("/suppliers/import", content="\n".join(lines))
    assert refused.status_code == 422
    assert {(item["line"], item["loc"][0]) for item in refused.json()["detail"]} == {(1, "country"), (2, "cpv_codes")}


@pytest.mark.parametrize("raw", ["XX", "NOR", "N", "", "ıE", "EU", "UK\n1"])
def test_country_code_refuses_what_iso_does_not_assign(raw: str) -> None:
    with pytest.raises(ValueError, match="ISO 3166-1 alpha-2"):
        country_code(raw)


def test_the_iso_list_is_complete_and_aliases_map_into_it() -> None:
    assert len(ISO_3166_ALPHA2) == 249 and {"NO", "SE", "GB", "DK", "FI", "GR", "XK"} - ISO_3166_ALPHA2 == {"XK"}
    assert [country_code(c) for c in ("no", " se ", "UK", "el")] == ["NO", "SE", "GB", "GR"]


def test_ocds_parties_with_unknown_country_codes_keep_no_country() -> None:
    assert [country_of({"country": c}) for c in ("XX", "UK", "el", "se")] == [None, "GB", "GR", "SE"]
    assert country_of({"country": "XX", "countryName": "Norway"}) == "NO"


def test_an_ocds_tender_updated_after_its_deadline_imports_without_a_publication_date(services: Services) -> None:
    """The release date is the latest release's; a tender amended after it closed is still imported."""
    release = {
        "ocid": "ocds-b5fd17-late-amendment",
        "id": "amendment-1",
        "date": "2025-12-01T00:00:00Z",
        "tag": ["tenderAmendment"],
        "buyer": {"id": "B1", "name": "Umeå kommun"},
        "parties": [{"id": "B1", "name": "Umeå kommun", "roles": ["buyer"], "address": {"country": "XX"}}],
        "tender": {
            "id": "T1",
            "title": "Snöröjning med eldrivna maskiner",
            "description": "Fossilfri snöröjning för kommunens gator.",
            "status": "planning",
            "tenderPeriod": {"endDate": "2025-10-31T12:00:00Z"},
        },
    }
    report = import_ocds(services, json.dumps({"releases": [release]}))
    assert report.needs_created == 1
    with Session(services.engine) as session:
        need = next(row for row in repository.list_page(session, NEEDS, offset=0, limit=10)[0])
    assert (need.published, str(need.deadline), need.country) == (None, "2025-10-31", None)
