"""Why a shortlist entry was made, in terms an adviser can check: the evidence the matcher used,
the words both texts share, and the sentence (or won contract) of the profile closest to the need."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from indexer.documents import citable_passages, lexical_text
from indexer.sync import SideIndex
from matcher.analysis import matched_terms
from matcher.explain import Explanation, cite, describe_cpv_matches
from matcher.ranking import MatchQuery, RankedCandidate
from service.container import Services

Citable = tuple[tuple[str, ...], np.ndarray, tuple[bool, ...]]  # passages, their vectors, which are private


def citable_for(services: Services, side: SideIndex, rows: Sequence[Any], evidence: dict[int, list[Any]]) -> dict[int, Citable]:
    """The passages of these rows an explanation may cite, with the vectors stored when they were indexed.

    Nothing is embedded here: a row whose stored passages do not fit its current text (indexed from an
    older revision, or not yet) cites nothing rather than something wrong. Splitting a row into passages
    is kept per revision (a revision covers the row and its won contracts), since the same suppliers
    come back shortlist after shortlist.
    """
    empty: Citable = ((), np.zeros((0, side.embedder.dim), dtype=np.float32), ())
    found: dict[int, Citable] = {}
    stored = side.passage_vectors_of({row.key: row.revision for row in rows})
    for row in rows:
        passages = services.passage_texts.get_or_compute(
            (side.kind.name, row.key, row.revision), partial(citable_passages, row, evidence.get(row.key, ()))
        )
        vectors = stored[row.key]
        if vectors is None or len(vectors) != len(passages):
            found[row.key] = empty
            continue
        found[row.key] = (tuple(p.shown for p in passages), vectors, tuple(p.private for p in passages))
    return found


def explain(
    services: Services,
    side: SideIndex,
    ranked: RankedCandidate,
    row: Any,
    evidence: Sequence[Any],
    citable: Citable,
    stems: list[str],
    vector: np.ndarray,
    query: MatchQuery,
) -> Explanation:
    sentences, vectors, private = citable
    cited = cite(vector, sentences, vectors, private)
    text = lexical_text(row, evidence, private=False)  # shared words must not reveal private text
    return Explanation(
        components=ranked.components,
        shared_cpv=describe_cpv_matches(ranked.cpv_matches, services.catalog, suggested=query.suggested_cpv),
        matched_terms=matched_terms(stems, text, weight=side.term_weight, distinctive=side.is_distinctive),
        best_sentence=cited.sentence,
        best_sentence_similarity=round(cited.similarity, 4) if cited.similarity is not None else None,
        location=ranked.geo.reason,
        private_match=cited.private_match,
        track_record=ranked.record.reason(),
        shares=ranked.components.shares(ranked.weights),
    )
