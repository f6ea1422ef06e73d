"""What autogenerate records about a dropped constraint, kept where Alembic keeps it.

A ``DropConstraintOp`` from autogenerate carries the op that re-creates the
constraint (Alembic's private ``_reverse``): the only record of an unnamed
constraint's columns or CHECK text, which schemashift needs to find it again
(``drop_constraint_matching``) and to restore it after a SQLite rebuild.
Alembic's public ``to_constraint()``/``reverse()`` read it too, but rename the
recorded constraint's table in place, so they are not used for reading.
"""

from __future__ import annotations

from typing import Any

from alembic.operations import ops


def restore_of_drop(op: ops.DropConstraintOp) -> ops.AddConstraintOp | None:
    """The op re-creating what ``op`` drops, as autogenerate recorded it (None: no record)."""
    return getattr(op, "_reverse", None)


def named_drop_constraint(
    name: str, table_name: str, *, type_: str | None, schema: str | None, restore: Any
) -> ops.DropConstraintOp:
    """A named ``DropConstraintOp`` that keeps ``restore`` as its reverse."""
    return ops.DropConstraintOp(name, table_name, type_=type_, schema=schema, _reverse=restore)


__all__ = ["named_drop_constraint", "restore_of_drop"]
