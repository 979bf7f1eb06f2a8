"""The text each row is embedded and searched by.

The embedding text is the name (or title), the description and the labels of the row's CPV codes,
so a profile that names only codes still says what the firm does. The lexical text leaves the CPV
labels out: shared codes are scored on their own, and label words would count twice.
"""

from __future__ import annotations

from typing import Any

from matcher.analysis import detect_language
from matcher.catalog import CpvCatalog

MAX_LABELS = 6


def _heading(row: Any) -> str | None:
    return getattr(row, "name", None) or getattr(row, "title", None)


def lexical_text(row: Any) -> str:
    heading = _heading(row)
    return f"{heading}. {row.description}" if heading else row.description


def embedding_text(row: Any, catalog: CpvCatalog) -> str:
    """Labels are written in the row's own language, so the text stays monolingual (which both the
    model and the language-neutral embedding expect)."""
    text = lexical_text(row)
    lang = detect_language(row.description)
    labels = [catalog.label(code, lang) for code in row.cpv_codes[:MAX_LABELS]]
    known = list(dict.fromkeys(label for label in labels if label))
    return f"{text}\nCPV: {'; '.join(known)}" if known else text
