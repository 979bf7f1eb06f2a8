"""What the CPV suggestion of each title query sees, computed once per slice: the label scores and
the nearest evidence notices by meaning and by BM25, all as the service would hold them.

Evidence notices are embedded as the service embeds a stored need (``indexer.documents``: title,
description and its CPV labels, as a document); queries are bare titles embedded as queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.cpv_notices import DatedNotice, TitleSlice, evidence_mask
from indexer.cpv_labels import CpvLabelIndex
from indexer.documents import embedding_text
from indexer.embedder import Embedder
from indexer.lexical import LexicalIndex
from matcher.analysis import query_stems
from matcher.catalog import CpvCatalog
from matcher.cpv_suggest import Neighbour
from store.models import Need

KEPT_NEIGHBOURS = 50  # more than any system counts
LABEL_CANDIDATES = 50  # as the service asks the label index


def stored_text(notice: DatedNotice, catalog: CpvCatalog) -> str:
    """What the service would embed for this notice held as a need."""
    return embedding_text(
        Need(id=notice.id, title=notice.title, description=notice.description, cpv_codes=list(notice.codes)), catalog
    )


def encode_queries_alone(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Each query on its own, as a lone request is encoded: the ONNX int8 query encoder quantizes a batch's
    activations together, so a text's vector moved with its batch-mates (cosine 0.97–0.99 to its own
    vector for Doffin titles here), and it runs whatever it is given as one batch (1,252 notices of 512
    tokens at once took more than 23 GB)."""
    if not texts:
        return embedder.encode_queries([])
    return np.vstack([embedder.encode_queries([text]) for text in texts])


@dataclass(frozen=True)
class CorpusVectors:
    titles: np.ndarray  # every notice's title, as a query
    stored: dict[int, np.ndarray]  # the notices that serve as evidence, as stored needs


def embed_corpus(embedder: Embedder, catalog: CpvCatalog, notices: Sequence[DatedNotice], evidence: set[int]) -> CorpusVectors:
    titles = encode_queries_alone(embedder, [n.title for n in notices])
    order = sorted(evidence)
    stored = embedder.encode_documents([stored_text(notices[i], catalog) for i in order], progress=True)
    return CorpusVectors(titles, dict(zip(order, stored, strict=True)))


@dataclass(frozen=True)
class QueryEvidence:
    truth: str
    label_scores: dict[str, float]
    nearest: list[Neighbour]  # by cosine, best first
    lexical: list[Neighbour]  # by BM25 score, best first


def slice_evidence(
    notices: Sequence[DatedNotice], split: TitleSlice, vectors: CorpusVectors, labels: CpvLabelIndex
) -> list[QueryEvidence]:
    mask = evidence_mask(notices, split)
    stored = np.stack([vectors.stored[j] for j in split.evidence])
    lexical = LexicalIndex()
    for column, j in enumerate(split.evidence):
        lexical.upsert(column, f"{notices[j].title}. {notices[j].description}")
    out = []
    for row, i in enumerate(split.queries):
        query = vectors.titles[i]
        sims = np.where(mask[row], stored @ query, -np.inf)
        order = [c for c in np.argsort(-sims)[:KEPT_NEIGHBOURS] if mask[row, c]]
        nearest = [Neighbour(float(sims[c]), notices[split.evidence[c]].codes) for c in order]
        hits = lexical.query(query_stems(notices[i].title)).top(KEPT_NEIGHBOURS + 1)
        by_words = [Neighbour(score, notices[split.evidence[c]].codes) for c, score in hits.items() if mask[row, c]]
        out.append(QueryEvidence(notices[i].main, labels.scores(query, LABEL_CANDIDATES), nearest, by_words[:KEPT_NEIGHBOURS]))
    return out
