"""A supplier marked not relevant for a need drops below the others in that need's later shortlists,
still shown and saying why, only for readers allowed to see the need's marks (fake embedder; SQLite and
PostgreSQL)."""

from typing import Any

from fastapi.testclient import TestClient

from matcher.demotion import demote_marked
from service import shortlists
from service.access import Principal
from service.container import Services
from tests.builders import SUPPLIERS, key_headers
from tests.web_forms import ORIGIN, form_token, signed_in_browser

FALL_SENSOR, SNOW, MATHS = (s["id"] for s in SUPPLIERS)
BERGEN = "Bergen kommune"  # need-1's buyer


def mark(client: TestClient, supplier_id: str, value: str, need: str = "need-1") -> None:
    response = client.post(f"/needs/{need}/feedback", json={"supplier_id": supplier_id, "mark": value})
    assert response.status_code == 201, response.text


def shortlist(client: TestClient, need: str = "need-1", k: int = 2, headers: dict[str, str] | None = None) -> list[Any]:
    response = client.get(f"/needs/{need}/shortlist", params={"k": k}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in results]


def last_shortlist_event(client: TestClient, need: str = "need-1") -> dict[str, Any]:
    events = [e for e in client.get(f"/needs/{need}/audit").json() if e["action"] == "shortlist"]
    return dict(events[-1]["details"])


def test_marked_items_move_after_the_k_best_unmarked_and_never_vanish() -> None:
    ranked = [1, 2, 3, 4, 5, 6]
    assert demote_marked(ranked, int, {2}, 3) == ([1, 3, 4], [2])
    assert demote_marked(ranked, int, {1, 2}, 3) == ([3, 4, 5], [1, 2])
    assert demote_marked(ranked, int, {5}, 3) == ([1, 2, 3], [])  # below the k kept: it was not shown anyway
    assert demote_marked(ranked, int, set(), 3) == ([1, 2, 3], [])
    assert demote_marked([1, 2], int, {1}, 3) == ([2], [1])  # fewer candidates than k


def test_a_supplier_marked_not_relevant_drops_to_the_bottom_and_the_audit_records_it(client: TestClient) -> None:
    assert ids(shortlist(client)) == [FALL_SENSOR, SNOW]
    assert last_shortlist_event(client)["demoted"] == []
    mark(client, SNOW, "relevant")  # positive marks move nothing
    assert ids(shortlist(client)) == [FALL_SENSOR, SNOW]
    mark(client, FALL_SENSOR, "not_relevant")

    results = shortlist(client)
    assert ids(results) == [SNOW, MATHS, FALL_SENSOR]  # still k=2 others, the demoted one after them
    assert [r["rank"] for r in results] == [1, 2, 3]
    marked = results[-1]["explanation"]["marked"]
    assert marked["mark"] == "not_relevant" and marked["adviser"].startswith("test adviser (adviser key")
    assert marked["rank_before"] == 1 and marked["at"]
    assert marked["note"].startswith("marked not relevant by test adviser")
    assert "marked not relevant by test adviser" in results[-1]["explanation"]["summary"]
    assert all(r["explanation"]["marked"] is None for r in results[:-1])

    details = last_shortlist_event(client)
    assert details["demoted"] == [{"supplier_id": FALL_SENSOR, "mark": "not_relevant", "rank_before": 1}]
    assert [s["supplier_id"] for s in details["shown"]] == [SNOW, MATHS, FALL_SENSOR]


def test_clearing_the_mark_restores_the_normal_place(client: TestClient) -> None:
    mark(client, FALL_SENSOR, "not_relevant")
    assert ids(shortlist(client, k=10)) == [SNOW, MATHS, FALL_SENSOR]
    mark(client, FALL_SENSOR, "cleared")
    results = shortlist(client, k=10)
    assert ids(results) == [FALL_SENSOR, SNOW, MATHS] and all(r["explanation"]["marked"] is None for r in results)
    assert last_shortlist_event(client)["demoted"] == []
    mark(client, FALL_SENSOR, "invited")  # a later positive mark replaces the not-relevant one
    assert ids(shortlist(client, k=10)) == [FALL_SENSOR, SNOW, MATHS]


