"""People sign in by a one-time e-mail link: invitations, a supplier's registration and its approval,
links that work once and expire, and pages that tell no one who has an account (fake embedder; SQLite
and PostgreSQL). The messages are read from the outbox the sender delivers from."""

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from api.main import create_app
from service import sign_in
from service.container import Services
from service.keys import create_key
from store.db import session_scope
from store.outbox_models import OutgoingMail
from store.people_models import Person, SignInLink
from store.trust_models import AuditEvent
from tests.builders import SUPPLIERS
from tests.web_forms import ORIGIN, form_token, post_form
from tests.web_forms import sign_in as sign_in_with_key

LINK = re.compile(r"(http\S+/ui/login/link\?token=[\w-]+)")
EVIL = {"Origin": "http://evil.example"}


@pytest.fixture
def adviser(services: Services, client: TestClient) -> Iterator[TestClient]:
    """An adviser's browser, signed in with a key (``client`` has loaded the builders' rows)."""
    key = create_key(services.engine, "adviser", label="Kari Nordmann")[0]
    with TestClient(create_app(services=services)) as browser:
        assert sign_in_with_key(browser, key).status_code == 303
        yield browser


def _mails(services: Services, to: str) -> list[OutgoingMail]:
    with Session(services.engine) as session:
        return list(session.exec(select(OutgoingMail).where(OutgoingMail.to_address == to).order_by(col(OutgoingMail.id))))


def _link_in_last_mail(services: Services, to: str) -> str:
    found = LINK.search(_mails(services, to)[-1].body)
    assert found, "the last message holds no sign-in link"
    return found.group(1)


