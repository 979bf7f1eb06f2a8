"""CPV codes: parsing, check digits, the hierarchy and how much two sets of codes overlap.

A CPV code has 8 digits and an optional check digit (``33196200-2``). Its hierarchy is read from
the significant (non-trailing-zero) digits: division ``XX000000``, group ``XXX00000``, class
``XXXX0000``, category ``XXXXX000`` and finer subdivisions. A need for ``33190000`` (a class) is
partly matched by a supplier of ``33100000`` (its group): they share the group level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

_CODE = re.compile(r"([0-9]{8})(?:-([0-9]))?")  # not \d: it matches any script's digits ("٣٣١٩٦٢٠٠")
# The official CPV 2008 check digits follow this weighted mod-10 rule for 94 % of codes; the rest
# are legacy assignments, so the official code list (shipped, see service/reference.py) always takes
# precedence and the rule serves only catalogs without check digits.
_CHECK_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


class CpvLevel(IntEnum):
    """How deep two codes agree; the value is the number of leading digits shared."""

    DIVISION = 2
    GROUP = 3
    CLASS = 4
    CATEGORY = 5
    EXACT = 8


LEVEL_CREDIT: Mapping[CpvLevel, float] = {
    CpvLevel.DIVISION: 0.25,
    CpvLevel.GROUP: 0.5,
    CpvLevel.CLASS: 0.75,
    CpvLevel.CATEGORY: 0.9,
    CpvLevel.EXACT: 1.0,
}


class CpvError(ValueError):
    """A CPV code that is malformed, unknown or has a wrong check digit."""


def rule_check_digit(code: str) -> int:
    """The check digit by the weighted mod-10 rule (exact for most, not all, official codes)."""
    return sum(int(d) * w for d, w in zip(code, _CHECK_WEIGHTS, strict=True)) % 10


def parse_cpv(raw: str, official_check_digits: Mapping[str, str] | None = None) -> str:
    """Return the 8-digit code of ``raw``; raise :class:`CpvError` with the reason if it is invalid.

    With the official code list, the code must exist and its check digit must match the list;
    without it, a given check digit is verified by the mod-10 rule.
    """
    match = _CODE.fullmatch(raw.strip())
    if not match:
        raise CpvError(f"'{raw}' is not a CPV code: expected 8 digits with an optional '-check digit'")
    code, check = match.group(1), match.group(2)
    if code[:2] == "00":
        raise CpvError(f"'{raw}' is not a CPV code: no division 00")
    if official_check_digits is not None:
        official = official_check_digits.get(code)
        if official is None:
            raise CpvError(f"'{raw}' is not in the official CPV code list")
        if check is not None and check != official:
            raise CpvError(f"'{raw}' has check digit {check}; the official list says {code}-{official}")
    elif check is not None and int(check) != rule_check_digit(code):
        raise CpvError(
            f"'{raw}' has check digit {check}; expected {rule_check_digit(code)} "
            "(give the 8 digits alone, or configure the official CPV list to verify legacy check digits)"
        )
    return code


def significant(code: str) -> str:
    """The code without its trailing zeros, but never shorter than the division."""
    stripped = code.rstrip("0")
    return stripped if len(stripped) >= 2 else code[:2]


@lru_cache(maxsize=1 << 16)
def shared_level(a: str, b: str) -> CpvLevel | None:
    """The deepest hierarchy level at which two codes agree, or ``None`` if not even the division.

    Memoised: a shortlist compares its codes with every candidate's, the same few thousand pairs again
    and again, and this was the largest share of ranking time."""
    sa, sb = significant(a), significant(b)
    common = 0
    for x, y in zip(sa, sb, strict=False):  # codes of different depth
        if x != y:
            break
        common += 1
    if sa == sb:
        return CpvLevel.EXACT
    for level in (CpvLevel.CATEGORY, CpvLevel.CLASS, CpvLevel.GROUP, CpvLevel.DIVISION):
        if common >= level.value:
            return level
    return None


@dataclass(frozen=True)
class CpvMatch:
    """One pair of codes that agree, and how deeply."""

    query_code: str
    candidate_code: str
    level: CpvLevel

    @property
    def credit(self) -> float:
        return LEVEL_CREDIT[self.level]

    @property
    def shared_code(self) -> str:
        """The common ancestor at the shared level (``33190000`` and ``33100000`` share ``33100000``)."""
        if self.level is CpvLevel.EXACT:
            return self.candidate_code
        return self.candidate_code[: self.level.value].ljust(8, "0")


def best_cpv_matches(query_codes: Iterable[str], candidate_codes: Iterable[str]) -> list[CpvMatch]:
    """For each query code, the candidate code sharing the deepest level (strongest first)."""
    candidates = list(candidate_codes)
    matches: list[CpvMatch] = []
    for q in query_codes:
        best: CpvMatch | None = None
        for c in candidates:
            level = shared_level(q, c)
            if level is not None and (best is None or level > best.level):
                best = CpvMatch(q, c, level)
        if best is not None:
            matches.append(best)
    return sorted(matches, key=lambda m: -m.level)


def cpv_overlap(query_codes: Iterable[str], candidate_codes: Iterable[str]) -> float:
    """Credit in [0, 1] of the best-matching pair; 0 when either side has no codes."""
    matches = best_cpv_matches(query_codes, candidate_codes)
    return max((m.credit for m in matches), default=0.0)


def prefix_of(raw: str) -> str:
    """Normalise a CPV filter prefix: digits only, trailing zeros of a full code dropped."""
    digits = raw.split("-")[0].strip()
    if not (digits.isascii() and digits.isdigit()) or not 2 <= len(digits) <= 8:  # never a LIKE wildcard
        raise CpvError(f"'{raw}' is not a CPV prefix: expected 2 to 8 digits")
    return significant(digits.ljust(8, "0")) if len(digits) == 8 else digits
