"""The running service: one engine, one embedder, one CPV catalog and both sides' indexes,
built by a factory (never at import time) so the API, the CLI and tests choose what to load."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.cpv_labels import CpvLabelIndex
from indexer.embedder import Embedder, SentenceTransformerEmbedder
from indexer.int8_queries import Int8QueryEmbedder
from indexer.language_neutral import load_or_estimate
from indexer.memory import release_freed_memory
from indexer.model_build import build_default_model, default_model_dir
from indexer.query_batcher import QueryBatcher
from indexer.sync import ReconcileReport, SideIndex
from matcher.catalog import CpvCatalog
from matcher.readiness import DEFAULT_THRESHOLD
from service.cache import LruCache
from service.reference import load_catalog, reference_texts
from service.settings import Settings
from store import repository
from store.db import init_db, make_engine
from store.repository import NEEDS, SUPPLIERS, EntityKind

log = logging.getLogger(__name__)

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
    query_batcher: QueryBatcher = field(init=False)
    passage_texts: LruCache = field(init=False)
    """A row's citable passages by (side, key, revision): explanations cite from them."""

    def __post_init__(self) -> None:
        self.query_batcher = QueryBatcher(self.embedder)  # a copy with another embedder gets its own
        self.passage_texts = LruCache(4096)

    def query_vector(self, text: str) -> np.ndarray:
        """The query embedding of a text, cached; concurrent requests' texts are encoded in one batch."""
        return self.query_vectors.get_or_compute(text, lambda: self.query_batcher.encode(text))

    def side(self, kind: EntityKind) -> SideIndex:
        return self.suppliers if kind is SUPPLIERS else self.needs

    def reconcile(self, *, progress: bool = False) -> dict[str, ReconcileReport]:
        return {side.kind.name: side.reconcile(progress=progress) for side in (self.suppliers, self.needs)}

    def rebuild(self, *, progress: bool = False) -> dict[str, ReconcileReport]:
        return {side.kind.name: side.rebuild(progress=progress) for side in (self.suppliers, self.needs)}

    def save_indexes(self) -> None:
        with Session(self.engine) as session:
            revision = repository.current_revision(session)
        for side in (self.suppliers, self.needs):
            side.save(revision)

    def close(self) -> None:
        self.save_indexes()
        self.engine.dispose()


def raw_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured model, or the bundled multilingual-e5-small build (built once if missing)."""
    if settings.model:
        return SentenceTransformerEmbedder(settings.model, device=settings.device)
    path = default_model_dir()
    if not path.exists():
        log.warning("default model not built yet; building it now (normally done by `make install`)")
        build_default_model(path)
    return SentenceTransformerEmbedder(str(path), device=settings.device)


def default_embedder(settings: Settings) -> Embedder:
    """The embedder the service matches with: the model (queries in int8 if asked), made language-neutral
    unless switched off."""
    loaded = raw_embedder(settings)
    inner: Embedder = loaded
    if settings.query_precision == "int8" and str(loaded.model.device) == "cpu":
        inner = Int8QueryEmbedder(loaded)
    if not settings.language_neutral:
        return inner
    return load_or_estimate(inner, reference_texts(), MODEL_CACHE / "language_means")


def keep_blas_single_threaded() -> None:
    """numpy's own BLAS threads keep spinning after each matrix product (CPV label scores, cosines)
    and take the cores from the next query encode: on 2 cores that doubled encoding (73 → 138 ms
    mean for need descriptions). The products here are small; one thread does them as fast."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def open_services(
    settings: Settings, *, embedder: Embedder | None = None, reconcile: bool = True, progress: bool = False
) -> Services:
    """Open the database, load the model and the saved indexes, and reconcile them with the database."""
    settings.home.mkdir(parents=True, exist_ok=True)
    keep_blas_single_threaded()
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
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
        cpv_labels=CpvLabelIndex.build(embedder, catalog, MODEL_CACHE / "cpv_labels"),
        readiness_threshold=settings.readiness_threshold,
    )
    for side in (services.suppliers, services.needs):
        side.load()
    if reconcile:
        services.reconcile(progress=progress)
    release_freed_memory()  # what loading and reconciling allocated for a moment
    return services
