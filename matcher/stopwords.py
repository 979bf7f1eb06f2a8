"""Function words of the other languages procurement texts come in (OCDS feeds from Spain, Portugal,
France, Germany, Italy, the Netherlands, Denmark, Finland, Poland, Romania, Moldova ...).

The analyser stems sv/no/en only; a text in another language used to keep its function words, so
"para" or "und" counted as shared evidence between two Spanish or German texts. A union of every
language's list cannot simply be dropped from every text: Dutch "door", Danish "dog" and Romanian
"care" are content words in English. So a text's foreign function words are dropped only when the
text is written in that language, judged by the function words themselves: the language whose
function words the text uses most, if that is more than it uses of sv/no/en's and at least three of
them are none of sv/no/en's. One stray "door" or "para" in a short title decides nothing.

The lists are NLTK's, as shipped by bm25s (already a dependency), plus short hand-written lists of
the most frequent function words of Finnish, Polish and Romanian, which bm25s lacks. For languages
with no list, the lexical index's document-frequency floor (``LexicalIndex.is_distinctive``) keeps
words most documents use out of explanations.
"""

from __future__ import annotations

from collections.abc import Collection

from bm25s.stopwords import (
    STOPWORDS_DANISH,
    STOPWORDS_DUTCH,
    STOPWORDS_FRENCH,
    STOPWORDS_GERMAN,
    STOPWORDS_ITALIAN,
    STOPWORDS_PORTUGUESE,
    STOPWORDS_RUSSIAN,
    STOPWORDS_SPANISH,
    STOPWORDS_TURKISH,
)

_FINNISH = (
    *("ja", "on", "ei", "se", "että", "oli", "ovat", "olla", "ole", "ollut", "kuin", "mutta", "tai", "myös"),
    *("joka", "jotka", "jonka", "sekä", "kun", "niin", "jos", "mukaan", "tämä", "nämä", "sen", "sitä", "siitä"),
    *("hän", "he", "me", "te", "ne", "kanssa", "vain", "jo", "vielä", "kaikki", "mitä", "kuten", "eli", "koska"),
)
_POLISH = (
    *("i", "w", "z", "na", "się", "nie", "do", "to", "że", "o", "a", "jest", "od", "po", "jak", "co", "ale"),
    *("dla", "przez", "oraz", "są", "lub", "być", "ich", "jego", "jej", "tak", "już", "tym", "tego", "ten"),
    *("które", "który", "która", "przy", "za", "może", "także", "czy", "tylko", "ze", "we", "pod", "bez"),
)
_ROMANIAN = (
    *("și", "în", "de", "la", "cu", "nu", "pe", "care", "un", "o", "a", "ce", "din", "pentru", "este"),
    *("sunt", "mai", "sau", "să", "se", "ca", "al", "ai", "ale", "cel", "cea", "prin", "după", "fi", "fost"),
    *("dar", "lui", "iar", "către", "între", "acest", "această", "aceste", "fără", "unei", "unui", "privind"),
)

FOREIGN_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "es": frozenset(STOPWORDS_SPANISH),
    "pt": frozenset(STOPWORDS_PORTUGUESE),
    "fr": frozenset(STOPWORDS_FRENCH),
    "it": frozenset(STOPWORDS_ITALIAN),
    "de": frozenset(STOPWORDS_GERMAN),
    "nl": frozenset(STOPWORDS_DUTCH),
    "da": frozenset(STOPWORDS_DANISH),
    "fi": frozenset(_FINNISH),
    "pl": frozenset(_POLISH),
    "ro": frozenset(_ROMANIAN),
    "ru": frozenset(STOPWORDS_RUSSIAN),
    "tr": frozenset(STOPWORDS_TURKISH),
}
MIN_OWN_WORDS = 3  # distinct function words of the language that sv/no/en lack (two: "Se … .com" in Norwegian)
_LISTS = tuple(FOREIGN_FUNCTION_WORDS.values())
_LISTS_OF: dict[str, tuple[int, ...]] = {}  # word -> the lists that hold it, so a text is read once
for _i, _words in enumerate(_LISTS):
    for _word in _words:
        _LISTS_OF[_word] = (*_LISTS_OF.get(_word, ()), _i)


def foreign_function_words(words: Collection[str], known: frozenset[str]) -> frozenset[str]:
    """The function words to drop from a text besides ``known`` (sv/no/en's): those of the foreign
    language the text is written in, or none when it is not clearly written in one.

    ``words`` are the text's lower-cased words.
    """
    hits, own, known_hits = [0] * len(_LISTS), [0] * len(_LISTS), 0
    for word in {w for w in words if len(w) > 1}:  # one letter: elided articles in the lists, initials in texts
        is_known = word in known
        known_hits += is_known
        for i in _LISTS_OF.get(word, ()):
            hits[i] += 1
            own[i] += not is_known
    best = max(range(len(_LISTS)), key=hits.__getitem__)
    return _LISTS[best] if hits[best] > known_hits and own[best] >= MIN_OWN_WORDS else frozenset()
