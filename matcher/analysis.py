"""Language-aware text analysis shared by the lexical index and the explanations.

Texts are Swedish, Norwegian or English. Each text is stemmed with the Snowball stemmer of its
own language, after dropping the stopwords of all three (the languages share many short words,
and a Swedish stopword in a Norwegian text carries no evidence either). A text written in another
language also loses that language's function words (matcher/stopwords.py).

What counts as a word is defined here once: a run of letters or digits, in any script.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_NORWEGIAN, STOPWORDS_SWEDISH

from matcher.stopwords import foreign_function_words

LANGUAGES = ("sv", "no", "en")
_STEMMER_NAMES = {"sv": "swedish", "no": "norwegian", "en": "english"}
# Function words the Snowball lists lack but every profile uses.
_EXTRA_STOPWORDS = frozenset(
    (
        *("hos", "även", "också", "samt", "sådan", "sådana", "inom", "mellan", "genom", "utan", "bland"),
        *("slik", "slike", "både", "enten", "innen", "mellom", "gjennom", "uten", "blant"),
        *("via", "per", "ca", "etc", "eller", "also", "within", "across"),
        # Danish (stemmed as Norwegian) shares most function words with Norwegian, not these.
        *("af", "hvad", "hvilket", "hvornår", "havde", "hende", "hendes", "mellem", "måske", "må", "nogen", "noget"),
        *("nogle", "selvom", "sådanne", "uden", "været", "blevet", "bliver", "blive", "intet", "vores"),
    )
)
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_SWEDISH) | frozenset(STOPWORDS_NORWEGIAN) | _EXTRA_STOPWORDS
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # hyphenated compounds match their parts

# Short, frequent function words that tell the three languages apart (not all stopwords do:
# Swedish and Norwegian share "med", "som", "på", "av", "det").
_MARKERS = {
    "sv": {
        "och",
        "att",
        "för",
        "är",
        "inte",
        "ett",
        "till",
        "från",
        "eller",
        "också",
        "vår",
        "våra",
        "kan",
        "ska",
        "där",
        "hos",
        "även",
        "samt",
        "mot",
        "om",
    },
    "no": {
        "og",
        "å",
        "er",
        "ikke",
        "et",
        "til",
        "fra",
        "eller",
        "også",
        "vår",
        "våre",
        "kan",
        "skal",
        "der",
        "hos",
        "samt",
        "mot",
        "om",
        "av",
        "har",
    },
    "en": {
        "the",
        "and",
        "of",
        "to",
        "is",
        "for",
        "with",
        "we",
        "our",
        "a",
        "an",
        "in",
        "on",
        "are",
        "that",
        "from",
        "or",
        "by",
        "can",
        "will",
    },
}
_LETTERS = {"sv": set("äö"), "no": set("æø")}


def has_words(text: str) -> bool:
    """Whether a text gives the matcher anything to go on: a run of letters or digits, in any script.

    Spaces, punctuation, control characters and emoji are not words, and a text of nothing else
    would be matched on noise. Stopwords are words: the model can still read a text made of them.
    """
    return _WORD.search(text) is not None


@dataclass(frozen=True)
class Token:
    surface: str
    stem: str


def detect_language(text: str) -> str:
    """Best guess of sv/no/en from marker words and letters; English when nothing speaks up."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        scores[lang] += 2 * sum(lowered.count(ch) for ch in letters)
    best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] > 0 else "en"


_local = threading.local()


def _stemmer(lang: str) -> Stemmer.Stemmer:
    # PyStemmer objects are not safe to share between threads.
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if lang not in cache:
        cache[lang] = Stemmer.Stemmer(_STEMMER_NAMES[lang])
    return cache[lang]


def tokenize(text: str, lang: str | None = None) -> list[Token]:
    """Content words of ``text`` with their stems; stopwords (of sv/no/en, and of the foreign language
    the text is written in, if any) and one-letter words dropped."""
    lang = lang or detect_language(text)
    words = [w.lower() for w in _WORD.findall(text)]
    foreign = foreign_function_words(words, _STOPWORDS)
    kept = [w for w in words if w not in _STOPWORDS and w not in foreign and (len(w) > 1 or w.isdigit())]
    stems = _stemmer(lang).stemWords(kept)
    return [Token(surface, stem) for surface, stem in zip(kept, stems, strict=True)]


def stems(text: str, lang: str | None = None) -> list[str]:
    return [t.stem for t in tokenize(text, lang)]


def query_stems(text: str) -> list[str]:
    """Distinct stems of a query in the order they appear."""
    return list(dict.fromkeys(stems(text)))


@lru_cache(maxsize=2048)
def _spellings(text: str) -> dict[str, str]:
    """Each stem of a document with its first spelling that is not a bare number, in the document's order.

    Kept for a shortlisted row's next explanation (tokenising the top rows' texts again for every
    shortlist was a third of the time of explaining them); one entry per distinct stem, not per word, so
    long profiles cost the cache little. Callers must not change the dict.
    """
    found: dict[str, str] = {}
    for token in tokenize(text):
        if token.stem not in found and not token.surface.isdigit():
            found[token.stem] = token.surface
    return found


def matched_terms(
    query: Sequence[str],
    document_text: str,
    *,
    weight: Callable[[str], float] | None = None,
    distinctive: Callable[[str], bool] | None = None,
    limit: int = 8,
) -> list[str]:
    """Words of the document whose stem is among the query's stems, in the document's spelling.

    With ``weight`` (an IDF) the most distinctive come first; ``distinctive`` leaves out words that
    many profiles use. Bare numbers never count as evidence.
    """
    wanted = set(query)
    found = {stem: surface for stem, surface in _spellings(document_text).items() if stem in wanted}
    stems = [s for s in found if distinctive is None or distinctive(s)]
    if weight is not None:
        stems.sort(key=weight, reverse=True)
    return [found[s] for s in stems[:limit]]


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(A-ZÆØÅÄÖÉ0-9])|\n+")


@lru_cache(maxsize=4096)
def sentence_spans(text: str, min_chars: int = 12) -> tuple[tuple[int, int], ...]:
    """Where each sentence of a profile lies in it, as (start, end) character offsets.

    Very short fragments are joined to their neighbour. Offsets (not copies) let the indexer pool a
    sentence's vector out of the whole profile's forward pass.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in [*_SENTENCE_END.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        piece = text[start:end]
        if piece.strip():
            lo = start + len(piece) - len(piece.lstrip())
            hi = start + len(piece.rstrip())
            if spans and hi - lo < min_chars:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
        start = boundary.end() if boundary else len(text)
    return tuple(spans)


def split_sentences(text: str, min_chars: int = 12) -> tuple[str, ...]:
    """Sentences of a profile; very short fragments are joined to their neighbour."""
    return tuple(text[a:b] for a, b in sentence_spans(text, min_chars)) or (text.strip(),)
