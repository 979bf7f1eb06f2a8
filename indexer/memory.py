"""Give freed heap memory back to the operating system.

glibc keeps freed pages for reuse. After one-off work that allocates and frees hundreds of MB (the
int8 model copy replacing fp32 layers, loading and reconciling indexes at start) the service's resident
memory would otherwise stay at that high-water mark for its whole life.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def release_freed_memory() -> None:
    """Collect garbage, then trim the C heap where the C library can (glibc); elsewhere a no-op."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return
    trim(0)
