"""schemashift's own tables: in the user's database, never in their models.

Bookkeeping tables are defined once, in ``schema/bookkeeping.py``; here the
project's configured ledger name (``schemashift.ledger_table``) is added to
them.  Autogenerate would propose dropping the ledger when it sits beside the
tables; the pipeline's first step removes every operation on such a table.
"""

from __future__ import annotations

from typing import Any

from alembic.operations import ops

from ..safety.ledger import DEFAULT_TABLE, LEDGER_OPTION
from ..schema.bookkeeping import is_bookkeeping


def bookkeeping_tables(config: Any) -> set[str]:
    """Names of schemashift's own tables for the project of ``config`` (an Alembic Config, or None)."""
    name = config.get_main_option(LEDGER_OPTION) if config is not None else None
    return {name or DEFAULT_TABLE}


def drop_bookkeeping(up: ops.UpgradeOps, names: set[str]) -> ops.UpgradeOps:
    """Pipeline step: ``up`` without the operations on bookkeeping tables."""
    up.ops[:] = [op for op in up.ops if not is_bookkeeping(getattr(op, "table_name", None) or "", names)]
    return up


__all__ = ["bookkeeping_tables", "drop_bookkeeping"]
