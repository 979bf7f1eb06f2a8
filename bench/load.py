"""``matchmaker bench load``: 16 clients on loopback mixing matches, reads and writes for a bounded
time, on SQLite and on PostgreSQL, against ``matchmaker serve`` in its own process.

Reported per backend: requests/s, p50/p99 per operation, errors, and lost writes (acknowledged
writes missing from the database afterwards; the target is 0 errors and 0 lost).
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import text
from sqlmodel import Session, SQLModel, func, select

from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from bench.speed import ADVISER_HEADERS, server_process
from indexer.embedder import Embedder
from service import writes
from service.container import open_services
from service.settings import Settings
from store import models
from store.db import make_engine
from store.repository import NEEDS, SUPPLIERS

log = logging.getLogger(__name__)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/matchmaker_load"
# (operation, weight): advisers mostly match and read; about one request in five writes.
MIX = [
    ("POST /match", 30),
    ("GET /needs/{id}/shortlist", 15),
    ("GET /needs/{id}/readiness", 5),
    ("GET /suppliers/{id}", 15),
    ("GET /needs", 15),
    ("POST /suppliers", 10),
    ("PATCH /suppliers/{id}", 5),
    ("POST /needs/{id}/feedback", 5),
]


def postgres_ready(url: str) -> str | None:
    """Create the benchmark's own database if needed and empty it; None when it cannot be reached."""
    import psycopg

    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        log.warning("PostgreSQL not reachable at %s: %s", admin, exc)
        return None
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()
    return url


def _load_sample(embedder: Embedder, home: Path, database_url: str | None) -> None:
    services = open_services(Settings(home=home, database_url=database_url), embedder=embedder)
    for kind, name in ((SUPPLIERS, "suppliers.jsonl"), (NEEDS, "needs.jsonl")):
        writes.import_records(services, kind, (DATA / name).read_text(encoding="utf-8").splitlines())
    services.close()  # saves the indexes: the server starts warm


class Run:
    """The mixed workload's state: what was acknowledged, what failed, how long each call took.

    New suppliers' ids start with ``prefix``; ``wait_indexed`` sends writes with ``?wait=indexed``."""

    def __init__(
        self, suppliers: list[str], needs: list[str], texts: list[str], *, prefix: str = "LOAD", wait_indexed: bool = False
    ) -> None:
        self.suppliers, self.needs, self.texts = suppliers, needs, texts
        self.prefix = prefix
        self.write_params = {"wait": "indexed"} if wait_indexed else {}
        self.marks_before: int | None = None
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.created: list[str] = []
        self.marks = 0
        self.lock = threading.Lock()

    def request(self, client: httpx.Client, op: str, rng: random.Random, worker: int, n: int) -> None:
        supplier, need = rng.choice(self.suppliers), rng.choice(self.needs)
        calls: dict[str, Any] = {
            "POST /match": lambda: client.post("/match", json={"text": rng.choice(self.texts), "k": 10}),
            "GET /needs/{id}/shortlist": lambda: client.get(f"/needs/{need}/shortlist", params={"k": 10}),
            "GET /needs/{id}/readiness": lambda: client.get(f"/needs/{need}/readiness"),
            "GET /suppliers/{id}": lambda: client.get(f"/suppliers/{supplier}"),
            "GET /needs": lambda: client.get("/needs", params={"offset": rng.randrange(0, 50), "limit": 20}),
            "POST /suppliers": lambda: client.post(
                "/suppliers",
                params=self.write_params,
                json={
                    "id": f"{self.prefix}-{worker}-{n}",
                    "description": rng.choice(self.texts),
                    "country": "NO",
                    "size": "small",
                },
            ),
            "PATCH /suppliers/{id}": lambda: client.patch(
                f"/suppliers/{supplier}", params=self.write_params, json={"size": rng.choice(["small", "medium"])}
            ),
            "POST /needs/{id}/feedback": lambda: client.post(
                f"/needs/{need}/feedback", json={"supplier_id": supplier, "mark": rng.choice(["invited", "relevant"])}
            ),
        }
        started = time.perf_counter()
        try:
            response = calls[op]()
            ok = response.status_code < 400
        except httpx.HTTPError:
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.timings[op].append(elapsed)
            if not ok:
                self.errors[op] += 1
            elif op == "POST /suppliers":
                self.created.append(f"{self.prefix}-{worker}-{n}")
            elif op == "POST /needs/{id}/feedback":
                self.marks += 1


