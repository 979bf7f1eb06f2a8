"""Gzip-compressed input, recognised by its magic bytes rather than its name: publishers ship bulk files
gzipped, and a file saved as ``releases.json`` may still be gzip. Decompression is capped, so a small
gzip bomb cannot inflate past the limit the uncompressed body would have had."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around a deflate stream


def is_gzip(head: bytes) -> bool:
    return head[:2] == GZIP_MAGIC


def open_text(path: Path, *, encoding: str = "utf-8") -> IO[str]:
    """The file as text, decompressed when it is gzip whatever its name; lines as ``open`` splits them."""
    with path.open("rb") as handle:
        head = handle.read(2)
    if is_gzip(head):
        return gzip.open(path, "rt", encoding=encoding)
    return path.open(encoding=encoding)


class TooLarge(Exception):
    """The decompressed data would pass the limit."""


class GzipInflater:
    """Inflates a gzip stream fed in chunks (several members, as ``cat a.gz b.gz`` makes, are one stream),
    never producing more than ``limit`` bytes in all; raises :class:`TooLarge` past it and ``zlib.error``
    for data that is not gzip."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._between_members = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            if self._between_members:
                if not data.strip(b"\0"):
                    return bytes(out)  # zero padding after the last member, as some tools write
                self._inflater, self._between_members = zlib.decompressobj(_GZIP_WBITS), False
            # At most one byte past the limit per call: enough to know it is passed, never a bomb's worth.
            chunk = self._inflater.decompress(data, self.limit - self.produced + 1)
            self.produced += len(chunk)
            if self.produced > self.limit:
                raise TooLarge
            out += chunk
            if self._inflater.eof:
                data, self._between_members = self._inflater.unused_data, True
            else:
                data = self._inflater.unconsumed_tail
        return bytes(out)

    def finish(self) -> None:
        """Raise ``zlib.error`` if the stream stopped inside a member (a truncated file)."""
        if not (self._between_members or self._inflater.eof):
            raise zlib.error("the gzip stream is truncated")
