"""Generate ``data/cpv_2008.csv.gz``, the official CPV list shipped with the service.

Source: the Common Procurement Vocabulary, CPV 2008, Commission Regulation (EC) No 213/2008, as
published by the EU Publications Office (EU reference data, reuse allowed), read from
``../shared/data/cpv_labels_en_da_sv.csv`` (columns ``code``, ``code_with_check``, ``en``, ``da``,
``sv``; 9,454 codes). Every code, its official check digit and its English, Swedish and Danish labels
are kept (Norwegian is not in the list): Danish is what Norwegian falls back to (matcher/catalog.py), so Norwegian rows embed the
same text as when the benchmarks were measured with that file. The hand-written Norwegian division
labels (data/cpv_divisions.json) are merged on top when the catalog loads.

    python -m tools.build_cpv_list            # writes data/cpv_2008.csv.gz
    python -m tools.build_cpv_list --check    # exit 1 if the shipped file differs from the source
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "cpv_labels_en_da_sv.csv"
TARGET = REPO / "data" / "cpv_2008.csv.gz"
# The source's order: the catalog then iterates its labels exactly as when loaded from that file, so
# caches keyed on the labels (indexer/cpv_labels.py, ≈ 95 s to embed) stay valid.
COLUMNS = ("code", "code_with_check", "en", "da", "sv")


def cpv_rows(source: Path = SOURCE) -> list[tuple[str, ...]]:
    """The list's rows in code order, each checked (8 digits, ``-`` and one check digit, an English label)."""
    rows: dict[str, tuple[str, ...]] = {}
    with source.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            values = tuple((row.get(column) or "").strip() for column in COLUMNS)
            code, with_check, english = values[0], values[1], values[2]
            if not (len(code) == 8 and code.isascii() and code.isdigit()):
                raise ValueError(f"{source}:{line}: '{code}' is not an 8-digit CPV code")
            if len(with_check) != 10 or not with_check.startswith(code + "-") or not with_check[-1].isdigit():
                raise ValueError(f"{source}:{line}: '{with_check}' is not '{code}-' and a check digit")
            if not english or code in rows:
                raise ValueError(f"{source}:{line}: {'no English label' if not english else 'code given twice'} for {code}")
            rows[code] = values
    return [rows[code] for code in sorted(rows)]


def csv_text(rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def gzip_bytes(text: str) -> bytes:
    """No timestamp or file name in the header: the same list always gives the same bytes."""
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="only compare the shipped file with the source")
    args = parser.parse_args(argv)
    text = csv_text(cpv_rows(args.source))
    if args.check:
        same = args.target.exists() and gzip.decompress(args.target.read_bytes()).decode("utf-8") == text
        print(f"{args.target} {'matches' if same else 'differs from'} {args.source}")
        return 0 if same else 1
    args.target.write_bytes(gzip_bytes(text))
    print(f"wrote {args.target}: {text.count(chr(10)) - 1} codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
