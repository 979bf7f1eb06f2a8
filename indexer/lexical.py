"""Lexical evidence: BM25 over Snowball-stemmed, stopword-free tokens in sv/no/en.

The dense model understands meaning across languages; this index catches what it blurs: exact
product names, acronyms and standards ("LoRaWAN", "HL7 FHIR", "HVO100").

Scores are those of bm25s ``method="lucene"`` (k1 = 1.5, b = 0.75): a term contributes
``idf · tf / (tf + k1 · (1 − b + b · dl / avgdl))`` with ``idf = ln(1 + (N − df + 0.5) / (df + 0.5))``;
an empty document counts in N and avgdl with length 0. bm25s precomputes that product for every
posting, so one write invalidates the whole matrix; here only the raw inverted index is stored
(per term a posting list of document slot and term frequency) and the formula is applied at query
time to the postings of the query's terms. A write is then O(document length): it appends a slot
and its postings and tombstones the slot it replaces. Document frequencies, N and avgdl follow the
live documents only. Tombstones and the slack left by growing posting lists are reclaimed by
``_compact`` once they pass a fixed share of the index, which keeps writes amortised O(1) per posting.

Postings, document lengths and each document's term ids live in a few numpy arrays (about 10 bytes
a posting; no Python strings or lists per document): all posting lists share one pool, each a run
that grows by half (moving to the pool's end) when full. Queries and writes take one lock; a
``LexicalResult`` keeps only its scores and a view of slot keys that later writes never change,
so it stays consistent after the lock is released.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from indexer.key_mask import KeyMask
from matcher.analysis import stems

K1, B = 1.5, 0.75
MAX_DEAD_SHARE = 0.25  # compact when tombstoned slots exceed this share of all slots,
MAX_GARBAGE_SHARE = 0.25  # or rows left behind by moved posting lists this share of the pool
_TF_MAX = np.iinfo(np.uint16).max  # a stem repeated more often in one document is counted this often

_TERM = np.dtype([("df", np.int32), ("start", np.int64), ("count", np.int32), ("cap", np.int32)])


def _grown(array: np.ndarray, needed: int) -> np.ndarray:
    """``array``, or a copy with at least ``needed`` rows.

    Growing by a quarter keeps appends amortised O(1) (each row is copied about four times) while
    wasting less memory than doubling. Growth always makes a new array: a ``LexicalResult`` may
    still hold a view of the old one.
    """
    if needed <= len(array):
        return array
    bigger = np.zeros(max(needed, len(array) + len(array) // 4, 16), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


def _run_mask(starts: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """A mask of ``size`` rows, true on the runs ``start .. start + count - 1`` (sorted, disjoint)."""
    gaps = starts - np.concatenate([[0], (starts + counts)[:-1]])
    mask = np.zeros(size, dtype=bool)
    runs = np.repeat(np.tile([False, True], len(starts)), np.column_stack([gaps, counts]).ravel())
    mask[: len(runs)] = runs
    return mask


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class LexicalIndex:
    """An in-memory BM25 inverted index over integer keys; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vocab: dict[str, int] = {}  # stem -> term id (row of _terms)
        self._terms = np.zeros(0, dtype=_TERM)
        # Every term's postings (document slot, term frequency), a run of `cap` rows each.
        self._pool_slot = np.zeros(0, dtype=np.int32)
        self._pool_tf = np.zeros(0, dtype=np.uint16)
        self._pool_end = 0
        self._garbage = 0  # pool rows left behind by runs that moved
        # One slot per write; a replaced or removed one is tombstoned by giving it an infinite length,
        # which makes its postings weigh exactly 0, so queries need no separate liveness check.
        self._keys = np.zeros(0, dtype=np.int64)
        self._length = np.zeros(0, dtype=np.float32)
        self._terms_at = np.zeros(0, dtype=np.int64)  # where the slot's distinct term ids start in _doc_terms
        self._n_slots = 0
        self._doc_terms = np.zeros(0, dtype=np.int32)  # kept to undo a document's df when it goes
        self._doc_terms_end = 0
        self._slot_of: dict[int, int] = {}  # live key -> slot
        self._live_length = 0  # summed length of the live documents, for avgdl

    def __len__(self) -> int:
        return len(self._slot_of)

    def upsert(self, key: int, text: str) -> None:
        self.upsert_stems(key, stems(text))

    def upsert_stems(self, key: int, doc_stems: list[str]) -> None:
        key, counts = int(key), Counter(doc_stems)
        with self._lock:
            old = self._slot_of.get(key)
            if old is not None:
                self._tombstone(old)
            vocab = self._vocab
            ids = np.array([vocab[s] if s in vocab else self._term_id(s) for s in counts], dtype=np.int64)
            tf = np.minimum(np.fromiter(counts.values(), dtype=np.int64, count=len(counts)), _TF_MAX)
            slot = self._append_slot(key, len(doc_stems), ids)
            self._append_postings(ids, slot, tf)
            self._slot_of[key] = slot
            self._compact_if_wasteful()

    def remove(self, keys: Sequence[int]) -> None:
        with self._lock:
            for key in keys:
                slot = self._slot_of.pop(int(key), None)
                if slot is not None:
                    self._tombstone(slot)
            self._compact_if_wasteful()

    def query(self, query_stems: Sequence[str], allowed: KeyMask | Sequence[int] | None = None) -> LexicalResult:
        """BM25 scores of every document for one query, zeroed outside ``allowed`` if given.

        The work is proportional to the postings of the query's terms; each distinct stem counts
        once, and stems no live document contains are left out (they add nothing to a score).
        """
        with self._lock:
            n_slots = self._n_slots
            keys = self._keys[:n_slots]  # appends land past the view, compaction makes new arrays
            scores = np.zeros(n_slots, dtype=np.float32)
            ids = [self._vocab[s] for s in dict.fromkeys(query_stems) if s in self._vocab]
            terms = self._terms[ids]
            terms = terms[terms["df"] > 0]
            if not len(terms):
                return LexicalResult(keys, scores, 0.0)
            n = len(self._slot_of)
            df = terms["df"].astype(np.float64)
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
            runs = [slice(a, a + c) for a, c in zip(terms["start"].tolist(), terms["count"].tolist(), strict=True)]
            slot = np.concatenate([self._pool_slot[run] for run in runs])
            tf = np.concatenate([self._pool_tf[run] for run in runs]).astype(np.float32)
            norm = np.float32(1 - B) + np.float32(B * n / self._live_length) * self._length[slot]
            np.add.at(scores, slot, np.repeat(idf, terms["count"]) * tf / (tf + np.float32(K1) * norm))
            if isinstance(allowed, KeyMask):
                scores[~allowed.contains_each(keys)] = 0.0  # a tombstoned slot scores 0 already
            elif allowed is not None:
                keep = np.zeros(n_slots, dtype=bool)
                slot_of = self._slot_of
                keep[np.fromiter((slot_of[k] for k in map(int, allowed) if k in slot_of), dtype=np.int64)] = True
                scores[~keep] = 0.0
            bound = self._upper_bound(query_stems)
        return LexicalResult(keys, scores, bound)

    def idf(self, stem: str) -> float:
        """BM25 (Lucene) inverse document frequency of a stem in this corpus."""
        with self._lock:
            return _idf(len(self._slot_of), self._df(stem))

    def is_distinctive(self, stem: str) -> bool:
        """False for words many profiles use: more than a fifth of them (and more than two), or, in a
        small index, more than half of them.

        A document-frequency floor knows no language, so it keeps the function words of languages the
        analyser has no list for out of explanations wherever they are common. The "more than two"
        lets a word shared by two documents count in an index of ten; alone it would let a word every
        document of a two- or three-document index uses count too.
        """
        with self._lock:
            df, n = self._df(stem), len(self._slot_of)
            return df <= 1 or df <= min(max(2, n // 5), n // 2)

    def upper_bound(self, query_stems: Sequence[str]) -> float:
        """The BM25 score no document can reach: the sum of the query terms' IDFs.

        In the Lucene variant each term contributes ``idf · tf / (tf + k1 · norm)`` < ``idf``, so a
        score divided by this bound says how much of the query's distinctive vocabulary a document
        covers, on the same scale for every query.
        """
        with self._lock:
            return self._upper_bound(query_stems)

    # ------------------------------------------------------------ internals (called with the lock held)

    def _df(self, stem: str) -> int:
        term = self._vocab.get(stem)
        return int(self._terms["df"][term]) if term is not None else 0

    def _upper_bound(self, query_stems: Sequence[str]) -> float:
        # Terms no document contains count too (at the highest IDF): they are the part of the query
        # nothing covers.
        n = len(self._slot_of)
        return sum(_idf(n, self._df(s)) for s in set(query_stems))

    def _term_id(self, stem: str) -> int:
        term = self._vocab[stem] = len(self._vocab)
        self._terms = _grown(self._terms, term + 1)
        self._terms[term] = (0, 0, 0, 0)
        return term

    def _append_slot(self, key: int, length: int, ids: np.ndarray) -> int:
        slot, at = self._n_slots, self._doc_terms_end
        self._keys, self._length, self._terms_at = (_grown(a, slot + 2) for a in (self._keys, self._length, self._terms_at))
        self._keys[slot], self._length[slot], self._terms_at[slot : slot + 2] = key, length, (at, at + len(ids))
        self._doc_terms = _grown(self._doc_terms, at + len(ids))
        self._doc_terms[at : at + len(ids)] = ids
        self._n_slots, self._doc_terms_end = slot + 1, at + len(ids)
        self._live_length += length
        return slot

    def _append_postings(self, ids: np.ndarray, slot: int, tf: np.ndarray) -> None:
        terms = self._terms
        for term in ids[terms["count"][ids] == terms["cap"][ids]].tolist():
            self._move_run(term)
        at = terms["start"][ids] + terms["count"][ids]
        self._pool_slot[at], self._pool_tf[at] = slot, tf
        terms["count"][ids] += 1  # ids are distinct, so fancy-index += adds once each
        terms["df"][ids] += 1

    def _move_run(self, term: int) -> None:
        """Give a full posting list half as much room again at the end of the pool; its old rows become garbage."""
        start, count, cap = (int(self._terms[field][term]) for field in ("start", "count", "cap"))
        new_cap, at = cap + cap // 2 + 2, self._pool_end
        self._pool_slot, self._pool_tf = _grown(self._pool_slot, at + new_cap), _grown(self._pool_tf, at + new_cap)
        self._pool_slot[at : at + count] = self._pool_slot[start : start + count]
        self._pool_tf[at : at + count] = self._pool_tf[start : start + count]
        self._terms["start"][term], self._terms["cap"][term] = at, new_cap
        self._pool_end, self._garbage = at + new_cap, self._garbage + cap

    def _tombstone(self, slot: int) -> None:
        self._terms["df"][self._doc_terms[self._terms_at[slot] : self._terms_at[slot + 1]]] -= 1
        self._live_length -= int(self._length[slot])
        self._length[slot] = np.inf

    def _compact_if_wasteful(self) -> None:
        dead = self._n_slots - len(self._slot_of)
        if dead > MAX_DEAD_SHARE * self._n_slots or self._garbage > MAX_GARBAGE_SHARE * self._pool_end:
            self._compact()

    def _compact(self) -> None:
        """Rebuild every array without tombstoned slots, moved-away runs or terms no document uses.

        Slots are renumbered in order, so posting lists stay sorted by slot. Runs are laid out in
        their pool order, each with a quarter of slack, so the first writes after a compaction do
        not move every common term's run at once. Working with masks rather than position arrays
        keeps the transient memory to a few bytes a posting.
        """
        n_slots, n_terms = self._n_slots, len(self._vocab)
        alive = np.isfinite(self._length[:n_slots])
        new_slot = np.cumsum(alive, dtype=np.int32) - 1
        order = np.argsort(self._terms["start"][:n_terms])
        start, count = self._terms["start"][order], self._terms["count"][order]
        in_run = _run_mask(start, count, self._pool_end)
        slot, tf = self._pool_slot[: self._pool_end][in_run], self._pool_tf[: self._pool_end][in_run]
        del in_run
        keep = alive[slot]
        slot, tf = new_slot[slot[keep]], tf[keep]
        count = np.add.reduceat(keep, np.cumsum(count) - count, dtype=np.int64)  # every run holds a posting
        used = count > 0
        new_term = np.full(n_terms, -1, dtype=np.int32)
        new_term[order[used]] = np.arange(int(used.sum()))
        count = count[used]
        cap = count + count // 4 + 1
        start = np.cumsum(cap) - cap
        self._pool_end, self._garbage = int(cap.sum()), 0
        self._pool_slot = np.zeros(self._pool_end, dtype=np.int32)
        self._pool_tf = np.zeros(self._pool_end, dtype=np.uint16)
        in_run = _run_mask(start, count, self._pool_end)
        self._pool_slot[in_run], self._pool_tf[in_run] = slot, tf
        self._terms = np.zeros(len(count), dtype=_TERM)
        self._terms["df"], self._terms["start"], self._terms["count"], self._terms["cap"] = count, start, count, cap
        new_ids = new_term.tolist()
        self._vocab = {s: new_ids[t] for s, t in self._vocab.items() if new_ids[t] >= 0}

        n_doc_terms = np.diff(self._terms_at[: n_slots + 1])
        self._doc_terms = new_term[self._doc_terms[: self._doc_terms_end][np.repeat(alive, n_doc_terms)]]
        self._terms_at = np.concatenate([[0], np.cumsum(n_doc_terms[alive])])
        self._keys, self._length = self._keys[:n_slots][alive], self._length[:n_slots][alive]
        self._n_slots, self._doc_terms_end = len(self._keys), len(self._doc_terms)
        self._slot_of = dict(zip(self._keys.tolist(), range(self._n_slots), strict=True))


class LexicalResult:
    """One query's BM25 scores over the corpus, and the bound that normalises them."""

    def __init__(self, keys: np.ndarray, scores: np.ndarray, bound: float) -> None:
        # Scores are per slot: a tombstoned slot scores 0, so a key appears at most once among hits.
        self._keys, self._scores = keys, scores
        self._hits: tuple[np.ndarray, np.ndarray] | None = None  # keys with a positive score, sorted
        self.best = float(scores.max()) if len(scores) else 0.0
        self.bound = bound

    def top(self, n: int) -> dict[int, float]:
        """Up to ``n`` keys with a positive score, best first."""
        if self.best <= 0 or n <= 0:
            return {}
        hit = np.flatnonzero(self._scores > 0)
        if len(hit) > n:
            hit = hit[np.argpartition(-self._scores[hit], n - 1)[:n]]
        hit = hit[np.argsort(-self._scores[hit])]
        return dict(zip(self._keys[hit].tolist(), self._scores[hit].tolist(), strict=True))

    def score(self, key: int) -> float:
        """The key's score (0 for a key the query did not match or the index did not hold)."""
        if self._hits is None:  # built once, on first use: cost proportional to the matching documents
            hit = np.flatnonzero(self._scores > 0)
            order = np.argsort(self._keys[hit])
            self._hits = self._keys[hit][order], self._scores[hit][order]
        keys, scores = self._hits
        i = int(np.searchsorted(keys, key))
        return float(scores[i]) if i < len(keys) and keys[i] == key else 0.0
