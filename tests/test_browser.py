"""The workbench in a real browser: Debian's chromium driven by Playwright against a live server with
the real model and the sample data. ``--screens`` saves each page at 1280×800 and 390×844 under
bench/results/screens/ (look at them)."""

from __future__ import annotations

import csv
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from service import writes
from service.container import open_services
from service.keys import create_key
from service.settings import Settings
from store.repository import NEEDS, SUPPLIERS
from tests.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENS = REPO / "bench" / "results" / "screens"
SIZES = {"wide": (1280, 800), "narrow": (390, 844)}

SWEDISH_NEED = "Digitala lås för hemtjänsten: personalen ska kunna öppna dörren med mobilen i stället för med nycklar"
NORWEGIAN_SUPPLIER = "NO-BRC-916028104"  # Låsløs AS: electronic door locks for home care, described in Norwegian
NEED = "need-a-001"  # Bergen: fall detection at home, in Norwegian


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: Any, port: int) -> Iterator[str]:
    """The app served by uvicorn in a thread on loopback, until the block ends: its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


ADVISER_KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from api.main import create_app

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    home = tmp_path_factory.mktemp("browser-home")
    services = open_services(Settings(home=home), embedder=real_embedder)
    for kind, name in ((SUPPLIERS, "suppliers"), (NEEDS, "needs")):
        writes.import_records(services, kind, (REPO / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
    ADVISER_KEY["key"], _row = create_key(services.engine, "adviser", label="Kari Nordmann")
    with live_server(create_app(services=services), _free_port()) as base:
        yield base
    services.engine.dispose()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, base_url: str):  # type: ignore[no-untyped-def]
    """A page signed in with the adviser's key, through the sign-in form."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    signed_in = context.new_page()
    signed_in.goto(base_url + "/")  # signed out: sent to the sign-in page
    signed_in.wait_for_url("**/ui/login**")
    signed_in.click("details.keys summary")  # people sign in by e-mail; a key is the second way
    signed_in.fill("#key", ADVISER_KEY["key"])
    signed_in.click("details.keys button")
    signed_in.wait_for_selector("#q")
    yield signed_in
    context.close()


def screenshot(page, name: str, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    """Both sizes of the page now shown, when the run asked for screens."""
    if not request.config.getoption("--screens"):
        return
    SCREENS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_swedish_search_finds_a_norwegian_supplier_with_its_explanation(page, base_url: str, request) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/")
    page.fill("#q", SWEDISH_NEED)
    page.click("button.primary")
    result = page.locator(f"#s-{NORWEGIAN_SUPPLIER}")
    result.wait_for()
    assert "Låsløs AS" in result.locator(".name").inner_text()
    assert result.locator(".meta").inner_text().startswith("NO")
    assert int(result.locator(".rank").inner_text()) <= 5
    why = result.locator(".why").inner_text()
    assert "semantic" in why and (result.locator(".sentence").count() == 1)
    screenshot(page, "search", request)


def test_mark_invited_survives_reload_and_is_in_the_csv(page, base_url: str, request, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/ui/needs/{NEED}")
    assert "Kari Nordmann" in page.locator("form.who").inner_text()
    first = page.locator("ol.results > li.result").first
    supplier_id = first.get_attribute("id").removeprefix("s-")
    supplier_name = first.locator(".name").inner_text()
    with page.expect_navigation():  # the mark posts and redirects back; reload only once that landed
        first.locator("button[value=invited]").click()
    page.reload()
    row = page.locator("tr.mark-row", has_text=supplier_name)
    assert "Invited" in row.inner_text() and "Kari Nordmann" in row.inner_text()
    with page.expect_download() as download_info:
        page.click("text=Download invitation list (CSV)")
    path = tmp_path / "invitations.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [supplier_id]
    assert rows[0]["name"] == supplier_name and float(rows[0]["score"]) > 0 and "semantic" in rows[0]["why"]
    assert rows[0]["marked_by"].startswith("Kari Nordmann (adviser key")
    screenshot(page, "need", request)


def test_readiness_panel_agrees_with_the_json(page, base_url: str, request) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/ui/needs/{NEED}#readiness")
    panel = page.locator("#readiness")
    assert panel.is_visible()
    figures = page.request.get(f"{base_url}/needs/{NEED}/readiness").json()
    shown = panel.locator(".big").inner_text().replace("≥", "").strip()
    assert int(shown) == figures["matching"] and figures["matching"] > 0
    assert panel.locator(".chart").count() == 4
    page.click("text=How is this counted?")
    assert str(figures["threshold"]) in panel.inner_text()
    screenshot(page, "readiness", request)


def test_supplier_and_needs_pages_read(page, base_url: str, request) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/ui/suppliers/{NORWEGIAN_SUPPLIER}")
    assert page.locator("h1").inner_text() == "Låsløs AS"
    assert page.locator("ol.results > li.result").count() > 0
    screenshot(page, "supplier", request)
    page.goto(f"{base_url}/ui/needs")
    assert page.locator("table.list tbody tr").count() > 10
    screenshot(page, "needs", request)
    with page.expect_navigation():
        page.click("form.who button")  # sign out
    page.goto(f"{base_url}/ui/login")
    screenshot(page, "login", request)


ATTACK_PAGE = """<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="{action}">
  <input name="supplier_id" value="{supplier}"><input name="mark" value="not_relevant">
</form>
<script>document.getElementById("f").submit()</script>"""


@pytest.fixture
def attacker_url(base_url: str) -> Iterator[str]:
    """Another site on the same host (another loopback port: same-site, so SameSite=Lax sends the cookie)."""
    body = ATTACK_PAGE.format(action=f"{base_url}/ui/needs/{NEED}/marks", supplier=NORWEGIAN_SUPPLIER).encode()

    class AttackPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), AttackPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/prize.html"
    server.shutdown()


def test_a_cross_site_page_cannot_mark_with_the_advisers_cookie(page, base_url: str, attacker_url: str) -> None:  # type: ignore[no-untyped-def]
    def norwegian_mark() -> str | None:
        marks = page.request.get(f"{base_url}/needs/{NEED}/feedback").json()
        return next((m["mark"] for m in marks if m["supplier_id"] == NORWEGIAN_SUPPLIER), None)

    before = norwegian_mark()
    with page.expect_response(lambda r: r.url.endswith("/marks")) as attempt:
        page.goto(attacker_url)
    assert attempt.value.status == 403
    page.wait_for_load_state()
    assert "Nothing was changed" in page.content()
    assert norwegian_mark() == before != "not_relevant"
    page.goto(f"{base_url}/?q=" + SWEDISH_NEED)  # the adviser's own pages still work: mark from the need page
    page.goto(f"{base_url}/ui/needs/{NEED}")
    first = page.locator("ol.results > li.result").first
    with page.expect_navigation():
        first.locator("button[value=relevant]").click()
    supplier_id = first.get_attribute("id")
    marks = page.request.get(f"{base_url}/needs/{NEED}/feedback").json()
    assert any(f"s-{m['supplier_id']}" == supplier_id and m["mark"] == "relevant" for m in marks)


def test_every_page_fits_a_narrow_screen(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/?q=" + SWEDISH_NEED, f"/ui/needs/{NEED}", "/ui/needs", f"/ui/suppliers/{NORWEGIAN_SUPPLIER}"):
        page.goto(base_url + path)
        widths = page.evaluate("() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert widths[1] <= widths[0], f"{path} scrolls sideways at 390 px: {widths}"
