"""``matchmaker bench fleet``: several servers on one PostgreSQL database, side by side in one run.

For each size, N generated suppliers with bench speed's cached vectors (nothing is embedded for them) and
the sample needs are loaded into PostgreSQL; then, against ``matchmaker serve`` processes of their own:

- the 16-client mix spread over two servers: writes answered once committed (the service) against the
  same writes with ``?wait=indexed`` (answered once searchable: what every write did before the indexer
  ran in the background);
- write → searchable: suppliers created through server A, polled for in A's and in B's shortlists;
- a bulk import through A: its acknowledgement, the indexing rate, and how far the index lags behind;
- start-up of a new server with an empty ``MATCHMAKER_HOME`` (vectors from the database) against one
  with a snapshot, and what each embedded on the way (vectors and jobs written meanwhile: none, if right);
- 16 clients' shortlists with ``serve`` as one process and as ``--workers 2``, and each process's RSS.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import text
from tqdm import tqdm

from bench.load import MIX, Run, count_marks, lost_writes, mixed_load, postgres_ready
from bench.profile_generator import generate_profiles
from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from bench.speed import (
    ADVISER_HEADERS,
    CachedEmbeddings,
    concurrent_matches,
    embed_profiles,
    fresh_query_texts,
    load_precomputed,
    process_tree_rss,
    query_texts,
    server_process,
)
from indexer.embedder import Embedder
from service import writes
from service.container import open_services
from service.settings import Settings
from store.db import make_engine
from store.repository import NEEDS

log = logging.getLogger(__name__)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/matchmaker_fleet"
WRITE_OPS = ("POST /suppliers", "PATCH /suppliers/{id}", "POST /needs/{id}/feedback")
STATS_FLUSH = 11.0  # seconds for every backend to have flushed its statistics
FOUND_WITHIN = 30.0  # seconds a probe looks for a new supplier before calling it not found


@dataclass(frozen=True)
class Sizing:
    """How long each part runs: the full measurement, or a quick check (``make bench``)."""

    load_seconds: float
    probes: int
    import_rows: int
    throughput_seconds: float


FULL = Sizing(load_seconds=30.0, probes=30, import_rows=1000, throughput_seconds=30.0)
QUICK = Sizing(load_seconds=8.0, probes=8, import_rows=150, throughput_seconds=8.0)


def ms(seconds: Sequence[float]) -> str:
    """p50 / p99 in milliseconds."""
    if not seconds:
        return "none"
    p50, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 99])
    return f"{p50:.0f} / {p99:.0f}"


def _stored_work(url: str) -> tuple[int, int, int]:
    """(vectors, their newest stamp, index jobs) in the database: what a process embedded shows up here."""
    engine = make_engine(url)
    with engine.connect() as connection:
        vectors, newest = connection.execute(text("SELECT count(*), coalesce(max(stamp), 0) FROM row_vector")).one()
        jobs = connection.execute(text("SELECT count(*) FROM index_job")).scalar_one()
    engine.dispose()
    return int(vectors), int(newest), int(jobs)


def _transactions(url: str) -> int:
    """Transactions so far in this database (PostgreSQL's statistics: each backend flushes its own within
    about 10 s, so callers wait ``STATS_FLUSH`` first)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(count)


def _database_megabytes(url: str) -> tuple[float, float]:
    """(the stored vectors' table, the whole database) in MB."""
    engine = make_engine(url)
    with engine.connect() as connection:
        vectors, database = connection.execute(
            text("SELECT pg_total_relation_size('row_vector'), pg_database_size(current_database())")
        ).one()
    engine.dispose()
    return vectors / 2**20, database / 2**20


def _prepare(embedder: Embedder, url: str, home: Path, profiles: list[dict[str, Any]], cached: CachedEmbeddings) -> float:
    """The database with N suppliers (their cached vectors) and the sample needs (embedded here); the
    home keeps the snapshot a restarted server starts from. Seconds the suppliers took to load."""
    services = open_services(Settings(home=home, database_url=url), embedder=embedder)
    seconds = load_precomputed(services, profiles, cached)
    writes.import_records(services, NEEDS, (DATA / "needs.jsonl").read_text(encoding="utf-8").splitlines())
    services.close()
    return seconds


