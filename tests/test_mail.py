"""Outgoing e-mail: a message is sent if and only if the transaction that wrote it commits, exactly once in
normal operation, after any outage of the SMTP server, by any number of senders, and after a sender dies;
the password never goes out in clear. A real SMTP server (aiosmtpd) listens on loopback."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from service import mail_sender
from service.errors import InvalidInput
from service.mail import enqueue_mail
from service.mail_sender import MailSender, SmtpConfig, compose, credentials_refusal, open_connection
from service.settings import Settings
from store import outbox_queries
from store.db import init_db, make_engine, session_scope
from store.outbox_models import OutgoingMail
from tests.tls_helpers import self_signed

REPO = Path(__file__).resolve().parents[1]
FAST = {"lease": dt.timedelta(seconds=5), "retry_after": dt.timedelta(milliseconds=300)}
SENDER = "Matchmaker <noreply@example.org>"


class Recorder:
    """An SMTP handler that keeps every message it accepts, and refuses the recipients it is told to."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}
        self.logins: list[tuple[str, str, bool]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        self.logins.append((data.login.decode(), data.password.decode(), session.ssl is not None))
        return AuthResult(success=True)

    def ids(self) -> list[str]:
        return [str(message["Message-ID"]) for _, _, message in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_server(recorder: Recorder, port: int, **options: Any) -> Controller:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs each SMTP command, also after a test ends
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=recorder.authenticate, **options)
    controller.start()
    return controller


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    settings.home.mkdir(parents=True, exist_ok=True)
    made = make_engine(settings.resolved_database_url)
    init_db(made)
    yield made
    made.dispose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def port(recorder: Recorder) -> Iterator[int]:
    chosen = free_port()
    controller = smtp_server(recorder, chosen, auth_require_tls=False)
    yield chosen
    controller.stop()


def config(port: int, **overrides: Any) -> SmtpConfig:
    return SmtpConfig(**{"host": "127.0.0.1", "port": port, "sender": SENDER, "timeout": 5.0, **overrides})


def send(
    engine: Engine, to: str = "anna@example.org", subject: str = "Your sign-in link", body: str = "Follow the link."
) -> None:
    with session_scope(engine) as session:
        enqueue_mail(session, to=to, subject=subject, body=body)


def stored(engine: Engine) -> list[OutgoingMail]:
    with Session(engine) as session:
        return list(session.exec(select(OutgoingMail).order_by(OutgoingMail.id)))  # type: ignore[arg-type]


def state(engine: Engine) -> outbox_queries.MailState:
    with Session(engine) as session:
        return outbox_queries.mail_state(session)


def test_a_message_whose_transaction_rolls_back_is_never_sent(engine: Engine, port: int, recorder: Recorder) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue_mail(session, to="anna@example.org", subject="never", body="rolled back")
        raise RuntimeError("the write that caused it failed")
    assert MailSender(engine, config(port), **FAST).deliver_pending().handled == 0
    assert recorder.received == [] and stored(engine) == [] and state(engine).pending == 0


def test_a_committed_message_is_delivered_once_with_its_headers_and_body(engine: Engine, port: int, recorder: Recorder) -> None:
    body = "Hej Anna,\n\nlogga in här: https://matchmaker.example/ui/sign-in/abc123\n\nLänken gäller i 15 minuter.\n"
    send(engine, subject="Din inloggningslänk – Matchmaker", body=body)
    assert state(engine).pending == 1
    sender = MailSender(engine, config(port), **FAST)
    assert sender.deliver_pending().sent == 1
    assert sender.deliver_pending().handled == 0
    [(envelope_from, recipients, message)] = recorder.received
    assert envelope_from == "noreply@example.org" and recipients == ["anna@example.org"]
    assert message["From"] == SENDER and message["To"] == "anna@example.org"
    assert message["Subject"] == "Din inloggningslänk – Matchmaker"
    [row] = stored(engine)
    assert re.fullmatch(rf"<outbox-{row.id}\.\d{{20}}@example\.org>", str(message["Message-ID"]))
    assert message["Auto-Submitted"] == "auto-generated" and message["Date"]
    assert message.get_content().replace("\r\n", "\n") == body  # CRLF on the wire
    assert row.sent_at is not None and row.attempts == 1 and row.claimed_by is None
    assert state(engine) == outbox_queries.MailState(0, 0, None)


def test_while_the_server_is_down_a_message_waits_and_is_delivered_once_it_is_up(engine: Engine, recorder: Recorder) -> None:
    port = free_port()  # nothing listens yet
    send(engine)
    sender = MailSender(engine, config(port), **FAST)
    report = sender.deliver_pending()
    assert report.failed == 1 and report.sent == 0 and report.parked == 0
    [row] = stored(engine)
    assert row.error and "Connection" in row.error and row.sent_at is None
    assert sender.deliver_pending().handled == 0  # backing off
    controller = smtp_server(recorder, port, auth_require_tls=False)
    try:
        time.sleep(0.35)
        assert sender.deliver_pending().sent == 1
        assert sender.deliver_pending().handled == 0
    finally:
        controller.stop()
    assert len(recorder.received) == 1 and stored(engine)[0].attempts == 2 and state(engine).pending == 0


def test_a_message_that_keeps_failing_is_parked_after_five_attempts(engine: Engine) -> None:
    send(engine)
    sender = MailSender(engine, config(free_port()), lease=dt.timedelta(seconds=5), retry_after=dt.timedelta(0))
    reports = [sender.deliver_pending() for _ in range(6)]
    assert [r.failed for r in reports] == [1, 1, 1, 1, 1, 0] and reports[4].parked == 1
    assert state(engine).parked == 1 and state(engine).pending == 0


def test_a_permanently_refused_recipient_is_parked_and_retry_brings_it_back(
    engine: Engine, port: int, recorder: Recorder
) -> None:
    recorder.refuse["nobody@example.org"] = "550 5.1.1 no such mailbox"
    send(engine, to="nobody@example.org")
    send(engine, to="anna@example.org")
    report = MailSender(engine, config(port), **FAST).deliver_pending()
    assert report.sent == 1 and report.parked == 1  # at once, not after five attempts; the next one still went out
    assert [to for _, [to], _ in recorder.received] == ["anna@example.org"]
    assert state(engine).parked == 1 and state(engine).pending == 0
    with Session(engine) as session:
        [parked] = outbox_queries.parked(session)
    assert (
        parked.to_address == "nobody@example.org" and parked.error and "550" in parked.error and "no such mailbox" in parked.error
    )

    del recorder.refuse["nobody@example.org"]  # the mailbox was created
    with session_scope(engine) as session:
        assert outbox_queries.retry_parked(session) == 1
    assert state(engine).parked == 0 and state(engine).pending == 1
    assert MailSender(engine, config(port), **FAST).deliver_pending().sent == 1
    assert [to for _, [to], _ in recorder.received] == ["anna@example.org", "nobody@example.org"]


def test_a_temporary_refusal_is_tried_again(engine: Engine, port: int, recorder: Recorder) -> None:
    recorder.refuse["anna@example.org"] = "450 4.2.1 mailbox busy, try later"
    send(engine)
    sender = MailSender(engine, config(port), **FAST)
    report = sender.deliver_pending()
    assert report.failed == 1 and report.parked == 0 and "450" in (stored(engine)[0].error or "")
    recorder.refuse.clear()
    time.sleep(0.35)
    assert sender.deliver_pending().sent == 1 and len(recorder.received) == 1


def test_two_senders_never_deliver_one_message_twice(settings: Settings, engine: Engine, port: int, recorder: Recorder) -> None:
    for n in range(40):
        send(engine, to=f"person{n}@example.org", subject=f"message {n}")
    engines = [make_engine(settings.resolved_database_url) for _ in range(2)]  # as two processes would
    senders = [MailSender(each, config(port), batch=3, **FAST) for each in engines]
    start = threading.Barrier(2)
    sent = [0, 0]

    def run(i: int) -> None:
        start.wait()
        while (report := senders[i].deliver_pending()).handled:
            sent[i] += report.sent

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for each in engines:
        each.dispose()
    assert sum(sent) == 40 and len(recorder.received) == 40 and len(set(recorder.ids())) == 40
    assert state(engine).pending == 0


def test_a_claim_takes_at_most_its_batch_oldest_first(engine: Engine) -> None:
    for n in range(5):
        send(engine, to=f"person{n}@example.org")
    lease = dt.timedelta(seconds=5)
    first, second = outbox_queries.claim(engine, batch=2, lease=lease), outbox_queries.claim(engine, batch=2, lease=lease)
    assert [m.to_address for m in first] == ["person0@example.org", "person1@example.org"]
    assert [m.to_address for m in second] == ["person2@example.org", "person3@example.org"]
    assert all(m.attempts == 1 and m.claimed_by for m in first + second) and first[0].claimed_by != second[0].claimed_by
    assert len(outbox_queries.claim(engine, batch=2, lease=lease)) == 1


def test_a_dead_senders_claim_is_taken_over_after_its_lease(engine: Engine, port: int, recorder: Recorder) -> None:
    send(engine)
    assert len(outbox_queries.claim(engine, batch=10, lease=dt.timedelta(milliseconds=400))) == 1  # and then killed
    other = MailSender(engine, config(port), **FAST)
    assert other.deliver_pending().handled == 0  # still leased
    time.sleep(0.45)
    assert other.deliver_pending().sent == 1
    assert len(recorder.received) == 1 and stored(engine)[0].attempts == 2


def test_a_resend_after_a_crash_is_recognisably_the_same_message(engine: Engine, port: int, recorder: Recorder) -> None:
    send(engine)
    [claimed] = outbox_queries.claim(engine, batch=10, lease=dt.timedelta(milliseconds=400))
    smtp = open_connection(config(port))
    smtp.send_message(compose(claimed, SENDER))  # sent, then killed before marking it sent
    smtp.quit()
    time.sleep(0.45)
    assert MailSender(engine, config(port), **FAST).deliver_pending().sent == 1
    first, second = (message for _, _, message in recorder.received)
    assert first["Message-ID"] == second["Message-ID"] and first["Date"] == second["Date"]


def test_without_smtp_a_message_is_logged_with_its_body_and_marked_sent(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    send(engine, subject="Your sign-in link", body="Sign in: https://matchmaker.example/ui/sign-in/abc123")
    sender = MailSender(engine, SmtpConfig(host=None), **FAST)
    with caplog.at_level(logging.WARNING, logger="service.mail_sender"):
        sender.log_configuration()
        assert sender.deliver_pending().sent == 1
        assert sender.deliver_pending().handled == 0
    startup, logged = (r for r in caplog.records if r.name == "service.mail_sender")
    assert "SMTP is not configured" in startup.getMessage() and "MATCHMAKER_SMTP_HOST" in startup.getMessage()
    text = logged.getMessage()
    assert logged.levelno == logging.WARNING and "SMTP is not configured" in text and "MATCHMAKER_SMTP_HOST" in text
    assert "anna@example.org" in text and "Your sign-in link" in text and "https://matchmaker.example/ui/sign-in/abc123" in text
    assert stored(engine)[0].sent_at is not None and state(engine).pending == 0


@pytest.mark.parametrize(
    ("field", "to", "subject"),
    [
        ("to", "anna@example.org\r\nBcc: everyone@example.org", "Hi"),
        ("to", "anna@example.org\n", "Hi"),
        ("to", "anna@example.org, eve@example.org", "Hi"),
        ("to", "Anna <anna@example.org>", "Hi"),
        ("to", "not an address", "Hi"),
        ("subject", "anna@example.org", "Hi\r\nBcc: everyone@example.org"),
        ("subject", "anna@example.org", "Hi\nthere"),
        ("subject", "anna@example.org", "Hi\rthere"),
    ],
)
def test_line_breaks_and_lists_are_refused_naming_the_field(engine: Engine, field: str, to: str, subject: str) -> None:
    with pytest.raises(InvalidInput) as refused, session_scope(engine) as session:
        enqueue_mail(session, to=to, subject=subject, body="body")
    assert [p.loc for p in refused.value.problems] == [(field,)]
    assert stored(engine) == []


def test_the_password_goes_only_over_tls_or_to_this_machine() -> None:
    assert credentials_refusal(host="smtp.example.org", tls=False) is not None
    assert credentials_refusal(host="smtp.example.org", tls=True) is None
    for loopback in ("127.0.0.1", "::1", "localhost", "LOCALHOST", "127.0.0.2"):
        assert credentials_refusal(host=loopback, tls=False) is None, loopback
    for remote in ("10.0.0.1", "127.0.0.1.example.org", "localhost.example.org"):
        assert credentials_refusal(host=remote, tls=False) is not None, remote


def test_credentials_are_never_sent_to_a_remote_server_without_starttls(
    engine: Engine, port: int, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(mail_sender, "is_loopback", lambda host: False)  # as if 127.0.0.1 were another machine
    send(engine)
    secret = config(port, user="mailer", password=Settings(smtp_password="s3cret-pw").smtp_password)
    with caplog.at_level(logging.DEBUG):
        report = MailSender(engine, secret, **FAST).deliver_pending()
    assert report.failed == 1 and report.sent == 0 and recorder.received == [] and recorder.logins == []
    assert "without TLS" in (stored(engine)[0].error or "") and stored(engine)[0].sent_at is None
    assert any(r.levelno == logging.ERROR and "without TLS" in r.getMessage() for r in caplog.records)
    assert "s3cret-pw" not in caplog.text and "s3cret-pw" not in repr(secret)


def test_a_login_to_a_server_on_this_machine_works_without_tls(engine: Engine, port: int, recorder: Recorder) -> None:
    send(engine)
    secret = config(port, user="mailer", password=Settings(smtp_password="s3cret-pw").smtp_password)
    assert MailSender(engine, secret, **FAST).deliver_pending().sent == 1
    assert recorder.logins == [("mailer", "s3cret-pw", False)] and len(recorder.received) == 1


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    return self_signed(tmp_path, common_name="localhost", alt_names="IP:127.0.0.1,DNS:localhost")


def test_starttls_is_used_when_offered_and_a_bad_certificate_stops_everything(
    engine: Engine, recorder: Recorder, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_sender, "is_loopback", lambda host: False)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    port = free_port()
    controller = smtp_server(recorder, port, tls_context=server_tls)
    secret = config(port, user="mailer", password=Settings(smtp_password="s3cret-pw").smtp_password)
    try:
        send(engine)
        sender = MailSender(engine, secret, **FAST)
        report = sender.deliver_pending()  # a self-signed certificate this machine does not trust
        assert report.failed == 1 and recorder.logins == [] and recorder.received == []
        assert "CERTIFICATE_VERIFY_FAILED" in (stored(engine)[0].error or "")
        trusting = ssl.create_default_context
        monkeypatch.setattr(mail_sender.ssl, "create_default_context", lambda: trusting(cafile=str(certificate / "cert.pem")))
        time.sleep(0.35)
        assert sender.deliver_pending().sent == 1
    finally:
        controller.stop()
    assert recorder.logins == [("mailer", "s3cret-pw", True)] and len(recorder.received) == 1


def test_background_work_sends_mail_and_stops(
    services: Any, database_url: str, port: int, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service import background

    # On PostgreSQL only the commit's notice can wake the sender in time; SQLite relies on the poll.
    monkeypatch.setattr(background, "MAIL_POLL", 60.0 if database_url.startswith("postgresql") else 0.2)
    sender = MailSender(services.engine, config(port), **FAST)
    work = background.BackgroundWork(services, index=False, follow=False, sender=sender).start()
    try:
        deadline = time.monotonic() + 5
        while work._listener is not None and work._listener._connection is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the listener has issued LISTEN
        send(services.engine)
        while not recorder.received and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(recorder.received) == 1
    finally:
        started = time.monotonic()
        work.stop()
    assert time.monotonic() - started < 5 and not any(thread.is_alive() for thread in work._threads)


def test_health_reports_the_outgoing_mail(services: Any) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    send(services.engine)
    with TestClient(create_app(services=services)) as client:
        mail = client.get("/health").json()["mail"]
    assert mail["pending"] == 1 and mail["parked"] == 0 and mail["oldest_pending_seconds"] >= 0


def test_mail_status_and_retry_on_the_command_line(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli import app
    from service.settings import get_settings

    monkeypatch.setenv("MATCHMAKER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert "pending: 0" in runner.invoke(app, ["mail", "status"]).output
        engine = make_engine(database_url)
        send(engine, to="nobody@example.org")
        send(engine)
        [first] = outbox_queries.claim(engine, batch=1, lease=dt.timedelta(seconds=5))
        assert first.to_address == "nobody@example.org"
        outbox_queries.fail(engine, first, "550 5.1.1 no such mailbox", retry_after=dt.timedelta(0), permanent=True)
        status = runner.invoke(app, ["mail", "status"])
        assert status.exit_code == 0 and "pending: 1" in status.output and "parked: 1" in status.output
        assert "nobody@example.org" in status.output and "550 5.1.1 no such mailbox" in status.output
        retried = runner.invoke(app, ["mail", "retry"])
        assert retried.exit_code == 0 and "1 parked message(s) queued again" in retried.output
        assert "pending: 2" in runner.invoke(app, ["mail", "status"]).output
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_every_smtp_setting_is_in_the_readme_configuration_table() -> None:
    table = (REPO / "README.md").read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `MATCHMAKER_")]
    documented = {name for line in rows for name in re.findall(r"`(MATCHMAKER_[A-Z_]+)`", line.split(" | ")[0])}
    names = {f"MATCHMAKER_{name.upper()}" for name in Settings.model_fields if name.startswith("smtp_")}
    assert names and names <= documented, sorted(names - documented)
