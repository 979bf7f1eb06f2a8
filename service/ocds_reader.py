"""Reading Open Contracting Data Standard (OCDS 1.1) files, the shape detected from the content.

Portals publish the same releases in three shapes: a release package (``{"releases": [...]}``), a record
package (``{"records": [...]}``, each record a compiled release and/or its releases) and JSON lines (one
release or package per line). Each release comes out with where it was found, so a problem names the line
(JSON lines) or the release index (packages). Releases are checked for the structure the importer relies
on before anything is written: an import is all or nothing. The value readers below turn what portals
write (numeric ids, country names, free-text regions, party scales) into the store's values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from matcher.countries import country_code
from matcher.names import name_key
from service.errors import NESTED_TOO_DEEPLY, FieldProblem, InvalidInput
from store import models

MAX_RELEASES = 200_000
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")  # an escaped NUL, not an escaped backslash + "u0000"
SCALES = {"micro": "micro", "sme": "small", "small": "small", "medium": "medium", "large": "large"}
COUNTRIES = {
    **dict.fromkeys(("united kingdom", "great britain", "england", "scotland", "wales", "northern ireland"), "GB"),
    **dict.fromkeys(("norway", "norge", "noreg"), "NO"),
    **dict.fromkeys(("sweden", "sverige"), "SE"),
    **dict.fromkeys(("denmark", "danmark"), "DK"),
    **dict.fromkeys(("finland", "suomi"), "FI"),
}
_NUTS = re.compile(r"^[A-Z]{2}[0-9A-Z]{0,3}$")
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._:/-]")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FoundRelease:
    release: dict[str, Any]
    loc: Loc
    """Where it is inside its document, e.g. ``("releases", 3)`` or ``("records", 0, "compiledRelease")``."""
    line: int | None = None
    """Its line in a JSON-lines file."""


# What each object the importer reads must hold where present (JSON null counts as absent): a list of
# objects (list), an object (dict) or a list of strings (str).
_RELEASE: dict[str, type] = {"parties": list, "awards": list, "tender": dict, "buyer": dict}
_SHAPES: dict[str, dict[str, type]] = {
    "parties": {"identifier": dict, "address": dict, "details": dict, "roles": str},
    "awards": {"suppliers": list, "items": list},
    "tender": {"items": list, "tenderPeriod": dict, "classification": dict},
    "items": {"classification": dict, "additionalClassifications": list},
}


def read_releases(text: str) -> list[FoundRelease]:
    """Every release in the file; raises :class:`InvalidInput` naming each malformed line or release."""
    problems: list[FieldProblem] = []
    text = _without_nul(text)
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise InvalidInput([FieldProblem(("file",), NESTED_TOO_DEEPLY)]) from exc
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data" and not _first_line_is_object(text):
            raise InvalidInput([FieldProblem(("file",), f"not valid JSON ({exc.msg}, column {exc.colno})", exc.lineno)]) from exc
        found = _read_lines(text, problems)
    else:
        found = _unpack(document, (), None, problems)
    if len(found) > MAX_RELEASES:
        problems.append(FieldProblem(("file",), f"more than {MAX_RELEASES} releases"))
    if problems:
        raise InvalidInput(problems)
    return found


def _without_nul(text: str) -> str:
    """The file with every escaped NUL (``\\u0000``) removed from its strings.

    PostgreSQL refuses NUL in text. A user typing one is told so (store.models), but a publisher's
    stray NUL is not the importer's to fix and should not block a whole file, so it is dropped here,
    before parsing, where it reaches every field at once. Strict JSON has no raw NUL in a string, and an
    escaped backslash before ``u0000`` (an even run of backslashes) is left alone.
    """
    return _NUL_ESCAPE.sub(r"\1", text) if "\\u0000" in text else text


def _first_line_is_object(text: str) -> bool:
    """JSON lines start with a whole object on the first line; a pretty-printed package does not."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return len(first) > 2 and first.startswith("{") and first.endswith("}")


