"""Webhooks: a supplier's system receives each alert signed, at least once and accepted once (by its
Idempotency-Key), through outages of the receiver and the death of a sender; never at an address nobody
checked (private addresses, redirects, a name that resolves elsewhere by the time of the connect). A real
HTTP receiver listens on loopback, so these tests allow private addresses unless they test refusing them."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from service import webhook_addresses, webhook_sender
from service.container import Services
from service.settings import Settings
from service.webhook_sender import GONE, REMOVED, WebhookSender, backoff, sign, verify
from store import alert_queries, leased_queue
from store.alert_models import WebhookDelivery
from store.alert_queries import WEBHOOKS
from store.db import init_db, make_engine, session_scope
from tests.conftest import REPO
from tests.tls_helpers import self_signed

SUPPLIER = "NO-BRC-900000001"
SECRET = "5e" * 32
BODY = '{"type":"need.alert","idempotency_key":"alert-1","need":{"id":"need-1","title":"Fallsensor – eldre"}}'
SLOW = dt.timedelta(hours=1)  # retries are made due by hand (due()), so each test checks the wait it was given


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | str


class Receiver:
    """A supplier's system: records every post and answers from ``answers`` in turn (a status, "hold":
    keep the request open until released, "trickle": answer a byte at a time), then 200."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.posts: list[Post] = []
        self.answers: list[int | str] = []
        self.arrived, self.release = threading.Event(), threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.receiver = self  # type: ignore[attr-defined]
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hooks/matchmaker"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_answer(self) -> int | str:
        return self.answers.pop(0) if self.answers else 200

    def accepted(self) -> list[Post]:
        return [p for p in self.posts if isinstance(p.status, int) and 200 <= p.status < 300]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender that hung up (cut off, killed) is what several tests are about


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = receiver.next_answer()
        receiver.posts.append(Post(self.path, dict(self.headers.items()), body, answer))
        if answer == "hold":  # in flight until the test says so (or the sender is killed)
            receiver.arrived.set()
            receiver.release.wait(60)
            return
        if answer == "trickle":  # each byte well within a socket timeout; the whole answer never ends
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 100:
                if receiver.release.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        assert isinstance(answer, int)
        self.send_response(answer)
        if 300 <= answer < 400:
            self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
        text = f"answer {answer} ".encode() + b"x" * 1000
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    settings.home.mkdir(parents=True, exist_ok=True)
    made = make_engine(settings.resolved_database_url)
    init_db(made)
    yield made
    made.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def set_webhook(engine: Engine, url: str | None, secret: str | None = SECRET, supplier: str = SUPPLIER) -> None:
    with session_scope(engine) as session:
        row = alert_queries.settings_for_update(session, supplier)
        row.webhook_url, row.webhook_secret = url, secret if url else None
        session.add(row)


def add_delivery(engine: Engine, url: str, *, key: str = "alert-1", supplier: str = SUPPLIER) -> int:
    with session_scope(engine) as session:
        row = WebhookDelivery(alert_key=1, supplier_id=supplier, url=url, body=BODY, idempotency_key=key)
        session.add(row)
        session.flush()
        return int(row.id or 0)


def webhook_to(engine: Engine, url: str) -> int:
    """A supplier whose webhook is ``url``, and one alert to post to it."""
    set_webhook(engine, url)
    return add_delivery(engine, url)


def stored(engine: Engine, delivery_id: int) -> WebhookDelivery:
    with Session(engine) as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row


def due(engine: Engine) -> None:
    """Make every waiting retry due now, instead of sleeping through the back-off."""
    with session_scope(engine) as session:
        past = leased_queue.now() - dt.timedelta(seconds=1)
        session.execute(update(WebhookDelivery).where(col(WebhookDelivery.claimed_by).is_(None)).values(lease_until=past))


def waits_about(row: WebhookDelivery, expected: dt.timedelta) -> bool:
    assert row.lease_until is not None
    until = row.lease_until if row.lease_until.tzinfo else row.lease_until.replace(tzinfo=dt.UTC)  # SQLite: naive UTC
    return abs(until - leased_queue.now() - expected) < dt.timedelta(seconds=30)


def signed_by(post: Post, secret: str) -> bool:
    timestamp, signature = post.headers["X-Matchmaker-Timestamp"], post.headers["X-Matchmaker-Signature"]
    return verify(secret, timestamp, post.body, signature, now=time.time())


