"""Why a match was made, in terms an adviser can check: the score's parts, the CPV codes shared
and at which level, the words both texts use, and the profile sentence closest to the need."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.catalog import CpvCatalog
from matcher.cpv import CpvMatch
from matcher.fusion import ScoreComponents


@dataclass(frozen=True)
class SharedCpv:
    query_code: str
    candidate_code: str
    level: str
    shared_code: str
    label: str | None  # of the shared code
    suggested: bool = False  # the need's code was suggested from its text, not given


@dataclass(frozen=True)
class Explanation:
    components: ScoreComponents
    shared_cpv: list[SharedCpv] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)
    best_sentence: str | None = None
    best_sentence_similarity: float | None = None
    location: str | None = None

    def summary(self) -> str:
        """One line for CLIs and exports."""
        parts = [f"semantic {self.components.dense:.2f}"]
        if self.shared_cpv:
            top = self.shared_cpv[0]
            what = "same CPV" if top.level == "exact" else f"same CPV {top.level}"
            what = f"{what} (suggested)" if top.suggested else what
            parts.append(f"{what} {top.shared_code}" + (f" ({top.label})" if top.label else ""))
        if self.matched_terms:
            parts.append("terms: " + ", ".join(self.matched_terms[:6]))
        if self.location:
            parts.append(self.location)
        return "; ".join(parts)


def describe_cpv_matches(
    matches: Sequence[CpvMatch], catalog: CpvCatalog, lang: str = "en", suggested: Collection[str] = ()
) -> list[SharedCpv]:
    return [
        SharedCpv(
            m.query_code,
            m.candidate_code,
            m.level.name.lower(),
            m.shared_code,
            catalog.label(m.shared_code, lang),
            m.query_code in suggested,
        )
        for m in matches
    ]


def best_sentence(
    query_vector: np.ndarray, sentences: Sequence[str], sentence_vectors: np.ndarray
) -> tuple[str | None, float | None]:
    """The sentence whose embedding is closest to the query, and its cosine.

    A zero vector marks a sentence the model never read (past its token limit): it is never cited.
    """
    if len(sentences) != len(sentence_vectors):
        raise ValueError("need one vector per sentence")
    read = np.linalg.norm(sentence_vectors, axis=1) > 0 if len(sentences) else np.zeros(0, dtype=bool)
    if not read.any():
        return None, None
    sims = np.where(read, sentence_vectors @ query_vector, -np.inf)
    best = int(np.argmax(sims))
    return sentences[best], float(sims[best])