def test_a_mark_moves_a_supplier_in_its_own_need_only(client: TestClient) -> None:
    mark(client, SNOW, "not_relevant", need="need-1")
    other = shortlist(client, need="need-2", k=10)
    assert ids(other) == [SNOW, FALL_SENSOR, MATHS] and all(r["explanation"]["marked"] is None for r in other)
    assert last_shortlist_event(client, "need-2")["demoted"] == []
    adhoc = client.post("/match", json={"text": "snöröjning med eldrivna maskiner", "k": 3}).json()["results"]
    assert adhoc[0]["id"] == SNOW and all(r["explanation"]["marked"] is None for r in adhoc)


def test_the_needs_buyer_reads_marks_and_sees_the_demotion(client: TestClient, services: Services) -> None:
    mark(client, FALL_SENSOR, "not_relevant")
    results = shortlist(client, k=10, headers=key_headers(services, "buyer", buyer=BERGEN))
    assert ids(results) == [SNOW, MATHS, FALL_SENSOR] and results[-1]["explanation"]["marked"]["mark"] == "not_relevant"


def test_readers_who_may_not_see_marks_learn_nothing_from_the_order_or_the_explanation(
    client: TestClient, services: Services
) -> None:
    before_needs = client.get(f"/suppliers/{FALL_SENSOR}/needs").json()
    _need, unmarked = shortlists.suppliers_for_need(services, "need-1", k=2)
    mark(client, FALL_SENSOR, "not_relevant")

    supplier = key_headers(services, "supplier", supplier_id=FALL_SENSOR)
    other_buyer = key_headers(services, "buyer", buyer="Umeå kommun")
    for headers in (supplier, other_buyer):
        assert client.get("/needs/need-1/shortlist", headers=headers).status_code == 403
        assert client.get("/needs/need-1/feedback", headers=headers).status_code == 403
    own_needs = client.get(f"/suppliers/{FALL_SENSOR}/needs", headers=supplier).json()
    assert own_needs == before_needs and all(r["explanation"]["marked"] is None for r in own_needs["results"])
    public_page = client.get("/ui/needs/need-1", headers=supplier).text
    assert "not relevant" not in public_page.lower()

    # Ranked for anyone else (a supplier, or no reader: alerts, readiness, benchmarks): the matcher's order.
    for reader in (Principal(role="supplier", supplier_id=FALL_SENSOR), Principal(role="buyer", buyer="Umeå kommun"), None):
        _need, seen = shortlists.suppliers_for_need(services, "need-1", k=2, reader=reader)
        assert [r.row.id for r in seen] == [r.row.id for r in unmarked] == [FALL_SENSOR, SNOW]
        assert all(r.explanation is not None and r.explanation.marked is None for r in seen)
        assert "marked" not in " ".join(r.explanation.summary() for r in seen if r.explanation)


def test_the_need_page_says_why_and_clears_the_mark_with_the_form(services: Services, client: TestClient) -> None:
    mark(client, FALL_SENSOR, "not_relevant")
    browser = signed_in_browser(services, "adviser")
    try:
        page = browser.get("/ui/needs/need-1").text
        shortlist_part = page[page.index('id="shortlist"') :]
        assert shortlist_part.index("Snöfri AB") < shortlist_part.index("Brightwave") < shortlist_part.index("Trygghetssensor")
        assert "Marked not relevant by test adviser (adviser key" in page and "(place 1 by score)" in page
        assert "Clear the mark to restore its place" in page and 'value="cleared"' in page
        refused = browser.post("/ui/needs/need-1/marks", data={"supplier_id": FALL_SENSOR, "mark": "cleared"}, headers=ORIGIN)
        assert refused.status_code == 403  # no form token: nothing changed
        assert "Marked not relevant by" in browser.get("/ui/needs/need-1").text
        cleared = browser.post(
            "/ui/needs/need-1/marks",
            data={"supplier_id": FALL_SENSOR, "mark": "cleared", "csrf_token": form_token(page)},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert cleared.status_code == 303
        again = browser.get("/ui/needs/need-1").text
        shortlist_part = again[again.index('id="shortlist"') :]
        assert "Marked not relevant by" not in again
        assert shortlist_part.index("Trygghetssensor") < shortlist_part.index("Snöfri AB")
    finally:
        browser.__exit__(None, None, None)


def test_the_buyer_page_shows_the_mark_without_the_advisers_form(services: Services, client: TestClient) -> None:
    mark(client, FALL_SENSOR, "not_relevant")
    browser = signed_in_browser(services, "buyer", buyer=BERGEN)
    try:
        page = browser.get("/ui/needs/need-1").text
        assert "Marked not relevant by test adviser" in page and 'value="cleared"' not in page
    finally:
        browser.__exit__(None, None, None)