def test_a_signature_verifies_only_with_the_secret_the_body_and_a_fresh_timestamp() -> None:
    body, now = BODY.encode(), 1_750_000_000
    header = sign(SECRET, now, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(SECRET, str(now), body, header, now=now + 299)
    assert verify(SECRET, now, body, header, now=dt.datetime.fromtimestamp(now, dt.UTC))
    assert not verify("00" * 32, now, body, header, now=now)  # another supplier's secret
    assert not verify(SECRET, now, body + b" ", header, now=now)  # a changed body
    assert not verify(SECRET, now + 1, body, header, now=now)  # another timestamp
    assert not verify(SECRET, now, body, header, now=now + 301)  # replayed later
    assert not verify(SECRET, now, body, header, now=now - 301)  # from the future
    assert not verify(SECRET, "soon", body, header, now=now) and not verify(SECRET, now, body, "sha256=ü", now=now)


def test_the_wait_doubles_after_each_failure_up_to_six_hours() -> None:
    waits = [backoff(dt.timedelta(seconds=30), attempts) for attempts in (1, 2, 3, 4)]
    assert waits == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert backoff(dt.timedelta(seconds=30), 12) == backoff(dt.timedelta(seconds=30), 10_000) == dt.timedelta(hours=6)


def test_a_receiver_that_fails_twice_gets_the_post_three_times_and_accepts_it_once(engine: Engine, receiver: Receiver) -> None:
    delivery = webhook_to(engine, receiver.url)
    receiver.answers = [500, 500]
    sender = WebhookSender(engine, allow_private=True, retry_after=SLOW)
    for attempt in (1, 2):
        report = sender.deliver_pending()
        assert report.failed == 1 and report.parked == 0 and report.delivered == 0
        row = stored(engine, delivery)
        assert row.attempts == attempt and row.error and row.error.startswith("500 Internal Server Error: answer 500 xxx")
        assert len(row.error) < 360 and waits_about(row, SLOW * 2 ** (attempt - 1))  # 300 bytes of the answer, kept
        assert sender.deliver_pending().handled == 0  # backing off
        due(engine)
    assert sender.deliver_pending().delivered == 1
    assert sender.deliver_pending().handled == 0

    assert [p.status for p in receiver.posts] == [500, 500, 200] and len(receiver.accepted()) == 1
    assert {p.headers["Idempotency-Key"] for p in receiver.posts} == {"alert-1"}
    [accepted] = receiver.accepted()
    assert signed_by(accepted, SECRET) and not signed_by(accepted, "00" * 32)
    assert accepted.body == BODY.encode() and accepted.path == "/hooks/matchmaker"
    assert accepted.headers["Content-Type"] == "application/json" and accepted.headers["User-Agent"] == "matchmaker-webhooks/1"
    assert accepted.headers["X-Matchmaker-Event"] == "need.alert" and accepted.headers["Host"] == f"127.0.0.1:{receiver.port}"
    row = stored(engine, delivery)
    assert row.delivered_at is not None and row.attempts == 3 and row.error is None and not row.parked and row.claimed_by is None


def test_a_post_that_keeps_failing_is_parked_with_its_error_and_retry_gives_it_another_round(
    engine: Engine, receiver: Receiver
) -> None:
    delivery = webhook_to(engine, receiver.url)
    receiver.answers = [503] * WEBHOOKS.max_attempts
    sender = WebhookSender(engine, allow_private=True, retry_after=SLOW)
    reports = []
    for _ in range(WEBHOOKS.max_attempts):
        reports.append(sender.deliver_pending())
        due(engine)
    assert [r.failed for r in reports] == [1] * 8 and [r.parked for r in reports] == [0] * 7 + [1]
    assert sender.deliver_pending().handled == 0 and len(receiver.posts) == 8
    with Session(engine) as session:
        [parked] = leased_queue.parked(session, WEBHOOKS)
    assert parked.id == delivery and parked.attempts == 8 and parked.error and parked.error.startswith("503 Service Unavailable")

    with session_scope(engine) as session:  # the receiver was fixed
        assert leased_queue.retry_parked(session, WEBHOOKS) == 1
    assert sender.deliver_pending().delivered == 1
    with Session(engine) as session:
        assert leased_queue.parked(session, WEBHOOKS) == []
    assert len(receiver.accepted()) == 1 and stored(engine, delivery).delivered_at is not None


def test_410_gone_parks_at_once(engine: Engine, receiver: Receiver) -> None:
    delivery = webhook_to(engine, receiver.url)
    receiver.answers = [410]
    report = WebhookSender(engine, allow_private=True).deliver_pending()
    assert report.parked == 1 and len(receiver.posts) == 1
    row = stored(engine, delivery)
    assert row.parked and row.attempts == 1 and row.error and row.error.startswith(GONE) and "410" in row.error


def test_private_addresses_are_refused_unless_allowed_and_never_posted_to(engine: Engine, receiver: Receiver) -> None:
    loopback = webhook_to(engine, f"https://127.0.0.1:{receiver.port}/hooks")
    by_name = add_delivery(engine, f"https://localhost:{receiver.port}/hooks", key="alert-2", supplier="SE-BLV-5500000002")
    set_webhook(engine, f"https://localhost:{receiver.port}/hooks", supplier="SE-BLV-5500000002")
    plain = add_delivery(engine, receiver.url, key="alert-3", supplier="GB-COH-10000003")
    set_webhook(engine, receiver.url, supplier="GB-COH-10000003")
    report = WebhookSender(engine, allow_private=False).deliver_pending()
    assert report.parked == 3 and receiver.posts == []
    reasons = {d: stored(engine, d).error or "" for d in (loopback, by_name, plain)}
    assert all(stored(engine, d).parked and stored(engine, d).attempts == 1 for d in reasons)
    assert (
        "public internet" in reasons[loopback]
        and "localhost resolves to an address that is not on the public" in reasons[by_name]
    )
    assert "https://" in reasons[plain]


def test_a_redirect_is_a_failure_and_is_not_followed(engine: Engine, receiver: Receiver) -> None:
    delivery = webhook_to(engine, receiver.url)
    receiver.answers = [302]
    report = WebhookSender(engine, allow_private=True, retry_after=SLOW).deliver_pending()
    assert report.failed == 1 and report.parked == 0 and [p.path for p in receiver.posts] == ["/hooks/matchmaker"]
    row = stored(engine, delivery)
    assert row.delivered_at is None and row.error and row.error.startswith("302 Found (redirects are not followed")
    assert "/elsewhere" in row.error


def test_a_removed_webhook_parks_its_posts(engine: Engine, receiver: Receiver) -> None:
    removed = webhook_to(engine, receiver.url)
    set_webhook(engine, None)
    never_set = add_delivery(engine, receiver.url, key="alert-2", supplier="SE-BLV-5500000002")  # no settings row at all
    report = WebhookSender(engine, allow_private=True).deliver_pending()
    assert report.parked == 2 and receiver.posts == []
    assert all(stored(engine, d).parked and stored(engine, d).error == REMOVED for d in (removed, never_set))


def test_a_changed_address_gets_the_post_signed_with_its_new_secret(engine: Engine, receiver: Receiver) -> None:
    delivery = webhook_to(engine, f"http://127.0.0.1:{receiver.port}/old")
    new_url, new_secret = f"http://127.0.0.1:{receiver.port}/new", "a1" * 32
    set_webhook(engine, new_url, new_secret)
    assert WebhookSender(engine, allow_private=True).deliver_pending().delivered == 1
    [post] = receiver.posts
    assert post.path == "/new" and signed_by(post, new_secret) and not signed_by(post, SECRET)
    assert stored(engine, delivery).url == new_url


def test_the_connection_goes_to_the_checked_address_with_the_host_name_in_the_header(
    engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is looked up once, when checked: the post cannot go elsewhere if it resolves differently
    a moment later (DNS rebinding). Here the name resolves nowhere; only the checked IP is used."""
    url = f"http://hooks.example.invalid:{receiver.port}/in"
    monkeypatch.setattr(
        webhook_addresses, "resolve", lambda u, allow_private: ("127.0.0.1", receiver.port, "hooks.example.invalid")
    )
    webhook_to(engine, url)
    assert WebhookSender(engine, allow_private=True).deliver_pending().delivered == 1
    [post] = receiver.posts
    assert post.headers["Host"] == f"hooks.example.invalid:{receiver.port}" and post.path == "/in"


def test_an_unreachable_silent_or_trickling_receiver_is_a_failure_within_the_timeout(engine: Engine, receiver: Receiver) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    delivery = webhook_to(engine, closed)
    sender = WebhookSender(engine, allow_private=True, retry_after=SLOW, timeout=0.5)
    assert sender.deliver_pending().failed == 1
    assert "ConnectionRefusedError" in (stored(engine, delivery).error or "")
    for answer, error in (("hold", "TimeoutError"), ("trickle", "TimeoutError: no complete answer within 0.5 s")):
        set_webhook(engine, receiver.url)
        due(engine)
        receiver.answers = [answer]
        started = time.monotonic()
        assert sender.deliver_pending().failed == 1
        assert time.monotonic() - started < 2.0, answer
        assert (stored(engine, delivery).error or "").startswith(error), answer


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    return self_signed(tmp_path, common_name="hooks.example.invalid", alt_names="DNS:hooks.example.invalid")


def test_https_verifies_the_certificate_against_the_host_name_not_the_address(
    engine: Engine, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    receiver = Receiver(tls=server_tls)
    try:
        monkeypatch.setattr(
            webhook_addresses, "resolve", lambda u, allow_private: ("127.0.0.1", receiver.port, "hooks.example.invalid")
        )
        delivery = webhook_to(engine, f"https://hooks.example.invalid:{receiver.port}/in")
        sender = WebhookSender(engine, allow_private=True, retry_after=SLOW, timeout=5.0)
        assert sender.deliver_pending().failed == 1  # a self-signed certificate this machine does not trust
        assert "CERTIFICATE_VERIFY_FAILED" in (stored(engine, delivery).error or "") and receiver.posts == []
        trusting = ssl.create_default_context
        monkeypatch.setattr(webhook_sender.ssl, "create_default_context", lambda: trusting(cafile=str(certificate / "cert.pem")))
        due(engine)
        assert sender.deliver_pending().delivered == 1  # valid for the name only: SNI and the check used the name
        assert len(receiver.posts) == 1 and names[-1] == "hooks.example.invalid"
    finally:
        receiver.stop()


CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    from service.webhook_sender import WebhookSender
    from store.db import make_engine
    lease = dt.timedelta(seconds=float(sys.argv[2]))
    WebhookSender(make_engine(sys.argv[1]), allow_private=True, lease=lease, timeout=60.0).deliver_pending()
    """
)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_a_sender_killed_mid_post_loses_nothing_and_the_repeat_has_the_same_key(
    settings: Settings, engine: Engine, receiver: Receiver
) -> None:
    delivery = webhook_to(engine, receiver.url)
    receiver.answers = ["hold"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, settings.resolved_database_url, "1.5"], cwd=REPO, env=env)
    try:
        assert receiver.arrived.wait(60), "the sender never posted"
    finally:
        child.send_signal(signal.SIGKILL)  # the post is in flight: the receiver has it, nothing is recorded
        child.wait(timeout=30)
    row = stored(engine, delivery)
    assert row.delivered_at is None and row.claimed_by is not None and row.attempts == 1
    sender = WebhookSender(engine, allow_private=True)
    deadline = time.monotonic() + 30
    while not (report := sender.deliver_pending()).handled and time.monotonic() < deadline:
        time.sleep(0.1)  # the dead sender's lease has to pass first
    assert report.delivered == 1 and sender.deliver_pending().handled == 0
    assert [p.headers["Idempotency-Key"] for p in receiver.posts] == ["alert-1", "alert-1"] and len(receiver.accepted()) == 1
    row = stored(engine, delivery)
    assert row.delivered_at is not None and row.attempts == 2 and row.claimed_by is None


