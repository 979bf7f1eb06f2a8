"""The running service: one engine, one embedder, one CPV catalog and both sides' indexes,
built by a factory (never at import time) so the API, the CLI and tests choose what to load.

Indexing is ``inline`` (a write embeds its rows before it returns: the CLI, tests, one-off tools) or
``background`` (a write returns once committed; an indexer thread embeds, and a follower thread
applies every process's changes: ``matchmaker serve``; see service/background.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.cpv_labels import CpvLabelIndex
from indexer.embedder import Embedder, SentenceTransformerEmbedder, best_device, model_identity
from indexer.follower import follow
from indexer.int8_queries import Int8QueryEmbedder
from indexer.job_worker import LEASE, RETRY_AFTER, WorkReport, drain
from indexer.language_neutral import load_or_estimate
from indexer.memory import release_freed_memory
from indexer.model_build import build_default_model, default_model_dir
from indexer.onnx_queries import OnnxQueryEmbedder, declared_dimension, export_int8, is_built
from indexer.query_batcher import QueryBatcher
from indexer.sync import ReconcileReport, SideIndex
from matcher.catalog import CpvCatalog
from matcher.readiness import DEFAULT_THRESHOLD
from service.cache import LruCache
from service.form_tokens import server_secret
from service.reference import load_catalog, reference_texts
from service.settings import Settings
from store import index_queries, repository
from store.db import init_db, make_engine
from store.repository import NEEDS, SUPPLIERS, EntityKind

log = logging.getLogger(__name__)

Indexing = Literal["inline", "background"]

SERVER_SECRETS = ("form-tokens", "alert-links")
"""Secrets every server of a database shares (service/form_tokens.py, service/alert_links.py)."""

# Derived from the model alone (not from any one database): shared by every MATCHMAKER_HOME.
MODEL_CACHE = default_model_dir().parent.parent


@dataclass
class Services:
    engine: Engine
    embedder: Embedder
    catalog: CpvCatalog
    suppliers: SideIndex
    needs: SideIndex
    query_vectors: LruCache
    cpv_labels: CpvLabelIndex
    readiness_threshold: float = DEFAULT_THRESHOLD
    indexing: Indexing = "inline"
    index_lease: dt.timedelta = LEASE
    index_retry: dt.timedelta = RETRY_AFTER
    applied_revision: int = 0
    """Every change up to this revision is in this process's indexes."""
    pages_url: str = "http://127.0.0.1:8000"
    """Where people reach the pages: links in alerts sent by background work point there (Settings.pages_url)."""
    webhook_allow_private: bool = False
    """Settings.webhook_allow_private: suppliers' webhooks may post to loopback and private addresses."""
    filters_from_database: bool = False
    """Settings.filters_from: a shortlist's filters answered by the store's SQL instead of the indexes' copy."""
    query_batcher: QueryBatcher = field(init=False)
    passage_texts: LruCache = field(init=False)
    """A row's citable passages by (side, key, revision): explanations cite from them."""
    work_ready: threading.Event = field(init=False)
    """Set by a write in background mode: the indexer thread need not wait for its next poll."""

    def __post_init__(self) -> None:
        self.query_batcher = QueryBatcher(self.embedder)  # a copy with another embedder gets its own
        self.passage_texts = LruCache(4096)
        self.work_ready = threading.Event()
        self._follow_lock = threading.Lock()

    @property
    def sides(self) -> dict[str, SideIndex]:
        return {side.kind.name: side for side in (self.suppliers, self.needs)}

    def follow(self) -> int:
        """Apply every change committed since the last one applied (by any process)."""
        with self._follow_lock:
            self.applied_revision = follow(self.engine, [self.suppliers, self.needs], self.applied_revision)
            return self.applied_revision

    def index_pending(self, *, progress: bool = False, until_empty: bool = False) -> WorkReport:
        """Embed whatever is queued, here and now (``until_empty``: and what a dead worker left leased)."""
        return drain(
            self.engine,
            self.sides,
            lease=self.index_lease,
            retry_after=self.index_retry,
            progress=progress,
            until_empty=until_empty,
        )

    def after_write(self, kind: EntityKind, keys: Sequence[int], *, progress: bool = False) -> None:
        """Inline: the rows are searchable when this returns. Background: the indexer is woken."""
        if self.indexing == "inline":
            self.wait_indexed(kind, keys, progress=progress)
        else:
            self.work_ready.set()

    def wait_for_revision(self, revision: int, timeout: float) -> bool:
        """Until this process has applied ``revision`` (another server's write); False on timeout, and at
        once for a revision the database has not reached (no client can hold one)."""
        with Session(self.engine) as session:
            if revision > repository.current_revision(session):
                return False
        deadline = time.monotonic() + timeout
        while self.follow() < revision:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_indexed(self, kind: EntityKind, keys: Sequence[int], *, timeout: float = 120.0, progress: bool = False) -> bool:
        """Until every job of these rows is done (or parked) and this process has applied the result;
        inline, this process embeds them itself. False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.indexing == "inline":
                self.index_pending(progress=progress)
            with Session(self.engine) as session:
                remaining = index_queries.jobs_for(session, kind.name, list(keys))
            if remaining == 0:
                self.follow()
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def query_vector(self, text: str) -> np.ndarray:
        """The query embedding of a text, cached; concurrent requests' texts are encoded in one batch."""
        return self.query_vectors.get_or_compute(text, lambda: self.query_batcher.encode(text))

    def side(self, kind: EntityKind) -> SideIndex:
        return self.suppliers if kind is SUPPLIERS else self.needs

    def reconcile(self, *, progress: bool = False) -> dict[str, ReconcileReport]:
        """Caches from the database (vectors loaded, missing ones queued); inline, the queue is embedded."""
        with Session(self.engine) as session:
            head = repository.current_revision(session)
        reports = {side.kind.name: side.reconcile(progress=progress) for side in (self.suppliers, self.needs)}
        with self._follow_lock:
            self.applied_revision = max(self.applied_revision, head)
        if self.indexing == "background":
            return reports
        work = self.index_pending(progress=progress, until_empty=True)
        self.follow()
        return {
            kind: replace(report, embedded=work.embedded.get(kind, 0), total=len(self.sides[kind].vectors))
            for kind, report in reports.items()
        }

    def rebuild(self, *, progress: bool = False) -> dict[str, ReconcileReport]:
        """Forget this model's vectors and embed every row again."""
        for side in (self.suppliers, self.needs):
            side.forget_vectors()
        return self.reconcile(progress=progress)

    def save_indexes(self) -> None:
        """Snapshots of the vector indexes: a start-up accelerator, never the only copy."""
        for side in (self.suppliers, self.needs):
            side.save(self.applied_revision)

    def close(self) -> None:
        self.save_indexes()
        self.engine.dispose()


