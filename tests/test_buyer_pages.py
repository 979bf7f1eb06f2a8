"""The buyer's pages: a need described on a form, checked against the market without storing anything,
a suggested CPV code taken with one click, saved, edited and closed; its list with readiness verdicts;
and what other buyers, suppliers and other sites cannot do there (fake embedder; SQLite and PostgreSQL)."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.main import create_app
from service.container import Services
from store.models import Need
from store.trust_models import AuditEvent
from tests.builders import SUPPLIERS
from tests.web_forms import ORIGIN, form_token, post_form, signed_in_browser

NEW = "/ui/my/needs/new"
DRAFT = {
    "title": "Fossilfri snöröjning av gång- och cykelvägar",
    "description": "Umeå kommun vill pröva snöröjning och halkbekämpning med eldrivna maskiner vintern 2027.",
    "country": "SE",
    "region": "SE331",
}


@pytest.fixture
def buyer(services: Services, client: TestClient) -> Iterator[TestClient]:
    browser = signed_in_browser(services, "buyer", buyer="Umeå kommun")
    yield browser
    browser.__exit__(None, None, None)


def _counts(services: Services) -> tuple[int, int]:
    with Session(services.engine) as session:
        needs = session.exec(select(func.count()).select_from(Need)).one()
        audit = session.exec(select(func.count()).select_from(AuditEvent)).one()
    return int(needs), int(audit)


def test_checking_a_draft_shows_the_market_and_stores_nothing(services: Services, buyer: TestClient) -> None:
    before = _counts(services)
    page = post_form(buyer, NEW, NEW, {**DRAFT, "action": "check"})
    assert page.status_code == 200
    assert "Market readiness" in page.text and "Snöfri AB" in page.text  # the supplier that does it, before saving
    assert "Nothing is stored while you check a draft" in page.text
    assert _counts(services) == before, "a checked draft is neither stored nor audited"


def test_a_draft_with_only_a_title_and_a_description_is_checked(services: Services, buyer: TestClient) -> None:
    page = post_form(buyer, NEW, NEW, {"title": DRAFT["title"], "description": DRAFT["description"], "action": "check"})
    assert page.status_code == 200 and "Market readiness" in page.text


def test_a_suggested_code_is_taken_with_one_click(services: Services, buyer: TestClient) -> None:
    page = post_form(buyer, NEW, NEW, {**DRAFT, "action": "check"})
    offered = re.findall(r'name="add_cpv" value="(\d{8})"', page.text)
    assert offered, "the check offers CPV codes suggested from the text"
    taken = post_form(buyer, NEW, NEW, {**DRAFT, "add_cpv": offered[0]})
    assert re.search(rf'name="cpv" value="[^"]*{offered[0]}', taken.text)
    assert f'name="add_cpv" value="{offered[0]}"' not in taken.text  # no longer offered once taken


def test_a_saved_need_is_the_buyers_listed_with_its_readiness_then_edited_and_closed(
    services: Services, buyer: TestClient
) -> None:
    saved = post_form(buyer, NEW, NEW, {**DRAFT, "cpv": "90620000", "status": "open", "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    need_id = saved.headers["location"].rsplit("/", 1)[1]
    with Session(services.engine) as session:
        need = session.exec(select(Need).where(Need.id == need_id)).one()
    assert (need.buyer, need.status, need.cpv_codes) == ("Umeå kommun", "open", ["90620000"])
    listing = buyer.get("/ui/my/needs").text
    assert DRAFT["title"] in listing and "matching —" in listing
    edit = f"/ui/my/needs/{need_id}/edit"
    assert DRAFT["description"] in buyer.get(edit).text
    changed = {**DRAFT, "title": "Eldriven snöröjning", "region": "", "cpv": "90620000", "status": "open", "action": "save"}
    assert post_form(buyer, edit, edit, changed, follow_redirects=False).status_code == 303
    assert post_form(buyer, edit, edit, {**changed, "action": "close"}, follow_redirects=False).status_code == 303
    with Session(services.engine) as session:
        need = session.exec(select(Need).where(Need.id == need_id)).one()
    assert (need.title, need.status, need.region) == ("Eldriven snöröjning", "closed", None)  # a blanked field is cleared


def test_bad_fields_are_named_and_nothing_is_saved(services: Services, buyer: TestClient) -> None:
    before = _counts(services)
    cases = [
        ({"title": "", "description": "!!!"}, "no words to match on"),
        ({**DRAFT, "cpv": "12345678"}, "cpv_codes"),
        ({**DRAFT, "published": "2027-03-01", "deadline": "2027-01-01"}, "before the publication date"),
    ]
    for fields, reason in cases:
        page = post_form(buyer, NEW, NEW, {**fields, "action": "save"})
        assert page.status_code == 422 and reason in page.text, reason
    assert _counts(services) == before


def test_another_buyer_a_supplier_and_a_stranger_cannot_use_the_pages(services: Services, buyer: TestClient) -> None:
    saved = post_form(buyer, NEW, NEW, {**DRAFT, "action": "save"}, follow_redirects=False)
    edit = saved.headers["location"].replace("/ui/needs/", "/ui/my/needs/") + "/edit"
    other = signed_in_browser(services, "buyer", buyer="Bergen kommune")
    supplier = signed_in_browser(services, "supplier", supplier_id=SUPPLIERS[0]["id"])
    try:
        assert other.get(edit).status_code == 404
        token = form_token(other.get(NEW).text)
        hijack = other.post(edit, data={**DRAFT, "title": "Kapret", "action": "save", "csrf_token": token}, headers=ORIGIN)
        assert hijack.status_code == 404
        assert supplier.get("/ui/my/needs").status_code == 403
        with TestClient(create_app(services=services)) as stranger:
            assert stranger.get(NEW, follow_redirects=False).status_code == 303  # sign in first
    finally:
        other.__exit__(None, None, None)
        supplier.__exit__(None, None, None)
    with Session(services.engine) as session:
        assert session.exec(select(func.count()).select_from(Need).where(Need.title == "Kapret")).one() == 0


def test_the_form_refuses_a_cross_site_post(services: Services, buyer: TestClient) -> None:
    before = _counts(services)
    token = form_token(buyer.get(NEW).text)
    answer = buyer.post(NEW, data={**DRAFT, "action": "save", "csrf_token": token}, headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and _counts(services) == before
