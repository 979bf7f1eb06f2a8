"""CPV labels for explanations and embedding text, most specific first.

The official CPV 2008 list ships with the service (every code's label and official check digit);
hand-written labels of the 45 divisions add Norwegian on top. A catalog without check digits (tests,
hand-built ones) falls back to the mod-10 rule in matcher/cpv.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from matcher.cpv import significant

# Where a label is missing in a language, the closest one that exists (the official CPV list has no
# Norwegian; written Danish is close to Bokmål).
_FALLBACKS = {"no": ("no", "da", "en"), "sv": ("sv", "en"), "en": ("en",)}


@dataclass(frozen=True)
class CpvCatalog:
    """Labels keyed by 8-digit code (``labels[code][lang]``) and, if known, official check digits."""

    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    check_digits: Mapping[str, str] | None = None

    def label(self, code: str, lang: str = "en") -> str | None:
        """The label of the code itself, else of its nearest labelled ancestor."""
        for ancestor in ancestors(code):
            entry = self.labels.get(ancestor)
            if entry:
                for candidate in _FALLBACKS.get(lang, (lang, "en")):
                    if entry.get(candidate):
                        return entry[candidate]
                return next(iter(entry.values()))
        return None


def ancestors(code: str) -> list[str]:
    """The code and its ancestors, most specific first (``33196200`` → …, ``33190000``, ``33100000``, ``33000000``)."""
    sig = significant(code)
    return [sig[:n].ljust(8, "0") for n in range(len(sig), 1, -1)]


def merge_catalogs(base: CpvCatalog, official: CpvCatalog) -> CpvCatalog:
    """Official labels where they exist, hand-written division labels (with Norwegian) underneath."""
    labels: dict[str, dict[str, str]] = {code: dict(entry) for code, entry in official.labels.items()}
    for code, entry in base.labels.items():
        merged = dict(entry)
        merged.update(labels.get(code, {}))
        if "no" in entry:  # the official list has no Norwegian column
            merged["no"] = entry["no"]
        labels[code] = merged
    return CpvCatalog(labels=labels, check_digits=official.check_digits)
