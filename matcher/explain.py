"""Why a match was made, in terms an adviser can check: the score's parts, the CPV codes shared
and at which level, the words both texts use, and the profile sentence closest to the need."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.catalog import CpvCatalog
from matcher.cpv import CpvMatch
from matcher.demotion import MarkNote
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
    private_match: bool = False
    """The profile's closest passage is in its private description, well ahead of any public one:
    no public sentence is cited as the reason, and only readers allowed to know are told."""
    track_record: str | None = None  # "won 3 contracts in the need's CPV groups (latest 2021)"
    shares: dict[str, float] = field(default_factory=dict)
    """Each component's weighted part of the score (they add up to it)."""
    marked: MarkNote | None = None
    """Moved below the need's other suppliers by an adviser's mark (``service/mark_demotion.py``); set
    only in shortlists served to readers allowed to see the need's marks."""

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
        if self.track_record:
            parts.append(self.track_record)
        if self.location:
            parts.append(self.location)
        if self.marked:
            parts.append(self.marked.text())
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


PRIVATE_MATCH_NOTE = "matched on details the supplier shared privately with advisers"

# How much closer to the need a private passage must be than every public one before the match is
# said to rest on the private text. Passage cosines of one profile differ by a few hundredths between
# near-equivalent sentences; a public sentence within this margin is a fair reason to cite.
PRIVATE_MARGIN = 0.05


@dataclass(frozen=True)
class Citation:
    sentence: str | None
    similarity: float | None
    private_match: bool = False


def best_sentence(
    query_vector: np.ndarray, sentences: Sequence[str], sentence_vectors: np.ndarray
) -> tuple[str | None, float | None]:
    """The sentence whose embedding is closest to the query, and its cosine."""
    found = cite(query_vector, sentences, sentence_vectors)
    return found.sentence, found.similarity


def cite(
    query_vector: np.ndarray, sentences: Sequence[str], sentence_vectors: np.ndarray, private: Sequence[bool] = ()
) -> Citation:
    """The public sentence closest to the query, unless a ``private`` passage is clearly closer.

    A zero vector marks a sentence the model never read (past its token limit): it is never cited.
    """
    if len(sentences) != len(sentence_vectors) or (private and len(private) != len(sentences)):
        raise ValueError("need one vector (and one private flag) per sentence")
    read = np.linalg.norm(sentence_vectors, axis=1) > 0 if len(sentences) else np.zeros(0, dtype=bool)
    hidden = np.asarray(private, dtype=bool) if private else np.zeros(len(sentences), dtype=bool)
    if not read.any():
        return Citation(None, None)
    sims = sentence_vectors @ query_vector
    public = np.where(read & ~hidden, sims, -np.inf)
    closest_private = float(np.where(read & hidden, sims, -np.inf).max()) if hidden.any() else -np.inf
    best = int(np.argmax(public))
    if closest_private > float(public[best]) + PRIVATE_MARGIN:
        return Citation(None, None, private_match=True)
    if not np.isfinite(public[best]):
        return Citation(None, None)
    return Citation(sentences[best], float(public[best]))
