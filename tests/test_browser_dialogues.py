"""A joint market dialogue in a real browser (Debian's chromium, Playwright) against a live server (the fake
embedder and the small test records, so it runs in seconds): an adviser opens a need's page, groups another
buyer's need with it into a joint dialogue, lands on the dialogue's page with both needs and one shortlist,
invites the supplier that fits both, and finds it in the invitation list. ``--screens`` saves the page
at 1280×800 and 390×844 under bench/results/screens/ (joint_dialogue-wide.png, joint_dialogue-narrow.png)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import writes
from service.container import Services, open_services
from service.keys import create_key
from service.settings import Settings
from store.repository import NEEDS, SUPPLIERS
from tests import builders
from tests import test_browser_people as people_pages
from tests.fakes import HashingEmbedder
from tests.test_browser import CHROMIUM, SIZES, _free_port, live_server, screenshot
from tests.test_joint_dialogues import BOTH, LOCKS_NEED, MORE_NEEDS, MORE_SUPPLIERS

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Services]]:
    from api.main import create_app

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    services = open_services(Settings(home=Path(tmp_path_factory.mktemp("dialogue-home"))), embedder=HashingEmbedder())
    for kind, rows in ((SUPPLIERS, [*builders.SUPPLIERS, *MORE_SUPPLIERS]), (NEEDS, [*builders.NEEDS, *MORE_NEEDS])):
        writes.import_records(services, kind, [json.dumps(r) for r in rows])
    with live_server(create_app(services=services), _free_port()) as base:
        yield base, services
    services.engine.dispose()


chromium = people_pages.chromium  # the same browser fixture as the people's story


def fits_narrow(page) -> None:  # type: ignore[no-untyped-def]
    """The page now shown does not scroll sideways on a phone (390 px)."""
    page.set_viewport_size({"width": SIZES["narrow"][0], "height": SIZES["narrow"][1]})
    widths = page.evaluate("() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    page.set_viewport_size({"width": SIZES["wide"][0], "height": SIZES["wide"][1]})
    assert widths[1] <= widths[0], f"{page.url} scrolls sideways at 390 px: {widths}"


def test_an_adviser_pools_two_buyers_needs_into_one_dialogue(chromium, site, request) -> None:  # type: ignore[no-untyped-def]
    base, services = site
    page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{base}/ui/login")
    page.click("details.keys summary")
    page.fill("#key", create_key(services.engine, "adviser", label="Kari Nordmann")[0])
    with page.expect_navigation():
        page.click("details.keys button")

    page.goto(f"{base}/ui/needs/need-1")
    similar = page.locator("#similar")
    assert similar.locator("h2").inner_text() == "Other buyers with this need"
    assert "Digitale dørlåser i hjemmetjenesten" in similar.locator("ol.results .name").all_inner_texts()
    with page.expect_navigation():
        similar.locator(f'form:has(input[value="{LOCKS_NEED}"]) button').click()
    assert re.search(r"/ui/dialogues/jd-[0-9a-f]{8}$", page.url), page.url
    assert page.locator("h1").inner_text() == "Fallsensor for hjemmeboende eldre"  # the first need's title
    members = page.locator("#needs tr.member").all_inner_texts()
    assert len(members) == 2 and "Bergen kommune" in members[0] and "Trondheim kommune" in members[1]
    names = page.locator("#shortlist li.result .name").all_inner_texts()
    assert names[0] == "Omsorgsteknologi AS" and len(names) >= 3
    assert "No supplier invited yet" in page.locator("#invitations").inner_text()

    with page.expect_navigation():
        page.locator(f"#s-{BOTH} form.marks button[value=invited]").click()
    invited = page.locator("#invitations tr.invitation").all_inner_texts()
    assert len(invited) == 1 and "Omsorgsteknologi AS" in invited[0] and f"need-1, {LOCKS_NEED}" in invited[0]
    assert page.locator(f"#s-{BOTH} .badge").inner_text() == "Invited"
    screenshot(page, "joint_dialogue", request)
    fits_narrow(page)

    page.goto(f"{base}/ui/needs/{LOCKS_NEED}")
    assert "Part of the joint market dialogue Fallsensor for hjemmeboende eldre" in page.locator("#similar").inner_text()
    page.context.close()
