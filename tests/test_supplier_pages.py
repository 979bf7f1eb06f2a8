"""The supplier's pages: its profile edited on a form (CPV codes suggested from its text, private fields
only it sees), and the needs ranked for it, which follow the profile the moment it is saved (fake
embedder; SQLite and PostgreSQL)."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.main import create_app
from service import people
from service.access import Principal
from service.container import Services
from store.models import Supplier
from store.outbox_models import OutgoingMail
from tests.builders import SUPPLIERS
from tests.web_forms import ORIGIN, form_token, post_form, signed_in_browser

PROFILE = "/ui/my/profile"
SNOW = SUPPLIERS[1]
FALLS = "Vi leverer fallsensorer og digitalt tilsyn for eldre som bor hjemme; sensorene varsler hjemmetjenesten ved fall."


@pytest.fixture
def supplier(services: Services, client: TestClient) -> Iterator[TestClient]:
    browser = signed_in_browser(services, "supplier", supplier_id=SNOW["id"])
    yield browser
    browser.__exit__(None, None, None)


def _fields(page: str) -> dict[str, str]:
    """The profile form as the page filled it in."""
    inputs = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    areas = dict(re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', page))
    inputs.pop("csrf_token", None)
    return {**inputs, **areas}


def _top_need(browser: TestClient) -> str:
    return re.findall(r'class="name" href="/ui/needs/([^"]+)"', browser.get("/ui/my/needs-for-you").text)[0]


def test_a_saved_profile_changes_the_needs_ranked_for_the_supplier(services: Services, supplier: TestClient) -> None:
    page = supplier.get(PROFILE).text
    assert SNOW["description"] in page
    assert _top_need(supplier) == "need-2"  # snow clearing
    fields = {**_fields(page), "description": FALLS, "operating_regions": "no0a2 SE331", "action": "save"}
    saved = post_form(supplier, PROFILE, PROFILE, fields, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/ui/my/needs-for-you?saved=1"
    with Session(services.engine) as session:
        assert session.exec(select(Supplier.operating_regions).where(Supplier.id == SNOW["id"])).one() == ["NO0A2", "SE331"]
    assert "Your profile is saved" in supplier.get(saved.headers["location"]).text
    assert _top_need(supplier) == "need-1"  # fall sensors, from the text just saved


def test_suggested_codes_are_offered_and_taken(services: Services, supplier: TestClient) -> None:
    page = post_form(supplier, PROFILE, PROFILE, {"description": FALLS, "action": "suggest"})
    offered = re.findall(r'name="add_cpv" value="(\d{8})"', page.text)
    assert offered
    taken = post_form(supplier, PROFILE, PROFILE, {"description": FALLS, "add_cpv": offered[0]})
    assert re.search(rf'name="cpv" value="[^"]*{offered[0]}', taken.text)
    with Session(services.engine) as session:  # suggesting and taking a code save nothing
        assert session.exec(select(Supplier.description).where(Supplier.id == SNOW["id"])).one() == SNOW["description"]


def test_bad_fields_are_named_and_nothing_changes(services: Services, supplier: TestClient) -> None:
    fields = {**_fields(supplier.get(PROFILE).text), "contact_email": "not-an-address", "cpv": "99999999", "action": "save"}
    page = post_form(supplier, PROFILE, PROFILE, fields)
    assert page.status_code == 422 and "contact_email" in page.text and "cpv_codes" in page.text
    with Session(services.engine) as session:
        assert session.exec(select(Supplier.contact_email).where(Supplier.id == SNOW["id"])).one() is None


def test_an_approved_registrant_writes_its_first_profile(services: Services, client: TestClient) -> None:
    adviser = Principal(role="adviser", prefix="test", label="Kari")
    people.register_supplier(
        services.engine, people.Registration("ny@firma.no", "Nina", "Nytt Firma AS", "NO-BRC-933333333", "NO"), "http://x"
    )
    with Session(services.engine) as session:
        from store.people_models import Person

        handle = session.exec(select(Person.handle).where(Person.email == "ny@firma.no")).one()
    people.approve(services.engine, handle, adviser, "http://x")
    with Session(services.engine) as session:
        body = session.exec(
            select(OutgoingMail.body).where(OutgoingMail.to_address == "ny@firma.no").order_by(OutgoingMail.id.desc())
        ).first()  # type: ignore[union-attr]
    token = re.search(r"token=([\w-]+)", body or "").group(1)  # type: ignore[union-attr]
    with TestClient(create_app(services=services)) as browser:
        csrf = form_token(browser.get(f"/ui/login/link?token={token}").text)
        landed = browser.post("/ui/login/link", data={"token": token, "csrf_token": csrf}, headers=ORIGIN, follow_redirects=False)
        assert landed.headers["location"] == PROFILE
        assert browser.get("/ui/my/needs-for-you", follow_redirects=False).headers["location"] == PROFILE
        page = browser.get(PROFILE).text
        assert "Welcome" in page and 'value="Nytt Firma AS"' in page
        saved = post_form(
            browser, PROFILE, PROFILE, {**_fields(page), "description": FALLS, "action": "save"}, follow_redirects=False
        )
        assert saved.status_code == 303
        assert "need-1" in browser.get("/ui/my/needs-for-you").text
    with Session(services.engine) as session:
        assert session.exec(select(Supplier.name).where(Supplier.id == "NO-BRC-933333333")).one() == "Nytt Firma AS"


def test_only_a_supplier_uses_the_pages_and_only_for_itself(services: Services, supplier: TestClient) -> None:
    other = SUPPLIERS[0]
    buyer = signed_in_browser(services, "buyer", buyer="Bergen kommune")
    try:
        assert buyer.get(PROFILE).status_code == 403
        assert buyer.get("/ui/my/needs-for-you").status_code == 403
    finally:
        buyer.__exit__(None, None, None)
    page = supplier.get(PROFILE).text
    assert other["description"] not in page and SNOW["description"] in page
    with TestClient(create_app(services=services)) as stranger:
        assert stranger.get(PROFILE, follow_redirects=False).status_code == 303


def test_the_form_refuses_a_cross_site_post(services: Services, supplier: TestClient) -> None:
    token = form_token(supplier.get(PROFILE).text)
    answer = supplier.post(
        PROFILE, data={"description": FALLS, "action": "save", "csrf_token": token}, headers={"Origin": "http://evil.example"}
    )
    assert answer.status_code == 403
    with Session(services.engine) as session:
        assert session.exec(select(Supplier.description).where(Supplier.id == SNOW["id"])).one() == SNOW["description"]