def model_source(settings: Settings) -> str:
    """The configured model, or the bundled multilingual-e5-small build (built once if missing)."""
    if settings.model:
        return settings.model
    path = default_model_dir()
    if not path.exists():
        log.warning("default model not built yet; building it now (normally done by `make install`)")
        build_default_model(path)
    return str(path)


def raw_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured model, loaded now."""
    return SentenceTransformerEmbedder(model_source(settings), device=settings.device)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def onnx_dir(model_name: str) -> Path:
    """Where a model's ONNX query encoder is kept: per machine and model, like the language means."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_name)
    return MODEL_CACHE / "query_onnx" / safe


def default_embedder(settings: Settings) -> Embedder:
    """The embedder the service matches with: the model (its queries through the chosen encoder), made
    language-neutral unless switched off. With the ONNX encoder built, the model itself (and PyTorch) is
    loaded only when a document is first embedded."""
    source = model_source(settings)
    device = settings.device or best_device()
    encoder = settings.chosen_query_encoder if device == "cpu" else "fp32"  # the int8 encoders are for CPUs
    inner: Embedder
    if encoder == "onnx-int8":
        directory = onnx_dir(model_identity(source))
        documents = SentenceTransformerEmbedder(source, device=device, dim=declared_dimension(directory))
        built = directory if is_built(directory) else export_int8(documents.model, directory)
        inner = OnnxQueryEmbedder(documents, built, threads=settings.query_threads or usable_cores())
    else:
        loaded = SentenceTransformerEmbedder(source, device=device)
        inner = Int8QueryEmbedder(loaded) if encoder == "torch-int8" else loaded
    if not settings.language_neutral:
        return inner
    return load_or_estimate(inner, reference_texts(), MODEL_CACHE / "language_means")


