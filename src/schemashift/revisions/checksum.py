"""The checksum of a revision file: what the ledger records and ``validate`` compares.

Blind to line endings and trailing blank lines, so a checkout on another
platform or an editor's final newline is not an edit.  Its own module so the
ledger and the revision index share it without importing each other.
"""

from __future__ import annotations

import hashlib


def file_checksum(data: bytes) -> str:
    """sha256 of a revision file's bytes, with line endings and trailing blank lines normalised."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data.rstrip(b"\n") + b"\n").hexdigest()
