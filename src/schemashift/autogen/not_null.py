"""A NOT NULL column added to a table that has rows needs a value for those rows.

Without one, ``ADD COLUMN ... NOT NULL`` fails at upgrade time (PostgreSQL:
"column contains null values"; SQLite: "Cannot add a NOT NULL column with
default value NULL"), so the migration could only fail.  As Django does, a
one-off default is asked for on a terminal; in CI it comes from
``--default posts.slug=VALUE`` (or a ``server_default`` in the model).  The
column is added with that ``server_default`` (filling the existing rows) and
the default is dropped right after, so the database ends as the models say.
Without any value the revision is refused with one line saying how to give one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from alembic.operations import ops

from ..errors import RevisionError


class NotNullWithoutDefault(RevisionError):
    """A NOT NULL column is added to a table with rows and no value was given for them."""


@dataclass(frozen=True)
class NotNullDefaults:
    """``--default`` values, keyed by ``table.column`` (or ``schema.table.column``)."""

    values: Mapping[str, str]

    @classmethod
    def parse(cls, specs: Iterable[str]) -> "NotNullDefaults":
        values: dict[str, str] = {}
        for spec in specs:
            target, sep, value = spec.partition("=")
            parts = target.strip().split(".")
            if not sep or len(parts) not in (2, 3) or not all(parts):
                raise RevisionError(
                    f"--default {spec!r}: expected TABLE.COLUMN=VALUE", hint="e.g. --default posts.slug=untitled"
                )
            values[target.strip()] = value
        return cls(values)

    def get(self, schema: str | None, table: str, column: str) -> str | None:
        for key in ([f"{schema}.{table}.{column}"] if schema else []) + [f"{table}.{column}"]:
            if key in self.values:
                return self.values[key]
        return None


def _needs_value(column: sa.Column) -> bool:
    return bool(
        not column.nullable
        and column.server_default is None
        and column.computed is None
        and column.identity is None
        and not column.primary_key
    )


def fill_not_null(
    up: ops.UpgradeOps,
    *,
    defaults: NotNullDefaults,
    has_rows: Callable[[str, str | None], bool],
    questioner: Any,
    dialect: Any,
    missing: Callable[[NotNullWithoutDefault], None] | None = None,
    pending_renames: Iterable[Any] = (),
) -> ops.UpgradeOps:
    """Pipeline step: every NOT NULL column added to a table with rows gets its one-off default.

    ``has_rows(table, schema)`` comes from the snapshot; ``questioner.ask_default``
    is asked when ``--default`` gave nothing (a terminal answers, CI returns None).
    With no value the refusal is raised, or, given ``missing`` (``check``),
    handed to it and the column left as the models have it.  When the column
    is the new side of an undecided rename candidate (``pending_renames``), the
    refusal says so first: a default there would drop the old column's values.
    """
    renamed_to = {c.added: c for c in pending_renames if c.kind == "column"}
    for container in up.ops:
        if not isinstance(container, ops.ModifyTableOps):
            continue
        new: list[Any] = []
        for op in container.ops:
            if not (isinstance(op, ops.AddColumnOp) and _needs_value(op.column)):
                new.append(op)
                continue
            col = op.column
            where = f"{op.schema + '.' if op.schema else ''}{op.table_name}.{col.name}"
            if not has_rows(op.table_name, op.schema):
                new.append(op)
                continue
            value = defaults.get(op.schema, op.table_name, col.name)
            if value is None:
                ask = getattr(questioner, "ask_default", None)
                value = ask(where, str(col.type.compile(dialect=dialect))) if ask else None
            if value is None:
                hint = f"give the rows a value: --default {where}=VALUE, or a server_default in the model"
                candidate = renamed_to.get(where)
                if candidate is not None:
                    hint = (
                        f"if it is {candidate.subject} renamed, say so: --rename {candidate.spec} "
                        f"(or {candidate.suggestion} in the model{', or --accept-renames' if candidate.clear else ''}); "
                        f"if it is new, {hint}"
                    )
                refusal = NotNullWithoutDefault(
                    f"column {where} is NOT NULL and table {op.table_name} has rows, so the migration could only fail",
                    hint=hint,
                )
                if missing is None:
                    raise refusal
                missing(refusal)
                new.append(op)
                continue
            filled = sa.Column(col.name, col.type, nullable=False, server_default=value, comment=col.comment)
            new.append(ops.AddColumnOp(op.table_name, filled, schema=op.schema))
            new.append(
                ops.AlterColumnOp(
                    op.table_name,
                    col.name,
                    modify_server_default=None,
                    existing_server_default=filled.server_default,
                    existing_type=col.type,
                    existing_nullable=False,
                    schema=op.schema,
                )
            )
        container.ops = new
    return up