def _read_lines(text: str, problems: list[FieldProblem]) -> list[FoundRelease]:
    found: list[FoundRelease] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(FieldProblem(("line",), f"not valid JSON ({exc.msg}, column {exc.colno})", number))
            continue
        except RecursionError:
            problems.append(FieldProblem(("line",), NESTED_TOO_DEEPLY, number))
            continue
        found += _unpack(document, (), number, problems)
    return found


def _unpack(document: Any, loc: Loc, line: int | None, problems: list[FieldProblem]) -> list[FoundRelease]:
    """The releases of a release package, a record package or a lone release."""
    if isinstance(document, dict) and "releases" in document and "ocid" not in document:  # an ocid: a record
        return _releases(document["releases"], (*loc, "releases"), line, problems)
    if isinstance(document, dict) and "records" in document:
        if not isinstance(document["records"], list):
            problems.append(FieldProblem((*loc, "records"), "must be a list of records", line))
            return []
        found: list[FoundRelease] = []
        for i, record in enumerate(document["records"]):
            found += _record(record, (*loc, "records", i), line, problems)
        return found
    if isinstance(document, dict) and "ocid" in document and ("compiledRelease" in document or "releases" in document):
        return _record(document, loc, line, problems)
    if isinstance(document, dict) and "ocid" in document:
        return _releases([document], loc, line, problems, single=True)
    problems.append(FieldProblem(loc or ("file",), "neither a release package, a record package nor a release", line))
    return []


def _record(record: Any, loc: Loc, line: int | None, problems: list[FieldProblem]) -> list[FoundRelease]:
    """A record's compiled release when it has one (the publisher's own merge), else its releases by date."""
    if not isinstance(record, dict):
        problems.append(FieldProblem(loc, "a record must be an object", line))
        return []
    compiled = record.get("compiledRelease")
    if compiled is not None:
        return _releases([_with_ocid(compiled, record)], (*loc, "compiledRelease"), line, problems, single=True)
    releases = record.get("releases")
    if not isinstance(releases, list):
        problems.append(FieldProblem(loc, "a record needs a compiledRelease or a list of releases", line))
        return []
    found = _releases([_with_ocid(r, record) for r in releases], (*loc, "releases"), line, problems)
    return sorted(found, key=lambda f: str(f.release.get("date") or ""))  # stable: same dates keep file order


def _with_ocid(release: Any, record: dict[str, Any]) -> Any:
    """Linked releases (only a url) and some compiled ones leave the ocid to the record."""
    if isinstance(release, dict) and "ocid" not in release and "ocid" in record:
        return {**release, "ocid": record["ocid"]}
    return release


def _releases(
    releases: Any, loc: Loc, line: int | None, problems: list[FieldProblem], *, single: bool = False
) -> list[FoundRelease]:
    if not isinstance(releases, list):
        problems.append(FieldProblem(loc, "must be a list of releases", line))
        return []
    found: list[FoundRelease] = []
    for i, release in enumerate(releases):
        where = loc if single else (*loc, i)
        before = len(problems)
        _check_release(release, where, line, problems)
        if len(problems) == before:
            found.append(FoundRelease(release, where, line))
    return found


def _check_release(release: Any, loc: Loc, line: int | None, problems: list[FieldProblem]) -> None:
    if not isinstance(release, dict):
        problems.append(FieldProblem(loc, "a release must be an object", line))
        return
    if not isinstance(release.get("ocid"), str) or not release["ocid"].strip():
        problems.append(FieldProblem((*loc, "ocid"), "a release needs an ocid", line))
    _check_fields(release, _RELEASE, loc, line, problems)


