"""Roles and keys: each denial, and that private fields leak through no list, search, page or export
(fake embedder; SQLite and PostgreSQL)."""

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from service.keys import revoke_key
from tests.builders import NEEDS, SUPPLIERS, key_headers

SECRET_WORD = "undervannsdroner"  # only in the first supplier's private description
OWN, OTHER = SUPPLIERS[0]["id"], SUPPLIERS[1]["id"]
PRIVATE = {
    "contact_name": "Ola Nordmann",
    "contact_email": "ola@trygghetssensor.no",
    "contact_phone": "+47 55 00 00 00",
    "notes": "Prefers meetings in Bergen.",
    "private_description": f"Vi utvikler {SECRET_WORD} for inspeksjon av sjøledninger, lansering 2027.",
}
CONTACT = ("contact_name", "contact_email", "contact_phone", "notes")
Keys = dict[str, dict[str, str]]


@pytest.fixture
def keys(services: Services) -> Keys:
    return {
        "adviser": key_headers(services, "adviser"),
        "admin": key_headers(services, "admin"),
        "bergen": key_headers(services, "buyer", buyer="Bergen kommune"),
        "umea": key_headers(services, "buyer", buyer="Umeå kommun"),
        "anonymous": {},
    }


@pytest.fixture
def client(services: Services, keys: Keys) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as c:
        for supplier in SUPPLIERS:
            assert c.post("/suppliers", json=supplier, headers=keys["adviser"]).status_code == 201
        assert c.patch(f"/suppliers/{OWN}", json=PRIVATE, headers=keys["adviser"]).status_code == 200
        for need in [*NEEDS, {**NEEDS[0], "id": "need-closed", "status": "closed"}]:
            assert c.post("/needs", json=need, headers=keys["adviser"]).status_code == 201
        keys["own"] = key_headers(services, "supplier", supplier_id=OWN)
        keys["other"] = key_headers(services, "supplier", supplier_id=OTHER)
        yield c


