"""``matchmaker bench alerts``: from saving a need to the alert e-mails in the suppliers' mail server.

For each database (PostgreSQL, SQLite) and size (the sample's suppliers; N generated suppliers with bench
speed's cached vectors), every supplier has an account whose address is confirmed, so each supplier told
is mailed. A ``matchmaker serve`` process of its own sends mail over SMTP to a server on loopback
(aiosmtpd) that notes when each message arrived. Needs written like the sample's are then saved one at a
time through the API (``POST /needs``), and for each the bench measures: the write's answer; the first
alert e-mail's arrival; the last one's (every supplier told for that need, as ``GET /needs/{id}/alerts``
lists them). Nothing is asserted: the table is the result.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlmodel import select
from tqdm import tqdm

from bench.fleet import cycled
from bench.load import postgres_ready
from bench.profile_generator import generate_profiles
from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from bench.speed import ADVISER_HEADERS, embed_profiles, load_precomputed, percentiles, server_process
from indexer.embedder import Embedder
from service import writes
from service.container import open_services
from service.settings import Settings
from store.db import session_scope
from store.people_models import Person, SignInLink
from store.repository import SUPPLIERS

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/matchmaker_alerts"
NEED_LINK = re.compile(r"/ui/needs/([^?\s]+)\?alert=")
SETTLE = 3.0  # seconds without a new message before a need's e-mails count as all arrived
WAIT = 120.0  # seconds to wait for a need's e-mails at most


class MailArrivals:
    """The loopback SMTP server's handler: when each alert e-mail for each need arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, list[float]] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.perf_counter()
        body = message_from_bytes(envelope.content).get_payload(decode=True)
        found = NEED_LINK.search(body.decode(errors="replace") if isinstance(body, bytes) else "")
        if found:
            with self.lock:
                self.arrived.setdefault(found.group(1), []).extend([at] * len(envelope.rcpt_tos))
        return "250 OK"

    def of(self, need_id: str) -> list[float]:
        with self.lock:
            return list(self.arrived.get(need_id, []))


