"""Which rows pass a shortlist's filters, answered from memory.

Reading the allowed keys from the database cost a filtered shortlist at 100,000 suppliers about 100 ms
(every key of "Norway, small or medium" crossed the connection, then was hashed for FAISS), more than all
the rest of it. The filterable fields are kept here beside the row facts instead, maintained by the same
writes, and a filter is a few vectorised lookups giving a ``KeyMask``.

Single-valued fields (country, region, size, status) are columns over the key space holding a small code
per row (its value's number in the field's vocabulary); a filter turns its values into a lookup table
over that vocabulary (regions match by prefix) and indexes it with the column. Multi-valued fields (CPV
codes, the countries a supplier also serves) are inverted: value to the set of keys holding it. The
semantics are ``MatchFilters.admits``, the store's SQL (``store.repository.allowed_keys``) is the reference
the tests hold this to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from indexer.key_mask import KeyMask
from matcher.filters import MatchFilters

ABSENT = 0  # the code of "no row" and of a row without a value


class _Column:
    """One single-valued field: a code per key, and the values the codes stand for."""

    def __init__(self) -> None:
        self.codes = np.zeros(0, dtype=np.uint16)
        self.values: list[str | None] = [None]  # code 0: absent
        self._code_of: dict[str, int] = {}

    def put(self, key: int, value: str | None) -> None:
        if key >= len(self.codes):
            grown = np.zeros(max(key + 1, len(self.codes) + len(self.codes) // 4, 1024), dtype=np.uint16)
            grown[: len(self.codes)] = self.codes
            self.codes = grown
        self.codes[key] = self._code(value)

    def clear(self, key: int) -> None:
        if key < len(self.codes):
            self.codes[key] = ABSENT

    def _code(self, value: str | None) -> int:
        if not value:
            return ABSENT
        code = self._code_of.get(value)
        if code is None:
            if len(self.values) > np.iinfo(np.uint16).max:
                raise OverflowError("more distinct values than a column can number")
            code = self._code_of[value] = len(self.values)
            self.values.append(value)
        return code

    def where(self, admits: Callable[[str], bool], size: int) -> np.ndarray:
        """A mask over ``size`` keys: the rows whose value ``admits``."""
        table = np.array([value is not None and admits(value) for value in self.values], dtype=bool)
        mask = np.zeros(size, dtype=bool)
        mask[: len(self.codes)] = table[self.codes[:size]]
        return mask


class _Inverted:
    """One multi-valued field: each value's keys."""

    def __init__(self) -> None:
        self.keys_of: dict[str, set[int]] = {}
        self._values_of: dict[int, tuple[str, ...]] = {}

    def put(self, key: int, values: Iterable[str]) -> None:
        self.clear(key)
        kept = tuple(dict.fromkeys(v for v in values if v))
        if kept:
            self._values_of[key] = kept
        for value in kept:
            self.keys_of.setdefault(value, set()).add(key)

    def clear(self, key: int) -> None:
        for value in self._values_of.pop(key, ()):
            holders = self.keys_of[value]
            holders.discard(key)
            if not holders:
                del self.keys_of[value]

    def where(self, admits: Callable[[str], bool], size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        for value, holders in self.keys_of.items():
            if admits(value):
                mask[np.fromiter(holders, dtype=np.int64, count=len(holders))] = True
        return mask


class FilterIndex:
    """The filterable fields of one side's rows; not thread-safe on its own (``SideIndex`` locks)."""

    def __init__(self) -> None:
        self.country = _Column()
        self.region = _Column()
        self.size = _Column()
        self.status = _Column()
        self.cpv = _Inverted()
        self.markets = _Inverted()  # the other countries a supplier serves
        self._end = 0  # one past the highest key ever put

    def put(
        self,
        key: int,
        *,
        cpv_codes: Iterable[str],
        country: str | None,
        region: str | None,
        operating_countries: Iterable[str] = (),
        size: str | None = None,
        status: str | None = None,
    ) -> None:
        if key < 0:
            raise ValueError("row keys are never negative")
        self._end = max(self._end, key + 1)
        self.country.put(key, country)
        self.region.put(key, region)
        self.size.put(key, size)
        self.status.put(key, status)
        self.cpv.put(key, cpv_codes)
        self.markets.put(key, (c for c in operating_countries if c != country))

    def remove(self, key: int) -> None:
        for column in (self.country, self.region, self.size, self.status):
            column.clear(key)
        self.cpv.clear(key)
        self.markets.clear(key)

    def allowed(self, filters: MatchFilters) -> KeyMask | None:
        """The rows that pass ``filters`` (``None`` when no filter is set: every row passes)."""
        if not filters.active:
            return None
        size = self._end
        masks: list[np.ndarray] = []
        if filters.cpv_prefixes:
            prefixes = filters.cpv_prefixes
            masks.append(self.cpv.where(lambda code: code.startswith(prefixes), size))
        if filters.countries:
            countries = set(filters.countries)
            masks.append(self.country.where(countries.__contains__, size) | self.markets.where(countries.__contains__, size))
        if filters.regions:
            regions = filters.regions
            masks.append(self.region.where(lambda region: region.startswith(regions), size))
        if filters.sizes:
            masks.append(self.size.where(set(filters.sizes).__contains__, size))
        if filters.statuses:
            masks.append(self.status.where(set(filters.statuses).__contains__, size))
        combined = masks[0]
        for mask in masks[1:]:
            combined &= mask
        return KeyMask(combined)
