"""The HTTP API with the fake embedder, on SQLite and PostgreSQL."""

import json

from fastapi.testclient import TestClient

from matcher.cpv import rule_check_digit
from tests.builders import SUPPLIERS


def problem(response, field: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    for item in response.json()["detail"]:
        if field in [str(x) for x in item["loc"]]:
            return str(item["msg"])
    raise AssertionError(f"no problem reported for {field}: {response.text}")


def test_health_counts_rows_and_indexed_vectors(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["suppliers"] == 3 and body["indexed"] == {"suppliers": 3, "needs": 2}


def test_crud_round_trip(client: TestClient) -> None:
    new = {"id": "DK-CVR-30000001", "description": "Circular office furniture, refurbished and resold."}
    assert client.post("/suppliers", json=new).status_code == 201
    assert client.post("/suppliers", json=new).status_code == 409
    assert client.get("/suppliers/DK-CVR-30000001").json()["description"].startswith("Circular")
    patched = client.patch("/suppliers/DK-CVR-30000001", json={"size": "small", "country": "dk"})
    assert patched.status_code == 200 and patched.json()["country"] == "DK" and patched.json()["size"] == "small"
    replaced = client.put("/suppliers/DK-CVR-30000001", json={**new, "name": "Reuse ApS"})
    assert replaced.status_code == 200 and replaced.json()["name"] == "Reuse ApS" and replaced.json()["size"] is None
    assert client.delete("/suppliers/DK-CVR-30000001").status_code == 204
    assert client.get("/suppliers/DK-CVR-30000001").status_code == 404
    assert client.delete("/suppliers/DK-CVR-30000001").status_code == 404


def test_lists_are_paginated(client: TestClient) -> None:
    page = client.get("/suppliers", params={"offset": 1, "limit": 1}).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["items"][0]["id"] == SUPPLIERS[1]["id"]
    assert client.get("/suppliers", params={"limit": 100000}).status_code == 422


def test_bad_input_is_refused_with_field_and_reason(client: TestClient) -> None:
    base = {"id": "X-1", "description": "We clean schools."}
    assert "extra" in problem(client.post("/suppliers", json={**base, "colour": "red"}), "colour").lower()
    assert "10000" in problem(client.post("/suppliers", json={**base, "description": "x" * 10_001}), "description")
    wrong = (rule_check_digit("90910000") + 3) % 10
    assert "check digit" in problem(client.post("/suppliers", json={**base, "cpv_codes": [f"90910000-{wrong}"]}), "cpv_codes")
    assert "size" in client.post("/suppliers", json={**base, "size": "huge"}).text
    assert problem(client.post("/needs", json={"id": "n-x"}), "body")
    assert client.get("/suppliers/X-1").status_code == 404, "nothing half-written"


def test_a_patch_cannot_break_a_records_invariants(client: TestClient) -> None:
    assert "no words" in problem(client.patch("/suppliers/SE-BLV-5500000002", json={"description": "  "}), "description")
    assert problem(client.patch("/suppliers/SE-BLV-5500000002", json={"description": None}), "description")
    assert problem(client.patch("/needs/need-1", json={"status": None}), "status")
    assert problem(client.patch("/needs/need-1", json={"title": None, "description": ""}), "body")
    assert problem(client.patch("/needs/need-1", json={"cpv_codes": ["123"]}), "cpv_codes")
    assert client.patch("/needs/need-1", json={"deadline": "2027-01-31"}).json()["deadline"] == "2027-01-31"
    assert client.get("/needs/need-1").json()["status"] == "open"


def test_a_check_digit_cpv_code_is_stored_as_eight_digits(client: TestClient) -> None:
    code = f"90910000-{rule_check_digit('90910000')}"
    body = client.post("/suppliers", json={"id": "X-2", "description": "Cleaning.", "cpv_codes": [code, "90910000"]}).json()
    assert body["cpv_codes"] == ["90910000"]


def test_bulk_import_is_all_or_nothing_and_reports_line_numbers(client: TestClient) -> None:
    good = json.dumps({"id": "imp-1", "description": "Biogas from food waste."})
    bad = json.dumps({"id": "imp-2", "description": "HVO100 fuel.", "cpv_codes": ["12"]})
    response = client.post("/suppliers/import", content=f"{good}\n\n{bad}\nnot json\n")
    assert response.status_code == 422
    lines = sorted(item["line"] for item in response.json()["detail"])
    assert lines == [3, 4]
    assert client.get("/suppliers/imp-1").status_code == 404
    ok = client.post("/suppliers/import", content=f"{good}\n")
    assert ok.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert client.post("/suppliers/import", content=f"{good}\n").json() == {"created": 0, "updated": 0, "unchanged": 1}


def test_match_returns_explained_suppliers(client: TestClient) -> None:
    response = client.post("/match", json={"text": "fallsensor varsler hjemmetjenesten", "cpv_codes": ["33196000"], "k": 2})
    assert response.status_code == 200
    top = response.json()["results"][0]
    assert top["id"] == "NO-BRC-900000001"
    why = top["explanation"]
    assert {"dense", "lexical", "cpv", "geography"} <= set(why["components"])
    shared = why["shared_cpv"][0]
    assert (shared["query_code"], shared["candidate_code"], shared["level"]) == ("33196000", "33196200", "category")
    assert shared["label"], "the division label at least"
    assert "fallsensorer" in why["matched_terms"] or "varsler" in why["matched_terms"]
    assert why["best_sentence"]


def test_match_filters_are_exact(client: TestClient) -> None:
    body = {"text": "fallsensor", "filters": {"countries": ["GB"]}, "k": 10}
    assert [r["id"] for r in client.post("/match", json=body).json()["results"]] == ["GB-COH-10000003"]
    body = {"text": "fallsensor", "filters": {"cpv": ["906"], "sizes": ["medium"]}}
    assert [r["id"] for r in client.post("/match", json=body).json()["results"]] == ["SE-BLV-5500000002"]
    assert client.post("/match", json={"text": "x" * 5, "k": 0}).status_code == 422
    assert "CPV prefix" in problem(client.post("/match", json={"text": "hello", "filters": {"cpv": ["9"]}}), "filters")


def test_diversity_reorders_but_keeps_k_results(client: TestClient) -> None:
    plain = client.post("/match", json={"text": "fallsensor snöröjning maths", "k": 3}).json()["results"]
    diverse = client.post("/match", json={"text": "fallsensor snöröjning maths", "k": 3, "diversity": 0.9}).json()["results"]
    assert len(plain) == len(diverse) == 3
    assert {r["id"] for r in plain} == {r["id"] for r in diverse}
    assert client.post("/match", json={"text": "fallsensor", "diversity": 1.5}).status_code == 422


def test_stored_need_shortlist_and_reverse_direction(client: TestClient) -> None:
    shortlist = client.get("/needs/need-2/shortlist", params={"k": 2}).json()
    assert shortlist["need"]["id"] == "need-2" and shortlist["results"][0]["id"] == "SE-BLV-5500000002"
    assert shortlist["results"][0]["explanation"]["location"] == "same region (SE331)"
    needs = client.get("/suppliers/SE-BLV-5500000002/needs").json()
    assert needs["results"][0]["id"] == "need-2"
    assert client.get("/needs/nope/shortlist").status_code == 404
    client.patch("/needs/need-2", json={"status": "closed"})
    ids = [r["id"] for r in client.get("/suppliers/SE-BLV-5500000002/needs").json()["results"]]
    assert "need-2" not in ids, "closed needs are not offered to suppliers by default"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert "/match" in client.get("/openapi.json").json()["paths"]


def test_a_need_with_only_a_title_can_be_replaced_and_patched(client: TestClient) -> None:
    assert client.post("/needs", json={"id": "need-t", "title": "Digitalt tilsyn"}).status_code == 201
    replaced = client.put("/needs/need-t", json={"id": "need-t", "title": "Digitalt nattilsyn"})
    assert replaced.status_code == 200 and replaced.json()["description"] == ""
    patched = client.patch("/needs/need-t", json={"description": None})
    assert patched.status_code == 200 and patched.json()["title"] == "Digitalt nattilsyn"
