"""Joint market dialogues on the pages (fake embedder; SQLite and PostgreSQL): an adviser groups another
buyer's need from a need's page, sees one shortlist and marks a supplier into every buyer's record;
member buyers read the page without buttons, other buyers are refused; a form from elsewhere changes nothing."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.container import Services
from tests.test_joint_dialogues import BOTH, LOCKS_NEED, api  # noqa: F401  (the fixture)
from tests.web_forms import ORIGIN, post_form, signed_in_browser

DIALOGUE_URL = re.compile(r"/ui/dialogues/(jd-[0-9a-f]{8})$")


@pytest.fixture
def adviser(services: Services, api: TestClient) -> Iterator[TestClient]:  # noqa: F811
    browser = signed_in_browser(services, "adviser")
    yield browser
    browser.__exit__(None, None, None)


def group(adviser: TestClient, *need_ids: str, title: str = "") -> str:
    """Post the need page's "group" form; the dialogue's id from where it redirects."""
    data = {"need_ids": list(need_ids), "title": title}
    response = post_form(adviser, f"/ui/needs/{need_ids[0]}", "/ui/dialogues", data, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = DIALOGUE_URL.search(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def test_an_adviser_groups_from_the_need_page_and_marks_for_every_buyer(adviser: TestClient, api: TestClient) -> None:  # noqa: F811
    page = adviser.get("/ui/needs/need-1").text
    similar = page.split('id="similar"', 1)[1]
    assert 'action="/ui/dialogues"' in similar and f'name="need_ids" value="{LOCKS_NEED}"' in similar
    assert "Part of the joint market dialogue" not in page
    dialogue = group(adviser, "need-1", LOCKS_NEED)
    shown = adviser.get(f"/ui/dialogues/{dialogue}").text
    assert 'href="/ui/needs/need-1"' in shown and f'href="/ui/needs/{LOCKS_NEED}"' in shown
    assert "Bergen kommune" in shown and "Trondheim kommune" in shown
    assert shown.index(f'id="s-{BOTH}"') < shown.index('id="s-NO-BRC-900000001"')  # the all-rounder first
    assert f'action="/ui/dialogues/{dialogue}/marks"' in shown and "No supplier invited yet" in shown
    need_page = adviser.get("/ui/needs/need-1").text
    assert "Part of the joint market dialogue" in need_page and f'href="/ui/dialogues/{dialogue}"' in need_page
    # The title defaults to the first need's; a third need joins the same dialogue from its page.
    assert "Fallsensor for hjemmeboende eldre" in shown
    assert group(adviser, "oslo-falls", "need-1") == dialogue
    assert [n["need_id"] for n in api.get(f"/dialogues/{dialogue}").json()["needs"]] == ["need-1", LOCKS_NEED, "oslo-falls"]

    marked = post_form(
        adviser, f"/ui/dialogues/{dialogue}", f"/ui/dialogues/{dialogue}/marks", {"supplier_id": BOTH, "mark": "invited"}
    )
    assert marked.status_code == 200 and marked.url.path == f"/ui/dialogues/{dialogue}"
    invitations = marked.text.split('id="invitations"', 1)[1].split("</section>", 1)[0]
    assert "Omsorgsteknologi AS" in invitations and f"need-1, {LOCKS_NEED}, oslo-falls" in invitations
    for need_id in ("need-1", LOCKS_NEED, "oslo-falls"):
        assert [m["mark"] for m in api.get(f"/needs/{need_id}/feedback").json()] == ["invited"]
    record = marked.text.split('id="record"', 1)[1]
    assert record.count("grouped") >= 3 and "mark" in record


def test_member_buyers_read_the_page_and_others_are_refused(services: Services, adviser: TestClient) -> None:
    dialogue = group(adviser, "need-1", LOCKS_NEED)
    bergen = signed_in_browser(services, "buyer", buyer="Bergen kommune")
    umea = signed_in_browser(services, "buyer", buyer="Umeå kommun")
    try:
        page = bergen.get(f"/ui/dialogues/{dialogue}")
        assert page.status_code == 200 and "One shortlist for all the needs" in page.text
        assert "/marks" not in page.text and "Take out" not in page.text
        assert umea.get(f"/ui/dialogues/{dialogue}").status_code == 403
        refused = post_form(
            bergen, f"/ui/dialogues/{dialogue}", f"/ui/dialogues/{dialogue}/marks", {"supplier_id": BOTH, "mark": "invited"}
        )
        assert refused.status_code == 403
    finally:
        bergen.__exit__(None, None, None)
        umea.__exit__(None, None, None)
    with TestClient(adviser.app) as anonymous:
        signed_out = anonymous.get(f"/ui/dialogues/{dialogue}", follow_redirects=False)
        assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/ui/login")
    assert adviser.get("/ui/dialogues/jd-00000000").status_code == 404


def test_a_form_from_elsewhere_groups_nothing(adviser: TestClient, api: TestClient) -> None:  # noqa: F811
    forged = adviser.post("/ui/dialogues", data={"need_ids": ["need-1", LOCKS_NEED]}, headers=ORIGIN)
    assert forged.status_code == 403 and api.get("/dialogues").json() == []
    other_site = {"Origin": "http://evil.example"}
    token_page = adviser.get("/ui/needs/need-1").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page).group(1)  # type: ignore[union-attr]
    crossed = adviser.post("/ui/dialogues", data={"need_ids": ["need-1", LOCKS_NEED], "csrf_token": token}, headers=other_site)
    assert crossed.status_code == 403 and api.get("/dialogues").json() == []


def test_grouping_a_need_held_by_another_dialogue_is_refused_on_the_page(adviser: TestClient, api: TestClient) -> None:  # noqa: F811
    group(adviser, "need-1", LOCKS_NEED)
    other = group(adviser, "oslo-falls", "need-2")
    refused = post_form(adviser, "/ui/needs/need-2", "/ui/dialogues", {"need_ids": ["need-2", "need-1"]})
    assert refused.status_code == 409 and "different joint dialogues" in refused.text
    unreadable = post_form(adviser, "/ui/needs/need-2", "/ui/dialogues", {"need_ids": ["need-2", "need\x00-1"]})
    assert unreadable.status_code == 404  # not a database error on PostgreSQL
    assert [n["need_id"] for n in api.get(f"/dialogues/{other}").json()["needs"]] == ["oslo-falls", "need-2"]
