"""The text each row is embedded and searched by.

A supplier's profile is its own description plus the evidence of contracts it won. The embedding
text is the name, the self-written description, the titles of won contracts and the CPV labels, in
that order, since the model reads only 512 tokens. Contract descriptions are left out of it: award
notices' descriptions are often boilerplate ("Contract award notice – the Council has secured
funding…") that dilutes the profile. On the UK award benchmark, titles only lifted recall@10 on the
cleaned slice from 0.690 to 0.736, and on a separate validation split (profiles before 2022, needs
of 2022) from 0.619 to 0.667; dropping the CPV labels lowered both. Labels are written in the row's
own language so the text stays monolingual. The lexical text keeps every contract's title and
description (BM25 copes with boilerplate, and dropping descriptions there lowered test recall), but
no CPV labels (shared codes are scored on their own, and label words would count twice).

A supplier's private description (unpublished capabilities and plans) is embedded and searched right
after its own text, but is never cited and never a source of an explanation's shared words. Its
sentences get passage vectors too, marked private and never shown: they tell an explanation when a
match rests on the private text, so that it does not cite an unrelated public sentence as the reason.

Explanations cite the sentence or contract title closest to the query. Their vectors are pooled from
the token embeddings of the same forward pass that embeds the row (``EmbeddingDocument.passages`` say
where each lies in the text), so nothing is embedded at query time and indexing costs no extra pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matcher.analysis import detect_language, sentence_spans
from matcher.catalog import CpvCatalog

MAX_LABELS = 6
MAX_TITLES = 30


def _heading(row: Any) -> str | None:
    return getattr(row, "name", None) or getattr(row, "title", None)


def _own_text(row: Any) -> str:
    heading, description = _heading(row), (row.description or "").strip()
    return ". ".join(part for part in (heading, description) if part)


def evidence_line(item: Any) -> str:
    """How a won contract is cited: "won 'Winter road maintenance' for Lancaster City Council (2021)"."""
    line = f"won '{item.title}'"
    if item.buyer:
        line += f" for {item.buyer}"
    if item.awarded_on:
        line += f" ({item.awarded_on.year})"
    return line


def _private_text(row: Any) -> str:
    """A supplier's unpublished capabilities: embedded and searched, never cited or shown."""
    return (getattr(row, "private_description", None) or "").strip()


def lexical_text(row: Any, evidence: Sequence[Any] = (), *, private: bool = True) -> str:
    """What BM25 searches (``private=True``), or what an explanation may quote words from (``False``)."""
    parts = [_own_text(row), _private_text(row) if private else ""]
    parts += [f"{e.title}. {e.description or ''}" for e in evidence]
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Passage:
    """A part of the embedding text an explanation may cite: a sentence of the row's own description
    or a won contract's title, shown as ``shown`` and found at ``start:end`` of the text. A ``private``
    passage (a sentence of the private description) is compared, never cited: its ``shown`` is empty."""

    shown: str
    start: int
    end: int
    private: bool = False


@dataclass(frozen=True)
class EmbeddingDocument:
    text: str
    passages: tuple[Passage, ...]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(p.start, p.end) for p in self.passages]


def citable_passages(row: Any, evidence: Sequence[Any] = ()) -> tuple[Passage, ...]:
    """The sentences of a row's own description and its won contracts' titles (the first
    ``MAX_TITLES``), where ``embedding_document`` puts them in the embedding text."""
    description = (row.description or "").strip()
    own = _own_text(row)
    passages: list[Passage] = []
    if description:
        offset = len(own) - len(description)
        passages += [Passage(description[a:b], offset + a, offset + b) for a, b in sentence_spans(description)]
    cursor = len(own) + 1 if own else 0
    private = _private_text(row)
    if private:  # embedded after the own text, compared but never cited
        passages += [Passage("", cursor + a, cursor + b, private=True) for a, b in sentence_spans(private)]
        cursor += len(private) + 1
    for item in evidence[:MAX_TITLES]:
        passages.append(Passage(evidence_line(item), cursor, cursor + len(item.title)))
        cursor += len(item.title) + 2  # titles are joined by "; "
    return tuple(passages)


def embedding_document(row: Any, catalog: CpvCatalog, evidence: Sequence[Any] = ()) -> EmbeddingDocument:
    """The text a row is embedded by, and where its citable sentences and contract titles lie in it."""
    own = _own_text(row)
    lang = detect_language(own or " ".join(e.title for e in evidence))
    parts = [p for p in (own, _private_text(row)) if p]
    if evidence:
        parts.append("; ".join(e.title for e in evidence[:MAX_TITLES]))
    codes = getattr(row, "all_cpv_codes", None) or row.cpv_codes
    labels = list(dict.fromkeys(label for label in (catalog.label(c, lang) for c in codes[:MAX_LABELS]) if label))
    if labels:
        parts.append(f"CPV: {'; '.join(labels)}")
    return EmbeddingDocument("\n".join(parts), citable_passages(row, evidence))


def embedding_text(row: Any, catalog: CpvCatalog, evidence: Sequence[Any] = ()) -> str:
    return embedding_document(row, catalog, evidence).text
