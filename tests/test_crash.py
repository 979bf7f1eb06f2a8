"""Crash safety: SIGKILL the service in the middle of writes, bulk imports and index saves; on restart
every acknowledged row is there, the indexes agree with the database (no missing, no ghost ids),
and matching works. The killed processes use the fake embedder so the test is fast."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from service import shortlists
from service.container import Services, open_services
from service.keys import create_key
from service.settings import Settings
from store import repository
from store.db import init_db, make_engine
from store.repository import NEEDS, SUPPLIERS
from tests.conftest import REPO
from tests.fakes import HashingEmbedder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.crash_helpers", *args], cwd=REPO, env=env, stdout=subprocess.PIPE)


def assert_consistent(services: Services) -> None:
    """Every database row is indexed at its revision, and nothing else is."""
    for side in (services.suppliers, services.needs):
        with Session(services.engine) as session:
            in_db = repository.revisions(session, side.kind)
        assert side.vectors.revisions() == in_db, f"{side.kind.name}: vector index differs from the database"
        assert set(side.passages.keys()) == set(in_db) and set(side.facts) == set(in_db)
        assert len(side.lexical) == len(in_db)


def test_acknowledged_writes_survive_sigkill_mid_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_INDEX_LEASE_SECONDS", "2")  # the killed server's claimed jobs are taken over soon
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'matchmaker.db'}")
    init_db(engine)
    headers = {"Authorization": f"Bearer {create_key(engine, 'adviser', label='crash test')[0]}"}
    engine.dispose()
    port = _port()
    server = _spawn("serve", str(home), str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    acknowledged: set[str] = set()
    attempted = 0
    bulk_batches: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def single_writes(worker: int) -> None:
        nonlocal attempted
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            n = 0
            while not stop.is_set():
                n += 1
                supplier_id = f"W{worker}-{n}"
                body = {"id": supplier_id, "description": f"Vi leverer fallsensorer, modell {n}.", "country": "NO"}
                try:
                    with lock:
                        attempted += 1
                    if client.post("/suppliers", json=body).status_code == 201:
                        with lock:
                            acknowledged.add(supplier_id)
                except httpx.HTTPError:
                    return

    def bulk_imports() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            batch = 0
            while not stop.is_set():
                batch += 1
                bulk_batches.append(batch)
                time.sleep(0.1)  # let the single writes in between imports
                ids = [f"B{batch}-{i}" for i in range(300)]
                lines = [json.dumps({"id": i, "description": f"Snöröjning med eldrivna maskiner, {i}."}) for i in ids]
                try:
                    if client.post("/suppliers/import", content="\n".join(lines).encode()).status_code == 200:
                        with lock:
                            acknowledged.update(ids)
                except httpx.HTTPError:
                    return

    threads = [threading.Thread(target=single_writes, args=(w,)) for w in range(3)] + [threading.Thread(target=bulk_imports)]
    for t in threads:
        t.start()
    time.sleep(3.0)
    server.send_signal(signal.SIGKILL)  # no shutdown hook runs: nothing is saved
    server.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acknowledged) > 50, f"too few writes before the kill ({len(acknowledged)} of {attempted})"

    services = open_services(Settings(home=home), embedder=HashingEmbedder())  # the restart
    with Session(services.engine) as session:
        stored = set(session.exec(select(SUPPLIERS.table.id)))
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {sorted(missing)[:5]}"
    print(
        f"crash mid-import: {attempted} single writes and {len(bulk_batches)} bulk imports of 300 sent, "
        f"{len(acknowledged)} rows acknowledged, {len(stored)} stored after restart, none lost"
    )
    assert_consistent(services)
    some = sorted(acknowledged)[0]
    with Session(services.engine) as session:
        row = repository.get(session, SUPPLIERS, some)
    found = shortlists.suppliers_for_text(services, row.description, k=5)
    assert some in [r.row.id for r in found]
    services.engine.dispose()


def test_indexes_survive_sigkill_mid_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_INDEX_LEASE_SECONDS", "2")  # a write killed mid-embedding is taken over soon
    home = tmp_path / "home"
    for round_ in range(4):
        saver = _spawn("save-loop", str(home))
        assert saver.stdout is not None and saver.stdout.readline().strip() == b"ready"
        time.sleep(0.4 + 0.3 * round_)  # several saves in, then killed wherever it is
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=30)
        services = open_services(Settings(home=home), embedder=HashingEmbedder())  # loads what was saved, reconciles
        assert_consistent(services)
        assert len(services.suppliers.vectors) > round_
        print(f"crash mid-save, round {round_ + 1}: {len(services.suppliers.vectors)} rows, indexes consistent after restart")
        services.engine.dispose()
    assert (home / "indexes" / "suppliers.npz").exists()
    with Session(make_engine(f"sqlite:///{home / 'matchmaker.db'}")) as session:
        assert repository.revisions(session, NEEDS) == {}