@contextmanager
def smtp_server() -> Iterator[tuple[MailArrivals, int]]:
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    arrivals = MailArrivals()
    controller = Controller(arrivals, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield arrivals, port
    finally:
        controller.stop()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Variables the server process inherits (``server_process`` copies ``os.environ``)."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _confirmed_accounts(services: Any, supplier_ids: list[str]) -> None:
    """One account per supplier, its address proved by a used sign-in link (bulk: 10k in a second)."""
    with session_scope(services.engine) as session:
        session.execute(
            insert(Person),
            [
                {
                    "handle": f"p_{i:08x}",
                    "email": f"s{i}@suppliers.test",
                    "role": "supplier",
                    "supplier_id": s,
                    "status": "active",
                }
                for i, s in enumerate(supplier_ids)
            ],
        )
        keys = list(session.exec(select(Person.key)))
        at = dt.datetime.now(dt.UTC)
        session.execute(
            insert(SignInLink),
            [
                {"token_hash": f"{k:064x}", "person_key": k, "purpose": "invitation", "expires_at": at, "used_at": at}
                for k in keys
            ],
        )


def _prepare(embedder: Embedder, home: Path, url: str, size: int, distinct: int) -> int:
    """The store: the sample's suppliers (embedded) or ``size`` generated ones (cached vectors); returns
    how many suppliers it holds. The sample's needs are not loaded: the timed needs are the only ones."""
    services = open_services(Settings(home=home, database_url=url), embedder=embedder)
    if size == 0:
        lines = (DATA / "suppliers.jsonl").read_text(encoding="utf-8").splitlines()
        writes.import_records(services, SUPPLIERS, lines, progress=True)
        ids = [r["id"] for r in read_jsonl(DATA / "suppliers.jsonl")]
    else:
        _profiles, cached = embed_profiles(embedder, min(size, distinct))
        profiles = generate_profiles(size)
        load_precomputed(services, profiles, cycled(cached, size) if size > distinct else cached)
        ids = [p["id"] for p in profiles]
    _confirmed_accounts(services, ids)
    services.close()
    return len(ids)


def _time_needs(base: str, arrivals: MailArrivals, needs: list[dict[str, Any]], tag: str) -> list[dict[str, float]]:
    timings = []
    with httpx.Client(base_url=base, headers=ADVISER_HEADERS, timeout=120) as client:
        for i, need in enumerate(tqdm(needs, desc=f"needs ({tag})", unit="need")):
            need_id = f"bench-alert-{i}"
            body = {**need, "id": need_id, "status": "open", "buyer": f"Bench buyer {i}"}
            started = time.perf_counter()
            client.post("/needs", json=body).raise_for_status()
            acknowledged = time.perf_counter()
            deadline, last_change, seen = started + WAIT, time.perf_counter(), 0
            while time.perf_counter() < deadline:
                got = len(arrivals.of(need_id))
                if got != seen:
                    seen, last_change = got, time.perf_counter()
                told = len(client.get(f"/needs/{need_id}/alerts").json()) if got else -1
                if got and got >= told and time.perf_counter() - last_change > SETTLE:
                    break
                time.sleep(0.05)
            arrived = arrivals.of(need_id)
            timings.append(
                {
                    "ack": acknowledged - started,
                    "first": min(arrived) - started if arrived else float("nan"),
                    "last": max(arrived) - started if arrived else float("nan"),
                    "told": float(len(arrived)),
                }
            )
    return timings


def measure(embedder: Embedder, url: str, size: int, needs: list[dict[str, Any]], distinct: int, backend: str) -> list[object]:
    with tempfile.TemporaryDirectory() as tmp, smtp_server() as (arrivals, port):
        home = Path(tmp)
        suppliers = _prepare(embedder, home, url, size, distinct)
        with (
            environment(
                MATCHMAKER_SMTP_HOST="127.0.0.1", MATCHMAKER_SMTP_PORT=str(port), MATCHMAKER_PUBLIC_URL="http://bench.test"
            ),
            server_process(home, url) as (_process, base),
        ):
            timings = _time_needs(base, arrivals, needs, f"{backend}, {suppliers:,} suppliers")
    ms = lambda key: [t[key] * 1000 for t in timings if t[key] == t[key]]  # noqa: E731  (NaN: no e-mail)
    told = sorted(int(t["told"]) for t in timings)
    return [
        backend,
        f"{suppliers:,}",
        len(timings),
        f"{told[len(told) // 2]} ({told[0]}–{told[-1]})",
        percentiles(ms("ack")),
        percentiles(ms("first")),
        percentiles(ms("last")),
        sum(1 for t in timings if t["told"] == 0),
    ]


def run(
    embedder: Embedder,
    out: Path,
    *,
    sizes: tuple[int, ...] = (0, 10_000),
    needs: int = 8,
    distinct: int = 2000,
    postgres_url: str | None = None,
) -> str:
    """``sizes``: 0 is the sample's suppliers; larger sizes are generated profiles, of which only
    ``distinct`` are embedded (the rest reuse their vectors, cycled)."""
    url = postgres_url or DEFAULT_POSTGRES_URL
    timed = read_jsonl(DATA / "needs.jsonl")[:needs]
    timed = [{k: n[k] for k in ("title", "description", "cpv_codes", "country", "region") if n.get(k)} for n in timed]
    rows = []
    for size in sizes:
        if postgres_ready(url) is not None:
            rows.append(measure(embedder, url, size, timed, distinct, "PostgreSQL"))
        with tempfile.TemporaryDirectory() as sqlite_dir:
            rows.append(measure(embedder, f"sqlite:///{sqlite_dir}/matchmaker.db", size, timed, distinct, "SQLite"))
    table = markdown_table(
        [
            "database",
            "suppliers",
            "needs saved",
            "suppliers told per need: median (min–max)",
            "POST /needs answered, ms p50 / p95 / max",
            "first alert e-mail in the SMTP server, ms",
            "last alert e-mail, ms",
            "needs with no e-mail",
        ],
        rows,
    )
    intro = (
        "From saving a need (`POST /needs` through a `matchmaker serve` process) to the alert e-mails arriving in "
        "an SMTP server on loopback (aiosmtpd). Every supplier has a confirmed account, so each supplier told is "
        "mailed; the needs are the first sample needs, saved one at a time as new needs of other buyers. On "
        "PostgreSQL a change notice wakes the alerts thread and the mail sender at the commit; on SQLite they "
        "poll once a second. Generated suppliers beyond the first "
        f"{distinct:,} reuse their vectors, cycled."
    )
    return write_report(out, "Alert latency: need saved → e-mail delivered", intro, table)
