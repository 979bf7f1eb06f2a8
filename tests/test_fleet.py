"""Several processes on one database: vectors live in the database, writes are indexed in the background
and every server follows the change log (fake embedder in every process; SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlmodel import Session, select

from service import shortlists, writes
from service.container import open_services
from service.keys import create_key
from service.settings import Settings
from store import index_queries, repository
from store.db import init_db, make_engine
from store.index_models import IndexJob, RowVector
from store.models import SupplierCreate
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as ROWS
from tests.conftest import REPO
from tests.fakes import HashingEmbedder
from tests.test_crash import assert_consistent

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

WAIT = 30.0  # seconds a change may take to reach another process here (it takes well under one)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> float:
    """Seconds until ``check()`` is true; fails the test after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


class Fleet:
    """Processes of ``tests.fleet_helpers`` on one database, each with its own home."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url, self.tmp_path = database_url, tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []
        engine = make_engine(database_url)
        init_db(engine)
        self.headers = {"Authorization": f"Bearer {create_key(engine, 'adviser', label='fleet test')[0]}"}
        engine.dispose()

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        home = self.tmp_path / f"home-{len(self.processes)}"
        env = {**os.environ, "PYTHONPATH": str(REPO), "MATCHMAKER_DATABASE_URL": self.database_url, "MATCHMAKER_HOME": str(home)}
        env["MATCHMAKER_INDEX_LEASE_SECONDS"] = "2"
        command = [sys.executable, "-m", "tests.fleet_helpers", *args]
        # Its own process group: uvicorn's worker processes are killed with their parent, never left behind.
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, start_new_session=True)
        self.processes.append(process)
        return process

    def server(self, workers: int = 1) -> httpx.Client:
        port = _port()
        self.spawn("serve", str(port)) if workers == 1 else self.spawn("workers", str(port), str(workers))
        # A new connection per request, so requests spread over a server's worker processes.
        fresh = httpx.Limits(max_keepalive_connections=0)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=self.headers, timeout=10, limits=fresh)

        def healthy() -> bool:
            try:
                return client.get("/health").status_code == 200
            except httpx.HTTPError:
                return False

        eventually(healthy, "the server answers", timeout=60)
        return client

    def close(self) -> None:
        for process in self.processes:
            kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process and every process it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    running = Fleet(database_url, tmp_path)
    yield running
    running.close()


def _ids(client: httpx.Client, text: str) -> list[str]:
    response = client.post("/match", json={"text": text, "k": 5})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_a_write_through_one_server_is_found_through_the_other(fleet: Fleet) -> None:
    a, b = fleet.server(), fleet.server()
    started = time.monotonic()
    assert a.post("/suppliers", json=ROWS[1]).status_code == 201
    acknowledged = time.monotonic() - started
    seen_on_b = eventually(lambda: ROWS[1]["id"] in _ids(b, "snöröjning eldrivna maskiner"), "B finds A's new supplier")
    changed = {"description": "Vi bygger autonoma drönare för inspektion av broar och tunnlar."}
    assert a.patch(f"/suppliers/{ROWS[1]['id']}", json=changed).status_code == 200
    for server in (a, b):
        eventually(lambda s=server: _ids(s, "drönare inspektion broar")[:1] == [ROWS[1]["id"]], "the update ranks on both")
    assert b.delete(f"/suppliers/{ROWS[1]['id']}").status_code == 204
    gone_from_a = eventually(lambda: ROWS[1]["id"] not in _ids(a, "drönare inspektion broar"), "A drops B's deletion")
    for server in (a, b):
        eventually(lambda s=server: s.get("/health").json()["revision"]["lag"] == 0, "no lag once quiet")
        assert server.get("/health").json()["queue"] == {"pending": 0, "parked": 0, "oldest_pending_seconds": None}
    print(
        f"write acknowledged in {acknowledged:.3f} s; on the other server after {seen_on_b:.2f} s; deletion {gone_from_a:.2f} s"
    )


def test_uvicorn_workers_on_one_port_answer_alike_after_writes(fleet: Fleet) -> None:
    server = fleet.server(workers=2)
    for row in ROWS:
        assert server.post("/suppliers", json=row).status_code == 201

    answered: dict[int, bool] = {}  # worker process → did its last answer have the new supplier

    def ask(_: int) -> None:
        pid = server.get("/health").json()["process"]
        answered[pid] = ROWS[0]["id"] in _ids(server, "fallsensorer eldre hjemme")

    def both_workers_find_it() -> bool:  # concurrent requests land on either worker (the kernel picks)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(ask, range(16)))
        return len(answered) == 2 and all(answered.values())

    eventually(both_workers_find_it, "both worker processes answer with the new supplier")


def test_an_indexer_killed_mid_batch_loses_nothing(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    writer = open_services(
        Settings(home=tmp_path / "writer", database_url=database_url), embedder=HashingEmbedder(), indexing="background"
    )
    lines = [
        SupplierCreate(id=f"K-{i}", description=f"Vi leverer fallsensorer, modell {i}.").model_dump_json() for i in range(300)
    ]
    writes.import_records(writer, SUPPLIERS, lines)  # answers at once: 300 jobs queued with the rows

    def stored() -> int:
        with Session(writer.engine) as session:
            return len(session.exec(select(RowVector.row_key)).all())

    slow = fleet.spawn("worker", "0.01")  # 256 rows per claim, 10 ms per model call: killed during the second
    eventually(lambda: stored() > 0, "the first worker stores a batch")
    kill(slow)
    assert stored() < 300, "killed before the end"
    fleet.spawn("worker", "0")

    def queue_empty() -> bool:
        with Session(writer.engine) as session:
            return not session.exec(select(IndexJob.id)).first()

    eventually(queue_empty, "a second worker finishes, taking over the dead one's leased jobs")
    with Session(writer.engine) as session:
        in_db = repository.revisions(session, SUPPLIERS)
        vectors = index_queries.vector_revisions(session, HashingEmbedder.name, "supplier")
    assert vectors == in_db, "every row has exactly its current vector, and nothing else has one"
    counting = HashingEmbedder()
    reader = open_services(Settings(home=tmp_path / "reader", database_url=database_url), embedder=counting)
    assert counting.calls == 0 and len(reader.suppliers.vectors) == 300
    assert_consistent(reader)
    writer.engine.dispose()
    reader.engine.dispose()


@pytest.mark.parametrize("chunk", [2000, 2], ids=["by-key", "streamed"])
def test_a_new_home_loads_the_vectors_and_embeds_nothing(
    settings: Settings, tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of loading: by key (a few rows) and one stream of every stored vector (at least a chunk's worth)."""
    monkeypatch.setattr("indexer.sync.LOAD_CHUNK", chunk)
    first = open_services(settings, embedder=HashingEmbedder())
    for row in ROWS:
        writes.create(first, SUPPLIERS, SupplierCreate(**row))
    counting = HashingEmbedder()
    fresh = open_services(settings.model_copy(update={"home": tmp_path / "fresh"}), embedder=counting)
    assert counting.calls == 0, "nothing embedded: the vectors came from the database"
    keys = sorted(fresh.suppliers.vectors.revisions())
    assert np.allclose(fresh.suppliers.vectors.vectors(keys), first.suppliers.vectors.vectors(keys), atol=2e-3)
    assert [r.row.id for r in shortlists.suppliers_for_text(fresh, "snöröjning eldrivna maskiner", k=1)] == [ROWS[1]["id"]]
    assert fresh.suppliers.passages.get(keys[0]) is not None  # explanations cite from stored passages too
    first.engine.dispose()
    fresh.engine.dispose()


