"""The README's API table is a contract: every request-body field it documents is one the API accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.main import create_app
from tests.conftest import REPO

ROW = re.compile(r"^\| `(POST|PUT|PATCH) ([^`]+)` \| [^`|]*`(\{[^`]*\})`", re.MULTILINE)
NESTED = re.compile(r"\{[^{}]*\}")


def documented_bodies() -> list[tuple[str, str, list[str]]]:
    """(method, path, top-level field names) for each README API row that shows a JSON body."""
    bodies = []
    for method, path, body in ROW.findall((REPO / "README.md").read_text(encoding="utf-8")):
        inner = body[1:-1]
        while NESTED.search(inner):  # nested objects' fields are not the body's own
            inner = NESTED.sub("", inner)
        names = [m.group(1) for part in inner.split(",") if (m := re.match(r'\s*"(\w+)"', part))]
        bodies.append((method, path, names))
    return bodies


def body_properties(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    """The properties of the operation's JSON request body; README paths name parameters their own way."""
    pattern = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", r"\\{[^}]+\\}", re.escape(path)) + "$")
    [operation] = [ops[method.lower()] for p, ops in openapi["paths"].items() if pattern.match(p) and method.lower() in ops]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    return set(openapi["components"]["schemas"][name]["properties"])


def test_the_readme_documents_request_bodies() -> None:
    paths = {path for _method, path, _names in documented_bodies()}
    assert {"/match", "/needs/{id}/feedback", "/cpv/suggest"} <= paths


@pytest.mark.parametrize(("method", "path", "names"), documented_bodies(), ids=str)
def test_every_documented_body_field_is_accepted(method: str, path: str, names: list[str]) -> None:
    accepted = body_properties(create_app().openapi(), method, path)
    assert names and set(names) <= accepted, f"README documents {sorted(set(names) - accepted)} for {method} {path}"