@contextmanager
def _timed_server(home: Path, url: str, workers: int = 1) -> Iterator[tuple[Any, str, float]]:
    """A server, and the seconds from its launch until it answered a shortlist."""
    started = time.perf_counter()
    with server_process(home, url, workers=workers) as (process, base):
        httpx.post(
            f"{base}/match", json={"text": "snøbrøyting uten fossilt drivstoff", "k": 10}, headers=ADVISER_HEADERS, timeout=120
        ).raise_for_status()
        yield process, base, time.perf_counter() - started


def _startup(url: str, snapshot_home: Path) -> list[list[object]]:
    """A new server with an empty home against one restarted from a snapshot: seconds, and what it wrote."""
    rows: list[list[object]] = []
    for label, home in (
        ("empty MATCHMAKER_HOME (vectors from the database)", None),
        ("snapshot in MATCHMAKER_HOME + catch-up", snapshot_home),
    ):
        with ExitStack() as stack:
            folder = home or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            before = _stored_work(url)
            _process, base, seconds = stack.enter_context(_timed_server(folder, url))
            health = httpx.get(f"{base}/health", timeout=30).json()
            after = _stored_work(url)
        embedded = "nothing" if after == before else f"vectors {before[0]}→{after[0]}, jobs {before[2]}→{after[2]}"
        rows.append([label, f"{seconds:.1f} s", health["indexed"]["suppliers"], embedded])
    return rows


def _mix(bases: Sequence[str], run: Run, seconds: float, url: str) -> dict[str, Any]:
    """The mix over the servers (clients spread evenly), then until the queue is empty again."""
    run.marks_before = count_marks(url)
    time.sleep(STATS_FLUSH)  # what the servers did at start-up is counted before, not during, the mix
    before = _transactions(url)
    elapsed = mixed_load(bases, run, seconds, 16)
    drained = _drain_seconds(bases[0])
    time.sleep(STATS_FLUSH)
    transactions = _transactions(url) - before
    total = sum(len(t) for t in run.timings.values())
    return {  # Run's timings are in ms; seconds here, like every other series
        "writes": [t / 1000 for op in WRITE_OPS for t in run.timings.get(op, [])],
        "reads": [t / 1000 for op, series in run.timings.items() if op not in WRITE_OPS for t in series],
        "rps": total / elapsed,
        "errors": sum(run.errors.values()),
        "total": total,
        "lost": lost_writes(url, run),
        "drained": drained,
        "transactions": transactions / total,
        "by_op": {op: [t / 1000 for t in run.timings.get(op, [])] for op, _weight in MIX},
    }


