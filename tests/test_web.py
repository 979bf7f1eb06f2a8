"""The adviser's pages, rendered by the server (fake embedder; SQLite and PostgreSQL)."""

from fastapi.testclient import TestClient

from api.deps import SESSION_COOKIE
from api.main import create_app
from api.web_views import highlight
from service.container import Services
from tests.builders import NEEDS, SUPPLIERS, key_headers
from tests.web_forms import sign_in


def test_search_page_shows_explained_shortlist_with_relative_bars(client: TestClient) -> None:
    assert "Describe the need" in client.get("/").text
    page = client.get("/", params={"q": "snöröjning med eldrivna maskiner", "countries": "SE NO"})
    assert page.status_code == 200
    assert page.text.index("Snöfri AB") < page.text.index("Trygghetssensor AS")
    assert '<rect width="100"' in page.text and "Brightwave" not in page.text  # GB is filtered out
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
    assert "No supplier marked yet" in page.text and "Signed in as" in page.text
    marked = client.post(
        "/ui/needs/need-1/marks", data={"supplier_id": SUPPLIERS[0]["id"], "mark": "invited"}, follow_redirects=False
    )
    assert marked.status_code == 303 and marked.headers["location"].startswith("/ui/needs/need-1#s-")
    again = client.get("/ui/needs/need-1").text
    assert "test adviser (adviser key" in again and 'class="badge mark-invited"' in again and 'aria-pressed="true"' in again
    bad = client.post("/ui/needs/need-1/marks", data={"supplier_id": SUPPLIERS[0]["id"], "mark": "maybe"})
    assert bad.status_code == 422 and "mark" in bad.text


def test_signing_in_with_a_key_opens_the_workbench(services: Services, client: TestClient) -> None:
    headers = key_headers(services, "adviser")
    key = headers["Authorization"].removeprefix("Bearer ")
    with TestClient(create_app(services=services)) as visitor:
        to_login = visitor.get("/?q=fallsensorer", follow_redirects=False)
        assert to_login.status_code == 303 and to_login.headers["location"].startswith("/ui/login?next=")
        assert sign_in(visitor, "mm_nope_nope").status_code == 401
        signed = sign_in(visitor, key, "/?q=fallsensorer")
        assert signed.status_code == 303 and signed.headers["location"] == "/?q=fallsensorer"
        assert SESSION_COOKIE in signed.cookies and "httponly" in signed.headers["set-cookie"].lower()
        assert "Trygghetssensor AS" in visitor.get("/?q=fallsensorer").text
        off_site = sign_in(visitor, key, "//evil.example")
        assert off_site.headers["location"] == "/"


def test_without_a_key_only_open_needs_are_shown_and_not_their_suppliers(services: Services, client: TestClient) -> None:
    client.post("/needs", json={**NEEDS[0], "id": "need-closed", "status": "closed"})
    with TestClient(create_app(services=services)) as visitor:
        listed = visitor.get("/ui/needs").text
        assert "Fallsensor for hjemmeboende eldre" in listed and "need-closed" not in listed
        page = visitor.get("/ui/needs/need-1")
        assert page.status_code == 200 and "Sign in</a> to see suppliers" in page.text and "Trygghetssensor" not in page.text
        assert visitor.get("/ui/needs/need-closed").status_code == 404
        assert visitor.get(f"/ui/suppliers/{SUPPLIERS[0]['id']}", follow_redirects=False).status_code == 303


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
