"""Proof that a revision file is Python that compiles, without importing it.

Alembic imports every revision file, so a file that does not compile stops
its ``heads``; a reader of the text alone would not notice.  A file Python
already compiled (its ``.pyc`` records this very file's mtime and size, the
check Python's own import makes) needs nothing more; any other is compiled
here (no import, no execution), about a tenth of a millisecond for a usual
revision file.
"""

from __future__ import annotations

import os
from pathlib import Path


def compiled_before(path: Path, st: os.stat_result | None = None) -> bool:
    """Python already compiled this very file: its ``.pyc`` records the file's mtime and size.

    The same check Python's import system makes before trusting a ``.pyc``; a
    file that compiled needs no ``compile()`` to prove it has no syntax error.
    """
    import importlib.util

    try:
        st = st or path.stat()
        with open(importlib.util.cache_from_source(str(path)), "rb") as fh:
            head = fh.read(16)
    except (OSError, ValueError, NotImplementedError):
        return False
    if len(head) < 16 or head[:4] != importlib.util.MAGIC_NUMBER or head[4:8] != b"\0\0\0\0":
        return False  # another Python, or a hash-based .pyc
    mtime, size = int.from_bytes(head[8:12], "little"), int.from_bytes(head[12:16], "little")
    return mtime == int(st.st_mtime) & 0xFFFFFFFF and size == st.st_size & 0xFFFFFFFF


def compiles(path: Path, text: str, st: os.stat_result | None = None) -> bool:
    """The file compiles (its ``.pyc`` says so, or ``compile()`` does): Alembic's import would not stop at syntax."""
    if compiled_before(path, st):
        return True
    try:
        compile(text, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    return True
