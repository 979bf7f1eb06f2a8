"""The mail sender: claims messages from the outbox (store/outbox_models.py) and delivers them over SMTP.

Delivery is at least once: a message is marked sent after the server took it, so a sender killed in
between sends it again once its lease passes; the copy carries the same ``Message-ID`` (and Date), so it
can be recognised as a duplicate. A connection that fails is retried after 30 s, 60 s, …; a recipient
refused for good (5xx) parks that message with the server's answer (``matchmaker mail status``). The
password goes only over TLS (STARTTLS when offered, or port 465), or to a server on this machine.
Without ``MATCHMAKER_SMTP_HOST``, messages are written to the log instead, so a local trial can follow
a sign-in link.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from service.settings import Settings
from store import outbox_queries
from store.db import session_scope
from store.outbox_models import OutgoingMail

log = logging.getLogger(__name__)

BATCH = 10
TIMEOUT = 20.0  # seconds for each SMTP step (connect, TLS, login, each message)
# A batch takes at most a connection, TLS, a login and BATCH messages, each bounded by TIMEOUT; the lease
# is longer, so a live sender never outlives it, and a dead sender's messages wait at most that long.
LEASE = dt.timedelta(minutes=5)
RETRY_AFTER = dt.timedelta(seconds=30)  # after the first failure; doubled after each next one
KEEP_SENT = dt.timedelta(days=7)  # sent messages kept to trace a duplicate, then forgotten
TIDY_EVERY = 3600.0  # seconds between forgetting old sent messages

HOW_TO_CONFIGURE = "set MATCHMAKER_SMTP_HOST (and MATCHMAKER_SMTP_PORT, _USER, _PASSWORD, _FROM as needed) to send it"


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None
    port: int = 587
    user: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    sender: str = "matchmaker@localhost"
    timeout: float = TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host or None,
            port=settings.smtp_port,
            user=settings.smtp_user or None,
            password=settings.smtp_password,
            sender=settings.smtp_from,
        )


class InsecureConnection(Exception):
    """Logging in would send the password in clear: refused, and the messages wait for a retry."""


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    parked: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed


def is_loopback(host: str) -> bool:
    """A name or address on this machine (no lookup: a name that resolves to loopback elsewhere is not trusted)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def credentials_refusal(*, host: str, tls: bool) -> str | None:
    """Why logging in to ``host`` would expose the password, or None when it may."""
    if tls or is_loopback(host):
        return None
    return (
        f"refused to send the SMTP password to {host} over a connection without TLS (the server does not offer "
        "STARTTLS); use a server that offers it, or port 465"
    )


def message_id(mail: OutgoingMail, sender: str) -> str:
    """The same for every send of one outbox row, so a resend after a crash is recognisably a duplicate."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox-{mail.id}.{mail.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def compose(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    created = mail.created_at if mail.created_at.tzinfo else mail.created_at.replace(tzinfo=dt.UTC)  # SQLite: naive UTC
    message["Date"] = format_datetime(created)
    message["Message-ID"] = message_id(mail, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a sign-in link
    for name, value in (mail.headers or {}).items():
        message[name] = value
    message.set_content(mail.body)
    return message


def open_connection(config: SmtpConfig) -> smtplib.SMTP:
    """Connected, encrypted when the server allows it, and logged in when configured to."""
    assert config.host
    context = ssl.create_default_context()
    tls = config.port == 465
    smtp = (
        smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
        if tls
        else smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    )
    try:
        smtp.ehlo()
        if not tls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            tls = True
        if config.user:
            refusal = credentials_refusal(host=config.host, tls=tls)
            if refusal:
                raise InsecureConnection(refusal)
            smtp.login(config.user, config.password.get_secret_value() if config.password else "")
    except BaseException:
        smtp.close()
        raise
    return smtp


# Refusals of one message after which smtplib has reset the transaction: the connection carries the next.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPNotSupportedError)


def is_permanent(exc: Exception) -> bool:
    """The server refused this message for good (5xx), or it cannot carry it (a non-ASCII address
    without SMTPUTF8): trying again would get the same answer."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, smtplib.SMTPNotSupportedError | ValueError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{to} refused: {code} {answer.decode(errors='replace')}" for to, (code, answer) in exc.recipients.items()
        )
    return f"{type(exc).__name__}: {exc}"


