"""Reference data from files: the hand-written CPV division labels shipped in ``data/`` and, when a
user supplies it, the official CPV code list."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from matcher.catalog import CpvCatalog, merge_catalogs

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DIVISIONS_FILE = DATA_DIR / "cpv_divisions.json"


def division_catalog(path: Path = DIVISIONS_FILE) -> CpvCatalog:
    """The 45 divisions with English, Swedish and Norwegian labels."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return CpvCatalog(labels={f"{division}000000": labels for division, labels in raw.items()})


def official_catalog(path: Path) -> CpvCatalog:
    """Labels and check digits from the official list (columns ``code``, ``code_with_check``, then one per language)."""
    labels: dict[str, dict[str, str]] = {}
    checks: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "code_with_check"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        languages = [f for f in reader.fieldnames or () if f in ("en", "sv", "no", "nb", "da")]  # others unused
        for line, row in enumerate(reader, start=2):
            code, with_check = row["code"].strip(), row["code_with_check"].strip()
            if len(code) != 8 or not code.isdigit() or not with_check.startswith(code + "-"):
                raise ValueError(f"{path}:{line}: malformed code '{code}' / '{with_check}'")
            checks[code] = with_check[-1]
            labels[code] = {("no" if lang == "nb" else lang): row[lang].strip() for lang in languages if row[lang].strip()}
    log.info("loaded %d official CPV codes from %s", len(checks), path)
    return CpvCatalog(labels=labels, check_digits=checks)


def reference_texts() -> list[str]:
    """The sample profiles and needs (sv/no/en): the reference corpus for language means."""
    texts: list[str] = []
    for name in ("suppliers.jsonl", "needs.jsonl"):
        with (DATA_DIR / name).open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    heading = row.get("name") or row.get("title")
                    texts.append(f"{heading}. {row['description']}" if heading else row["description"])
    return texts


def load_catalog(official: Path | None) -> CpvCatalog:
    base = division_catalog()
    return merge_catalogs(base, official_catalog(official)) if official else base