def _drain_seconds(base: str, limit: float = 600.0) -> float:
    """Seconds until the index queue is empty (every acknowledged write embedded)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if httpx.get(f"{base}/health", timeout=30).json()["queue"]["pending"] == 0:
            return time.perf_counter() - started
        time.sleep(0.1)
    return float("inf")


def _found(client: httpx.Client, description: str, supplier_id: str) -> bool:
    response = client.post("/match", json={"text": description, "k": 10})
    return response.status_code == 200 and any(r["id"] == supplier_id for r in response.json()["results"])


def _poll(base: str, description: str, supplier_id: str, started: float) -> float | None:
    """Seconds from ``started`` until ``base`` shortlists the supplier for its own description."""
    with httpx.Client(base_url=base, timeout=30, headers=ADVISER_HEADERS) as client:
        while time.perf_counter() - started < FOUND_WITHIN:
            if _found(client, description, supplier_id):
                return time.perf_counter() - started
            time.sleep(0.01)
    return None


def _searchable(a: str, b: str, profiles: list[dict[str, Any]]) -> dict[str, list[float] | int]:
    """Create each profile through A; poll A's and B's shortlists for it at once."""
    acks: list[float] = []
    same: list[float] = []
    other: list[float] = []
    missed = 0
    with httpx.Client(base_url=a, timeout=30, headers=ADVISER_HEADERS) as client, ThreadPoolExecutor(2) as pool:
        for profile in tqdm(profiles, desc="write → searchable", unit="write"):
            started = time.perf_counter()
            client.post("/suppliers", json=profile).raise_for_status()
            acks.append(time.perf_counter() - started)
            here, there = (pool.submit(_poll, base, profile["description"], profile["id"], started) for base in (a, b))
            for seconds, into in ((here.result(), same), (there.result(), other)):
                if seconds is None:
                    missed += 1
                else:
                    into.append(seconds)
    return {"ack": acks, "same": same, "other": other, "missed": missed}


def _bulk_import(a: str, b: str, profiles: list[dict[str, Any]]) -> dict[str, float]:
    """POST /suppliers/import through A; then until both servers have every row indexed."""
    body = "\n".join(json.dumps(p, ensure_ascii=False) for p in profiles).encode()
    started = time.perf_counter()
    response = httpx.post(
        f"{a}/suppliers/import", content=body, headers={**ADVISER_HEADERS, "Content-Type": "application/x-ndjson"}, timeout=600
    )
    response.raise_for_status()
    ack = time.perf_counter() - started
    peak_pending = peak_lag = 0
    while True:
        health_a = httpx.get(f"{a}/health", timeout=30).json()
        health_b = httpx.get(f"{b}/health", timeout=30).json()
        peak_pending = max(peak_pending, health_a["queue"]["pending"])
        peak_lag = max(peak_lag, health_b["revision"]["lag"])
        if health_a["queue"]["pending"] == 0 and health_b["revision"]["lag"] == 0:
            break
        if time.perf_counter() - started > 1800:
            raise RuntimeError("the import was not indexed within 30 minutes")
        time.sleep(0.25)
    indexed = time.perf_counter() - started
    return {"rows": len(profiles), "ack": ack, "indexed": indexed, "peak_pending": peak_pending, "peak_lag": peak_lag}


def _throughput(home: Path, url: str, seconds: float) -> list[list[object]]:
    """16 clients against ``serve`` as one process and as two workers; RSS of every process."""
    rows: list[list[object]] = []
    repeated = [f"{t} " for t in query_texts()]
    fresh = fresh_query_texts()
    for workers in (1, 2):
        with _timed_server(home, url, workers) as (process, base, _start):
            if workers > 1:
                _warm_every_worker(base)
            again = concurrent_matches(base, repeated, seconds)
            new = concurrent_matches(base, fresh[(workers - 1) * 10_000 :], seconds)
            memory = ", ".join(f"{mb:.0f}" for _pid, mb in process_tree_rss(process.pid) if mb > 50)
        label = "1 process" if workers == 1 else f"{workers} worker processes"
        rows.append([label, f"{again[0]:.1f} ({again[2]} errors)", f"{new[0]:.1f} ({new[2]} errors)", memory])
    return rows


def _warm_every_worker(base: str) -> None:
    """Until each worker process has answered a shortlist (the first is slower: caches, lazy imports)."""
    seen: set[int] = set()
    with httpx.Client(base_url=base, timeout=120, headers=ADVISER_HEADERS) as client:
        for _ in range(200):
            client.post("/match", json={"text": "kommunal hjemmetjeneste og fallsensorer", "k": 10}).raise_for_status()
            seen.add(client.get("/health").json()["process"])
            if len(seen) >= 2:
                return


def measure_size(
    embedder: Embedder, url: str, n: int, sizing: Sizing, profiles: list[dict[str, Any]], cached: CachedEmbeddings
) -> dict[str, Any]:
    new = generate_profiles(n + sizing.probes + sizing.import_rows)[n:]
    probes, imported = new[: sizing.probes], new[sizing.probes :]
    suppliers = [p["id"] for p in profiles[:n]]
    needs = [r["id"] for r in read_jsonl(DATA / "needs.jsonl")]
    texts = [r["description"] for r in read_jsonl(DATA / "needs.jsonl")]
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        postgres_ready(url)
        log.info("N=%d: loading suppliers and their cached vectors", n)
        load_seconds = _prepare(embedder, url, home, profiles[:n], CachedEmbeddings(cached.vectors[:n], cached.passages[:n]))
        megabytes = _database_megabytes(url)
        log.info("N=%d: start-up", n)
        startup = _startup(url, home)
        with ExitStack() as stack:
            homes = [Path(stack.enter_context(tempfile.TemporaryDirectory())) for _ in range(2)]
            (_a, a, _), (_b, b, _) = (stack.enter_context(_timed_server(h, url)) for h in homes)
            log.info("N=%d: the mix, writes answered when committed", n)
            committed = _mix([a, b], Run(suppliers, needs, texts, prefix="ACK"), sizing.load_seconds, url)
            log.info("N=%d: the mix, writes answered when searchable", n)
            waited = _mix([a, b], Run(suppliers, needs, texts, prefix="WAIT", wait_indexed=True), sizing.load_seconds, url)
            log.info("N=%d: write → searchable", n)
            searchable = _searchable(a, b, probes)
            log.info("N=%d: bulk import of %d rows", n, len(imported))
            bulk = _bulk_import(a, b, imported)
        log.info("N=%d: throughput, 1 and 2 processes", n)
        throughput = _throughput(home, url, sizing.throughput_seconds)
    return {
        "load_seconds": load_seconds,
        "megabytes": megabytes,
        "startup": startup,
        "committed": committed,
        "waited": waited,
        "searchable": searchable,
        "bulk": bulk,
        "throughput": throughput,
    }


def cycled(cached: CachedEmbeddings, n: int) -> CachedEmbeddings:
    """``n`` rows' vectors from fewer embedded ones, repeated in order."""
    m = len(cached.passages)
    return CachedEmbeddings(np.resize(cached.vectors, (n, cached.vectors.shape[1])), [cached.passages[i % m] for i in range(n)])