def _path(link: str) -> str:
    """The link's path and query, to open on the test server."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def browsers(services: Services) -> Iterator[list[TestClient]]:
    """New browsers opened during a test, closed after it."""
    opened: list[TestClient] = []
    yield opened
    for browser in opened:
        browser.__exit__(None, None, None)


def _use(services: Services, browsers: list[TestClient], link: str) -> tuple[TestClient, Any]:
    """A new browser opens the link, confirms, and is signed in (or refused)."""
    browser = TestClient(create_app(services=services)).__enter__()
    browsers.append(browser)
    page = browser.get(_path(link))
    form = form_token(page.text if "csrf_token" in page.text else browser.get("/ui/login").text)
    token = link.rsplit("token=", 1)[1]
    answer = browser.post("/ui/login/link", data={"token": token, "csrf_token": form}, headers=ORIGIN, follow_redirects=False)
    return browser, answer


def _invite(adviser: TestClient, **fields: str) -> object:
    return post_form(adviser, "/ui/people", "/ui/people/invite", fields)


def test_an_adviser_invites_a_buyer_who_signs_in_once_by_the_link(
    services: Services, adviser: TestClient, browsers: list[TestClient]
) -> None:
    answer = _invite(adviser, email="Ola@Kommune.no ", role="buyer", name="Ola Hansen", buyer="Oslo kommune")
    assert answer.status_code == 200 and "Invitation sent to" in answer.text
    [mail] = _mails(services, "ola@kommune.no")
    assert "Kari Nordmann has invited you" in mail.body and "as buyer for Oslo kommune" in mail.body
    link = _link_in_last_mail(services, "ola@kommune.no")
    assert link.startswith(services_url(adviser))
    assert "Sign in as <strong>Ola Hansen</strong>" in adviser.get(_path(link)).text  # opening it uses nothing up
    buyer, answer = _use(services, browsers, link)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/my/needs"
    assert "Ola Hansen" in buyer.get("/ui/needs").text
    again, refused = _use(services, browsers, link)
    assert refused.status_code == 400 and "no longer works" in refused.text
    assert "Sign in" in again.get("/ui/needs").text and "Ola Hansen" not in again.get("/ui/needs").text


def services_url(browser: TestClient) -> str:
    return browser.app.state.settings.pages_url  # type: ignore[attr-defined,no-any-return]


def test_an_expired_link_is_refused(services: Services, adviser: TestClient, browsers: list[TestClient]) -> None:
    _invite(adviser, email="late@kommune.no", role="buyer", buyer="Bergen kommune")
    link = _link_in_last_mail(services, "late@kommune.no")
    with session_scope(services.engine) as session:
        session.exec(update(SignInLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))  # type: ignore[call-overload]
    assert "no longer works" in adviser.get(_path(link)).text
    _browser, answer = _use(services, browsers, link)
    assert answer.status_code == 400


def test_two_browsers_racing_with_one_link_sign_in_once(services: Services, adviser: TestClient) -> None:
    _invite(adviser, email="race@kommune.no", role="buyer", buyer="Bergen kommune")
    token = _link_in_last_mail(services, "race@kommune.no").rsplit("token=", 1)[1]
    winners: list[object] = []
    threads = [threading.Thread(target=lambda: winners.append(sign_in.redeem(services.engine, token))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([w for w in winners if w is not None]) == 1


def test_asking_for_a_link_answers_alike_whoever_has_an_account(services: Services, adviser: TestClient) -> None:
    _invite(adviser, email="known@kommune.no", role="buyer", buyer="Oslo kommune")
    post_form(
        adviser,
        "/ui/register",
        "/ui/register",
        {"email": "waiting@firma.no", "organisation": "Firma AS", "supplier_id": "NO-BRC-911111111"},
    )
    answers = {}
    for email in ("known@kommune.no", "nobody@kommune.no", "waiting@firma.no"):
        with TestClient(create_app(services=services)) as stranger:
            answer = post_form(stranger, "/ui/login", "/ui/login/email", {"email": email})
            answers[email] = (answer.status_code, answer.text.replace(email, "ADDRESS"))
    assert len(set(answers.values())) == 1, "the page must not tell who has an account"
    assert LINK.search(_mails(services, "known@kommune.no")[-1].body)
    assert "has no account" in _mails(services, "nobody@kommune.no")[-1].body
    assert "waiting for an adviser" in _mails(services, "waiting@firma.no")[-1].body
    assert not LINK.search(_mails(services, "waiting@firma.no")[-1].body)


def test_one_address_gets_at_most_five_messages_an_hour(services: Services, client: TestClient) -> None:
    with TestClient(create_app(services=services)) as stranger:
        for _ in range(8):
            assert post_form(stranger, "/ui/login", "/ui/login/email", {"email": "flood@kommune.no"}).status_code == 200
    assert len(_mails(services, "flood@kommune.no")) == sign_in.MAX_MAILS_PER_HOUR


def test_a_bad_address_is_refused_with_the_reason(services: Services, client: TestClient) -> None:
    with TestClient(create_app(services=services)) as stranger:
        answer = post_form(stranger, "/ui/login", "/ui/login/email", {"email": "not an address\r\nBcc: x@y.z"})
    assert answer.status_code == 422 and "an e-mail address cannot contain line breaks" in answer.text
    with TestClient(create_app(services=services)) as stranger:  # the mail's own rule: one bare address
        named = post_form(stranger, "/ui/login", "/ui/login/email", {"email": "Ola <ola@kommune.no>"})
    assert named.status_code == 422 and "not one e-mail address" in named.text


def test_the_link_points_at_the_public_address_never_at_the_requests_host(services: Services, client: TestClient) -> None:
    """A forged Host header must not have someone's sign-in link sent to another site."""
    with TestClient(create_app(services=services), base_url="http://evil.example") as attacker:
        token = form_token(attacker.get("/ui/login").text)
        answer = attacker.post("/ui/login/email", data={"email": "victim@kommune.no", "csrf_token": token}, headers=EVIL)
    assert answer.status_code == 200
    assert "evil.example" not in _mails(services, "victim@kommune.no")[-1].body


def test_a_supplier_registers_is_approved_and_signs_in(
    services: Services, adviser: TestClient, browsers: list[TestClient]
) -> None:
    own_id = SUPPLIERS[0]["id"]
    with TestClient(create_app(services=services)) as stranger:
        fields = {"email": "post@snorydd.no", "organisation": "Snørydd AS", "supplier_id": own_id, "country": "no", "name": "Per"}
        assert "We have written to" in post_form(stranger, "/ui/register", "/ui/register", fields).text
    assert "An adviser of the programme will look at it" in _mails(services, "post@snorydd.no")[-1].body
    people_page = adviser.get("/ui/people").text
    assert "Snørydd AS" in people_page and "Registrations waiting for a decision (1)" in people_page
    assert "approving lets this person edit it" in people_page  # the id names a stored supplier
    [handle] = re.findall(r"/ui/people/(p_[0-9a-f]+)/approve", people_page)
    assert post_form(adviser, "/ui/people", f"/ui/people/{handle}/approve", {}, follow_redirects=False).status_code == 303
    link = _link_in_last_mail(services, "post@snorydd.no")
    supplier, answer = _use(services, browsers, link)
    assert answer.headers["location"] == "/ui/my/needs-for-you"  # its profile is stored already
    profile = supplier.get(f"/ui/suppliers/{own_id}")
    assert profile.status_code == 200 and "Signed in as <strong>Per</strong> (supplier)" in profile.text


