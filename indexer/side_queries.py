"""What a shortlist asks of one side's indexes, each question answered under the side's own lock.

The caches (vector index, lexical index, row facts, passage vectors) change while queries run: the
follower applies other processes' writes. A query must see one consistent state, and no caller should
need to know which structures hold what, nor take the lock itself. ``SideIndex`` (indexer/sync.py) mixes
these in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from indexer.filter_index import FilterIndex
from indexer.key_mask import KeyMask
from indexer.lexical import LexicalIndex, LexicalResult
from indexer.passage_vectors import PassageVectors
from indexer.row_facts import RowFacts
from indexer.vector_index import FaissVectorIndex
from matcher.filters import MatchFilters
from store.repository import EntityKind

Phase = Callable[[str], AbstractContextManager[object]]
"""Times a named phase of a query (``service.timing.PhaseTimer.phase``); by default nothing is timed."""


def _untimed(_name: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Hits:
    """Rows found (or given) for one query: each one matchable (its facts and its vector are here)."""

    keys: list[int]
    facts: dict[int, RowFacts]
    cosines: dict[int, float]
    """The query's cosine with every row in ``keys``; for a search, with the nearest rows left out too."""
    lexical: LexicalResult
    vectors: np.ndarray | None
    """The rows' document vectors, aligned with ``keys``, when asked for."""


class SideQueries:
    """The questions; the state is ``SideIndex``'s."""

    kind: EntityKind
    lock: threading.RLock
    vectors: FaissVectorIndex
    passages: PassageVectors
    lexical: LexicalIndex
    facts: dict[int, RowFacts]
    filters: FilterIndex

    def allowed(self, filters: MatchFilters) -> KeyMask | None:
        """The rows that pass ``filters`` as this process knows them (``None``: no filter, every row).
        The same answer as the store's ``repository.allowed_keys``, without a database round trip."""
        for name, field in (("sizes", "size"), ("statuses", "status")):
            if getattr(filters, name) and not hasattr(self.kind.table, field):
                raise ValueError(f"a {self.kind.name} has no {field}")
        with self.lock:
            return self.filters.allowed(filters)

    def _matchable(self, key: int) -> bool:
        """A row is matched once both its facts and its vector are here (the vector follows the row's
        write; a row deleted since has left both)."""
        return key in self.facts and key in self.vectors

    def search(
        self,
        vector: np.ndarray,
        stems: list[str],
        allowed: KeyMask | Sequence[int] | None,
        *,
        dense_k: int,
        lexical_k: int,
        exclude: Sequence[int] = (),
        with_vectors: bool = False,
        phase: Phase = _untimed,
    ) -> Hits:
        """The ``dense_k`` nearest rows by meaning and the ``lexical_k`` best lexical hits within
        ``allowed``, each with its true cosine (lexical-only hits too)."""
        with self.lock:
            with phase("vector search"):
                dense_keys, dense_scores = self.vectors.search(vector, dense_k, allowed)
            with phase("lexical"):
                lexical = self.lexical.query(stems, allowed)
                lexical_top = lexical.top(lexical_k)
            cosines = dict(zip(dense_keys.tolist(), dense_scores.tolist(), strict=True))
            excluded = set(exclude)
            keys = [key for key in dict.fromkeys([*cosines, *lexical_top]) if key not in excluded and self._matchable(key)]
            facts = {key: self.facts[key] for key in keys}
            lexical_only = [key for key in keys if key not in cosines]
            with phase("vector search"):
                if lexical_only:
                    cosines.update(zip(lexical_only, (self.vectors.vectors(lexical_only) @ vector).tolist(), strict=True))
                vectors = self.vectors.vectors(keys) if with_vectors else None
        return Hits(keys, facts, cosines, lexical, vectors)

    def score(self, vector: np.ndarray, stems: list[str], keys: Sequence[int]) -> Hits:
        """These rows (those still matchable, each once) scored for the query."""
        with self.lock:
            known = [key for key in dict.fromkeys(keys) if self._matchable(key)]
            lexical = self.lexical.query(stems, known)
            cosines = (self.vectors.vectors(known) @ vector).tolist() if known else []
            facts = {key: self.facts[key] for key in known}
        return Hits(known, facts, dict(zip(known, cosines, strict=True)), lexical, None)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[RowFacts, float]]:
        """The ``k`` rows nearest by meaning, with their facts, best first."""
        with self.lock:
            keys, cosines = self.vectors.search(vector, k)
            return [
                (self.facts[key], cosine)
                for key, cosine in zip(keys.tolist(), cosines.tolist(), strict=True)
                if key in self.facts
            ]

    def passage_vectors_of(self, revisions: dict[int, int]) -> dict[int, np.ndarray | None]:
        """The vectors of each row's citable passages (key to revision), where stored for that revision;
        all under one taking of the lock: a shortlist's ten rows one at a time queued behind other
        requests' searches ten times."""
        with self.lock:
            return {key: self.passages.get(key, revision) for key, revision in revisions.items()}

    def term_weight(self, stem: str) -> float:
        return self.lexical.idf(stem)

    def is_distinctive(self, stem: str) -> bool:
        return self.lexical.is_distinctive(stem)

    def indexed(self) -> int:
        """Rows with a vector in this process."""
        with self.lock:
            return len(self.vectors)
