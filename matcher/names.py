"""Company names as they appear in award notices, normalised so one firm is one supplier.

Notices write the same firm as "ABC Ltd", "A.B.C. Limited" or "abc limited (UK)". We compare a key
made of the lowercase words without punctuation, legal forms and a leading "the".
"""

from __future__ import annotations

import re
import unicodedata

LEGAL_FORMS = frozenset(
    {
        *("ltd", "limited", "plc", "llp", "llc", "inc", "incorporated", "corp", "corporation", "co", "company", "cic"),
        *("as", "asa", "ab", "publ", "oy", "oyj", "aps", "a/s", "gmbh", "bv", "nv", "sa", "sarl", "srl"),
        *("uk", "group", "holdings"),
    }
)
_SEPARATORS = re.compile(r"\s*(?:;|,|\band\s+also\b)\s*")


def name_key(name: str) -> str:
    """A comparison key: ``"The A.B.C. Group Ltd (UK)"`` → ``"abc"``."""
    text = unicodedata.normalize("NFKC", name).lower().replace("&", " and ")
    text = re.sub(r"(?<=\b\w)\.(?=\w\b)", "", text)  # A.B.C. → ABC
    words = re.findall(r"[^\W_]+(?:/[^\W_]+)?", text)
    while words and words[-1] in LEGAL_FORMS:
        words.pop()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words) or text.strip()


def split_winners(field: str) -> list[str]:
    """Several winners of one notice, comma- or semicolon-joined, each kept in its own spelling.

    A legal form after a comma ("Smith, Jones Ltd") is not a winner of its own, so fragments that are
    only a legal form are joined to the name before them.
    """
    parts: list[str] = []
    for part in (p.strip() for p in _SEPARATORS.split(field)):
        if not part:
            continue
        if parts and name_key(part) in LEGAL_FORMS | {""}:
            parts[-1] = f"{parts[-1]}, {part}"
        else:
            parts.append(part)
    return parts
