"""Synthetic supplier profiles for speed benchmarks, recombined from the hand-written sample.

Timing the indexer and the matcher on 10,000–100,000 profiles needs text that behaves like real profiles
(three languages, varied length and vocabulary, CPV codes that fit the text), which copies of one sentence
do not. Each description is stitched from sentences of a few sample profiles of the same language and CPV
division, so it stays monolingual and roughly on one topic; company names in those sentences are replaced
by the generated name.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bench.sample_data import DATA, read_jsonl
from matcher.analysis import detect_language, split_sentences

LEGAL_FORMS = {"NO": "AS", "SE": "AB", "GB": "Ltd", "DK": "ApS", "FI": "Oy"}
DOMAINS = {"NO": "no", "SE": "se", "GB": "co.uk", "DK": "dk", "FI": "fi"}
ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o", "ø": "o", "æ": "ae", "é": "e"})
SUFFIXES = {
    "sv": ["Teknik", "System", "Digital", "Lösningar", "Innovation", "Data", "Vård", "Miljö", "Analys", "Energi", "Sensor"],
    "no": ["Teknologi", "Systemer", "Digital", "Løsninger", "Innovasjon", "Data", "Helse", "Miljø", "Analyse", "Energi"],
    "en": ["Technologies", "Systems", "Digital", "Solutions", "Labs", "Analytics", "Health", "Robotics", "Software", "Energy"],
}
TAILS = {
    "sv": ["Gruppen", "Partner", "Holding", "Invest", "Service", "Produktion", "Konsult"],
    "no": ["Gruppen", "Partner", "Holding", "Invest", "Service", "Produksjon", "Rådgivning"],
    "en": ["Group", "Partners", "Holdings", "International", "Services", "Consulting"],
}
PLACES = {
    ("sv", "SE"): ["Sverige", "Norden", "Väst", "Syd", "Norr", "Mälardalen", "Skåne", "Göteborg", "Stockholm", "Uppsala"],
    ("no", "NO"): ["Norge", "Norden", "Nord", "Vest", "Sør", "Øst", "Midt", "Bergen", "Trøndelag", "Oslo", "Stavanger", "Tromsø"],
    ("en", "GB"): ["UK", "North", "London", "Scotland", "Midlands", "Yorkshire", "Wales", "Cambridge", "Bristol"],
    ("en", "DK"): ["Nordic", "Denmark", "Copenhagen", "Aarhus", "Scandinavia"],
    ("en", "FI"): ["Nordic", "Finland", "Helsinki", "Tampere", "Oulu", "Baltic"],
    ("en", "NO"): ["Nordic", "Norway", "Oslo", "Bergen", "Arctic"],
    ("en", "SE"): ["Nordic", "Sweden", "Stockholm", "Gothenburg", "Scandinavia"],
}
# Long profiles are rarer than mid-length ones, as in the sample (2–5 sentences) and real registers.
SENTENCE_COUNTS, SENTENCE_WEIGHTS = (1, 2, 3, 4, 5, 6, 7), (6, 16, 22, 22, 15, 11, 8)
CODE_COUNTS, CODE_WEIGHTS = (1, 2, 3, 4), (12, 50, 30, 8)
EXTRA_COUNTRIES, EXTRA_WEIGHTS = (0, 1, 2), (64, 26, 10)
MAX_PROFILES = 1_000_000  # the id formats below leave room for this many
MIN_GROUP = 3  # (language, division) groups with fewer sample profiles would repeat the same text
FULL, BASE, STEM = "\x01", "\x02", "\x03"  # placeholders for the company's name inside source sentences


@dataclass(frozen=True)
class Source:
    """One sample profile, split into sentences with its own name replaced by placeholders."""

    sentences: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Pools:
    anchors: tuple[tuple[str, str], ...]  # (language, country) of every sample profile: keeps the sample's mix
    groups: dict[str, list[str]]  # language → division, repeated by group size so larger groups are drawn more
    sources: dict[tuple[str, str], list[Source]]  # (language, division) → profiles with a code in it
    stems: dict[str, list[str]]
    regions: dict[str, list[str]]
    sizes: tuple[str, ...]
    partners: dict[str, list[str]]  # country → other countries its sample firms operate in (with repeats)


def _templated(text: str, name: str, distinctive_stem: bool) -> str:
    base = name.rsplit(" ", 1)[0]
    text = text.replace(name, FULL).replace(base, BASE)
    return text.replace(base.split()[0], STEM) if distinctive_stem else text


@lru_cache(maxsize=1)
def _pools() -> Pools:
    """Group the sample once, so that generating 100,000 profiles is only random draws and joins."""
    rows = read_jsonl(DATA / "suppliers.jsonl")
    langs = [detect_language(row["description"]) for row in rows]
    descriptions = [row["description"] for row in rows]
    members: dict[tuple[str, str], list[Source]] = defaultdict(list)
    stems: dict[str, list[str]] = defaultdict(list)
    regions: dict[str, list[str]] = defaultdict(list)
    partners: dict[str, list[str]] = defaultdict(list)
    for row, lang in zip(rows, langs, strict=True):
        name, stem = row["name"], row["name"].split()[0]
        # A stem such as "Nordic" also appears as an ordinary word in other profiles; leave it alone there.
        distinctive = sum(stem in text for text in descriptions) == 1
        sentences = tuple(_templated(s, name, distinctive) for s in split_sentences(row["description"]))
        source = Source(sentences, tuple(code[:8] for code in row["cpv_codes"]))
        for division in dict.fromkeys(code[:2] for code in source.codes):
            members[(lang, division)].append(source)
        stems[lang].append(stem)
        regions[row["country"]].append(row["region"])
        partners[row["country"]].extend(c for c in row["operating_countries"] if c != row["country"])
    sources = {key: group for key, group in members.items() if len(group) >= MIN_GROUP}
    groups: dict[str, list[str]] = defaultdict(list)
    for (lang, division), group in sorted(sources.items()):
        groups[lang].extend([division] * len(group))
    return Pools(
        anchors=tuple((lang, row["country"]) for row, lang in zip(rows, langs, strict=True)),
        groups=dict(groups),
        sources=sources,
        stems={lang: sorted(set(names)) for lang, names in stems.items()},
        regions=dict(regions),
        sizes=tuple(row["size"] for row in rows),
        partners=dict(partners),
    )


def _org_id(country: str, index: int) -> str:
    """Org-id style ids from the index, in number ranges the sample does not use, so they never collide."""
    if country == "NO":
        return f"NO-BRC-8{index:08d}"
    if country == "SE":
        return f"SE-BLV-556{index:07d}"
    if country == "GB":
        return f"GB-COH-3{index:07d}"
    if country == "DK":
        return f"DK-CVR-6{index:07d}"
    digits = f"3{index:06d}"
    remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return f"FI-PRO-{digits}-{0 if remainder < 2 else 11 - remainder}"  # Finnish business-id check digit


def _company_name(rng: random.Random, pools: Pools, lang: str, country: str, taken: set[str]) -> tuple[str, str]:
    """A unique "stem [suffix] [place] [tail] legal-form" name, longer only when the shorter one is taken."""
    form, places = LEGAL_FORMS[country], PLACES[(lang, country)]
    for _ in range(8):
        stem = rng.choice(pools.stems[lang])
        words = [stem, rng.choice(SUFFIXES[lang])] if rng.random() < 0.7 else [stem]
        for extra in ("", rng.choice(places), rng.choice(TAILS[lang])):
            words += [extra] if extra else []
            if (base := " ".join(words)) + f" {form}" not in taken:
                taken.add(f"{base} {form}")
                return base, stem
    number = 2  # only once nearly all of the tens of thousands of combinations per country are taken
    while f"{base} {number} {form}" in taken:
        number += 1
    taken.add(f"{base} {number} {form}")
    return f"{base} {number}", stem


def _description(rng: random.Random, chosen: list[Source], count: int) -> str:
    """Opening sentence of the first source, then later sentences of all of them in their original order.

    Other sources' openers are left out: each introduces its own company, and two introductions read oddly.
    """
    opener, rest = chosen[0].sentences[0], [(pos, s) for src in chosen for pos, s in enumerate(src.sentences) if pos]
    return " ".join([opener, *(s for _, s in sorted(rng.sample(rest, min(count - 1, len(rest)))))])


def _website(rng: random.Random, base: str, country: str) -> str | None:
    if rng.random() < 0.1:  # about as often as in the sample, profiles give no website
        return None
    slug = "".join(ch for ch in base.lower().translate(ASCII) if ch.isalnum())
    return f"https://{slug}.{DOMAINS[country]}"


def _codes(rng: random.Random, chosen: list[Source], division: str) -> list[str]:
    """One code in the shared division first, then a few more from the same sources (often other divisions)."""
    first = rng.choice([code for code in chosen[0].codes if code.startswith(division)])
    others = sorted({code for src in chosen for code in src.codes} - {first})
    return [first, *rng.sample(others, min(len(others), rng.choices(CODE_COUNTS, CODE_WEIGHTS)[0] - 1))]


def _profile(rng: random.Random, pools: Pools, index: int, taken: set[str], texts: set[str]) -> dict[str, Any]:
    """Language and country come from a random sample profile, so the sample's mix of both carries over."""
    lang, country = rng.choice(pools.anchors)
    base, stem = _company_name(rng, pools, lang, country, taken)
    name = f"{base} {LEGAL_FORMS[country]}"
    count = rng.choices(SENTENCE_COUNTS, SENTENCE_WEIGHTS)[0]
    for _ in range(4):  # short profiles can repeat another's text exactly; draw again, a bit longer
        group = pools.sources[(lang, division := rng.choice(pools.groups[lang]))]
        chosen = rng.sample(group, min(len(group), max(2, (count + 2) // 2)))
        text = _description(rng, chosen, count).replace(FULL, name).replace(BASE, base).replace(STEM, stem)
        if text not in texts:
            break
        count = min(count + 1, SENTENCE_COUNTS[-1])
    texts.add(text)
    partners = pools.partners[country]
    extra = rng.sample(partners, min(len(partners), rng.choices(EXTRA_COUNTRIES, EXTRA_WEIGHTS)[0]))
    return {
        "id": _org_id(country, index),
        "name": name,
        "description": text,
        "cpv_codes": _codes(rng, chosen, division),
        "country": country,
        "region": rng.choice(pools.regions[country]),
        "size": rng.choice(pools.sizes),
        "website": _website(rng, base, country),
        "operating_countries": list(dict.fromkeys([country, *extra])),
    }


def generate_profiles(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` supplier records in the JSONL import format; the same (n, seed) always gives the same records."""
    if not 0 <= n <= MAX_PROFILES:
        raise ValueError(f"n must be between 0 and {MAX_PROFILES}")
    pools, rng = _pools(), random.Random(seed)
    taken: set[str] = set()  # names, and below descriptions, already given: both stay unique
    texts: set[str] = set()
    return [_profile(rng, pools, index, taken, texts) for index in range(n)]
