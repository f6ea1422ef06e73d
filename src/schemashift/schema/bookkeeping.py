"""The one definition of a bookkeeping table: Alembic's version table or schemashift's own.

They live in the user's database but never in the models, so autogenerate must
not propose dropping them, snapshots and pictures leave them out, and lint's
trace does not seed them.  A project's ledger may carry a configured name
(``schemashift.ledger_table``): callers pass it as ``extra``.
"""

from __future__ import annotations

from typing import Iterable

VERSION_TABLE = "alembic_version"
PREFIXES = (VERSION_TABLE, "schemashift_")


def is_bookkeeping(name: str, extra: Iterable[str] = ()) -> bool:
    """A version table or schemashift's own table (``extra``: names configured for this project)."""
    return name.startswith(PREFIXES) or name in set(extra)


__all__ = ["PREFIXES", "VERSION_TABLE", "is_bookkeeping"]
