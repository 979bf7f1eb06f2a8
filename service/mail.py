"""Sending e-mail: what the rest of the service calls. A message is written to the outbox in the caller's
transaction, so it goes out if and only if that transaction commits; a background sender
(service/mail_sender.py) delivers it, retrying until it succeeds or a person has to look."""

from __future__ import annotations

import re

from sqlmodel import Session

from service.errors import FieldProblem, InvalidInput
from store import outbox_queries
from store.change_notices import announce
from store.outbox_models import OutgoingMail

MAX_ADDRESS = 254  # RFC 5321's limit on a forward path, less its angle brackets

# One bare address: no display name, no list, no comment, nothing a header could be split on.
_ATOM = r"[^@\s,;:<>()\[\]\"\\]+"
_ADDRESS = re.compile(f"{_ATOM}@{_ATOM}")


def enqueue_mail(session: Session, *, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> OutgoingMail:
    """Queue a plain-text message to one address, sent once the caller's transaction commits.

    Raises ``InvalidInput`` naming ``to``, ``subject`` or ``headers`` for anything that is not one address
    or that holds a line break (header injection)."""
    problems = [p for p in (address_problem(to), _subject_problem(subject)) if p is not None]
    problems += [
        FieldProblem(("headers", name), "a header cannot contain line breaks or control characters")
        for name, value in (headers or {}).items()
        if _has_control(name) or _has_control(value) or ":" in name
    ]
    if problems:
        raise InvalidInput(problems)
    mail = outbox_queries.enqueue(session, to=to, subject=subject, body=body, headers=headers)
    announce(session)  # on PostgreSQL, wakes every process's sender at the commit instead of at its next poll
    return mail


def address_problem(to: str, field: str = "to") -> FieldProblem | None:
    """Why ``to`` is not one bare e-mail address we would send to, naming ``field``; None when it is."""
    if _has_control(to):
        return FieldProblem((field,), "an e-mail address cannot contain line breaks or control characters")
    if len(to) > MAX_ADDRESS:
        return FieldProblem((field,), f"an e-mail address is at most {MAX_ADDRESS} characters")
    if not _ADDRESS.fullmatch(to):
        return FieldProblem((field,), "not one e-mail address (name@example.org, without a name or brackets)")
    return None


def _subject_problem(subject: str) -> FieldProblem | None:
    if _has_control(subject):
        return FieldProblem(("subject",), "a subject cannot contain line breaks or control characters")
    return None


def _has_control(value: str) -> bool:
    """CR, LF and every other character that could end a header line (str.splitlines's list) or hide in one."""
    return any(ord(ch) < 32 or ord(ch) == 127 or ch in "\x85\u2028\u2029" for ch in value)
