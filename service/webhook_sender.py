"""The webhook sender: claims posts from ``webhook_delivery`` (store/alert_models.py) and delivers them to
suppliers' own systems.

Delivery is at least once: a post is marked delivered after the receiver answered 2xx, so a sender killed
in between posts it again once its lease passes, with the same body and the same ``Idempotency-Key``: a
receiver drops the repeat by that key.

Each post is signed: ``X-Matchmaker-Signature: sha256=<HMAC-SHA256 of "<timestamp>." + body>`` keyed with
the supplier's secret, the timestamp in ``X-Matchmaker-Timestamp``. Receivers check it with :func:`verify`
(or its few lines in their own language), which also refuses old timestamps, so a post captured on the way
cannot be replayed later.

The post goes to the supplier's current address, checked (service/webhook_addresses.py) against where its
name resolves now; the connection goes to that checked IP, so the name cannot switch to a private address
between the check and the connect (DNS rebinding). HTTPS verifies the certificate against the name.
Redirects are not followed (a 3xx is a failure): they would lead the post to an address nobody checked.

A 2xx delivers; 410 Gone, a removed webhook or a refused address park the post at once; anything else is
tried again after 30 s, 60 s, … (at most 6 h) and parked after the queue's eight attempts with the last
answer (``leased_queue.parked(session, alert_queries.WEBHOOKS)``; ``retry_parked`` gives another round).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from service import webhook_addresses
from store import leased_queue
from store.alert_models import AlertSettings, WebhookDelivery
from store.alert_queries import WEBHOOKS

log = logging.getLogger(__name__)

BATCH = 10
TIMEOUT = 10.0  # seconds for a whole post: connect, TLS, request and answer
# A batch takes at most BATCH posts of TIMEOUT each (and a few quick queries); the lease is far longer, so
# a live sender never outlives its claim, and a dead sender's posts wait at most that long.
LEASE = dt.timedelta(minutes=5)
RETRY_AFTER = dt.timedelta(seconds=30)  # after the first failure; doubled after each next one
LONGEST_WAIT = dt.timedelta(hours=6)
TOLERANCE = 300  # seconds a receiver accepts a signature's timestamp either side of its clock
ANSWER_BYTES = 300  # of a refusing receiver's answer, kept with the error
USER_AGENT = "matchmaker-webhooks/1"
EVENT = "need.alert"
REMOVED = "the supplier removed its webhook"
GONE = "the receiver said the webhook is gone"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Matchmaker-Signature`` value. The key is the secret as the supplier is shown it (its 64 hex
    characters as UTF-8 text, not decoded), so a receiver can paste it into any HMAC function."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: int | str, body: bytes, header: str, *, now: float | dt.datetime, tolerance: float = TOLERANCE
) -> bool:
    """Whether ``header`` signs this body at this timestamp, and the timestamp is within ``tolerance``
    seconds of ``now`` (unix seconds or an aware datetime). ``body`` is the raw bytes received, before
    any JSON parsing; the comparison takes the same time wherever the strings differ."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    at = now.timestamp() if isinstance(now, dt.datetime) else now
    if abs(at - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), header.encode(errors="replace"))


