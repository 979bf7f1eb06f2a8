"""Errors the service raises for bad input, with the field and the reason, so the API can answer
with a clear 4xx and the CLI with a clear message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str
    line: int | None = None


@dataclass
class InvalidInput(Exception):
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(
            (f"line {p.line}: " if p.line else "") + ".".join(str(x) for x in p.loc) + f": {p.msg}" for p in self.problems
        )


class NotFound(Exception):
    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"{kind} '{entity_id}' not found")
        self.kind, self.entity_id = kind, entity_id