def run(
    embedder: Embedder,
    out: Path,
    sizes: Sequence[int],
    *,
    quick: bool = False,
    postgres_url: str | None = None,
    distinct: int | None = None,
) -> str:
    """``distinct``: embed only that many profiles, and give the rows beyond them those vectors again
    (the embedding of 100k takes about two hours here; start-up, memory and speed depend on how many
    vectors there are, not on their values)."""
    url = postgres_url or DEFAULT_POSTGRES_URL
    if postgres_ready(url) is None:
        return f"skipped: PostgreSQL is not reachable at {url}"
    sizing = QUICK if quick else FULL
    largest = max(sizes)
    embedded = min(largest, distinct or largest)
    _embedded_profiles, cached = embed_profiles(embedder, embedded)
    profiles = generate_profiles(largest)
    if embedded < largest:
        cached = cycled(cached, largest)
    results = {n: measure_size(embedder, url, n, sizing, profiles, cached) for n in sizes}
    intro = _intro(embedder, sizing)
    if embedded < largest:
        intro += (
            f" **Only the first {embedded:,} profiles were embedded**: rows beyond them carry those vectors again, "
            "cycled. Start-up, memory and speed depend on how many vectors and passages there are, not on their "
            "values; but those rows rank on meaning as their vector's profile would, and their explanations cite "
            "nothing (their stored passages do not fit their text)."
        )
    return write_report(out, "Several servers on one PostgreSQL", intro, _tables(results, sizing))


