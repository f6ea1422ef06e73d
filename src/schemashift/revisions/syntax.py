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
import sys
from pathlib import Path


def _pyc_path(path: str) -> str:
    """Where Python keeps the file's bytecode (``importlib.util.cache_from_source``, without its cost)."""
    tag = sys.implementation.cache_tag
    if sys.pycache_prefix is not None or sys.flags.optimize or tag is None:
        import importlib.util

        return importlib.util.cache_from_source(path)
    head, sep, name = path.rpartition(os.sep)
    return f"{head}{sep}__pycache__{os.sep}{name.rpartition('.')[0]}.{tag}.pyc"


_MAGIC: list[bytes] = []


def _magic() -> bytes:
    if not _MAGIC:
        import importlib.util

        _MAGIC.append(importlib.util.MAGIC_NUMBER)
    return _MAGIC[0]


def compiled_before(path: Path | str, st: os.stat_result | None = None) -> bool:
    """Python already compiled this very file: its ``.pyc`` records the file's mtime and size.

    The same check Python's import system makes before trusting a ``.pyc``; a
    file that compiled needs no ``compile()`` to prove it has no syntax error.
    """
    try:
        st = st or os.stat(path)
        fd = os.open(_pyc_path(str(path)), os.O_RDONLY)
        try:
            head = os.read(fd, 16)
        finally:
            os.close(fd)
    except (OSError, ValueError, NotImplementedError):
        return False
    if len(head) < 16 or head[:4] != _magic() or head[4:8] != b"\0\0\0\0":
        return False  # another Python, or a hash-based .pyc
    mtime, size = int.from_bytes(head[8:12], "little"), int.from_bytes(head[12:16], "little")
    return mtime == int(st.st_mtime) & 0xFFFFFFFF and size == st.st_size & 0xFFFFFFFF


def compiles(path: str, text: str, st: os.stat_result | None = None, *, pyc_checked: bool = False) -> bool:
    """The file compiles (its ``.pyc`` says so, or ``compile()`` does): Alembic's import would not stop at syntax.

    ``pyc_checked``: the caller found no ``.pyc`` that vouches for it (``compiled_before_all``).
    """
    if not pyc_checked and compiled_before(path, st):
        return True
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    return True


def compiled_before_all(paths: list[str], stats: list[os.stat_result]) -> list[bool]:
    """``compiled_before`` of each file, with each ``__pycache__`` listed once (no open() for a missing .pyc)."""
    tag = sys.implementation.cache_tag
    if sys.pycache_prefix is not None or sys.flags.optimize or tag is None:
        return [compiled_before(path, st) for path, st in zip(paths, stats)]
    import struct

    pack = struct.Struct("<4sIII").pack  # magic, flags 0 (not hash-based), the source's mtime and size
    magic = _magic()
    suffix = f".{tag}.pyc"
    sep = os.sep
    listed: dict[str, set[str]] = {}
    pycs = []  # each file's .pyc, or None where its __pycache__ has none
    for path in paths:
        head, _, name = path.rpartition(sep)
        cache = f"{head}{sep}__pycache__{sep}"
        names = listed.get(cache)
        if names is None:
            try:
                names = listed[cache] = set(os.listdir(cache))
            except OSError:
                names = listed[cache] = set()
        pyc = name[:name.rfind(".")] + suffix
        pycs.append(cache + pyc if pyc in names else None)
    found = []
    read, close, open_, rdonly = os.read, os.close, os.open, os.O_RDONLY
    for pyc, st in zip(pycs, stats):
        if pyc is None:
            found.append(False)
            continue
        try:
            fd = open_(pyc, rdonly)
            try:
                head16 = read(fd, 16)
            finally:
                close(fd)
        except OSError:
            found.append(False)
            continue
        found.append(head16 == pack(magic, 0, int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF))
    return found
