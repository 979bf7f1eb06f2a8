"""Lexical evidence: BM25 (bm25s) over Snowball-stemmed, stopword-free tokens in sv/no/en.

The dense model understands meaning across languages; this index catches what it blurs: exact
product names, acronyms and standards ("LoRaWAN", "HL7 FHIR", "HVO100"). Documents keep their
stems in memory, so a write only marks the BM25 matrix stale; it is rebuilt from those stems
(no re-tokenising) on the next query.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np

from matcher.analysis import stems

log = logging.getLogger(__name__)


class LexicalIndex:
    def __init__(self) -> None:
        self._docs: dict[int, list[str]] = {}
        self._df: Counter[str] = Counter()  # documents containing each stem, kept as rows change
        self._retriever: bm25s.BM25 | None = None
        self._keys = np.zeros(0, dtype=np.int64)
        self._position: dict[int, int] = {}
        self._vocab: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._docs)

    def upsert(self, key: int, text: str) -> None:
        self.upsert_stems(key, stems(text))

    def upsert_stems(self, key: int, doc_stems: list[str]) -> None:
        with self._lock:
            old = self._docs.get(int(key))
            if old is not None:
                self._df.subtract(set(old))
            self._docs[int(key)] = doc_stems
            self._df.update(set(doc_stems))
            self._retriever = None

    def remove(self, keys: Sequence[int]) -> None:
        with self._lock:
            for key in keys:
                old = self._docs.pop(int(key), None)
                if old is not None:
                    self._df.subtract(set(old))
                    self._retriever = None

    def _fresh(self) -> tuple[bm25s.BM25 | None, np.ndarray, dict[int, int], set[str]]:
        with self._lock:
            if self._retriever is None and self._docs:
                keys = np.fromiter(self._docs.keys(), dtype=np.int64, count=len(self._docs))
                # An empty document still needs a token for bm25s; a sentinel no query contains.
                corpus = [self._docs[int(k)] or ["\x00"] for k in keys]
                retriever = bm25s.BM25(method="lucene")
                retriever.index(corpus, show_progress=False)
                self._retriever, self._keys = retriever, keys
                self._position = {int(k): i for i, k in enumerate(keys)}
                self._vocab = set(retriever.vocab_dict)
            return self._retriever, self._keys, self._position, self._vocab

    def query(self, query_stems: Sequence[str], allowed: Sequence[int] | None = None) -> LexicalResult:
        """BM25 scores of every document for one query, zeroed outside ``allowed`` if given."""
        retriever, keys, position, vocab = self._fresh()
        known = [s for s in dict.fromkeys(query_stems) if s in vocab]
        if retriever is None or not known:
            return LexicalResult(keys, np.zeros(len(keys), dtype=np.float32), position, 0.0)
        scores = np.asarray(retriever.get_scores(known), dtype=np.float32)
        bound = self.upper_bound(query_stems)
        if allowed is not None:
            mask = np.zeros(len(keys), dtype=bool)
            mask[[position[int(k)] for k in allowed if int(k) in position]] = True
            scores = np.where(mask, scores, np.float32(0.0))
        return LexicalResult(keys, scores, position, bound)

    def idf(self, stem: str) -> float:
        """BM25 (Lucene) inverse document frequency of a stem in this corpus."""
        n, df = len(self._docs), self._df[stem]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def is_distinctive(self, stem: str) -> bool:
        """False for words many profiles use (more than a fifth of them, and more than two)."""
        return self._df[stem] <= max(2, len(self._docs) // 5)

    def upper_bound(self, query_stems: Sequence[str]) -> float:
        """The BM25 score no document can reach: the sum of the query terms' IDFs.

        In the Lucene variant each term contributes ``idf · tf / (tf + k1 · norm)`` < ``idf``, so a
        score divided by this bound says how much of the query's distinctive vocabulary a document
        covers, on the same scale for every query.
        """
        n = len(self._docs)
        # Terms no document contains count too (at the highest IDF): they are the part of the query
        # nothing covers.
        return sum(math.log(1 + (n - self._df[s] + 0.5) / (self._df[s] + 0.5)) for s in set(query_stems))


class LexicalResult:
    """One query's BM25 scores over the corpus, and the bound that normalises them."""

    def __init__(self, keys: np.ndarray, scores: np.ndarray, position: dict[int, int], bound: float) -> None:
        self._keys, self._scores, self._position = keys, scores, position
        self.best = float(scores.max()) if len(scores) else 0.0
        self.bound = bound

    def top(self, n: int) -> dict[int, float]:
        """Up to ``n`` keys with a positive score, best first."""
        if self.best <= 0 or n <= 0:
            return {}
        n = min(n, len(self._scores))
        idx = np.argpartition(-self._scores, n - 1)[:n]
        idx = idx[np.argsort(-self._scores[idx])]
        return {int(self._keys[i]): float(self._scores[i]) for i in idx if self._scores[i] > 0}

    def score(self, key: int) -> float:
        i = self._position.get(int(key))
        return float(self._scores[i]) if i is not None else 0.0