class MailSender:
    """Delivers what the outbox holds; several may run at once (claims skip each other)."""

    def __init__(
        self,
        engine: Engine,
        config: SmtpConfig,
        *,
        batch: int = BATCH,
        lease: dt.timedelta = LEASE,
        retry_after: dt.timedelta = RETRY_AFTER,
    ) -> None:
        self.engine, self.config = engine, config
        self.batch, self.lease, self.retry_after = batch, lease, retry_after
        self._next_tidy = 0.0

    def log_configuration(self) -> None:
        """Once at start-up: where mail goes (never the password)."""
        if self.config.host is None:
            log.warning(
                "SMTP is not configured: outgoing mail (sign-in links, invitations) is written to this log; %s", HOW_TO_CONFIGURE
            )
            return
        login = f", logging in as {self.config.user}" if self.config.user else ""
        log.info("sending mail through %s:%d as %s%s", self.config.host, self.config.port, self.config.sender, login)

    def deliver_pending(self) -> SendReport:
        """Claim one batch and deliver it; an empty report when nothing is ready."""
        self._tidy()
        messages = outbox_queries.claim(self.engine, batch=self.batch, lease=self.lease)
        if not messages:
            return SendReport()
        if self.config.host is None:
            return self._log_instead(messages)
        return self._send(messages)

    def _send(self, messages: Sequence[OutgoingMail]) -> SendReport:
        report = SendReport()
        try:
            smtp = open_connection(self.config)
        except (OSError, smtplib.SMTPException, InsecureConnection) as exc:  # OSError covers refused, timeouts and TLS
            self._fail_all(messages, exc, report)
            return report
        try:
            for position, mail in enumerate(messages):
                try:
                    smtp.send_message(compose(mail, self.config.sender))
                except (*MESSAGE_ERRORS, ValueError) as exc:  # this message only (ValueError: it cannot be composed)
                    self._fail(mail, exc, report, permanent=is_permanent(exc))
                    continue
                except (OSError, smtplib.SMTPException) as exc:  # the connection is gone: the rest wait too
                    self._fail_all(messages[position:], exc, report)
                    return report
                outbox_queries.mark_sent(self.engine, mail)
                report.sent += 1
                log.debug("mail %d sent to %s", mail.id, mail.to_address)
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        return report

    def _log_instead(self, messages: Sequence[OutgoingMail]) -> SendReport:
        for mail in messages:
            log.warning(
                "SMTP is not configured, so this message was written here instead of being sent (%s):\nTo: %s\nSubject: %s\n\n%s",
                HOW_TO_CONFIGURE,
                mail.to_address,
                mail.subject,
                mail.body,
            )
            outbox_queries.mark_sent(self.engine, mail)
        return SendReport(sent=len(messages))

    def _fail_all(self, messages: Sequence[OutgoingMail], exc: BaseException, report: SendReport) -> None:
        level = logging.ERROR if isinstance(exc, InsecureConnection) else logging.WARNING  # a setting to fix, not a hiccup
        log.log(
            level,
            "could not send %d message(s) through %s:%d: %s",
            len(messages),
            self.config.host,
            self.config.port,
            _reason(exc),
        )
        for mail in messages:
            self._fail(mail, exc, report, permanent=False, quiet=True)

    def _fail(self, mail: OutgoingMail, exc: BaseException, report: SendReport, *, permanent: bool, quiet: bool = False) -> None:
        error = _reason(exc)
        report.failed += 1
        retry_after = self.retry_after * 2 ** max(0, mail.attempts - 1)
        if outbox_queries.fail(self.engine, mail, error, retry_after=retry_after, permanent=permanent):
            report.parked += 1
            log.error("parked mail %d after %d attempt(s): %s", mail.id, mail.attempts, error)
        elif not quiet:
            log.warning("mail %d not sent (attempt %d), trying again in %s: %s", mail.id, mail.attempts, retry_after, error)

    def _tidy(self) -> None:
        if time.monotonic() < self._next_tidy:
            return
        self._next_tidy = time.monotonic() + TIDY_EVERY
        with session_scope(self.engine) as session:
            outbox_queries.forget_sent(session, before=dt.datetime.now(dt.UTC) - KEEP_SENT)