def _check_fields(obj: dict[str, Any], shape: dict[str, type], loc: Loc, line: int | None, problems: list[FieldProblem]) -> None:
    """Check the fields of ``obj`` named in ``shape``, and the objects inside them, recursively."""
    for field, expected in shape.items():
        value = obj.get(field)
        if value is None:
            continue
        where = (*loc, field)
        if expected is dict:
            if not isinstance(value, dict):
                problems.append(FieldProblem(where, "must be an object", line))
            else:
                _check_fields(value, _SHAPES.get(field, {}), where, line, problems)
        elif not isinstance(value, list):
            problems.append(FieldProblem(where, "must be a list", line))
        elif expected is str:
            if not all(isinstance(v, str) for v in value):
                problems.append(FieldProblem(where, "must be a list of strings", line))
        else:
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    problems.append(FieldProblem((*where, i), "must be an object", line))
                else:
                    _check_fields(item, _SHAPES.get(field, {}), (*where, i), line, problems)


# ---------------------------------------------------------------- values


def text_of(value: Any, limit: int | None = None) -> str | None:
    """A trimmed string cut to ``limit``, or None; numbers count as text since some ids are published as numbers."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return (text[:limit].rstrip() if limit else text) or None


def date_of(value: Any) -> dt.date | None:
    text = text_of(value)
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def entity_id(raw: str) -> str | None:
    """``raw`` within the store's id pattern; a long one keeps a hash of the whole so it stays distinct."""
    cleaned = _NOT_IN_ID.sub("-", re.sub(r"\s+", "", raw)).lstrip("._:/-")
    if len(cleaned) > 80:
        cleaned = f"{cleaned[:67]}-{_short_hash(raw)}"
    return cleaned or None


def supplier_id(party: dict[str, Any]) -> str | None:
    """``{scheme}-{id}`` from the org identifier (``GB-COH-01234567``), else one derived from the normalised
    name, so "ABC Ltd" and "A.B.C. Limited" in different notices are one supplier."""
    identifier = party.get("identifier") or {}
    scheme, local = text_of(identifier.get("scheme")), text_of(identifier.get("id"))
    if scheme and local:
        raw = local if local.upper().startswith(f"{scheme.upper()}-") else f"{scheme}-{local}"
        if cleaned := entity_id(raw):
            return cleaned
    name = text_of(party.get("name"))
    return f"NAME-{_short_hash(name_key(name))}" if name else None


def country_of(address: dict[str, Any]) -> str | None:
    """ISO alpha-2 from a two-letter code (the EU's UK and EL read as GB and GR) or a country name we
    know; None rather than a guess, or a code the supplier's validation would refuse ("XX")."""
    for value in (address.get("country"), address.get("countryName")):
        code = text_of(value)
        if code and len(code) == 2:
            with suppress(ValueError):
                return country_code(code)
    return COUNTRIES.get((text_of(address.get("countryName")) or "").casefold())


def region_of(address: dict[str, Any]) -> str | None:
    """Only a NUTS code: region filters match by code prefix, so a free-text region would never match."""
    region = text_of(address.get("region"))
    return region if region and _NUTS.match(region) else None


def supplier_fields(party: dict[str, Any]) -> dict[str, Any]:
    """The supplier fields a party fills (only those it has)."""
    address = party.get("address") or {}
    scale = text_of((party.get("details") or {}).get("scale"))
    fields = {
        "name": text_of(party.get("name"), models.MAX_NAME),
        "country": country_of(address),
        "region": region_of(address),
        "size": SCALES.get(scale.casefold()) if scale else None,
    }
    return {key: value for key, value in fields.items() if value}


def cpv_ids(items: Sequence[dict[str, Any]], classification: dict[str, Any] | None = None) -> list[str]:
    """The CPV ids of items' classifications (main, then additional), or of one classification."""
    found: list[str] = []
    for item in [*items, {"classification": classification}]:
        for c in [item.get("classification") or {}, *(item.get("additionalClassifications") or [])]:
            code = text_of(c.get("id"))
            if code and (text_of(c.get("scheme")) or "").upper() == "CPV":
                found.append(code)
    return found
