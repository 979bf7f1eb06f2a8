"""One side's indexes (suppliers or needs): per-process caches of what the database holds.

The database is the system of record for rows *and* their vectors (store/index_models.py). A process
builds its caches from it: the vector index and the passage vectors from the stored vectors, the
lexical index and the row facts from the rows. Embedding happens elsewhere (indexer/job_worker.py),
for the rows whose vector is missing or stale; every process then picks the new vectors up by
following the change log (indexer/follower.py). A snapshot file of the vector index is only a start-up
accelerator: what it lacks is loaded from the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from tqdm import tqdm

from indexer.documents import embedding_document, lexical_text
from indexer.embedder import Embedder, encode_with_spans
from indexer.filter_index import FilterIndex
from indexer.lexical import LexicalIndex
from indexer.passage_vectors import PassageVectors
from indexer.row_facts import RowFacts, cpv_codes_of, row_facts
from indexer.side_queries import SideQueries
from indexer.stored_vectors import Embedded, passages_of, to_row, vector_of
from indexer.vector_index import FaissVectorIndex, IndexMeta
from matcher.catalog import CpvCatalog
from store import index_queries, repository
from store.db import session_scope
from store.index_models import RowVector
from store.repository import SUPPLIERS, EntityKind

log = logging.getLogger(__name__)

EMBED_CHUNK = 256
LOAD_CHUNK = 2000


@dataclass(frozen=True)
class ReconcileReport:
    embedded: int  # rows embedded (by the caller's drain, when it drains)
    removed: int
    total: int
    loaded: int = 0  # vectors read from the database
    queued: int = 0  # rows whose vector was missing or stale, queued for embedding
    uploaded: int = 0  # vectors only the snapshot file had, written to the database


class SideIndex(SideQueries):
    """The vector and lexical index of one kind of row: kept up to the database here, queried through
    ``SideQueries``."""

    def __init__(self, kind: EntityKind, embedder: Embedder, catalog: CpvCatalog, path: Path, engine: Engine) -> None:
        self.kind = kind
        self.engine = engine
        self.embedder = embedder
        self.catalog = catalog
        self.path = path
        self.vectors = FaissVectorIndex(embedder.dim)
        self.passages = PassageVectors(embedder.dim)
        self.lexical = LexicalIndex()
        self.facts: dict[int, RowFacts] = {}
        self.filters = FilterIndex()
        self.lock = threading.RLock()

    @property
    def model(self) -> str:
        return self.embedder.name

    @property
    def passages_path(self) -> Path:
        return self.path.with_suffix(".passages.npz")

    # ------------------------------------------------------------ embedding (touches no index)

    def embed(self, rows: Sequence[Any], *, progress: bool = False) -> list[Embedded]:
        """Document and passage vectors of these rows as they are now."""
        out: list[Embedded] = []
        for start in tqdm(
            range(0, len(rows), EMBED_CHUNK),
            desc=f"embedding {self.kind.name}s",
            unit="chunk",
            disable=not progress or len(rows) <= EMBED_CHUNK,
        ):
            chunk = rows[start : start + EMBED_CHUNK]
            evidence = self.evidence([r.key for r in chunk])
            documents = [embedding_document(r, self.catalog, evidence.get(r.key, ())) for r in chunk]
            vectors, passages = encode_with_spans(self.embedder, [d.text for d in documents], [d.spans for d in documents])
            out += [Embedded(r.key, r.revision, v, p) for r, v, p in zip(chunk, vectors, passages, strict=True)]
        return out

    # ------------------------------------------------------------ applying what the database holds

    def apply_rows(self, rows: Sequence[Any], evidence: dict[int, list[Any]]) -> None:
        """Row facts and lexical entries of rows written (created or changed)."""
        with self.lock:
            for row in rows:
                self.lexical.upsert(row.key, lexical_text(row, evidence.get(row.key, ())))
                self.facts[row.key] = row_facts(row, evidence.get(row.key, ()))
                self.filters.put(
                    row.key,
                    cpv_codes=cpv_codes_of(row),
                    country=row.country,
                    region=row.region,
                    operating_countries=getattr(row, "operating_countries", None) or (),
                    size=getattr(row, "size", None),
                    status=getattr(row, "status", None),
                )

    def apply_vectors(self, entries: Sequence[RowVector]) -> int:
        """Stored vectors of rows this process knows (a vector of a row deleted since is skipped)."""
        with self.lock:
            known = [e for e in entries if e.row_key in self.facts]
            if known:
                self.vectors.add(
                    [e.row_key for e in known], np.vstack([vector_of(e) for e in known]), [e.revision for e in known]
                )
                for entry in known:
                    self.passages.put_codes(entry.row_key, entry.revision, *passages_of(entry, self.embedder.dim))
        return len(known)

    def rows(self, keys: Sequence[int], *, with_evidence: bool = False) -> tuple[dict[int, Any], dict[int, list[Any]]]:
        """These rows by key and, when asked, their won contracts: one session for both (a shortlist's
        database time was mostly two sessions' set-up)."""
        with Session(self.engine) as session:
            rows = repository.get_by_keys(session, self.kind, keys)
            evidence = self._evidence(session, list(rows)) if with_evidence else {}
        return rows, evidence

    def evidence(self, keys: Sequence[int]) -> dict[int, list[Any]]:
        """Won contracts of these rows (suppliers only; needs have none)."""
        with Session(self.engine) as session:
            return self._evidence(session, keys)

    def _evidence(self, session: Session, keys: Sequence[int]) -> dict[int, list[Any]]:
        if self.kind is not SUPPLIERS or not keys:
            return {}
        return repository.evidence_for(session, keys)

    def remove(self, keys: Iterable[int]) -> None:
        keys = list(keys)
        with self.lock:
            self.vectors.remove(keys)
            self.passages.remove(keys)
            self.lexical.remove(keys)
            for key in keys:
                self.facts.pop(int(key), None)
                self.filters.remove(int(key))

    # ------------------------------------------------------------ start-up and rebuild

    def load(self) -> bool:
        """Load the snapshot of the vector index, if there is one built by this model."""
        if not self.path.exists():
            return False
        self.vectors, meta = FaissVectorIndex.load(self.path, expect_model=self.model, expect_dim=self.embedder.dim)
        if self.passages_path.exists():
            self.passages = PassageVectors.load(self.passages_path, self.embedder.dim)
        log.info("loaded %s snapshot: %d vectors at revision %d", self.kind.name, meta.count, meta.revision)
        return True

    def reconcile(self, *, progress: bool = False) -> ReconcileReport:
        """Bring the caches up to the database (the caller has noted the revision before calling): rows
        and vectors loaded, ghosts dropped, rows without a current vector queued for embedding."""
        with Session(self.engine) as session:
            in_db = repository.revisions(session, self.kind)
            stored = index_queries.vector_revisions(session, self.model, self.kind.name)
            pending = index_queries.pending_keys(session, self.kind.name)
        snapshot = {k: rev for k, rev in self.vectors.revisions().items() if self.passages.revision(k) == rev}
        ghosts = [k for k in {*self.vectors.revisions(), *self.passages.keys()} if k not in in_db]
        self.remove(ghosts)
        self._load_rows(progress)
        from_snapshot = {k for k, rev in in_db.items() if snapshot.get(k) == rev}
        uploads = [k for k in from_snapshot if stored.get(k) != in_db[k]]
        loads = [k for k in in_db if k not in from_snapshot and k in stored]
        queue = [k for k, rev in in_db.items() if k not in from_snapshot and stored.get(k) != rev and k not in pending]
        loaded = self._load_vectors(loads, progress)
        self._upload(uploads, in_db)
        if queue:
            with session_scope(self.engine) as session:
                for key in queue:
                    index_queries.enqueue(session, self.kind.name, key, in_db[key])
        report = ReconcileReport(0, len(ghosts), len(self.vectors), loaded, len(queue), len(uploads))
        log.info("%s index from the database: %d loaded, %d from the snapshot (%d uploaded), %d queued, %d removed",
                 self.kind.name, loaded, len(from_snapshot), len(uploads), len(queue), len(ghosts))  # fmt: skip
        return report

    def _load_rows(self, progress: bool) -> None:
        """The lexical index, the row facts and the filter columns, from every row, a chunk at a time in
        key order: loading every row at once left memory behind (freed, but too scattered to give back);
        chunked, a fresh server's supplier indexes at 10,000 rows took 54 MB instead of 67
        (bench/serving_memory.py)."""
        table = self.kind.table
        last = -1
        with tqdm(desc=f"loading {self.kind.name}s", unit="row", disable=not progress) as bar:
            while True:
                with Session(self.engine) as session:
                    rows = list(session.exec(select(table).where(table.key > last).order_by(table.key).limit(LOAD_CHUNK)))
                    if not rows:
                        return
                    evidence = repository.evidence_for(session, [r.key for r in rows]) if self.kind is SUPPLIERS else {}
                self.apply_rows(rows, evidence)
                last = rows[-1].key
                bar.update(len(rows))

    def _load_vectors(self, keys: Sequence[int], progress: bool) -> int:
        """Many (a start with an empty home): every stored vector in one stream, the wanted kept; a few
        (a snapshot's catch-up): by key."""
        if len(keys) >= LOAD_CHUNK:
            return self._stream_vectors(set(keys), progress)
        loaded = 0
        with Session(self.engine) as session:
            for start in tqdm(
                range(0, len(keys), LOAD_CHUNK), desc=f"loading {self.kind.name} vectors", disable=not progress or not keys
            ):
                entries = index_queries.vectors_for(session, self.model, self.kind.name, keys[start : start + LOAD_CHUNK])
                loaded += self.apply_vectors(entries)
        return loaded

    def _stream_vectors(self, wanted: set[int], progress: bool) -> int:
        loaded = 0
        with (
            Session(self.engine) as session,
            tqdm(total=len(wanted), desc=f"loading {self.kind.name} vectors", disable=not progress) as bar,
        ):
            for entries in index_queries.stream_vectors(session, self.model, self.kind.name, batch=LOAD_CHUNK):
                chosen = [e for e in entries if e.row_key in wanted]
                loaded += self.apply_vectors(chosen)
                bar.update(len(chosen))
        return loaded

    def _upload(self, keys: Sequence[int], in_db: dict[int, int]) -> None:
        """Vectors only the snapshot holds (an index built before vectors lived in the database) are
        written there, so no process ever embeds them again."""
        for start in range(0, len(keys), LOAD_CHUNK):
            chunk = keys[start : start + LOAD_CHUNK]
            with self.lock:
                vectors = self.vectors.vectors(chunk)
                passages = [self.passages.get(k, in_db[k]) for k in chunk]
            with session_scope(self.engine) as session:
                stamp = repository.next_revision(session)
                for key, vector, passage in zip(chunk, vectors, passages, strict=True):
                    if passage is not None:
                        embedded = Embedded(key, in_db[key], vector, passage)
                        index_queries.store_vector(session, to_row(self.model, self.kind.name, embedded, stamp))

    def forget_vectors(self) -> None:
        """Drop this model's stored vectors and the caches (``index --rebuild``): everything is queued again."""
        with session_scope(self.engine) as session:
            index_queries.drop_vectors(session, self.model, self.kind.name)
        with self.lock:
            self.vectors = FaissVectorIndex(self.embedder.dim)
            self.passages = PassageVectors(self.embedder.dim)
            self.lexical = LexicalIndex()
            self.facts = {}
            self.filters = FilterIndex()

    def save(self, revision: int) -> None:
        with self.lock:
            meta = IndexMeta(model=self.model, dim=self.embedder.dim, count=len(self.vectors), revision=revision)
            self.vectors.save(self.path, meta)
            self.passages.save(self.passages_path)
        log.info("saved %s index (%d vectors) to %s", self.kind.name, meta.count, self.path)
