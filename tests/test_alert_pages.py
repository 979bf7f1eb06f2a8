"""The alert pages (fake embedder; SQLite and PostgreSQL): a supplier reads its own alerts and only its
own, answers them from its inbox or from the need's page, and chooses what it hears about on a form that
names a bad field and then changes nothing; a buyer sees how many suppliers were told, never who; advisers
see who was told and try parked deliveries again; other sites' forms and signed-out visitors get nowhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.main import create_app
from service.container import Services
from store.alert_models import Alert, WebhookDelivery
from store.db import session_scope
from store.outbox_models import OutgoingMail
from tests.builders import NEEDS, SUPPLIERS, key_headers
from tests.web_forms import ORIGIN, form_token, post_form, signed_in_browser

INBOX = "/ui/my/alerts"
SETTINGS = "/ui/my/alerts/settings"
PARKED = "/ui/alerts/parked"
FALLS, SNOW = SUPPLIERS[0]["id"], SUPPLIERS[1]["id"]
SNOW_NEED = NEEDS[1]  # need-2, Umeå kommun: snow clearing


@pytest.fixture
def browsers(services: Services, client: TestClient) -> Iterator[dict[str, TestClient]]:
    """Signed-in browsers over the builders' records (whose needs were alerted on when saved)."""
    opened = {
        "snow": signed_in_browser(services, "supplier", supplier_id=SNOW),
        "falls": signed_in_browser(services, "supplier", supplier_id=FALLS),
        "buyer": signed_in_browser(services, "buyer", buyer=SNOW_NEED["buyer"]),
        "adviser": signed_in_browser(services, "adviser"),
    }
    yield opened
    for browser in opened.values():
        browser.__exit__(None, None, None)


def told_about(client: TestClient, need_id: str) -> dict[str, dict[str, Any]]:
    """Who was told about the need, as the adviser's API answers."""
    answer = client.get(f"/needs/{need_id}/alerts")
    assert answer.status_code == 200
    return {a["supplier_id"]: a for a in answer.json()}


def settings_of(client: TestClient, supplier_id: str) -> dict[str, Any]:
    return dict(client.get(f"/suppliers/{supplier_id}/alert-settings").json())


def inbox_needs(page: str) -> list[str]:
    return re.findall(r'class="name" href="/ui/needs/([^"]+)"', page)


def test_the_inbox_lists_the_suppliers_own_alerts_and_not_anothers(client: TestClient, browsers: dict[str, TestClient]) -> None:
    assert SNOW in told_about(client, "need-2"), "the builders' snow supplier was told about the snow need"
    page = browsers["snow"].get(INBOX)
    assert page.status_code == 200
    assert inbox_needs(page.text) == ["need-2"] and "need-1" not in inbox_needs(page.text)
    assert SNOW_NEED["title"] in page.text and "New" in page.text
    assert re.search(r'href="/ui/my/alerts">Alerts <span class="badge[^"]*" title="unread">1</span>', page.text)
    assert "need-2" not in inbox_needs(browsers["falls"].get(INBOX).text)

    read = post_form(browsers["snow"], INBOX, f"{INBOX}/read", {}, follow_redirects=False)
    assert read.status_code == 303 and read.headers["location"] == INBOX
    page = browsers["snow"].get(INBOX).text
    assert 'title="unread"' not in page and "alert unread" not in page
    assert told_about(client, "need-2")[SNOW]["read_at"] is not None


