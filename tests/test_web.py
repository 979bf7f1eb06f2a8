"""The adviser's pages, rendered by the server (fake embedder; SQLite and PostgreSQL)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.web import ADVISER_COOKIE
from api.web_views import highlight
from service.container import Services
from tests.builders import NEEDS, SUPPLIERS


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as c:
        for supplier in SUPPLIERS:
            assert c.post("/suppliers", json=supplier).status_code == 201
        for need in NEEDS:
            assert c.post("/needs", json=need).status_code == 201
        yield c


def test_search_page_shows_explained_shortlist_with_relative_bars(client: TestClient) -> None:
    assert "Describe the need" in client.get("/").text
    page = client.get("/", params={"q": "snöröjning med eldrivna maskiner", "countries": "SE NO"})
    assert page.status_code == 200
    assert page.text.index("Snöfri AB") < page.text.index("Trygghetssensor AS")
    assert "width: 100%" in page.text and "Brightwave" not in page.text  # GB is filtered out
    assert "<mark>snöröjning</mark>" in page.text and "Shared words" in page.text


def test_search_filters_and_diversity_switch_are_kept_in_the_form(client: TestClient) -> None:
    page = client.get("/", params={"q": "fallsensorer", "size": ["small"], "diversity": "fewer"}).text
    assert 'value="small" checked' in page and 'value="fewer" checked' in page
    assert "Trygghetssensor AS" in page and "Snöfri AB" not in page  # medium


def test_bad_search_input_is_explained_on_the_page(client: TestClient) -> None:
    page = client.get("/", params={"q": "fallsensorer", "regions": "not a region"})
    assert page.status_code == 422 and "Please check the search" in page.text and "regions" in page.text


def test_need_page_shows_readiness_shortlist_and_marks_after_reload(client: TestClient) -> None:
    page = client.get("/ui/needs/need-1")
    assert page.status_code == 200 and "Market readiness" in page.text and "Fallsensor for hjemmeboende eldre" in page.text
    assert "Give your name" in page.text and "No supplier marked yet" in page.text
    refused = client.post("/ui/needs/need-1/marks", data={"supplier_id": SUPPLIERS[0]["id"], "mark": "invited"})
    assert refused.status_code == 422 and "Give your name" in refused.text
    signed = client.post("/ui/adviser", data={"name": "Kari Nordmann", "back": "/ui/needs/need-1"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/needs/need-1"
    client.cookies.set(ADVISER_COOKIE, "Kari Nordmann")
    marked = client.post(
        "/ui/needs/need-1/marks", data={"supplier_id": SUPPLIERS[0]["id"], "mark": "invited"}, follow_redirects=False
    )
    assert marked.status_code == 303 and marked.headers["location"].startswith("/ui/needs/need-1#s-")
    again = client.get("/ui/needs/need-1").text
    assert "Kari Nordmann" in again and 'class="badge mark-invited"' in again and 'aria-pressed="true"' in again


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    response = client.post("/ui/adviser", data={"name": "x", "back": "//evil.example"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_supplier_page_lists_relevant_open_needs(client: TestClient) -> None:
    page = client.get(f"/ui/suppliers/{SUPPLIERS[1]['id']}")
    assert page.status_code == 200 and "Fossilfri vinterväghållning" in page.text
    assert page.text.index("Fossilfri snöröjning") < page.text.index("Fallsensor for hjemmeboende")


def test_unknown_pages_are_404_with_a_message(client: TestClient) -> None:
    assert client.get("/ui/needs/nope").status_code == 404
    assert "not found" in client.get("/ui/suppliers/nope").text


def test_user_text_is_escaped(client: TestClient) -> None:
    hostile = {**SUPPLIERS[2], "id": "X-1", "name": "<script>alert(1)</script> Ltd"}
    assert client.post("/suppliers", json=hostile).status_code == 201
    page = client.get("/ui/suppliers/X-1").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert str(highlight("<b>radar</b> sensors", ["radar"])) == "&lt;b&gt;<mark>radar</mark>&lt;/b&gt; sensors"