def mixed_load(bases: Sequence[str], run: Run, seconds: float, clients: int) -> float:
    """``clients`` loops for ``seconds``, spread evenly over the servers at ``bases`` (a load balancer's round robin)."""
    deadline = time.perf_counter() + seconds
    ops, weights = zip(*MIX, strict=True)

    def loop(worker: int) -> None:
        rng = random.Random(worker)
        with httpx.Client(base_url=bases[worker % len(bases)], timeout=60, headers=ADVISER_HEADERS) as client:
            n = 0
            while time.perf_counter() < deadline and n < 100_000:
                n += 1
                run.request(client, rng.choices(ops, weights)[0], rng, worker, n)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    return time.perf_counter() - started


def count_marks(database_url: str) -> int:
    engine = make_engine(database_url)
    with Session(engine) as session:
        marks = int(session.exec(select(func.count()).select_from(models.Feedback)).one())
    engine.dispose()
    return marks


def lost_writes(database_url: str, run: Run) -> int:
    """Acknowledged suppliers and marks of this run that the database does not hold."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        stored = set(session.exec(select(models.Supplier.id).where(text("id LIKE :prefix").bindparams(prefix=f"{run.prefix}-%"))))
    engine.dispose()
    added = count_marks(database_url) - (run.marks_before or 0)
    return len(set(run.created) - stored) + max(0, run.marks - added)


def run(embedder: Embedder, out: Path, *, seconds: float = 60.0, clients: int = 16, postgres_url: str | None = None) -> str:
    suppliers = [r["id"] for r in read_jsonl(DATA / "suppliers.jsonl")]
    needs = [r["id"] for r in read_jsonl(DATA / "needs.jsonl")]
    texts = [r["description"] for r in read_jsonl(DATA / "needs.jsonl")]
    rows, op_rows = [], []
    for backend in ("SQLite", "PostgreSQL"):
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            url = f"sqlite:///{home / 'matchmaker.db'}"
            if backend == "PostgreSQL":
                reachable = postgres_ready(postgres_url or DEFAULT_POSTGRES_URL)
                if reachable is None:
                    rows.append([backend, "not reachable: skipped", "", "", ""])
                    continue
                url = reachable
            log.info("%s: loading the sample data", backend)
            _load_sample(embedder, home, url)
            workload = Run(suppliers, needs, texts)
            workload.marks_before = count_marks(url)
            with server_process(home, url) as (_server, base):
                log.info("%s: %d clients for %.0f s", backend, clients, seconds)
                elapsed = mixed_load([base], workload, seconds, clients)
            total = sum(len(t) for t in workload.timings.values())
            every = [ms for t in workload.timings.values() for ms in t]
            p50, p99 = np.percentile(every, [50, 99])
            rows.append(
                [
                    backend,
                    f"{total / elapsed:.1f}",
                    f"{p50:.0f} / {p99:.0f}",
                    f"{sum(workload.errors.values())} of {total}",
                    f"{lost_writes(url, workload)} of {len(workload.created) + workload.marks}",
                ]
            )
            for op, _weight in MIX:
                timings = workload.timings.get(op) or [float("nan")]
                q50, q99 = np.percentile(timings, [50, 99])
                op_rows.append(
                    [backend, op, len(workload.timings.get(op, [])), f"{q50:.0f} / {q99:.0f}", workload.errors.get(op, 0)]
                )
    table = markdown_table(["database", "requests/s", "p50 / p99 ms", "errors", "lost writes (of acknowledged)"], rows)
    table += "\n\nBy operation:\n\n" + markdown_table(["database", "operation", "requests", "p50 / p99 ms", "errors"], op_rows)
    mix = ", ".join(f"{op} {weight} %" for op, weight in MIX)
    intro = (
        f"Model: {embedder.name}. {clients} clients on loopback for {seconds:.0f} s per database, each sending the "
        f"next request as soon as the last is answered, against `matchmaker serve` (its own process) holding the "
        f"sample data (310 suppliers, 64 needs), with an adviser key. Mix: {mix}. A lost write is an acknowledged "
        "supplier or mark missing from the database after the run."
    )
    return write_report(out, "Mixed load", intro, table)