def backoff(retry_after: dt.timedelta, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: doubled each time, at most :data:`LONGEST_WAIT`."""
    return min(retry_after * 2 ** min(max(0, attempts - 1), 30), LONGEST_WAIT)


def signed_headers(delivery: WebhookDelivery, secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Matchmaker-Event": EVENT,
        "Idempotency-Key": delivery.idempotency_key,
        "X-Matchmaker-Timestamp": str(timestamp),
        "X-Matchmaker-Signature": sign(secret, timestamp, body),
    }


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by now; the Host header
    still names the host."""

    def __init__(self, ip: str, host: str, port: int, *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self.ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As :class:`_PinnedHTTPConnection`, with the certificate verified against the host name (and SNI)."""

    def __init__(self, ip: str, host: str, port: int, *, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self.ip, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def post(url: str, address: tuple[str, int, str], body: bytes, headers: dict[str, str], *, timeout: float) -> tuple[int, str]:
    """POST ``body`` to ``url`` at ``address`` (ip, port, host from ``webhook_addresses.resolve``), never
    following a redirect; returns the status and a short account of the answer. The whole exchange is cut
    off after ``timeout`` (the socket's own timeout bounds each read only: a receiver trickling its answer
    byte by byte would hold the sender, and its lease, indefinitely)."""
    ip, port, host = address
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pinned = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(ip, host, port, timeout=timeout)
    cut = threading.Event()

    def cut_off() -> None:
        cut.set()
        sock = connection.sock
        if sock is not None:  # shutdown, not close: it wakes a read blocked in the posting thread
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        start = response.read(ANSWER_BYTES).decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        if cut.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
    account = f"{response.status} {response.reason}"
    if 300 <= response.status < 400:
        account += f" (redirects are not followed; Location: {response.getheader('Location', '')[:200]})"
    return response.status, f"{account}: {start}" if start else account


@dataclass
class WebhookReport:
    delivered: int = 0
    failed: int = 0
    parked: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.failed


class WebhookSender:
    """Delivers what ``webhook_delivery`` holds; several may run at once (claims skip each other)."""

    def __init__(
        self,
        engine: Engine,
        *,
        allow_private: bool,
        batch: int = BATCH,
        lease: dt.timedelta = LEASE,
        retry_after: dt.timedelta = RETRY_AFTER,
        timeout: float = TIMEOUT,
    ) -> None:
        self.engine, self.allow_private = engine, allow_private
        self.batch, self.lease, self.retry_after, self.timeout = batch, lease, retry_after, timeout

    def deliver_pending(self) -> WebhookReport:
        """Claim one batch and deliver it; an empty report when nothing is ready."""
        report = WebhookReport()
        for delivery in leased_queue.claim(self.engine, WEBHOOKS, batch=self.batch, lease=self.lease):
            self._deliver(delivery, report)
        return report

    def _deliver(self, delivery: WebhookDelivery, report: WebhookReport) -> None:
        target = self._current_target(delivery)
        if isinstance(target, str):
            self._fail(delivery, target, report, permanent=True)
            return
        url, secret = target
        try:
            address = webhook_addresses.resolve(url, allow_private=self.allow_private)
        except webhook_addresses.RefusedAddress as exc:
            # A name that could not be looked up may be a passing DNS failure: retried, parked after the
            # queue's attempts. Anything else (not https, a private address) stays so until the supplier
            # changes it, which gives the post a new address anyway.
            self._fail(delivery, f"refused address: {exc}", report, permanent=not isinstance(exc.__cause__, OSError))
            return
        body = delivery.body.encode()
        headers = signed_headers(delivery, secret, body, timestamp=int(time.time()))
        try:
            status, answer = post(url, address, body, headers, timeout=self.timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # refused, timeouts, TLS, a bad answer
            self._fail(delivery, f"{type(exc).__name__}: {exc}", report, permanent=False)
            return
        if 200 <= status < 300:
            leased_queue.finish(self.engine, WEBHOOKS, delivery)
            report.delivered += 1
            log.debug("webhook delivery %d to %s delivered: %s", delivery.id, address[2], answer)
        elif status == 410:
            self._fail(delivery, f"{GONE} ({answer})", report, permanent=True)
        else:
            self._fail(delivery, answer, report, permanent=False)

    def _current_target(self, delivery: WebhookDelivery) -> tuple[str, str] | str:
        """The supplier's webhook now (url, secret), or why there is none: the supplier may have changed
        or removed it since the alert was made, and a new address comes with a new secret."""
        with Session(self.engine) as session:
            settings = session.get(AlertSettings, delivery.supplier_id)
        if settings is None or not settings.webhook_url:
            return REMOVED
        if not settings.webhook_secret:
            return "the supplier's webhook has no signing secret"
        if settings.webhook_url != delivery.url:
            self._move(delivery, settings.webhook_url)
        return settings.webhook_url, settings.webhook_secret

    def _move(self, delivery: WebhookDelivery, url: str) -> None:
        """Record the address actually posted to (what the parked list and the supplier's page show)."""
        with Session(self.engine) as session:
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery.id, col(WebhookDelivery.claimed_by) == delivery.claimed_by)
                .values(url=url)
            )
            session.commit()
        log.info("webhook delivery %d goes to supplier %s's new address", delivery.id, delivery.supplier_id)
        delivery.url = url

    def _fail(self, delivery: WebhookDelivery, error: str, report: WebhookReport, *, permanent: bool) -> None:
        report.failed += 1
        wait = backoff(self.retry_after, delivery.attempts)
        if leased_queue.fail(self.engine, WEBHOOKS, delivery, error, retry_after=wait, permanent=permanent):
            report.parked += 1
            level = logging.WARNING if permanent else logging.ERROR  # permanent: the supplier's doing, not an outage
            log.log(
                level,
                "parked webhook delivery %d for supplier %s after %d attempt(s): %s",
                delivery.id,
                delivery.supplier_id,
                delivery.attempts,
                error,
            )
        else:
            log.warning(
                "webhook delivery %d for supplier %s failed (attempt %d), trying again in %s: %s",
                delivery.id,
                delivery.supplier_id,
                delivery.attempts,
                wait,
                error,
            )
