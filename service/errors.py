"""Errors the service raises for bad input, with the field and the reason, so the API can answer
with a clear 4xx and the CLI with a clear message."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROBLEMS = 100
"""Problems listed in one refusal; the rest are only counted, so 200,000 bad lines do not answer 16 MB."""

NESTED_TOO_DEEPLY = "JSON nested too deeply (arrays or objects inside each other, about 1,000 levels or more)"
"""Python's JSON parser gives up (RecursionError) long before any real record is that deep."""


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str
    line: int | None = None


@dataclass
class InvalidInput(Exception):
    problems: list[FieldProblem] = field(default_factory=list)
    more: int = 0
    """Problems found beyond those listed."""

    def __post_init__(self) -> None:
        if len(self.problems) > MAX_PROBLEMS:
            self.more += len(self.problems) - MAX_PROBLEMS
            self.problems = self.problems[:MAX_PROBLEMS]

    @property
    def total(self) -> int:
        return len(self.problems) + self.more

    def __str__(self) -> str:
        return "; ".join(
            (f"line {p.line}: " if p.line else "") + ".".join(str(x) for x in p.loc) + f": {p.msg}" for p in self.problems
        ) + (f"; and {self.more} more" if self.more else "")


class NotFound(Exception):
    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"{kind} '{entity_id}' not found")
        self.kind, self.entity_id = kind, entity_id
