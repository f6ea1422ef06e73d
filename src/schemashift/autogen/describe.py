"""Readable one-line descriptions of autogenerate's operations.

``schemashift check`` prints these.  Alembic's own ``as_diffs()`` raises on
operations it has no diff tuple for (renames among them), so each op class is
described here directly, with a generic fallback for anything unknown.
"""

from __future__ import annotations

from typing import Any, Iterator

from alembic.operations import ops


def _table(op: Any) -> str:
    schema = getattr(op, "schema", None)
    name = getattr(op, "table_name", None) or getattr(op, "source_name", None) or "?"
    return f"{schema}.{name}" if schema else name


def _cols(columns: Any) -> str:
    return ", ".join(str(c) if isinstance(c, str) else getattr(c, "name", str(c)) for c in columns or ())


def describe_op(op: Any) -> Iterator[str]:
    """Yield one line per change an operation makes."""
    if isinstance(op, ops.ModifyTableOps):
        for sub in op.ops:
            yield from describe_op(sub)
    elif isinstance(op, ops.CreateTableOp):
        yield f"add table {_table(op)} ({_cols(c for c in op.columns if hasattr(c, 'type'))})"
    elif isinstance(op, ops.DropTableOp):
        yield f"drop table {_table(op)}"
    elif isinstance(op, ops.RenameTableOp):
        yield f"rename table {_table(op)} to {op.new_table_name}"
    elif isinstance(op, ops.AddColumnOp):
        yield f"add column {_table(op)}.{op.column.name} {op.column.type}"
    elif isinstance(op, ops.DropColumnOp):
        yield f"drop column {_table(op)}.{op.column_name}"
    elif isinstance(op, ops.AlterColumnOp):
        name = f"{_table(op)}.{op.column_name}"
        if op.modify_name is not None:
            yield f"rename column {name} to {op.modify_name}"
        if op.modify_type is not None:
            yield f"change type of {name} from {op.existing_type} to {op.modify_type}"
        if op.modify_nullable is not None:
            yield f"make {name} {'nullable' if op.modify_nullable else 'NOT NULL'}"
        if op.modify_server_default is not False:
            yield f"change server default of {name} to {op.modify_server_default!r}"
        if op.modify_comment is not False:
            yield f"change comment of {name}"
    elif isinstance(op, ops.CreateIndexOp):
        unique = "unique " if op.unique else ""
        yield f"add {unique}index {op.index_name} on {_table(op)} ({_cols(op.columns)})"
    elif isinstance(op, ops.DropIndexOp):
        yield f"drop index {op.index_name} on {_table(op)}"
    elif isinstance(op, ops.AddConstraintOp):
        kind = getattr(op, "constraint_type", None) or type(op).__name__
        name = getattr(op, "constraint_name", None) or "(unnamed)"
        yield f"add {kind} constraint {name} on {_table(op)}"
    elif isinstance(op, ops.DropConstraintOp):
        kind = op.constraint_type or "constraint"
        yield f"drop {kind} constraint {op.constraint_name or '(unnamed)'} on {_table(op)}"
    elif isinstance(op, (ops.CreateTableCommentOp, ops.DropTableCommentOp)):
        yield f"change comment of table {_table(op)}"
    elif isinstance(op, ops.ExecuteSQLOp):
        yield f"execute SQL: {' '.join(str(op.sqltext).split())[:80]}"
    else:
        describe = getattr(op, "describe", None)
        yield describe() if callable(describe) else f"{type(op).__name__} on {_table(op)}"


def describe_ops(upgrade_ops: Any) -> list[str]:
    """Every change in an ``UpgradeOps`` tree, one line each, in order."""
    lines: list[str] = []
    for op in upgrade_ops.ops:
        lines.extend(describe_op(op))
    return lines
