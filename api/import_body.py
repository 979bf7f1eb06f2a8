"""The text of a bulk import, read as it streams: gzip is inflated (declared with ``Content-Encoding: gzip``
or recognised by its magic bytes), and the byte and line limits are enforced on what the body holds once
inflated, with 413 before a single line is parsed."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import HTTPException, status

from api.limits import IMPORT_BODY_LIMIT
from service.compressed import GzipInflater, TooLarge, is_gzip
from service.errors import FieldProblem, InvalidInput
from service.writes import MAX_IMPORT_LINES

IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": f"larger than {IMPORT_BODY_LIMIT // 2**20} MB or more than {MAX_IMPORT_LINES:,} lines, once inflated"},
    415: {"description": "a Content-Encoding other than gzip"},
}


def _too_large(what: str) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"request body {what} (the limit of a bulk import)")


def _bad_body(reason: str) -> InvalidInput:
    return InvalidInput([FieldProblem(("body",), reason)])


class _Counter:
    """Bytes and lines of the inflated body, refused the moment either passes its limit."""

    def __init__(self) -> None:
        self.size = self.newlines = 0
        self.ends_line = True

    def add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        self.newlines += data.count(b"\n")
        self.ends_line = data.endswith(b"\n")
        if self.size > IMPORT_BODY_LIMIT:
            raise _too_large(f"larger than {IMPORT_BODY_LIMIT // 2**20} MB")
        if self.lines > MAX_IMPORT_LINES:
            raise _too_large(f"of more than {MAX_IMPORT_LINES:,} lines")

    @property
    def lines(self) -> int:
        return self.newlines + (0 if self.ends_line else 1)


async def _with_head(chunks: AsyncIterator[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    """The body's first bytes (at least two, when it has them) and the rest of the stream."""
    head = b""
    while len(head) < 2:
        try:
            head += await anext(chunks)
        except StopAsyncIteration:
            break
    return head, chunks


async def read_import_text(chunks: AsyncIterator[bytes], content_encoding: str | None) -> str:
    """The inflated body as text; 413 past the limits, 415 for an unknown encoding, 422 for a broken gzip
    stream or text that is not UTF-8."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding '{encoding}': send gzip or no encoding")
    head, rest = await _with_head(aiter(chunks))
    inflater = GzipInflater(IMPORT_BODY_LIMIT) if encoding != "identity" or is_gzip(head) else None
    body, counter = bytearray(), _Counter()

    def take(chunk: bytes) -> None:
        data = inflater.feed(chunk) if inflater else chunk
        counter.add(data)
        body.extend(data)

    try:
        take(head)
        async for chunk in rest:
            take(chunk)
        if inflater is not None:
            inflater.finish()
    except TooLarge as exc:
        raise _too_large(f"larger than {IMPORT_BODY_LIMIT // 2**20} MB once inflated") from exc
    except zlib.error as exc:
        raise _bad_body(f"not a valid gzip stream ({exc})") from exc
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_body(f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
