"""``matchmaker bench speed``: how fast shortlists are at national scale, on this machine.

N realistic supplier profiles (bench/profile_generator.py) are embedded with the real model once and
their vectors (and their passages' vectors, for explanations) cached under bench/work/ in resumable
parts; each size is then loaded into a fresh store with those vectors, and measured side by side in
one run: the import+index path against the raw encoder, adding one supplier until it is shortlisted,
shortlist latency in process (by phase) and over HTTP (with and without filters), 16 concurrent
clients, and the peak memory of the serving process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from bench.precision import onnx_encoder, other_encoders, query_precision
from bench.profile_generator import generate_profiles
from bench.report import markdown_table, write_report
from bench.sample_data import DATA, read_jsonl
from indexer.documents import embedding_document, embedding_text
from indexer.embedder import Embedder, encode_with_spans
from indexer.stored_vectors import Embedded, to_row
from matcher.analysis import split_sentences
from service import shortlists, writes
from service.cache import LruCache
from service.container import Services, open_services
from service.keys import create_key
from service.settings import Settings
from service.timing import PHASES, PhaseTimer
from store import index_queries, repository
from store.db import make_engine, session_scope
from store.models import SupplierCreate
from store.repository import SUPPLIERS

WORK = Path(__file__).resolve().parent / "work" / "speed"
log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the report
FILTERS = {"countries": ["NO"], "sizes": ["small", "medium"]}
ADVISER_HEADERS: dict[str, str] = {}  # filled when the server's store gets its key


def percentiles(ms: Sequence[float]) -> str:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"{p50:.1f} / {p95:.1f} / {p99:.1f}"


def rss_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process, MB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def query_texts() -> list[str]:
    """Distinct need texts (so the query-vector cache does not flatter the numbers)."""
    needs = read_jsonl(DATA / "needs.jsonl")
    return (
        [n["title"] for n in needs]
        + [n["description"] for n in needs]
        + [f"{n['title']}. {n['description'][:200]}" for n in needs]
    )


CACHE_PART = 2_000  # profiles per cache file, so an interrupted embedding resumes where it stopped


@dataclass(frozen=True)
class CachedEmbeddings:
    vectors: np.ndarray
    passages: list[np.ndarray]  # per profile, float16 as cached


def _embed_part(embedder: Embedder, services: Services, profiles: list[dict[str, Any]], path: Path) -> None:
    rows = [SimpleNamespace(**p, evidence_cpv_codes=[], all_cpv_codes=p["cpv_codes"]) for p in profiles]
    documents = [embedding_document(r, services.catalog) for r in rows]
    vectors, passages = encode_with_spans(embedder, [d.text for d in documents], [d.spans for d in documents])
    counts = np.array([len(p) for p in passages], dtype=np.int32)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, vectors=vectors, counts=counts, passages=np.vstack(passages).astype(np.float16))
    tmp.replace(path)


def fresh_query_texts(count: int = 20_000, seed: int = 0) -> list[str]:
    """Need-like texts never seen before (so every request is encoded): the opening sentences of
    generated profiles from another seed than the indexed ones (``seed``: another set again)."""
    return [" ".join(split_sentences(p["description"])[:2]) for p in generate_profiles(count, seed=99 + seed)]


@contextmanager
def query_encoder_env(encoder: str) -> Iterator[None]:
    """MATCHMAKER_QUERY_ENCODER for the server processes started meanwhile (they copy ``os.environ``)."""
    before = os.environ.get("MATCHMAKER_QUERY_ENCODER")
    os.environ["MATCHMAKER_QUERY_ENCODER"] = encoder
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MATCHMAKER_QUERY_ENCODER", None)
        else:
            os.environ["MATCHMAKER_QUERY_ENCODER"] = before


def cached_embeddings(embedder: Embedder, services: Services, profiles: list[dict[str, Any]], seed: int) -> CachedEmbeddings:
    """Profile and passage vectors as the indexer computes them, embedded once and kept on disk."""
    folder = WORK / f"{embedder.name}.seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    parts = [(start, min(CACHE_PART, len(profiles) - start)) for start in range(0, len(profiles), CACHE_PART)]
    paths = [folder / f"{start:07d}.{count}.npz" for start, count in parts]
    todo = list(zip(parts, paths, strict=True))
    for (start, count), path in tqdm(todo, desc="embedding benchmark profiles (cached)", unit="part"):
        if not path.exists():
            _embed_part(embedder, services, profiles[start : start + count], path)
    vectors, passages = [], []
    for path in paths:
        with np.load(path) as part:
            vectors.append(part["vectors"])
            bounds = np.concatenate([[0], np.cumsum(part["counts"])])
            stacked = part["passages"]  # each part[...] reads the file again: once only
            passages += [stacked[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    return CachedEmbeddings(np.vstack(vectors), passages)


def load_precomputed(services: Services, profiles: list[dict[str, Any]], cached: CachedEmbeddings) -> float:
    """Bulk-load rows and their cached vectors as an indexer would store them (the embedding is measured
    separately), then let this process follow them in; seconds taken."""
    started = time.perf_counter()
    side = services.suppliers
    with session_scope(services.engine) as session:
        rows = [repository.upsert(session, SUPPLIERS, dict(p))[0] for p in profiles]
    with session_scope(services.engine) as session:
        stamp = repository.next_revision(session)
        entries = [
            to_row(side.model, SUPPLIERS.name, Embedded(row.key, row.revision, vector, passages.astype(np.float32)), stamp)
            for row, vector, passages in zip(rows, cached.vectors[: len(rows)], cached.passages, strict=False)
        ]
        index_queries.add_vectors(session, entries)
        index_queries.clear_jobs(session, SUPPLIERS.name)
    services.follow()
    return time.perf_counter() - started


def build_throughput(embedder: Embedder, profiles: list[dict[str, Any]]) -> list[list[object]]:
    """Texts/s of the whole import+index path against the raw encoder on the same texts."""
    sample = profiles[:300]
    with tempfile.TemporaryDirectory() as home:
        services = open_services(Settings(home=Path(home)), embedder=embedder)
        texts = [embedding_text(SimpleNamespace(**p, all_cpv_codes=p["cpv_codes"]), services.catalog) for p in sample]
        started = time.perf_counter()
        embedder.encode_documents(texts)
        raw = len(texts) / (time.perf_counter() - started)
        started = time.perf_counter()
        writes.import_records(services, SUPPLIERS, [json.dumps(p, ensure_ascii=False) for p in sample])
        full = len(texts) / (time.perf_counter() - started)
        services.engine.dispose()
    return [
        ["raw SentenceTransformer.encode", f"{raw:.1f}", ""],
        ["import + index (validate, store, embed, index)", f"{full:.1f}", f"{(raw / full - 1) * 100:+.0f} %"],
    ]


def _in_process(services: Services, texts: Sequence[str], filtered: bool) -> tuple[list[float], dict[str, float]]:
    from matcher.filters import MatchFilters

    filters = MatchFilters.build(**FILTERS) if filtered else MatchFilters()
    timings: list[float] = []
    phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
    for text in texts:
        timer = PhaseTimer()
        started = time.perf_counter()
        shortlists.suppliers_for_text(services, text, filters=filters, k=10, timer=timer)
        timings.append((time.perf_counter() - started) * 1000)
        for name, seconds in timer.seconds.items():
            phases[name] = phases.get(name, 0.0) + seconds * 1000 / len(texts)
    return timings, phases


@contextmanager
def server_process(
    home: Path, database_url: str | None = None, *, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``matchmaker serve`` on a saved store, in its own process (group), so its memory is the service's alone.

    Clients send an adviser key (``ADVISER_HEADERS``), created in the store before it starts."""
    engine = make_engine(database_url or f"sqlite:///{home / 'matchmaker.db'}")
    plaintext, _row = create_key(engine, "adviser", label="speed benchmark")
    engine.dispose()
    ADVISER_HEADERS["Authorization"] = f"Bearer {plaintext}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MATCHMAKER_HOME": str(home), "MATCHMAKER_LOG_LEVEL": "WARNING"}
    if database_url:
        env["MATCHMAKER_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 15 minutes")
            time.sleep(0.5)
        yield process, base
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """The server and its worker processes: a worker left behind would hold its database connections."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def process_tree_rss(pid: int) -> list[tuple[int, float]]:
    """(pid, current RSS in MB) of a process and all its descendants."""
    found = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            found.append((current, rss_mb(current)[0]))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, KeyError):
            continue
        pending += [int(c) for c in children]
    return found


def _http(base: str, texts: Sequence[str], filtered: bool) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, timeout=30, headers=ADVISER_HEADERS) as client:
        for text in texts:
            body = {"text": text, "k": 10, **({"filters": FILTERS} if filtered else {})}
            started = time.perf_counter()
            client.post("/match", json=body).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def concurrent_matches(base: str, texts: Sequence[str], seconds: float, clients: int = 16) -> tuple[float, int, int]:
    """Requests/s, requests and errors for ``clients`` loops on loopback, each stopping after ``seconds``."""
    deadline = time.perf_counter() + seconds

    def loop(offset: int) -> tuple[int, int]:
        done = errors = 0
        with httpx.Client(base_url=base, timeout=30, headers=ADVISER_HEADERS) as client:
            i = offset
            while time.perf_counter() < deadline and done < 100_000:
                try:
                    client.post("/match", json={"text": texts[i % len(texts)], "k": 10}).raise_for_status()
                except httpx.HTTPError:
                    errors += 1
                done += 1
                i += clients
        return done, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(loop, range(clients)))
    elapsed = time.perf_counter() - started
    total = sum(r[0] for r in results)
    return total / elapsed, total, sum(r[1] for r in results)


def _add_and_find(services: Services) -> float:
    """Seconds from creating a supplier to seeing it first in a shortlist for its own words."""
    text = "Vi tilbyr autonome undervannsdroner for inspeksjon av kommunale sjøledninger og kaianlegg."
    started = time.perf_counter()
    writes.create(services, SUPPLIERS, SupplierCreate(id="NO-BRC-999999999", name="Dypsyn AS", description=text, country="NO"))
    results = shortlists.suppliers_for_text(services, text, k=1)
    if results[0].row.id != "NO-BRC-999999999":
        raise RuntimeError("the new supplier was not shortlisted")
    return time.perf_counter() - started


def measure_size(
    embedder: Embedder,
    profiles: list[dict[str, Any]],
    cached: CachedEmbeddings,
    concurrency_seconds: float,
    twins: Sequence[tuple[str, Embedder]] = (),
    server_encoders: Sequence[str] = (),
) -> dict[str, Any]:
    """``twins``: other query encoders timed in process on the same indexes; ``server_encoders``: values of
    MATCHMAKER_QUERY_ENCODER for a second server each, timed over HTTP and under the 16-client load."""
    texts = query_texts()
    with tempfile.TemporaryDirectory() as home:
        services = open_services(Settings(home=Path(home)), embedder=embedder)
        load_seconds = load_precomputed(services, profiles, cached)
        log.info("loaded %d profiles", len(profiles))
        shortlists.suppliers_for_text(services, "warm-up", k=10)
        plain, phases = _in_process(services, texts, filtered=False)
        filtered, _ = _in_process(services, [f"{t} " for t in texts], filtered=True)
        twin_results: dict[str, tuple[list[float], dict[str, float]]] = {}
        for label, twin in twins:  # the same indexes, queries through another encoder (its own query cache)
            twin_services = replace(services, embedder=twin, query_vectors=LruCache(2048))
            shortlists.suppliers_for_text(twin_services, "warm-up", k=10)
            twin_results[label] = _in_process(twin_services, texts, filtered=False)
        add_seconds = _add_and_find(services)
        log.info("in-process series done (N=%d)", len(profiles))
        services.close()  # saves the indexes the server starts from
        started = time.perf_counter()
        with server_process(Path(home)) as (server, base):
            start_seconds = time.perf_counter() - started
            log.info("server up (N=%d)", len(profiles))
            http_plain = _http(base, [f"{t}  " for t in texts], filtered=False)
            http_filtered = _http(base, [f"{t}   " for t in texts], filtered=True)
            log.info("HTTP series done (N=%d)", len(profiles))
            repeated = concurrent_matches(base, [f"{t}    " for t in texts], concurrency_seconds)
            log.info("repeated load run done (N=%d)", len(profiles))
            fresh = concurrent_matches(base, fresh_query_texts(), concurrency_seconds)
            rss, peak = rss_mb(server.pid)
        other_servers = {}
        for encoder in server_encoders:
            with query_encoder_env(encoder), server_process(Path(home)) as (server, base):
                other_servers[encoder] = {
                    "http_plain": _http(base, [f"{t}     " for t in texts], filtered=False),
                    "fresh": concurrent_matches(base, fresh_query_texts(seed=1), concurrency_seconds),
                    "rss": rss_mb(server.pid)[0],
                }
    return {
        "twins": twin_results,
        "other_servers": other_servers,
        "load_seconds": load_seconds,
        "start_seconds": start_seconds,
        "plain": plain,
        "filtered": filtered,
        "phases": phases,
        "add": add_seconds,
        "http_plain": http_plain,
        "http_filtered": http_filtered,
        "repeated": repeated,
        "fresh": fresh,
        "rss": rss,
        "peak": peak,
    }


def embed_profiles(embedder: Embedder, size: int, seed: int = 0) -> tuple[list[dict[str, Any]], CachedEmbeddings]:
    """Generate and embed (or read back from the cache) the benchmark's profiles. Run alone, it lets the
    hour-long embedding happen while the machine is busy, and the timed measurement later on idle cores."""
    profiles = generate_profiles(size, seed=seed)
    with tempfile.TemporaryDirectory() as home:
        scratch = open_services(Settings(home=Path(home)), embedder=embedder)
        cached = cached_embeddings(embedder, scratch, profiles, seed)
        scratch.engine.dispose()
    return profiles, cached


def run(embedder: Embedder, out: Path, sizes: Sequence[int], *, concurrency_seconds: float = 60.0, seed: int = 0) -> str:
    profiles, cached = embed_profiles(embedder, max(sizes), seed)
    build = markdown_table(["path", "texts/s", "overhead"], build_throughput(embedder, profiles))
    rows, phase_rows = [], []
    served = query_precision(embedder)
    others = other_encoders(embedder, onnx_encoder(embedder))
    onnx_server = ["onnx-int8"] if any(label == "ONNX int8" for label, _twin in others) else []
    for n in sizes:
        subset = CachedEmbeddings(cached.vectors[:n], cached.passages[:n])
        m = measure_size(embedder, profiles[:n], subset, concurrency_seconds, others, onnx_server)
        rows += [
            [n, "in process", percentiles(m["plain"]), percentiles(m["filtered"])],
            [n, "HTTP POST /match", percentiles(m["http_plain"]), percentiles(m["http_filtered"])],
        ]
        phase_rows.append([f"{n}, {served} queries", *(f"{m['phases'].get(p, 0.0):.1f}" for p in PHASES)])
        for label, (plain, phases) in m["twins"].items():
            rows.append([n, f"in process, {label} query encoder", percentiles(plain), ""])
            phase_rows.append([f"{n}, {label} queries", *(f"{phases.get(p, 0.0):.1f}" for p in PHASES)])
        for encoder, other in m["other_servers"].items():
            rps, total, errors = other["fresh"]
            rows += [
                [n, f"HTTP POST /match, server with {encoder}", percentiles(other["http_plain"]), ""],
                [
                    n,
                    f"16 clients, every query new, server with {encoder}",
                    f"{rps:.1f} req/s ({total} requests, {errors} errors)",
                    "",
                ],
                [n, f"memory, server with {encoder}", f"server RSS {other['rss']:.0f} MB", ""],
            ]
        for label, (rps, total, errors) in (("192 texts repeated", m["repeated"]), ("every query new", m["fresh"])):
            rows.append(
                [
                    n,
                    f"16 clients, {concurrency_seconds:.0f} s, {label}",
                    f"{rps:.1f} req/s ({total} requests, {errors} errors)",
                    "",
                ]
            )
        rows.append(
            [
                n,
                "memory",
                f"server RSS {m['rss']:.0f} MB, peak {m['peak']:.0f} MB",
                f"bulk load {m['load_seconds']:.0f} s; server start {m['start_seconds']:.0f} s; "
                f"add one + shortlist {m['add'] * 1000:.0f} ms",
            ]
        )
    latency = markdown_table(["N", "what", "no filter: p50 / p95 / p99 ms", "country+size filter: p50 / p95 / p99 ms"], rows)
    phases = markdown_table(["N", *[f"{p} (mean ms)" for p in PHASES]], phase_rows)
    intro = (
        f"Model: {embedder.name}. k = 10. Each latency series sends {len(query_texts())} need texts no earlier "
        f"series used, so every query is encoded. Queries are encoded in {served} (the service's setting, "
        "MATCHMAKER_QUERY_PRECISION); the "
        + "'… query encoder' rows encode the same queries with another encoder "
        + "against the same indexes (indexer/int8_queries.py, indexer/onnx_queries.py; ranking quality in "
        "bench/results/sample_quality.md). Concurrent requests' queries are encoded together "
        "(indexer/query_batcher.py). "
        "The load runs send 16 clients' requests for the given time: "
        "'repeated' cycles those texts (after the first pass the query-vector cache answers the encoding, as "
        "when advisers refine and re-run a need), 'every query new' sends opening sentences of unseen "
        "generated profiles, so every request is encoded.\n\nBuild throughput on 300 generated profiles:\n\n"
        + build
        + "\n\nWhere in-process time goes (no filter):\n\n"
        + phases
        + "\n\nLatency and load:"
    )
    return write_report(out, "Speed and scale", intro, latency)
