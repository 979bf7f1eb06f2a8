"""Reader for the UK Contracts Finder extract in ``../shared/data`` (JSON lines, one notice each)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from matcher.cpv import CpvError, parse_cpv
from matcher.names import name_key, split_winners

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
UK_FILE = SHARED_DATA / "uk_contracts_finder_lancashire.jsonl"


@dataclass(frozen=True)
class AwardNotice:
    id: str
    title: str
    description: str
    buyer: str
    cpv_codes: tuple[str, ...]
    awarded_on: dt.date | None
    winners: tuple[str, ...]  # as written

    @property
    def winner_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name_key(w) for w in self.winners))

    @property
    def buyer_key(self) -> str:
        """Councils appear as "Chorley Council" and "Chorley Borough Council"; both are Chorley."""
        words = [w for w in name_key(self.buyer).split() if w not in {"borough", "city", "county", "council", "district"}]
        return " ".join(words[:2])


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _codes(raw: str | None) -> tuple[str, ...]:
    codes = []
    for token in (raw or "").replace(",", " ").split():
        try:
            codes.append(parse_cpv(token))
        except CpvError:
            continue
    return tuple(dict.fromkeys(codes))


def read_uk_awards(path: Path = UK_FILE) -> list[AwardNotice]:
    """Notices with at least one named winner; award date, else publication date."""
    notices = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            winners = tuple(split_winners(row.get("awarded_supplier") or ""))
            if not winners:
                continue
            notices.append(
                AwardNotice(
                    id=row["id"],
                    title=(row.get("title") or "").strip(),
                    description=(row.get("description") or "").strip(),
                    buyer=(row.get("organisation") or "").strip(),
                    cpv_codes=_codes(row.get("cpv_codes")),
                    awarded_on=_date(row.get("awarded_date")) or _date(row.get("published_date")),
                    winners=winners,
                )
            )
    return notices
