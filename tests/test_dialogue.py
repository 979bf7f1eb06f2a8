"""The market dialogue over HTTP (fake embedder; SQLite and PostgreSQL): advisers' marks, market
readiness and the invitation list."""

import csv
import io

from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from tests.builders import NEEDS, SUPPLIERS, key_headers

FALL_SENSOR = SUPPLIERS[0]["id"]
SNOW = SUPPLIERS[1]["id"]


def mark(client: TestClient, supplier_id: str, mark: str, need: str = "need-1", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post(f"/needs/{need}/feedback", json={"supplier_id": supplier_id, "mark": mark}, headers=headers)


def test_a_mark_is_stored_with_who_and_when_and_the_latest_counts(client: TestClient, services: Services) -> None:
    assert mark(client, FALL_SENSOR, "relevant").status_code == 201
    lars = key_headers(services, "adviser")
    assert mark(client, FALL_SENSOR, "invited", headers=lars).status_code == 201
    assert mark(client, SNOW, "not_relevant").status_code == 201
    marks = {m["supplier_id"]: m for m in client.get("/needs/need-1/feedback").json()}
    lars_prefix = lars["Authorization"].split("_")[1]
    assert marks[FALL_SENSOR]["mark"] == "invited" and marks[FALL_SENSOR]["adviser"].endswith(f"adviser key {lars_prefix})")
    assert marks[FALL_SENSOR]["at"] and marks[SNOW]["mark"] == "not_relevant"
    assert client.get("/needs/need-2/feedback").json() == []  # marks belong to one need


def test_clearing_a_mark_withdraws_it(client: TestClient) -> None:
    mark(client, FALL_SENSOR, "invited")
    assert mark(client, FALL_SENSOR, "cleared").status_code == 201
    assert client.get("/needs/need-1/feedback").json() == []


def test_marks_survive_a_restart(services: Services) -> None:
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        c.post("/suppliers", json=SUPPLIERS[0])
        c.post("/needs", json=NEEDS[0])
        assert mark(c, FALL_SENSOR, "invited").status_code == 201
    with TestClient(create_app(services=services), headers=c.headers) as again:
        assert [m["mark"] for m in again.get("/needs/need-1/feedback").json()] == ["invited"]


def test_bad_marks_are_refused_with_the_field(client: TestClient) -> None:
    response = mark(client, FALL_SENSOR, "maybe")
    assert response.status_code == 422 and "mark" in response.json()["detail"][0]["loc"]
    no_supplier = client.post("/needs/need-1/feedback", json={"mark": "invited"})
    assert no_supplier.status_code == 422 and "supplier_id" in no_supplier.json()["detail"][0]["loc"]
    assert mark(client, "NO-BRC-000", "invited").status_code == 404
    assert mark(client, FALL_SENSOR, "invited", need="need-404").status_code == 404
    assert client.get("/needs/need-1/feedback").json() == []  # nothing half-written


def test_deleting_a_supplier_takes_its_marks(client: TestClient) -> None:
    mark(client, SNOW, "relevant")
    assert client.delete(f"/suppliers/{SNOW}").status_code == 204
    assert client.get("/needs/need-1/feedback").json() == []


def test_invitation_csv_lists_invited_suppliers_with_score_and_why(client: TestClient) -> None:
    mark(client, FALL_SENSOR, "invited")
    mark(client, SNOW, "relevant")
    response = client.get("/needs/need-1/invitations.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [FALL_SENSOR]
    row = rows[0]
    assert row["name"] == "Trygghetssensor AS" and row["country"] == "NO" and row["size"] == "small"
    assert float(row["score"]) > 0 and "semantic" in row["why"] and row["marked_by"].startswith("test adviser (adviser key")
    both = list(csv.DictReader(io.StringIO(client.get("/needs/need-1/invitations.csv?mark=invited&mark=relevant").text)))
    assert {r["id"] for r in both} == {FALL_SENSOR, SNOW}
    assert float(both[0]["score"]) >= float(both[1]["score"])
    assert client.get("/needs/need-1/invitations.csv?mark=cleared").status_code == 422


def test_readiness_counts_suppliers_above_the_threshold_and_splits_them(client: TestClient, services: Services) -> None:
    services.readiness_threshold = -10.0  # every supplier matches: the splits can be checked exactly
    body = client.get("/needs/need-1/readiness").json()
    assert body["matching"] == body["considered"] == 3 and body["capped"] is False
    assert {g["key"]: g["count"] for g in body["by_country"]} == {"NO": 1, "SE": 1, "GB": 1}
    assert [g["key"] for g in body["by_size"]] == ["micro", "small", "medium"]
    assert body["sme_share"] == 1.0 and "emerging" in body["verdict"]
    assert {g["key"] for g in body["by_cpv_division"]} == {"33", "90", "48"}
    assert {g["key"] for g in body["by_region"]} == {"NO08", "SE33", "UKD4"}
    services.readiness_threshold = 10.0  # nothing reaches it
    nothing = client.get("/needs/need-1/readiness").json()
    assert nothing["matching"] == 0 and nothing["by_country"] == [] and nothing["sme_share"] is None
    assert nothing["verdict"].startswith("no market")
    assert client.get("/needs/need-404/readiness").status_code == 404
