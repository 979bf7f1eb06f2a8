"""An alert in a real browser (Debian's chromium, Playwright) against a live server in background mode (as
``matchmaker serve`` runs: the app's own background work indexes, tells suppliers and sends mail) with the
real model and the sample data, its mail delivered over SMTP to a real server on loopback (aiosmtpd).

A supplier's account has signed in once by an e-mailed link, so its address is confirmed; a buyer saves a
new need on its form; the supplier's alert e-mail arrives, and its link opens the need's page without
signing in; the adviser's copy of the need's page then shows the supplier as told and as having opened it;
the supplier answers from its inbox. Prints the time from the buyer's click on "Save" to the alert's
arrival at the SMTP server (not asserted: it depends on the machine). ``--screens`` saves the inbox and the
settings page at 1280×800 and 390×844 under bench/results/screens/."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

import pytest
from sqlmodel import Session, select

from service import alerts, people, writes
from service.access import Principal
from service.container import Services, open_services
from service.keys import create_key
from service.settings import Settings
from store.alert_models import Alert
from store.repository import NEEDS, SUPPLIERS
from tests import test_browser_people as people_pages
from tests.conftest import REPO
from tests.test_browser import CHROMIUM, _free_port, live_server, screenshot
from tests.test_browser_people import Inbox, _new_page, _sign_in_by_link, fits_narrow

pytestmark = [pytest.mark.browser, pytest.mark.model]
inbox, chromium = people_pages.inbox, people_pages.chromium  # its fixtures: the loopback SMTP server and the browser

LOCKS_SUPPLIER = "NO-BRC-916028104"  # Låsløs AS: electronic door locks for home care, described in Norwegian
SUPPLIER_NAME = "Låsløs AS"
SUPPLIER_EMAIL = "drift@laaslos.no"
NEED_TITLE = "Digitala lås i hemtjänsten"
NEED_TEXT = (
    "Hemtjänsten vill ersätta nycklar och nyckelskåp med digitala lås: personalen ska kunna öppna brukarnas dörrar "
    "med mobilen, tillgången ska kunna begränsas till planerade besök, och varje öppning loggas."
)
NEED_LINK = re.compile(r"http://127\.0\.0\.1:\d+/ui/needs/[^\s?]+\?alert=[^\s]+")
ADVISER = Principal(role="adviser", label="Kari Nordmann")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_embedder, inbox) -> Iterator[tuple[str, Services]]:  # type: ignore[no-untyped-def]
    from api.main import create_app

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    _box, smtp_port = inbox
    port = _free_port()
    settings = Settings(
        home=tmp_path_factory.mktemp("alerts-home"),
        public_url=f"http://127.0.0.1:{port}",  # the links in alerts point at this server
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )
    loading = open_services(settings, embedder=real_embedder)  # the sample data embedded (and alerted on) first
    for kind, name in ((SUPPLIERS, "suppliers"), (NEEDS, "needs")):
        writes.import_records(loading, kind, (REPO / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
    while alerts.run_pending(loading).jobs:
        pass  # no account has a confirmed address yet: these alerts e-mail nobody
    loading.engine.dispose()
    services = open_services(settings, embedder=real_embedder, indexing="background")
    # The app's lifespan starts BackgroundWork (indexer, follower, alerts, webhooks and a MailSender to the
    # loopback SMTP server from these settings), as in ``matchmaker serve``.
    with live_server(create_app(settings, services=services), port) as base:
        yield base, services
    services.engine.dispose()


def _sign_in_with_key(page, base: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/ui/login")
    page.click("details.keys summary")
    page.fill("#key", key)
    with page.expect_navigation():
        page.click("details.keys button")


def _messages_to(box: Inbox, to: str) -> list[Message]:
    with box.lock:
        return [m for address, m in box.messages if address == to]


def _arrival(box: Inbox, to: str, after: int, timeout: float = 120.0) -> tuple[threading.Thread, list[float]]:
    """A watcher that notes when the next message to ``to`` reaches the SMTP server (within 10 ms)."""
    seen: list[float] = []

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if box.count(to) > after:
                seen.append(time.monotonic())
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher, seen


def test_a_saved_need_is_e_mailed_to_the_matching_supplier_who_opens_it(chromium, site, inbox, request) -> None:  # type: ignore[no-untyped-def]
    base, services = site
    box, _port = inbox

    # The supplier's account signs in once by the e-mailed link: its address is confirmed.
    people.invite(services.engine, people.Invitation(SUPPLIER_EMAIL, "supplier", supplier_id=LOCKS_SUPPLIER), ADVISER, base)
    supplier = _new_page(chromium)
    _sign_in_by_link(supplier, box.link_for(SUPPLIER_EMAIL, after=0))
    assert SUPPLIER_EMAIL in supplier.inner_text("form.who") or LOCKS_SUPPLIER in supplier.inner_text("form.who")

    # A buyer describes a need and saves it; the click starts the clock.
    buyer = _new_page(chromium)
    _sign_in_with_key(buyer, base, create_key(services.engine, "buyer", label="Ulla Lind", buyer="Umeå kommun")[0])
    buyer.goto(f"{base}/ui/my/needs/new")
    buyer.fill("#title", NEED_TITLE)
    buyer.fill("#description", NEED_TEXT)
    buyer.fill("input[name=country]", "SE")
    before = box.count(SUPPLIER_EMAIL)
    watcher, arrived = _arrival(box, SUPPLIER_EMAIL, before)
    clicked = time.monotonic()
    with buyer.expect_navigation():
        buyer.click("button[value=save]")
    assert "/ui/needs/umea-kommun-" in buyer.url and buyer.locator("h1").inner_text() == NEED_TITLE
    need_id = buyer.url.rsplit("/", 1)[1]
    watcher.join(timeout=130)
    with Session(services.engine) as session:
        told = {a.supplier_id: a for a in session.exec(select(Alert).where(Alert.need_id == need_id))}
    assert LOCKS_SUPPLIER in told, f"the door-lock supplier was not told; told: {sorted(told)}"
    assert arrived, "the alert e-mail did not reach the SMTP server within 120 s"
    print(f"\nalert latency save→e-mail: {arrived[0] - clicked:.2f} s (match {told[LOCKS_SUPPLIER].score:.2f})")

    # The e-mail says what matched; its link opens the need without signing in (and records it).
    mail = _messages_to(box, SUPPLIER_EMAIL)[-1]
    assert NEED_TITLE in str(make_header(decode_header(mail["Subject"]))) and mail["List-Unsubscribe"]
    link = NEED_LINK.search(mail.get_payload(decode=True).decode())
    assert link, "the alert holds no link to the need"
    reader = _new_page(chromium)
    reader.goto(link.group(0))
    assert reader.locator("h1").inner_text() == NEED_TITLE and "Sign in" in reader.inner_text("header")
    reader.context.close()

    # The adviser sees the supplier as told, e-mailed and opened.
    adviser = _new_page(chromium)
    _sign_in_with_key(adviser, base, create_key(services.engine, "adviser", label="Kari Nordmann")[0])
    adviser.goto(f"{base}/ui/needs/{need_id}")
    row = adviser.locator("#told tr.told-row", has_text=SUPPLIER_NAME)
    assert row.count() == 1, adviser.locator("#told").inner_text()
    assert "e-mail: sent" in row.inner_text() and "opened" in row.inner_text() and "not opened" not in row.inner_text()
    fits_narrow(adviser)

    # The supplier finds it in its inbox, with the count in the nav, and answers.
    supplier.goto(f"{base}/ui/my/alerts")
    entry = supplier.locator("li.alert", has_text=NEED_TITLE)
    assert entry.locator(".badge").inner_text() == "New"
    assert re.search(r"Alerts \d+", supplier.locator("header nav").inner_text())
    screenshot(supplier, "my-alerts", request)
    fits_narrow(supplier)
    entry.locator("input[name=note]").fill("Vi har levert til 35 kommuner i Norge.")
    with supplier.expect_navigation():
        entry.locator("button[value=interested]").click()
    assert supplier.locator("li.alert", has_text=NEED_TITLE).locator("button[value=interested]").get_attribute("aria-pressed")
    adviser.reload()
    assert "Interested" in adviser.locator("#told tr.told-row", has_text=SUPPLIER_NAME).inner_text()

    supplier.goto(f"{base}/ui/my/alerts/settings")
    assert SUPPLIER_EMAIL in supplier.inner_text("main")  # where its e-mail goes: the address that signed in
    screenshot(supplier, "alert-settings", request)
    fits_narrow(supplier)
    for page in (supplier, buyer, adviser):
        page.context.close()