def test_without_a_key_only_health_and_open_needs(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    listed = client.get("/needs").json()
    assert {n["id"] for n in listed["items"]} == {"need-1", "need-2"} and listed["total"] == 2
    assert client.get("/needs/need-1").status_code == 200
    assert client.get("/needs/need-closed").status_code == 404
    for method, path, body in [
        ("GET", "/suppliers", None),
        ("GET", f"/suppliers/{OWN}", None),
        ("POST", "/match", {"text": "fallsensorer"}),
        ("GET", "/needs/need-1/shortlist", None),
        ("GET", "/needs/need-1/readiness", None),
        ("GET", "/needs/need-1/feedback", None),
        ("GET", "/needs/need-1/audit", None),
        ("GET", "/needs/need-1/invitations.csv", None),
        ("POST", "/cpv/suggest", {"text": "fallsensorer"}),
        ("POST", "/needs", {"id": "n-x", "title": "Anything"}),
        ("DELETE", "/needs/need-1", None),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_and_revoked_keys_are_refused(client: TestClient, services: Services, keys: Keys) -> None:
    assert client.get("/suppliers", headers={"Authorization": "Bearer mm_0000_nope"}).status_code == 401
    assert client.get("/suppliers", headers=keys["adviser"]).status_code == 200
    revoke_key(services.engine, keys["adviser"]["Authorization"].split("_")[1])
    assert client.get("/suppliers", headers=keys["adviser"]).status_code == 401


def test_a_supplier_key_edits_only_its_own_profile_and_sees_no_dialogue(client: TestClient, keys: Keys) -> None:
    own, other = keys["own"], keys["other"]
    assert client.patch(f"/suppliers/{OWN}", json={"size": "medium"}, headers=own).status_code == 200
    assert client.patch(f"/suppliers/{OTHER}", json={"size": "large"}, headers=own).status_code == 403
    assert client.put(f"/suppliers/{OTHER}", json=SUPPLIERS[1], headers=own).status_code == 403
    assert client.delete(f"/suppliers/{OTHER}", headers=own).status_code == 403
    assert client.post("/suppliers", json={**SUPPLIERS[2], "id": "X-2"}, headers=own).status_code == 403
    assert client.post("/suppliers/import", content=b"", headers=own).status_code == 403
    assert client.post("/needs", json={"id": "n-x", "title": "Anything"}, headers=own).status_code == 403
    assert client.get(f"/suppliers/{OWN}/needs", headers=own).status_code == 200
    assert client.get(f"/suppliers/{OWN}/needs", headers=other).status_code == 403
    for path in ["shortlist", "readiness", "feedback", "audit", "invitations.csv"]:
        assert client.get(f"/needs/need-1/{path}", headers=own).status_code == 403, path
    assert client.post("/match", json={"text": "fallsensorer"}, headers=own).status_code == 403
    assert client.post("/needs/need-1/feedback", json={"supplier_id": OWN, "mark": "invited"}, headers=own).status_code == 403
    assert client.get("/needs/need-closed", headers=own).status_code == 200  # needs are for suppliers to read


def test_private_fields_are_shown_to_the_right_readers_only(client: TestClient, keys: Keys) -> None:
    mine = client.get(f"/suppliers/{OWN}", headers=keys["own"]).json()
    assert mine["private_description"] == PRIVATE["private_description"] and mine["contact_email"] == PRIVATE["contact_email"]
    adviser = client.get(f"/suppliers/{OWN}", headers=keys["adviser"]).json()
    assert adviser["contact_email"] == PRIVATE["contact_email"] and "private_description" not in adviser
    for reader in ("other", "bergen"):
        seen = client.get(f"/suppliers/{OWN}", headers=keys[reader]).json()
        assert not set(CONTACT) & set(seen) and "private_description" not in seen, reader
        listed = client.get("/suppliers", headers=keys[reader]).text
        assert PRIVATE["contact_email"] not in listed and SECRET_WORD not in listed and PRIVATE["notes"] not in listed


def test_private_text_is_matched_on_but_never_shown(client: TestClient, services: Services, keys: Keys) -> None:
    adviser = keys["adviser"]
    found = client.post("/match", json={"text": f"{SECRET_WORD} for sjøledninger", "k": 3}, headers=adviser)
    assert found.json()["results"][0]["id"] == OWN  # matched on
    assert SECRET_WORD not in found.text and "2027" not in found.text
    assert SECRET_WORD not in client.get(f"/ui/suppliers/{OWN}", headers=adviser).text
    assert SECRET_WORD in client.get(f"/ui/suppliers/{OWN}", headers=keys["own"]).text
    client.post("/needs", json={"id": "need-3", "title": f"Inspeksjon med {SECRET_WORD}"}, headers=adviser)
    assert SECRET_WORD not in client.get("/needs/need-3/shortlist", headers=adviser).text.replace(
        f"Inspeksjon med {SECRET_WORD}", ""
    )
    client.post("/needs/need-3/feedback", json={"supplier_id": OWN, "mark": "invited"}, headers=adviser)
    assert SECRET_WORD not in client.get("/needs/need-3/invitations.csv", headers=adviser).text
    page = client.get("/", params={"q": f"{SECRET_WORD} sjøledninger"}, headers=adviser).text
    results = page.split('<ol class="results">')[1]  # the query itself is echoed above the results
    assert "Trygghetssensor AS" in results and SECRET_WORD not in results


def test_a_buyer_key_works_on_its_own_needs_only(client: TestClient, keys: Keys) -> None:
    bergen = keys["bergen"]
    assert client.get("/needs/need-1/shortlist", headers=bergen).status_code == 200
    assert client.get("/needs/need-1/readiness", headers=bergen).status_code == 200
    assert client.get("/needs/need-1/audit", headers=bergen).status_code == 200
    for path in ["shortlist", "readiness", "feedback", "audit", "invitations.csv"]:
        assert client.get(f"/needs/need-2/{path}", headers=bergen).status_code == 403, path
    assert client.patch("/needs/need-2", json={"title": "Mine now"}, headers=bergen).status_code == 403
    assert client.delete("/needs/need-2", headers=bergen).status_code == 403
    created = client.post("/needs", json={"id": "need-b", "title": "Digital tilsyn"}, headers=bergen)
    assert created.status_code == 201 and created.json()["buyer"] == "Bergen kommune"
    stolen = client.post("/needs", json={"id": "need-c", "title": "X", "buyer": "Umeå kommun"}, headers=bergen)
    assert stolen.status_code == 403
    assert client.patch("/needs/need-b", json={"status": "planning"}, headers=bergen).status_code == 200
    assert client.patch("/needs/need-b", json={"buyer": None}, headers=bergen).status_code == 403
    replaced = client.put("/needs/need-b", json={"id": "need-b", "title": "Digitalt tilsyn"}, headers=bergen)
    assert replaced.status_code == 200 and replaced.json()["buyer"] == "Bergen kommune"  # still its own
    assert client.post("/needs/need-1/feedback", json={"supplier_id": OWN, "mark": "invited"}, headers=bergen).status_code == 403
    assert client.post("/match", json={"text": "fallsensorer"}, headers=bergen).status_code == 200
    assert client.get(f"/suppliers/{OWN}/needs", headers=bergen).status_code == 403


def test_audit_trail_records_shortlists_marks_and_exports(client: TestClient, keys: Keys) -> None:
    shown = client.get("/needs/need-1/shortlist", params={"k": 2, "country": "NO"}, headers=keys["bergen"]).json()
    client.post("/needs/need-1/feedback", json={"supplier_id": OWN, "mark": "invited"}, headers=keys["adviser"])
    client.get("/needs/need-1/invitations.csv", headers=keys["adviser"])
    events = client.get("/needs/need-1/audit", headers=keys["adviser"]).json()
    told, *events = events  # saving the need told the matching suppliers first
    assert told["action"] == "alerted" and told["role"] == "service"
    assert OWN in [s["supplier_id"] for s in told["details"]["suppliers"]]
    assert [e["action"] for e in events] == ["shortlist", "mark", "export"]
    first = events[0]
    assert first["role"] == "buyer" and "Bergen kommune" in first["actor"] and first["details"]["filters"] == {"country": ["NO"]}
    assert [s["supplier_id"] for s in first["details"]["shown"]] == [r["id"] for r in shown["results"]]
    assert all(s["score"] == r["score"] for s, r in zip(first["details"]["shown"], shown["results"], strict=True))
    assert events[1]["details"] == {"supplier_id": OWN, "mark": "invited"} and events[1]["role"] == "adviser"
    assert events[2]["details"]["suppliers"] == [OWN]
    rows = list(csv.DictReader(io.StringIO(client.get("/needs/need-1/audit.csv", headers=keys["bergen"]).text)))
    assert [r["action"] for r in rows] == ["alerted", "shortlist", "mark", "export"] and rows[0]["at"]
    assert [e["action"] for e in client.get("/needs/need-2/audit", headers=keys["adviser"]).json()] == ["alerted"]


def test_a_visitor_cannot_tell_which_needs_exist(client: TestClient) -> None:
    for need in ("need-closed", "no-such-need"):
        for path in ("shortlist", "readiness", "audit", "feedback"):
            assert client.get(f"/needs/{need}/{path}").status_code == 401
        assert client.get(f"/needs/{need}").status_code == 404
