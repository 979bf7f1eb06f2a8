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
from indexer.onnx_queries import OnnxQueryEmbedder
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
        embedder.encode_documents(["warm-up"])  # the documents' model is loaded on first use: not timed here
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


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and all its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for current, _rss in process_tree_rss(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def load_with_cpu(server: int, base: str, texts: Sequence[str], seconds: float) -> tuple[float, int, int, float]:
    """``concurrent_matches`` and the server's CPU milliseconds per request meanwhile (all its processes;
    the 16 clients run on the same cores and are not counted)."""
    before = tree_cpu_seconds(server)
    rps, total, errors = concurrent_matches(base, texts, seconds)
    return rps, total, errors, (tree_cpu_seconds(server) - before) * 1000 / max(total, 1)


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


@dataclass(frozen=True)
class Config:
    """One way of serving, measured on the same store and queries as the others."""

    label: str
    encoder: str  # MATCHMAKER_QUERY_ENCODER
    filters_from: str  # MATCHMAKER_FILTERS_FROM
    encoder_label: str  # bench.precision's name of the encoder, for the in-process twin

    @property
    def env(self) -> dict[str, str]:
        return {"MATCHMAKER_QUERY_ENCODER": self.encoder, "MATCHMAKER_FILTERS_FROM": self.filters_from}


BEFORE = Config("before (PyTorch int8 queries, filters from the database)", "torch-int8", "database", "int8")
AFTER = Config("after (ONNX int8 queries, filters from memory)", "onnx-int8", "memory", "ONNX int8")


@contextmanager
def server_env(values: dict[str, str]) -> Iterator[None]:
    """Settings for the server processes started meanwhile (they copy ``os.environ``)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def component_memory(home: Path, config: Config) -> dict[str, float]:
    """bench/serving_memory.py in a fresh process with the server's settings: MB added per step."""
    env = {**os.environ, **config.env, "MATCHMAKER_HOME": str(home), "MATCHMAKER_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.serving_memory", str(home)], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def bare_model_ms(encoder: Embedder, texts: Sequence[str]) -> float | None:
    """Mean ms of the ONNX model's own run on each text's tokens alone (no tokenising, pooling, hand-off or
    language means): what a query encode cannot go below. None for other encoders."""
    onnx: Any = encoder
    while not isinstance(onnx, OnnxQueryEmbedder) and hasattr(onnx, "inner"):
        onnx = onnx.inner
    if not isinstance(onnx, OnnxQueryEmbedder):
        return None
    took = []
    for text in texts:
        ids, mask = onnx.tokens([text])
        started = time.perf_counter()
        onnx.session.run(None, {"input_ids": ids, "attention_mask": mask})
        took.append(time.perf_counter() - started)
    return float(np.mean(took) * 1000)


def _served_by(services: Services, encoders: dict[str, Embedder], config: Config) -> Services:
    """The same indexes, queried as ``config`` serves (its encoder, its filters, a query cache of its own)."""
    return replace(
        services,
        embedder=encoders[config.encoder_label],
        query_vectors=LruCache(2048),
        filters_from_database=config.filters_from == "database",
    )


def measure_size(
    embedder: Embedder,
    profiles: list[dict[str, Any]],
    cached: CachedEmbeddings,
    concurrency_seconds: float,
    encoders: dict[str, Embedder],
    worker_counts: Sequence[int] = (2,),
) -> dict[str, Any]:
    """Both configurations on one store with the same queries: in process (and fp32 for reference), over
    HTTP, under 16 clients (the new one also with ``worker_counts`` server processes), and their memory."""
    texts = query_texts()
    fresh = fresh_query_texts()
    m: dict[str, Any] = {"in_process": {}, "http": {}, "load": {}, "memory": {}}
    with tempfile.TemporaryDirectory() as home:
        services = open_services(Settings(home=Path(home)), embedder=embedder)
        m["load_seconds"] = load_precomputed(services, profiles, cached)
        log.info("loaded %d profiles", len(profiles))
        for number, config in enumerate((BEFORE, AFTER)):
            served = _served_by(services, encoders, config)
            shortlists.suppliers_for_text(served, "warm-up", k=10)
            pad = " " * number  # each series its own texts for the query caches
            plain, phases = _in_process(served, [f"{t}{pad}" for t in texts], filtered=False)
            filtered, _ = _in_process(served, [f"{t} {pad}" for t in texts], filtered=True)
            m["in_process"][config.label] = (plain, filtered, phases)
            m.setdefault("bare", {})[config.label] = bare_model_ms(encoders[config.encoder_label], texts)
        fp32 = replace(services, embedder=encoders["fp32"], query_vectors=LruCache(2048))
        shortlists.suppliers_for_text(fp32, "warm-up", k=10)
        m["fp32"] = _in_process(fp32, texts, filtered=False)
        m["add"] = _add_and_find(_served_by(services, encoders, AFTER))
        log.info("in-process series done (N=%d)", len(profiles))
        services.close()  # saves the indexes the servers start from
        runs = [(BEFORE, 1), (AFTER, 1), *((AFTER, n) for n in worker_counts)]
        for number, (config, workers) in enumerate(runs):
            key = (config.label, workers)
            pad = " " * (2 + number)
            started = time.perf_counter()
            with server_env(config.env), server_process(Path(home), workers=workers) as (server, base):
                m.setdefault("start_seconds", time.perf_counter() - started)
                if workers == 1:
                    m["http"][config.label] = (
                        _http(base, [f"{t}{pad}" for t in texts], filtered=False),
                        _http(base, [f"{t} {pad}" for t in texts], filtered=True),
                    )
                m["load"][(*key, "new")] = load_with_cpu(server.pid, base, fresh[number::4], concurrency_seconds)
                repeated = [f"{t}{pad}" for t in texts]
                m["load"][(*key, "repeated")] = load_with_cpu(server.pid, base, repeated, concurrency_seconds)
                m["memory"][key] = [rss for pid, rss in process_tree_rss(server.pid) if _serves(pid, server.pid, workers)]
            log.info("%s with %d process(es) measured (N=%d)", config.label, workers, len(profiles))
        m["components"] = {config.label: component_memory(Path(home), config) for config in (BEFORE, AFTER)}
    return m


def _serves(pid: int, server: int, workers: int) -> bool:
    """A process that answers requests: the server alone, or each of its workers (not the supervisor, nor
    multiprocessing's resource tracker)."""
    if workers == 1:
        return pid == server
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return pid != server and b"resource_tracker" not in command


def _size_rows(n: int, m: dict[str, Any], concurrency_seconds: float) -> tuple[list[list[object]], list[list[object]]]:
    rows: list[list[object]] = []
    phase_rows: list[list[object]] = []
    for config in (BEFORE, AFTER):
        plain, filtered, phases = m["in_process"][config.label]
        rows.append([n, f"in process, {config.label}", percentiles(plain), percentiles(filtered)])
        bare = m["bare"][config.label]
        phase_rows.append(
            [f"{n}, {config.label}", *(f"{phases.get(p, 0.0):.1f}" for p in PHASES), "" if bare is None else f"{bare:.1f}"]
        )
    fp32_plain, fp32_phases = m["fp32"]
    rows.append([n, "in process, fp32 query encoder (reference)", percentiles(fp32_plain), ""])
    phase_rows.append([f"{n}, fp32 queries (reference)", *(f"{fp32_phases.get(p, 0.0):.1f}" for p in PHASES), ""])
    for config in (BEFORE, AFTER):
        plain, filtered = m["http"][config.label]
        rows.append([n, f"HTTP POST /match, {config.label}", percentiles(plain), percentiles(filtered)])
    for (label, workers, kind), (rps, total, errors, cpu) in m["load"].items():
        what = "every query new" if kind == "new" else "192 texts repeated"
        processes = "1 process" if workers == 1 else f"{workers} worker processes"
        rows.append(
            [
                n,
                f"16 clients, {concurrency_seconds:.0f} s, {what}, {label}, {processes}",
                f"{rps:.1f} req/s ({total} requests, {errors} errors)",
                f"server CPU {cpu:.1f} ms per request",
            ]
        )
    for (label, workers), sizes in m["memory"].items():
        each = ", ".join(f"{rss:.0f}" for rss in sizes)
        what = "server RSS" if workers == 1 else f"RSS of each of {workers} worker processes"
        rows.append([n, f"memory, {label}", f"{what}: {each} MB", ""])
    rows.append(
        [
            n,
            "store",
            f"bulk load {m['load_seconds']:.0f} s; server start {m['start_seconds']:.0f} s",
            f"add one + shortlist {m['add'] * 1000:.0f} ms",
        ]
    )
    return rows, phase_rows


def _component_table(by_size: dict[int, dict[str, dict[str, float]]]) -> str:
    rows = []
    for n, configs in by_size.items():
        for label, steps in configs.items():
            rows += [[n, label, step, f"{mb:.0f}"] for step, mb in steps.items()]
    return markdown_table(["N", "server", "step", "MB added"], rows)


def embed_profiles(embedder: Embedder, size: int, seed: int = 0) -> tuple[list[dict[str, Any]], CachedEmbeddings]:
    """Generate and embed (or read back from the cache) the benchmark's profiles. Run alone, it lets the
    hour-long embedding happen while the machine is busy, and the timed measurement later on idle cores."""
    profiles = generate_profiles(size, seed=seed)
    with tempfile.TemporaryDirectory() as home:
        scratch = open_services(Settings(home=Path(home)), embedder=embedder)
        cached = cached_embeddings(embedder, scratch, profiles, seed)
        scratch.engine.dispose()
    return profiles, cached


def encoders_by_label(embedder: Embedder) -> dict[str, Embedder]:
    """The served embedder and its twins with every other query encoder, by bench.precision's labels."""
    return {query_precision(embedder): embedder, **dict(other_encoders(embedder, onnx_encoder(embedder)))}


def run(embedder: Embedder, out: Path, sizes: Sequence[int], *, concurrency_seconds: float = 60.0, seed: int = 0) -> str:
    profiles, cached = embed_profiles(embedder, max(sizes), seed)
    build = markdown_table(["path", "texts/s", "overhead"], build_throughput(embedder, profiles))
    encoders = encoders_by_label(embedder)
    rows, phase_rows, components = [], [], {}
    for n in sizes:
        subset = CachedEmbeddings(cached.vectors[:n], cached.passages[:n])
        m = measure_size(embedder, profiles[:n], subset, concurrency_seconds, encoders)
        size_rows, size_phases = _size_rows(n, m, concurrency_seconds)
        rows += size_rows
        phase_rows += size_phases
        components[n] = m["components"]
    latency = markdown_table(
        ["N", "what", "no filter: p50 / p95 / p99 ms", "country+size filter: p50 / p95 / p99 ms (load: server CPU)"], rows
    )
    phases = markdown_table(["N", *[f"{p} (mean ms)" for p in PHASES], "the ONNX model's own run (mean ms)"], phase_rows)
    intro = (
        f"Model: {embedder.name}; documents embedded in fp32. k = 10. Two ways of serving, side by side on the "
        f"same store and the same queries: {BEFORE.label} and {AFTER.label}. Each latency series sends "
        f"{len(query_texts())} need texts no earlier series used, so every query is encoded. The fp32 row "
        "encodes the same queries with the original model (the reference for quality, "
        "bench/results/sample_quality.md and quality.md). Concurrent requests' queries are encoded together "
        "(indexer/query_batcher.py). The load runs send 16 clients' requests for the given time: 'every "
        "query new' sends opening sentences of unseen generated profiles (each run its own), so every request "
        "is encoded; 'repeated' cycles the 192 texts (after the first pass the query-vector cache answers "
        "the encoding, as when advisers refine and re-run a need). 'N worker processes' is `matchmaker serve "
        "--workers N`, each process with its own indexes and 1/N of the cores for its query encoder."
        "\n\nBuild throughput on 300 generated profiles:\n\n"
        + build
        + "\n\nWhere in-process time goes (no filter; the last column times the ONNX model alone on the same "
        "texts' tokens, what the encode phase cannot go below):\n\n"
        + phases
        + "\n\nWhere a serving process's memory goes (bench/serving_memory.py: resident MB each step added, "
        "in a fresh process with the server's settings):\n\n" + _component_table(components) + "\n\nLatency, load and memory:"
    )
    return write_report(out, "Speed and scale", intro, latency)