def test_a_refused_or_disabled_person_cannot_sign_in(services: Services, adviser: TestClient, browsers: list[TestClient]) -> None:
    with TestClient(create_app(services=services)) as stranger:
        post_form(
            stranger,
            "/ui/register",
            "/ui/register",
            {"email": "no@firma.no", "organisation": "Nei AS", "supplier_id": "NO-BRC-922222222"},
        )
    [handle] = re.findall(r"/ui/people/(p_[0-9a-f]+)/refuse", adviser.get("/ui/people").text)
    post_form(adviser, "/ui/people", f"/ui/people/{handle}/refuse", {})
    assert "was not approved" in _mails(services, "no@firma.no")[-1].body
    sign_in.request_link(services.engine, "no@firma.no", "http://matchmaker.test")
    assert not LINK.search(_mails(services, "no@firma.no")[-1].body)

    _invite(adviser, email="gone@kommune.no", role="buyer", buyer="Oslo kommune")
    buyer, _answer = _use(services, browsers, _link_in_last_mail(services, "gone@kommune.no"))
    with Session(services.engine) as session:
        gone = session.exec(select(Person).where(Person.email == "gone@kommune.no")).one()
    post_form(adviser, "/ui/people", f"/ui/people/{gone.handle}/disable", {})
    assert "Sign in" in buyer.get("/ui/needs").text  # the open session ended with the account


def test_marks_and_the_audit_trail_name_the_person(services: Services, adviser: TestClient, browsers: list[TestClient]) -> None:
    key_holder = create_key(services.engine, "admin", label="Admin")[0]
    with TestClient(create_app(services=services)) as admin:
        sign_in_with_key(admin, key_holder)
        _invite(admin, email="anna@lup.no", role="adviser", name="Anna Berg")
    anna, _answer = _use(services, browsers, _link_in_last_mail(services, "anna@lup.no"))
    assert anna.get("/ui/needs/need-1").status_code == 200  # her shortlist is audited
    mark = {"supplier_id": SUPPLIERS[0]["id"], "mark": "invited"}
    assert post_form(anna, "/ui/needs/need-1", "/ui/needs/need-1/marks", mark, follow_redirects=False).status_code == 303
    with Session(services.engine) as session:
        actors = set(session.exec(select(AuditEvent.actor).where(AuditEvent.need_id == "need-1")))
    assert "Anna Berg <anna@lup.no> (adviser)" in actors


def test_who_may_invite_whom(services: Services, adviser: TestClient, browsers: list[TestClient]) -> None:
    assert _invite(adviser, email="boss@lup.no", role="admin").status_code == 403
    _invite(adviser, email="buyer@kommune.no", role="buyer", buyer="Oslo kommune")
    buyer, _answer = _use(services, browsers, _link_in_last_mail(services, "buyer@kommune.no"))
    assert buyer.get("/ui/people").status_code == 403
    with TestClient(create_app(services=services)) as stranger:
        assert stranger.get("/ui/people", follow_redirects=False).status_code == 303  # sign in first
    assert _invite(adviser, email="x@kommune.no", role="supplier", supplier_id="NO-BRC-000000000").status_code == 422


@pytest.mark.parametrize(
    ("page", "action", "fields"),
    [
        ("/ui/login", "/ui/login/email", {"email": "a@b.no"}),
        ("/ui/register", "/ui/register", {"email": "a@b.no", "organisation": "A", "supplier_id": "NO-1"}),
        ("/ui/people", "/ui/people/invite", {"email": "a@b.no", "role": "buyer", "buyer": "Oslo kommune"}),
        ("/ui/people", "/ui/people/p_00000000/approve", {}),
        ("/ui/people", "/ui/people/p_00000000/disable", {}),
        ("/ui/login", "/ui/login/link", {"token": "x" * 43}),
    ],
)
def test_every_new_form_refuses_a_cross_site_post(
    services: Services, adviser: TestClient, page: str, action: str, fields: dict[str, str]
) -> None:
    token = form_token(adviser.get(page).text)
    answer = adviser.post(action, data={**fields, "csrf_token": token}, headers=EVIL)
    assert answer.status_code == 403 and "Nothing was changed" in answer.text
    assert _mails(services, "a@b.no") == []
