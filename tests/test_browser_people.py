"""People at the table, in a real browser (Debian's chromium, Playwright) against a live server with the
real model and the sample data, its mail delivered over SMTP to a real server on loopback (aiosmtpd):
an adviser invites a buyer, who signs in by the e-mailed link, checks a Swedish need against the market
without saving it, then saves it; a supplier registers, is approved, signs in, writes its profile and
finds the need among its needs; used and expired links are refused; signing out ends the session.
``--screens`` saves the new pages at 1280×800 and 390×844 under bench/results/screens/."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from sqlmodel import Session, func, select, update

from service import writes
from service.background import BackgroundWork
from service.container import Services, open_services
from service.keys import create_key
from service.mail_sender import MailSender, SmtpConfig
from service.settings import Settings
from store.models import Need
from store.people_models import SignInLink
from store.repository import NEEDS, SUPPLIERS
from tests.conftest import REPO
from tests.test_browser import CHROMIUM, SIZES, _free_port, live_server, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.model]

SWEDISH_NEED = (
    "Hemtjänsten vill ersätta nycklar med digitala lås: personalen ska kunna öppna brukarnas dörrar med mobilen, "
    "och varje öppning loggas."
)
NORWEGIAN_SUPPLIER = "Låsløs AS"
NEW_SUPPLIER = "NO-BRC-987654321"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/ui/login/link\?token=[\w-]+)")


class Inbox:
    """The loopback SMTP server's messages, by recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for to in envelope.rcpt_tos:
                self.messages.append((to, message_from_bytes(envelope.content)))
        return "250 OK"

    def link_for(self, to: str, after: int) -> str:
        """The sign-in link in the first message to ``to`` after the first ``after`` that holds one (waits
        for the sender; a message without a link, e.g. "registration received" arriving late, is passed over)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.lock:
                mine = [m for address, m in self.messages if address == to][after:]
            for message in mine:
                found = LINK.search(message.get_payload(decode=True).decode())
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no message with a sign-in link to {to} within 30 s")

    def count(self, to: str) -> int:
        with self.lock:
            return sum(1 for address, _m in self.messages if address == to)


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    box, port = Inbox(), _free_port()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs each SMTP command, also after a test ends
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_embedder, inbox) -> Iterator[tuple[str, Services]]:  # type: ignore[no-untyped-def]
    from api.main import create_app

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    _box, smtp_port = inbox
    port = _free_port()
    settings = Settings(home=tmp_path_factory.mktemp("people-home"), public_url=f"http://127.0.0.1:{port}")
    services = open_services(settings, embedder=real_embedder)
    for kind, name in ((SUPPLIERS, "suppliers"), (NEEDS, "needs")):
        writes.import_records(services, kind, (REPO / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
    sender = MailSender(services.engine, SmtpConfig(host="127.0.0.1", port=smtp_port))
    work = BackgroundWork(services, index=False, follow=False, mail=True, sender=sender).start()
    with live_server(create_app(settings, services=services), port) as base:
        yield base, services
    work.stop()
    services.engine.dispose()


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield launched
        launched.close()


def _new_page(chromium):  # type: ignore[no-untyped-def]
    return chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()


def _sign_in_by_link(page, link: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(link)
    with page.expect_navigation():
        page.click("button.primary")


def fits_narrow(page) -> None:  # type: ignore[no-untyped-def]
    """The page now shown does not scroll sideways on a phone (390 px)."""
    page.set_viewport_size({"width": SIZES["narrow"][0], "height": SIZES["narrow"][1]})
    widths = page.evaluate("() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    page.set_viewport_size({"width": SIZES["wide"][0], "height": SIZES["wide"][1]})
    assert widths[1] <= widths[0], f"{page.url} scrolls sideways at 390 px: {widths}"


def _needs_stored(services: Services) -> int:
    with Session(services.engine) as session:
        return int(session.exec(select(func.count()).select_from(Need)).one())


def test_buyer_and_supplier_come_to_the_table(chromium, site, inbox, request) -> None:  # type: ignore[no-untyped-def]
    base, services = site
    box, _port = inbox
    adviser = _new_page(chromium)
    key = create_key(services.engine, "adviser", label="Kari Nordmann")[0]
    adviser.goto(f"{base}/ui/login")
    adviser.click("details.keys summary")
    adviser.fill("#key", key)
    with adviser.expect_navigation():
        adviser.click("details.keys button")

    # The adviser invites a buyer; the buyer signs in by the e-mailed link.
    adviser.goto(f"{base}/ui/people")
    adviser.fill("#email", "ulla@umea.se")
    adviser.fill("#name", "Ulla Lind")
    adviser.select_option("#role", "buyer")
    adviser.fill("#buyer", "Umeå kommun")
    with adviser.expect_navigation():
        adviser.click("text=Send the invitation")
    assert "Invitation sent to ulla@umea.se" in adviser.inner_text("main")
    link = box.link_for("ulla@umea.se", after=0)
    buyer = _new_page(chromium)
    _sign_in_by_link(buyer, link)
    assert buyer.url.endswith("/ui/my/needs") and "Ulla Lind" in buyer.inner_text("form.who")
    screenshot(buyer, "my-needs", request)
    fits_narrow(buyer)

    # A Swedish draft, checked against the market: readiness and a Norwegian supplier, nothing stored.
    stored = _needs_stored(services)
    buyer.click("text=Describe a new need")
    buyer.fill("#title", "Digitala lås i hemtjänsten")
    buyer.fill("#description", SWEDISH_NEED)
    buyer.fill("input[name=country]", "SE")
    with buyer.expect_navigation():
        buyer.click("button[value=check]")
    assert buyer.locator("#readiness .big").is_visible()
    names = buyer.locator("ol.results .name").all_inner_texts()
    assert NORWEGIAN_SUPPLIER in names[:5], names
    assert _needs_stored(services) == stored
    screenshot(buyer, "need-draft", request)
    fits_narrow(buyer)
    with buyer.expect_navigation():
        buyer.click("button[value=save]")
    assert "/ui/needs/umea-kommun-" in buyer.url and buyer.locator("h1").inner_text() == "Digitala lås i hemtjänsten"
    assert _needs_stored(services) == stored + 1

    # The used link no longer signs anyone in.
    again = _new_page(chromium)
    again.goto(link)
    assert "This link no longer works" in again.inner_text("main")

    # A supplier registers, the adviser approves it, it signs in and writes its profile.
    supplier = _new_page(chromium)
    supplier.goto(f"{base}/ui/register")
    supplier.fill("#organisation", "Nøkkelfri Omsorg AS")
    supplier.fill("#supplier_id", NEW_SUPPLIER)
    supplier.fill("#country", "NO")
    supplier.fill("#name", "Nils Berg")
    supplier.fill("#email", "nils@nokkelfri.no")
    screenshot(supplier, "register", request)
    fits_narrow(supplier)
    with supplier.expect_navigation():
        supplier.click("button.primary")
    assert "Thank you" in supplier.inner_text("main")
    adviser.goto(f"{base}/ui/people")
    assert "Nøkkelfri Omsorg AS" in adviser.inner_text("main")
    screenshot(adviser, "people", request)
    fits_narrow(adviser)
    waiting = box.count("nils@nokkelfri.no")
    with adviser.expect_navigation():
        adviser.click("text=Approve")
    _sign_in_by_link(supplier, box.link_for("nils@nokkelfri.no", after=waiting))
    assert supplier.url.endswith("/ui/my/profile") and supplier.input_value("#name") == "Nøkkelfri Omsorg AS"
    supplier.fill(
        "#description",
        "Vi leverer digitale dørlåser til hjemmetjenesten: de ansatte åpner døren med mobilen, og hver åpning logges.",
    )
    with supplier.expect_navigation():
        supplier.click("button[value=save]")
    assert "Your profile is saved" in supplier.inner_text("main")
    assert "Digitala lås i hemtjänsten" in supplier.locator("ol.results .name").all_inner_texts()[:3]
    screenshot(supplier, "needs-for-you", request)
    fits_narrow(supplier)
    supplier.goto(f"{base}/ui/my/profile")
    screenshot(supplier, "my-profile", request)
    fits_narrow(supplier)

    # An expired link is refused; signing out ends the session.
    sent = box.count("ulla@umea.se")
    fresh = _new_page(chromium)
    fresh.goto(f"{base}/ui/login")
    fresh.fill("#email", "ulla@umea.se")
    with fresh.expect_navigation():
        fresh.click("form.login button.primary")
    screenshot(fresh, "login-sent", request)
    fits_narrow(fresh)
    expired = box.link_for("ulla@umea.se", after=sent)
    with Session(services.engine) as session:
        session.exec(update(SignInLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))  # type: ignore[call-overload]
        session.commit()
    fresh.goto(expired)
    assert "This link no longer works" in fresh.inner_text("main")
    with buyer.expect_navigation():
        buyer.click("form.who button")
    buyer.goto(f"{base}/ui/my/needs")
    assert "/ui/login" in buyer.url
