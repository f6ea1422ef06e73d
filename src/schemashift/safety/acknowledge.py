"""Reviewed acknowledgements of data loss, read from a revision's source.

Why: some upgrades destroy data on purpose (a column nobody reads, a table
of expired sessions).  ``verify`` fails on every loss it finds unless the
revision says, in a comment a reviewer sees, which kind of loss it means and
why.  The spelling is the one ``lint`` reads for its rules, so one comment
style covers both::

    # schemashift: allow SS-V101 -- the legacy fax column was never read
    # schemashift: allow SS-V101,SS-V103 -- reason

A reason after ``--`` is required; a comment without one acknowledges
nothing.  verify's rules: ``SS-V101`` dropped table or column, ``SS-V102``
deleted rows, ``SS-V103`` values changed in place.
"""

from __future__ import annotations

import re
from pathlib import Path

ALLOW = re.compile(r"#\s*schemashift:\s*allow\s+([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)\s+--\s*(\S.*?)\s*$", re.MULTILINE)


def allowed_in(text: str) -> dict[str, str]:
    """``{rule id: reason}`` for every ``# schemashift: allow`` comment in ``text``."""
    found: dict[str, str] = {}
    for match in ALLOW.finditer(text):
        for rule in match.group(1).split(","):
            found[rule.strip().upper()] = match.group(2)
    return found


def acknowledged_rules(path: str | Path | None) -> dict[str, str]:
    """The rules a revision file acknowledges (empty if it cannot be read)."""
    if not path:
        return {}
    try:
        return allowed_in(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
