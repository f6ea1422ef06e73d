"""MySQL/MariaDB ``alter_column`` with the column's existing definition filled in.

Why: MySQL renames and changes a column with ``CHANGE``/``MODIFY``, which
restate the whole column.  Alembic therefore refuses a hand-written
``op.alter_column('t', 'name', new_column_name='full_name')`` on MySQL ("All
MySQL CHANGE/MODIFY COLUMN operations require the existing type"), and one
given only ``existing_type`` silently makes a NOT NULL column nullable and
drops its default.  So the lesson's own rename would fail or lose its
constraints there.  When the migration runs against a live MySQL database,
whatever the migration left out (type, nullability, server default, comment,
autoincrement) is read from the database first; everything else goes to
Alembic's own implementation unchanged.
"""

from __future__ import annotations

from typing import Any

from alembic.operations import Operations, ops
from alembic.operations import toimpl
from sqlalchemy import inspect, text

MYSQL_DIALECTS = {"mysql", "mariadb"}


def _reflected_column(operations: Any, operation: ops.AlterColumnOp) -> dict[str, Any] | None:
    bind = operations.get_bind()
    for column in inspect(bind).get_columns(operation.table_name, schema=operation.schema):
        if column["name"] == operation.column_name:
            return column
    return None


@Operations.implementation_for(ops.AlterColumnOp, replace=True)
def alter_column(operations: Any, operation: ops.AlterColumnOp) -> None:
    context = operations.migration_context
    if (
        operations.impl.dialect.name in MYSQL_DIALECTS
        and not context.as_sql
        and (operation.existing_type is None or operation.existing_nullable is None)
    ):
        column = _reflected_column(operations, operation)
        if column is not None:
            if operation.existing_type is None:
                operation.existing_type = column["type"]
            if operation.existing_nullable is None:
                operation.existing_nullable = column["nullable"]
            given = operation.existing_server_default  # may be a SQL clause (sa.false()), which has no truth value
            if (given is None or given is False) and column.get("default") is not None:
                # reflected as SQL text ("'free'", "current_timestamp()"): keep it as SQL, not a string literal
                operation.existing_server_default = text(str(column["default"]))
            if operation.existing_comment is None and column.get("comment"):
                operation.existing_comment = column["comment"]
            if column.get("autoincrement") is True:
                operation.kw.setdefault("existing_autoincrement", True)
    toimpl.alter_column(operations, operation)
