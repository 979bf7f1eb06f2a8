"""The pages in a hostile browser world: forms only from our own pages (CSRF), sessions instead of keys
in cookies, and the security headers (fake embedder; SQLite and PostgreSQL)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.deps import SESSION_COOKIE
from api.main import create_app
from service.container import Services
from service.keys import create_key, list_keys, revoke_key
from service.settings import Settings
from tests.builders import SUPPLIERS
from tests.web_forms import ORIGIN, form_token, post_form, sign_in

NEED_PAGE = "/ui/needs/need-1"
MARKS = "/ui/needs/need-1/marks"
INVITE = {"supplier_id": SUPPLIERS[0]["id"], "mark": "invited"}
EVIL = "http://127.0.0.1:9999"


@pytest.fixture
def adviser_key(services: Services) -> str:
    return create_key(services.engine, "adviser", label="Kari Nordmann")[0]


@pytest.fixture
def browser(services: Services, client: TestClient, adviser_key: str) -> Iterator[TestClient]:
    """A browser signed in through the form (``client`` has loaded the builders' rows)."""
    with TestClient(create_app(services=services)) as b:
        assert sign_in(b, adviser_key).status_code == 303
        yield b


def _marks(client: TestClient) -> list[dict]:  # type: ignore[type-arg]
    return client.get("/needs/need-1/feedback").json()  # type: ignore[no-any-return]


def test_the_cookie_holds_a_session_not_the_key(browser: TestClient, adviser_key: str) -> None:
    cookie = browser.cookies.get(SESSION_COOKIE)
    assert cookie and adviser_key not in cookie and adviser_key.split("_")[2] not in cookie


def test_our_own_form_marks_with_the_token(browser: TestClient, client: TestClient) -> None:
    marked = post_form(browser, NEED_PAGE, MARKS, INVITE, follow_redirects=False)
    assert marked.status_code == 303
    assert [m["adviser"].startswith("Kari Nordmann") for m in _marks(client)] == [True]


def test_a_cross_site_post_with_the_cookie_changes_nothing(browser: TestClient, client: TestClient) -> None:
    token = form_token(browser.get(NEED_PAGE).text)
    attempts = [
        ({**INVITE}, {"Origin": EVIL}),  # no token, another port on the same host
        ({**INVITE, "csrf_token": token}, {"Origin": EVIL}),  # even a stolen token: wrong origin
        ({**INVITE, "csrf_token": token}, {"Origin": "null"}),
        ({**INVITE, "csrf_token": token}, {"Referer": f"{EVIL}/attack.html"}),
        ({**INVITE, "csrf_token": token}, {}),  # neither Origin nor Referer
        ({**INVITE}, ORIGIN),  # our origin, no token
        ({**INVITE, "csrf_token": "0" * 64}, ORIGIN),
        ({**INVITE, "csrf_token": "é" * 64}, ORIGIN),  # not ASCII: refused, not a 500
    ]
    for data, headers in attempts:
        refused = browser.post(MARKS, data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text, (data, headers)
    assert _marks(client) == []
    with_referer = browser.post(
        MARKS, data={**INVITE, "csrf_token": token}, headers={"Referer": "http://testserver/ui/needs/need-1"}
    )
    assert with_referer.status_code == 200 and len(_marks(client)) == 1  # our own page, privacy settings without Origin


def test_a_token_from_another_browser_does_not_fit(
    services: Services, browser: TestClient, client: TestClient, adviser_key: str
) -> None:
    with TestClient(create_app(services=services)) as other:
        sign_in(other, adviser_key)
        foreign = form_token(other.get(NEED_PAGE).text)
    assert browser.post(MARKS, data={**INVITE, "csrf_token": foreign}, headers=ORIGIN).status_code == 403
    assert _marks(client) == []


def test_sign_in_and_out_cannot_be_forced_from_another_site(services: Services, browser: TestClient, adviser_key: str) -> None:
    assert browser.post("/ui/logout", headers={"Origin": EVIL}).status_code == 403
    assert "Signed in as" in browser.get(NEED_PAGE).text
    with TestClient(create_app(services=services)) as victim:
        token = form_token(victim.get("/ui/login").text)
        forced = victim.post("/ui/login", data={"key": adviser_key, "csrf_token": token}, headers={"Origin": EVIL})
        assert forced.status_code == 403 and SESSION_COOKIE not in victim.cookies
        no_token = victim.post("/ui/login", data={"key": adviser_key}, headers=ORIGIN)
        assert no_token.status_code == 403 and SESSION_COOKIE not in victim.cookies


def test_signing_out_ends_the_session_on_the_server(services: Services, browser: TestClient) -> None:
    stolen = browser.cookies.get(SESSION_COOKIE)
    assert post_form(browser, NEED_PAGE, "/ui/logout", {}, follow_redirects=False).status_code == 303
    with TestClient(create_app(services=services), cookies={SESSION_COOKIE: stolen}) as replay:
        assert replay.get(NEED_PAGE, follow_redirects=False).text.count("Signed in as") == 0
        assert replay.get("/needs/need-1/readiness").status_code == 401


def test_revoking_the_key_ends_its_sessions(services: Services, browser: TestClient) -> None:
    assert browser.get("/needs/need-1/readiness").status_code == 200  # the session reads the API (GET)
    prefix = next(k.prefix for k in list_keys(services.engine) if k.label == "Kari Nordmann")
    revoke_key(services.engine, prefix)
    assert "Signed in as" not in browser.get("/ui/needs").text
    assert browser.get("/needs/need-1/readiness").status_code == 401


def test_the_api_never_takes_the_cookie_for_a_change(browser: TestClient, client: TestClient) -> None:
    mark = browser.post("/needs/need-1/feedback", json=INVITE, headers=ORIGIN)
    imported = browser.post("/suppliers/import", content=b'{"id": "X-1", "name": "X", "description": "x y z"}\n', headers=ORIGIN)
    assert mark.status_code == 401 and imported.status_code == 401
    assert _marks(client) == [] and client.get("/suppliers/X-1").status_code == 404


def test_security_headers_on_pages_and_api(client: TestClient) -> None:
    for path in ("/", "/ui/needs", "/needs", "/health"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    docs = client.get("/docs").headers
    assert docs["x-frame-options"] == "DENY" and docs["content-security-policy"] == "frame-ancestors 'none'"
    assert 'style="' not in client.get(NEED_PAGE).text  # the strict CSP would drop inline styles


@pytest.mark.parametrize(
    ("configured", "base_url", "secure"),
    [(None, "http://testserver", False), (None, "https://testserver", True), (False, "https://testserver", False)],
)
def test_the_cookie_is_secure_over_https_unless_configured_otherwise(
    services: Services, settings: Settings, adviser_key: str, configured: bool | None, base_url: str, secure: bool
) -> None:
    app = create_app(settings.model_copy(update={"cookie_secure": configured}), services=services)
    with TestClient(app, base_url=base_url) as b:
        token = form_token(b.get("/ui/login").text)
        signed = b.post(
            "/ui/login", data={"key": adviser_key, "csrf_token": token}, headers={"Origin": base_url}, follow_redirects=False
        )
        assert signed.status_code == 303
        assert ("secure" in signed.headers["set-cookie"].lower()) is secure


def test_behind_a_tls_proxy_the_cookies_can_be_made_secure(services: Services, settings: Settings) -> None:
    """A proxy that ends TLS forwards plain HTTP: MATCHMAKER_COOKIE_SECURE=true marks the cookies anyway."""
    with TestClient(create_app(settings.model_copy(update={"cookie_secure": True}), services=services)) as b:
        assert "secure" in b.get("/ui/login").headers["set-cookie"].lower()


def test_another_sites_image_or_fetch_does_not_carry_the_session(browser: TestClient, client: TestClient) -> None:
    """<img src=".../invitations.csv"> on a page of another port would record an export as the adviser."""
    embedded = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
    assert browser.get("/needs/need-1/invitations.csv", headers=embedded).status_code == 401
    assert browser.get("/needs/need-1/shortlist", headers={**embedded, "Sec-Fetch-Site": "cross-site"}).status_code == 401
    assert not [e for e in client.get("/needs/need-1/audit").json() if e["actor"].startswith("Kari")]
    followed = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert "Signed in as" in browser.get(NEED_PAGE, headers=followed).text  # following a link still counts
    own = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    assert browser.get("/needs/need-1/readiness", headers=own).status_code == 200


def test_sign_in_returns_only_to_a_page_of_this_site(services: Services, adviser_key: str) -> None:
    with TestClient(create_app(services=services)) as b:
        for target in ("//evil.example/x", "/\\evil.example", "https://evil.example", "/ok\nSet-Cookie: x=1"):
            assert sign_in(b, adviser_key, target).headers["location"] == "/", target
        assert sign_in(b, adviser_key, "/ui/needs?offset=50").headers["location"] == "/ui/needs?offset=50"


def test_over_https_the_session_is_a_host_cookie_and_a_planted_plain_one_is_ignored(
    services: Services, client: TestClient, adviser_key: str
) -> None:
    """A page on another port of the same host (plain HTTP) can set ``matchmaker_session`` for the host, but
    not a ``__Host-`` cookie: over HTTPS only the latter signs anyone in, so it cannot plant its session."""
    https = "https://testserver"
    with TestClient(create_app(services=services), base_url=https) as b:
        token = form_token(b.get("/ui/login").text)
        signed = b.post(
            "/ui/login", data={"key": adviser_key, "csrf_token": token}, headers={"Origin": https}, follow_redirects=False
        )
        assert signed.status_code == 303 and "__Host-matchmaker_session=" in signed.headers["set-cookie"]
        assert "Signed in as" in b.get(NEED_PAGE).text
        attacker_session = b.cookies.get("__Host-matchmaker_session")
    with TestClient(create_app(services=services), base_url=https, cookies={SESSION_COOKIE: attacker_session}) as victim:
        assert "Signed in as" not in victim.get(NEED_PAGE).text