def cpv_label_index(embedder: Embedder, catalog: CpvCatalog) -> CpvLabelIndex:
    """The CPV labels' vectors for this model, embedded once per machine (``matchmaker model build`` does
    it at install, so that no server's start embeds anything)."""
    return CpvLabelIndex.build(embedder, catalog, MODEL_CACHE / "cpv_labels")


def prepare_model(settings: Settings) -> Embedder:
    """Everything the configured model needs before a server starts: the language means, the CPV labels'
    vectors and the ONNX query encoder (whichever encoder is chosen now; ≈ 15 s), computed and cached here
    rather than at a first start."""
    source = model_source(settings)
    if (settings.device or best_device()) == "cpu":
        directory = onnx_dir(model_identity(source))
        if not is_built(directory):
            export_int8(raw_embedder(settings).model, directory)
    embedder = default_embedder(settings)
    cpv_label_index(embedder, load_catalog(settings.cpv_file))
    return embedder


def keep_blas_single_threaded() -> None:
    """numpy's own BLAS threads keep spinning after each matrix product (CPV label scores, cosines)
    and take the cores from the next query encode: on 2 cores that doubled encoding (73 → 138 ms
    mean for need descriptions). The products here are small; one thread does them as fast."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def open_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    reconcile: bool = True,
    progress: bool = False,
    indexing: Indexing = "inline",
    caches: bool = True,
) -> Services:
    """Open the database, load the model and the snapshot of the indexes, and bring them up to the database
    (``caches=False``: neither, for a process that only embeds)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    keep_blas_single_threaded()
    engine = make_engine(settings.resolved_database_url, pool=settings.database_pool)
    init_db(engine)
    for name in SERVER_SECRETS:  # made now, not first inside another transaction (SQLite: one writer at a time)
        server_secret(engine, name)
    embedder = embedder or default_embedder(settings)
    catalog = load_catalog(settings.cpv_file)
    index_dir: Path = settings.index_dir
    services = Services(
        engine=engine,
        embedder=embedder,
        catalog=catalog,
        suppliers=SideIndex(SUPPLIERS, embedder, catalog, index_dir / "suppliers.npz", engine),
        needs=SideIndex(NEEDS, embedder, catalog, index_dir / "needs.npz", engine),
        query_vectors=LruCache(2048),
        cpv_labels=cpv_label_index(embedder, catalog),
        readiness_threshold=settings.readiness_threshold,
        indexing=indexing,
        index_lease=dt.timedelta(seconds=settings.index_lease_seconds),
        index_retry=dt.timedelta(seconds=settings.index_retry_seconds),
        pages_url=settings.pages_url,
        webhook_allow_private=settings.webhook_allow_private,
        filters_from_database=settings.filters_from == "database",
    )
    if not caches:  # an indexer worker: embeds and stores, serves nothing
        return services
    for side in (services.suppliers, services.needs):
        side.load()
    if reconcile:
        services.reconcile(progress=progress)
    release_freed_memory()  # what loading and reconciling allocated for a moment
    return services