def test_a_saved_need_reaches_the_matching_suppliers_webhook(services: Services, receiver: Receiver) -> None:
    """The whole path: a need is saved, the alert job tells the supplier, the sender posts it."""
    from service import alerts, writes
    from store.models import NeedCreate, SupplierCreate
    from store.repository import NEEDS, SUPPLIERS
    from tests.builders import NEEDS as SAMPLE_NEEDS
    from tests.builders import SUPPLIERS as SAMPLE_SUPPLIERS

    for supplier in SAMPLE_SUPPLIERS:
        writes.create(services, SUPPLIERS, SupplierCreate(**supplier))
    set_webhook(services.engine, receiver.url)
    writes.create(services, NEEDS, NeedCreate(**SAMPLE_NEEDS[0]))  # falls sensors: the Norwegian supplier's trade
    alerts.run_pending(services)  # inline indexing has run the job already; the background's alerts thread would
    with Session(services.engine) as session:
        assert SUPPLIER in alert_queries.alerted_on(session, SAMPLE_NEEDS[0]["id"])
    report = WebhookSender(services.engine, allow_private=True).deliver_pending()
    assert report.delivered == 1 and report.failed == 0
    [post] = receiver.posts
    body = json.loads(post.body)
    assert body["type"] == "need.alert" and body["supplier_id"] == SUPPLIER and body["need"]["id"] == SAMPLE_NEEDS[0]["id"]
    assert post.headers["Idempotency-Key"] == body["idempotency_key"] and signed_by(post, SECRET)
    with Session(services.engine) as session:
        [alert] = alert_queries.of_supplier(session, SUPPLIER)[0]
        assert alert_queries.webhooks_of(session, [int(alert.key or 0)])[int(alert.key or 0)].delivered_at is not None