class PoisonedEmbedder(HashingEmbedder):
    def encode_documents(self, texts, *, progress=False, language=None):  # type: ignore[no-untyped-def]
        if any("GIFT" in t for t in texts):
            raise RuntimeError("the model cannot read this text")
        return super().encode_documents(texts)


def test_a_row_the_model_fails_on_is_parked_and_blocks_nothing(settings: Settings) -> None:
    services = open_services(settings.model_copy(update={"index_retry_seconds": 0}), embedder=PoisonedEmbedder())
    poisoned = SupplierCreate(id="P-1", description="GIFT: a text the model fails on.")
    writes.create(services, SUPPLIERS, poisoned)  # acknowledged: the row is safe, its job parked
    for row in ROWS:
        writes.create(services, SUPPLIERS, SupplierCreate(**row))
    assert len(services.suppliers.vectors) == len(ROWS)
    with Session(services.engine) as session:
        [parked] = index_queries.parked_jobs(session)
        assert index_queries.queue_state(session).pending == 0
    assert parked.attempts == index_queries.MAX_ATTEMPTS and "cannot read this text" in (parked.error or "")
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.builders import key_headers

    with TestClient(create_app(services=services), headers=key_headers(services)) as client:
        health = client.get("/health").json()
        assert health["queue"]["parked"] == 1 and health["indexed"]["suppliers"] == len(ROWS)
        assert client.get("/suppliers/P-1").status_code == 200
    services.engine.dispose()


def test_a_client_reads_its_write_through_another_server(fleet: Fleet) -> None:
    """``?wait=indexed`` answers once searchable, and its revision makes any other server wait for it."""
    a, b = fleet.server(), fleet.server()
    written = a.post("/suppliers", params={"wait": "indexed"}, json=ROWS[0])
    assert written.status_code == 201 and written.headers["x-matchmaker-indexed"] == "true"
    assert ROWS[0]["id"] in _ids(a, "fallsensorer eldre hjemme")  # here at once, no polling
    revision = written.headers["x-matchmaker-revision"]
    found = b.post("/match", json={"text": "fallsensorer eldre hjemme", "k": 5}, headers={"X-Matchmaker-Revision": revision})
    assert ROWS[0]["id"] in [r["id"] for r in found.json()["results"]]
    assert b.get("/health").json()["revision"]["applied"] >= int(revision)
    future = a.get("/suppliers", params={"after_revision": 10**12})  # a revision nobody holds: no waiting
    assert future.status_code == 200 and future.elapsed.total_seconds() < 2
