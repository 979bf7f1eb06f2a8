"""Keeping one side's indexes (suppliers or needs) in step with the store.

The database is the source of truth; indexes are derived state. Writes reach the indexes right
after they commit; at start-up the saved index is reconciled with the database: rows missing or
changed since it was saved are embedded, rows deleted are removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from tqdm import tqdm

from indexer.documents import embedding_document, lexical_text
from indexer.embedder import Embedder, encode_with_spans
from indexer.lexical import LexicalIndex
from indexer.passage_vectors import PassageVectors
from indexer.row_facts import RowFacts, row_facts
from indexer.vector_index import FaissVectorIndex, IndexMeta
from matcher.catalog import CpvCatalog
from store import repository
from store.repository import SUPPLIERS, EntityKind

log = logging.getLogger(__name__)

EMBED_CHUNK = 256


@dataclass(frozen=True)
class ReconcileReport:
    embedded: int
    removed: int
    total: int


class SideIndex:
    """The vector and lexical index of one kind of row."""

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
        self.lock = threading.RLock()

    @property
    def passages_path(self) -> Path:
        return self.path.with_suffix(".passages.npz")

    # ------------------------------------------------------------ writes

    def index_rows(self, rows: Sequence[Any], *, progress: bool = False) -> None:
        """Embed and add (or replace) rows; texts are embedded before any index is touched."""
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
            with self.lock:
                self.vectors.add([r.key for r in chunk], vectors, [r.revision for r in chunk])
                for row, row_passages in zip(chunk, passages, strict=True):
                    self.passages.put(row.key, row.revision, row_passages)
                    self.lexical.upsert(row.key, lexical_text(row, evidence.get(row.key, ())))
                    self.facts[row.key] = row_facts(row)

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

    # ------------------------------------------------------------ start-up and rebuild

    def load(self) -> bool:
        """Load the saved vector index if there is one built by this model."""
        if not self.path.exists():
            return False
        self.vectors, meta = FaissVectorIndex.load(self.path, expect_model=self.embedder.name, expect_dim=self.embedder.dim)
        if self.passages_path.exists():
            self.passages = PassageVectors.load(self.passages_path, self.embedder.dim)
        log.info("loaded %s index: %d vectors at revision %d", self.kind.name, meta.count, meta.revision)
        return True

    def reconcile(self, *, progress: bool = False) -> ReconcileReport:
        """Bring both indexes up to the database: embed missing/stale rows, drop deleted ones."""
        engine = self.engine
        with Session(engine) as session:
            in_db = repository.revisions(session, self.kind)
        vector_revisions = self.vectors.revisions()
        indexed = {k: rev for k, rev in vector_revisions.items() if self.passages.revision(k) == rev}
        ghosts = [k for k in {*vector_revisions, *self.passages.keys()} if k not in in_db]
        todo = [k for k, rev in in_db.items() if indexed.get(k) != rev]
        self.remove(ghosts)
        with Session(engine) as session:
            for start in range(0, len(todo), 4 * EMBED_CHUNK):
                rows = repository.get_by_keys(session, self.kind, todo[start : start + 4 * EMBED_CHUNK])
                self.index_rows(list(rows.values()), progress=progress)
            self._load_unchanged(session, skip=set(todo))
        report = ReconcileReport(embedded=len(todo), removed=len(ghosts), total=len(self.vectors))
        log.info("%s index reconciled: %d embedded, %d removed, %d in all", self.kind.name, *report.__dict__.values())
        return report

    def _load_unchanged(self, session: Session, skip: set[int]) -> None:
        """The lexical index and the row facts live in memory: load rows the vector pass did not touch."""
        rows = [row for row in session.exec(select(self.kind.table)) if row.key not in skip]
        evidence = repository.evidence_for(session, [r.key for r in rows]) if self.kind is SUPPLIERS else {}
        with self.lock:
            for row in rows:
                self.lexical.upsert(row.key, lexical_text(row, evidence.get(row.key, ())))
                self.facts[row.key] = row_facts(row)

    def rebuild(self, *, progress: bool = False) -> ReconcileReport:
        with self.lock:
            self.vectors = FaissVectorIndex(self.embedder.dim)
            self.passages = PassageVectors(self.embedder.dim)
            self.lexical = LexicalIndex()
            self.facts = {}
        return self.reconcile(progress=progress)

    def save(self, revision: int) -> None:
        with self.lock:
            meta = IndexMeta(model=self.embedder.name, dim=self.embedder.dim, count=len(self.vectors), revision=revision)
            self.vectors.save(self.path, meta)
            self.passages.save(self.passages_path)
        log.info("saved %s index (%d vectors) to %s", self.kind.name, meta.count, self.path)
