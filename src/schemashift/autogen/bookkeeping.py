"""schemashift's own tables: in the user's database, never in their models.

The one definition of "bookkeeping table" for autogenerate: the ledger (its
name from ``schemashift.ledger_table``).  Autogenerate would propose dropping
it; the pipeline's first step removes every operation on it.
"""

from __future__ import annotations

from typing import Any

from alembic.operations import ops

from ..safety.ledger import DEFAULT_TABLE, LEDGER_OPTION


def bookkeeping_tables(config: Any) -> set[str]:
    """Names of schemashift's own tables for the project of ``config`` (an Alembic Config, or None)."""
    name = config.get_main_option(LEDGER_OPTION) if config is not None else None
    return {name or DEFAULT_TABLE}


def drop_bookkeeping(up: ops.UpgradeOps, names: set[str]) -> ops.UpgradeOps:
    """Pipeline step: ``up`` without the operations on bookkeeping tables."""
    up.ops[:] = [op for op in up.ops if getattr(op, "table_name", None) not in names]
    return up


__all__ = ["bookkeeping_tables", "drop_bookkeeping"]