def test_answers_from_the_inbox_and_from_the_need_page_are_recorded(client: TestClient, browsers: dict[str, TestClient]) -> None:
    snow = browsers["snow"]
    sent = post_form(
        snow,
        INBOX,
        f"{INBOX}/need-2/answer",
        {"answer": "interested", "note": "Vi har 12 eldrivna maskiner."},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"{INBOX}?offset=0#a-need-2")
    told = told_about(client, "need-2")[SNOW]
    assert told["answer"] == "interested" and told["answer_note"] == "Vi har 12 eldrivna maskiner."
    assert told["read_at"] is not None, "an answered alert counts as read"

    page = snow.get("/ui/needs/need-2").text
    assert "You were told about this need on" in page and "Vi har 12 eldrivna maskiner." in page
    assert "Suppliers told about this need" not in page
    sent = post_form(
        snow, "/ui/needs/need-2", f"{INBOX}/need-2/answer", {"answer": "not_interested", "back": "need"}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/ui/needs/need-2#your-alert"
    told = told_about(client, "need-2")[SNOW]
    assert told["answer"] == "not_interested" and told["opened_at"] is not None


def test_a_supplier_cannot_answer_another_suppliers_alert(client: TestClient, browsers: dict[str, TestClient]) -> None:
    sent = post_form(browsers["falls"], INBOX, f"{INBOX}/need-2/answer", {"answer": "interested", "supplier_id": SNOW})
    assert sent.status_code == 404  # its own alert about need-2 does not exist; the form's supplier_id is not read
    assert told_about(client, "need-2")[SNOW]["answer"] is None
    odd = post_form(browsers["snow"], INBOX, f"{INBOX}/need-2/answer", {"answer": "maybe"})
    assert odd.status_code == 422 and told_about(client, "need-2")[SNOW]["answer"] is None


def test_the_settings_form_saves_every_field(client: TestClient, browsers: dict[str, TestClient], services: Services) -> None:
    snow = browsers["snow"]
    page = snow.get(SETTINGS).text
    assert f'placeholder="{services.readiness_threshold:.2f}"' in page and "No e-mail is sent now" in page
    assert "/feeds/alerts/" in page and "X-Matchmaker-Signature" not in page  # no webhook, no secret yet
    fields = {
        "enabled": "on",
        "cadence": "daily",
        "min_score": "0,7",
        "countries": "se, NO",
        "regions": "SE331",
        "cpv": "906 90620000",
        "email": "on",
        "contact_email": "Drift@Snofri.se",
        "webhook_url": "https://hooks.snofri.se/matchmaker",
    }
    saved = post_form(snow, SETTINGS, SETTINGS, fields, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = settings_of(client, SNOW)
    assert (stored["cadence"], stored["min_score"]) == ("daily", 0.7)
    assert (stored["countries"], stored["regions"]) == (["SE", "NO"], ["SE331"])
    assert stored["cpv"] == ["906", "9062"], "codes are kept as the prefixes they stand for"
    assert stored["webhook_url"] == fields["webhook_url"]
    assert stored["contact_email"] is None, "a new contact address waits for its confirmation link"
    with Session(services.engine) as session:
        confirmation = session.exec(select(OutgoingMail).where(OutgoingMail.to_address == "drift@snofri.se")).one()
    assert "/ui/alerts/confirm?" in confirmation.body
    page = snow.get(saved.headers["location"]).text
    assert "Your alert settings are saved" in page and "confirmation link was sent" in page
    secret = re.search(r'<textarea id="secret"[^>]*>([0-9a-f]{64})</textarea>', page)
    assert secret and "X-Matchmaker-Signature" in page and "Idempotency-Key" in page
    assert secret.group(1) not in browsers["adviser"].get(f"/ui/suppliers/{SNOW}").text

    post_form(snow, SETTINGS, SETTINGS, {"cadence": "weekly"}, follow_redirects=False)  # unticked boxes are "off"
    stored = settings_of(client, SNOW)
    assert not stored["enabled"] and not stored["email"] and stored["webhook_url"] is None and stored["countries"] == []


def test_a_bad_value_is_named_and_nothing_changes(client: TestClient, browsers: dict[str, TestClient]) -> None:
    snow, before = browsers["snow"], settings_of(client, SNOW)
    page = post_form(snow, SETTINGS, SETTINGS, {"enabled": "on", "cadence": "hourly", "min_score": "1.5", "email": "on"})
    assert page.status_code == 422
    assert 'id="min_score-error"' in page.text and 'id="cadence-error"' in page.text and 'value="1.5"' in page.text
    page = post_form(snow, SETTINGS, SETTINGS, {"countries": "Narnia", "webhook_url": "http://127.0.0.1:9/hook"})
    assert page.status_code == 422 and 'id="countries-error"' in page.text
    page = post_form(snow, SETTINGS, SETTINGS, {"webhook_url": "http://127.0.0.1:9/hook", "contact_email": "nobody"})
    assert page.status_code == 422 and 'id="webhook_url-error"' in page.text and 'id="contact_email-error"' in page.text
    assert settings_of(client, SNOW) == before


def test_the_feed_gets_a_new_address_and_the_old_one_stops(browsers: dict[str, TestClient]) -> None:
    snow = browsers["snow"]
    old = re.findall(r"http://[^<\s]+/feeds/alerts/[^<\s]+\.atom", snow.get(SETTINGS).text)[0]
    path = old.split("//", 1)[1].split("/", 1)[1]
    assert snow.get(f"/{path}").status_code == 200
    moved = post_form(snow, SETTINGS, f"{SETTINGS}/feed", {}, follow_redirects=False)
    assert moved.status_code == 303
    page = snow.get(moved.headers["location"]).text
    assert "Your feed has a new address" in page and old not in page
    assert snow.get(f"/{path}").status_code == 404


def test_forms_from_another_site_or_without_the_token_are_refused(client: TestClient, browsers: dict[str, TestClient]) -> None:
    snow = browsers["snow"]
    token = form_token(snow.get(INBOX).text)
    cross = snow.post(f"{INBOX}/read", data={"csrf_token": token}, headers={"Origin": "http://evil.example"})
    bare = snow.post(f"{INBOX}/need-2/answer", data={"answer": "interested"}, headers=ORIGIN)
    settings = snow.post(SETTINGS, data={"cadence": "weekly"}, headers=ORIGIN)
    assert (cross.status_code, bare.status_code, settings.status_code) == (403, 403, 403)
    told = told_about(client, "need-2")[SNOW]
    assert told["read_at"] is None and told["answer"] is None and settings_of(client, SNOW)["cadence"] == "immediate"


def test_the_buyers_list_shows_how_many_were_told_never_who(client: TestClient, browsers: dict[str, TestClient]) -> None:
    told = told_about(client, "need-2")
    page = browsers["buyer"].get("/ui/my/needs").text
    row = re.search(r'href="/ui/needs/need-2".*?<td class="told">(\d+)</td>', page, re.S)
    assert row and int(row.group(1)) == len(told) >= 1
    assert "Suppliers told" in page and SUPPLIERS[1]["name"] not in page


def test_advisers_see_who_was_told_and_others_do_not(client: TestClient, browsers: dict[str, TestClient]) -> None:
    page = browsers["adviser"].get("/ui/needs/need-2").text
    section = page.split('id="told"', 1)[1].split("</section>", 1)[0]
    assert "Suppliers told about this need" in page and f'href="/ui/suppliers/{SNOW}"' in section
    assert SUPPLIERS[1]["name"] in section and "not opened" in section and "not answered" in section
    for who in ("buyer", "falls"):
        assert "Suppliers told about this need" not in browsers[who].get("/ui/needs/need-2").text
    assert "You were told about this need" not in browsers["falls"].get("/ui/needs/need-2").text


def test_parked_deliveries_are_listed_and_tried_again(
    services: Services, client: TestClient, browsers: dict[str, TestClient]
) -> None:
    with session_scope(services.engine) as session:
        alert = session.exec(select(Alert).where(Alert.supplier_id == SNOW, Alert.need_id == "need-2")).one()
        session.add(
            WebhookDelivery(
                alert_key=int(alert.key or 0),
                supplier_id=SNOW,
                url="https://hooks.snofri.se/matchmaker",
                body="{}",
                idempotency_key="alert-parked-test",
                attempts=8,
                parked=True,
                error="HTTP 500 from the receiver",
            )
        )
        session.add(
            OutgoingMail(to_address="drift@snofri.se", subject="A parked alert", body="-", attempts=5, parked=True, error="550")
        )
    adviser = browsers["adviser"]
    page = adviser.get(PARKED).text
    assert "https://hooks.snofri.se/matchmaker" in page and "HTTP 500 from the receiver" in page
    assert SNOW_NEED["title"] in page and "A parked alert" in page
    assert 'href="/ui/alerts/parked"' in page  # in the advisers' nav
    assert browsers["snow"].get(PARKED).status_code == 403
    retried = post_form(adviser, PARKED, f"{PARKED}/retry", {}, follow_redirects=False)
    assert retried.status_code == 303 and retried.headers["location"] == f"{PARKED}?retried=2"
    with Session(services.engine) as session:
        hook = session.exec(select(WebhookDelivery).where(WebhookDelivery.idempotency_key == "alert-parked-test")).one()
    assert not hook.parked and hook.attempts == 0 and hook.error is None
    assert "HTTP 500 from the receiver" not in adviser.get(PARKED).text


@pytest.mark.parametrize("path", [INBOX, SETTINGS, PARKED])
def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient, services: Services, path: str) -> None:
    with TestClient(create_app(services=services)) as anonymous:
        answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login?next=")


def test_a_buyer_has_no_inbox(client: TestClient, services: Services) -> None:
    with TestClient(create_app(services=services), headers=key_headers(services, "buyer", buyer="Umeå kommun")) as buyer:
        assert buyer.get(INBOX).status_code == 403 and buyer.get(SETTINGS).status_code == 403
