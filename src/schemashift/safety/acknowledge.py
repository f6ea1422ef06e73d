"""Reviewed acknowledgements of data loss, read from a revision's source.

Why: some upgrades destroy data on purpose (a column nobody reads, a table
of expired sessions).  ``verify`` fails on every loss it finds unless the
revision says, in a comment a reviewer sees, which kind of loss it means and
why.  The spelling is the one ``lint`` reads (``checks.suppress``, used here
as is), so one comment style covers both::

    # schemashift: allow SS-V101 -- the legacy fax column was never read
    # schemashift: allow SS-V101,SS-V103 -- reason

A reason after ``--`` is required; a comment without one acknowledges
nothing.  verify's rules: ``SS-V101`` dropped table or column, ``SS-V102``
deleted rows, ``SS-V103`` values changed in place.
"""

from __future__ import annotations

from pathlib import Path


def acknowledged_rules(path: str | Path | None) -> dict[str, str]:
    """``{rule id: reason}`` a revision file acknowledges (empty if it cannot be read)."""
    from ..checks.suppress import suppressions

    return suppressions(str(path)) if path else {}
