"""Step 1 of rename detection: what autogenerate found, as facts.

Dropped and created tables, and the columns added to or dropped from the
tables that stay: the raw material every later step works from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Dialect

from .facts import (
    ColumnFacts,
    IndexFacts,
    Key,
    TableFacts,
    column_facts,
    index_facts,
    table_facts,
)


@dataclass
class ChangedTable:
    """An existing table as autogenerate saw it: columns added and dropped."""

    key: Key
    added: dict[str, ColumnFacts] = field(default_factory=dict)
    dropped: dict[str, ColumnFacts] = field(default_factory=dict)
    has_ops: bool = False


@dataclass
class Survey:
    model: dict[Key, sa.Table]
    dropped: dict[Key, TableFacts]
    created: dict[Key, TableFacts]
    changed: dict[Key, ChangedTable]

    def db_has_table(self, key: Key) -> bool:
        return key in self.dropped or (key in self.model and key not in self.created)

    def db_has_column(self, key: Key, column: str) -> bool:
        """For a table that is not renamed: (model - added) + dropped."""
        ch = self.changed.get(key)
        if ch is not None and column in ch.dropped:
            return True
        if ch is not None and column in ch.added:
            return False
        table = self.model.get(key)
        return table is not None and column in table.c and key not in self.created


def model_tables(target_metadata: Any, dialect: Dialect | None = None) -> dict[Key, sa.Table]:
    mds = target_metadata if isinstance(target_metadata, (list, tuple)) else [target_metadata]
    default_schema = getattr(dialect, "default_schema_name", None)
    out: dict[Key, sa.Table] = {}
    for md in mds:
        if md is None:
            continue
        for t in md.tables.values():
            schema = None if (t.schema is not None and t.schema == default_schema) else t.schema
            out[(schema, t.name)] = t
    return out


def _walk(container: Any) -> Iterable[Any]:
    for op in container.ops:
        yield op


def survey(upgrade_ops: ops.UpgradeOps, model: Mapping[Key, sa.Table], dialect: Dialect | None = None) -> Survey:
    """Step 1: dropped/created tables and added/dropped columns, as facts."""
    dropped_tables: dict[Key, ops.DropTableOp] = {}
    dropped_indexes: dict[Key, list[IndexFacts]] = {}
    dropped_index_ops: dict[Key, list[ops.DropIndexOp]] = {}
    created: dict[Key, TableFacts] = {}
    changed: dict[Key, ChangedTable] = {}
    for op in _walk(upgrade_ops):
        if isinstance(op, ops.CreateTableOp):
            key = (op.schema, op.table_name)
            table = model.get(key)
            if table is None:
                table = op.to_table()
            created[key] = table_facts(table, dialect, schema=op.schema)
        elif isinstance(op, ops.DropTableOp):
            dropped_tables[(op.schema, op.table_name)] = op
        elif isinstance(op, ops.ModifyTableOps):
            key = (op.schema, op.table_name)
            ch = changed.setdefault(key, ChangedTable(key))
            for sub in op.ops:
                ch.has_ops = True
                if isinstance(sub, ops.AddColumnOp):
                    col = sub.column
                    table = col.table if isinstance(getattr(col, "table", None), sa.Table) else None
                    pos = list(table.columns).index(col) if table is not None and col in list(table.columns) else 0
                    ch.added[col.name] = column_facts(col, pos, dialect)
                elif isinstance(sub, ops.DropColumnOp):
                    col = sub.to_column()
                    table = col.table if isinstance(getattr(col, "table", None), sa.Table) else None
                    pos = (
                        [c.name for c in table.columns].index(col.name)
                        if table is not None and col.name in table.c
                        else 0
                    )
                    ch.dropped[sub.column_name] = column_facts(col, pos, dialect)
                elif isinstance(sub, ops.DropIndexOp):
                    dropped_index_ops.setdefault(key, []).append(sub)
    for key, index_ops in dropped_index_ops.items():
        if key in dropped_tables:  # the indexes of a dropped table: part of its facts
            for sub in index_ops:
                try:
                    dropped_indexes.setdefault(key, []).append(index_facts(sub.to_index()))
                except Exception:
                    pass
    dropped = {}
    for key, op in dropped_tables.items():
        table = op.to_table()
        dropped[key] = table_facts(table, dialect, indexes=dropped_indexes.get(key, ()), schema=op.schema)
        changed.pop(key, None)
    for key in created:
        changed.pop(key, None)
    return Survey(dict(model), dropped, created, changed)