def _tables(results: dict[int, dict[str, Any]], sizing: Sizing) -> str:
    writes_rows, visible_rows, import_rows, start_rows, throughput_rows, op_rows = [], [], [], [], [], []
    for n, m in results.items():
        for label, mix in (
            ("answered when committed (the service)", m["committed"]),
            ("?wait=indexed: answered when searchable", m["waited"]),
        ):
            writes_rows.append(
                [
                    n,
                    label,
                    ms(mix["writes"]),
                    ms(mix["reads"]),
                    f"{mix['rps']:.1f}",
                    f"{mix['errors']} of {mix['total']}",
                    mix["lost"],
                    f"{mix['drained']:.1f} s",
                    f"{mix['transactions']:.1f}",
                ]
            )
        for op, _weight in MIX:
            op_rows.append([n, op, ms(m["committed"]["by_op"][op]), ms(m["waited"]["by_op"][op])])
        s = m["searchable"]
        visible_rows.append([n, ms(s["ack"]), ms(s["same"]), ms(s["other"]), f"{s['missed']} of {2 * sizing.probes}"])
        b = m["bulk"]
        import_rows.append(
            [
                n,
                b["rows"],
                f"{b['ack']:.1f} s",
                f"{b['indexed']:.1f} s",
                f"{b['rows'] / b['indexed']:.1f}",
                f"{b['peak_pending']} rows",
                f"{b['peak_lag']} revisions",
            ]
        )
        start_rows += [[n, *row] for row in m["startup"]]
        vectors_mb, database_mb = m["megabytes"]
        start_rows.append(
            [
                n,
                "(bulk load of the rows and cached vectors, for scale)",
                f"{m['load_seconds']:.0f} s",
                "",
                f"stored vectors {vectors_mb:.0f} MB of a {database_mb:.0f} MB database",
            ]
        )
        throughput_rows += [[n, *row] for row in m["throughput"]]
    return "\n\n".join(
        [
            "Writes under the 16-client mix, spread over two servers (ms):\n\n"
            + markdown_table(
                [
                    "N",
                    "writes",
                    "write p50 / p99",
                    "read p50 / p99",
                    "requests/s",
                    "errors",
                    "lost writes",
                    "queue empty after the run",
                    "PostgreSQL transactions per request",
                ],
                writes_rows,
            ),
            "By operation (p50 / p99 ms):\n\n"
            + markdown_table(["N", "operation", "writes answered when committed", "writes with ?wait=indexed"], op_rows),
            "Write → searchable (POST through A, then A's and B's shortlists polled for the new supplier; ms from the "
            "POST):\n\n"
            + markdown_table(
                [
                    "N",
                    "write acknowledged p50 / p99",
                    "searchable on A p50 / p99",
                    "searchable on B p50 / p99",
                    "not found within 30 s",
                ],
                visible_rows,
            ),
            "Bulk import through A (both servers run an indexer thread):\n\n"
            + markdown_table(
                ["N", "rows", "acknowledged after", "indexed on both after", "rows/s", "queue peak", "B's lag peak"], import_rows
            ),
            "Start-up of a server (until it answered a shortlist):\n\n"
            + markdown_table(["N", "home", "seconds", "suppliers indexed", "embedded on the way"], start_rows),
            "16 clients' POST /match for the given time; RSS of each process (MB):\n\n"
            + markdown_table(
                ["N", "serve", "requests/s, 192 texts repeated", "requests/s, every query new", "RSS per process"],
                throughput_rows,
            ),
        ]
    )


def _intro(embedder: Embedder, sizing: Sizing) -> str:
    mix = ", ".join(f"{op} {weight} %" for op, weight in MIX)
    return (
        f"Model: {embedder.name}. PostgreSQL on the same machine; every server is `matchmaker serve` in its own "
        "process(es) with an indexer and a follower thread, so servers, indexers and clients share the two cores. "
        f"The suppliers are bench speed's generated profiles with their cached vectors; the sample's 64 needs. "
        f"Mix ({sizing.load_seconds:.0f} s per row, 16 clients, 8 per server): {mix}. A lost write is an "
        "acknowledged supplier or mark missing from the database afterwards. PostgreSQL transactions per request count "
        "everything the servers did meanwhile (followers polling 5 times a second, indexers, senders) over the requests "
        "served. Write → searchable: "
        f"{sizing.probes} suppliers created one at a time with no other load. Throughput: "
        f"{sizing.throughput_seconds:.0f} s per series."
    )
