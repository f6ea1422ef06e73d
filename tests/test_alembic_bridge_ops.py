"""The bridge's reading of autogenerate's dropped-constraint record fails loudly when Alembic changes it.

``alembic_bridge.ops`` reads the private ``DropConstraintOp._reverse``; the
unnamed-constraint step and the SQLite rebuild folding depend on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import ops

from schemashift.alembic_bridge.ops import named_drop_constraint, restore_of_drop


def _unnamed_unique() -> sa.UniqueConstraint:
    table = sa.Table("posts", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("slug", sa.String(10)))
    unique = sa.UniqueConstraint(table.c.slug)
    table.append_constraint(unique)
    return unique


def test_autogenerates_record_of_a_dropped_constraint_is_read():
    unique = _unnamed_unique()
    drop = ops.DropConstraintOp.from_constraint(unique)  # as autogenerate makes it
    restore = restore_of_drop(drop)
    assert isinstance(restore, ops.AddConstraintOp)
    again = restore.to_constraint()
    assert isinstance(again, sa.UniqueConstraint) and [c.name for c in again.columns] == ["slug"]
    assert restore_of_drop(ops.DropConstraintOp("uq_x", "posts", type_="unique")) is None  # no record


def test_a_named_drop_keeps_the_record_as_its_reverse():
    unique = _unnamed_unique()
    restore = restore_of_drop(ops.DropConstraintOp.from_constraint(unique))
    drop = named_drop_constraint("posts_slug_key", "posts", type_="unique", schema=None, restore=restore)
    assert (drop.constraint_name, drop.table_name, drop.constraint_type) == ("posts_slug_key", "posts", "unique")
    assert restore_of_drop(drop) is restore
    back = drop.reverse()  # Alembic's own reverse reads the same record
    assert isinstance(back, ops.AddConstraintOp) and back.constraint_name == "posts_slug_key"
