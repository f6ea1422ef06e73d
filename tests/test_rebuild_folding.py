"""The SQLite rebuild-folding step without a database: ops in, ops and rendered source out."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from sqlalchemy.dialects import sqlite

from schemashift.autogen.conversions import fold_rebuilds
from schemashift.safety.rebuild import RebuildTableOp


def fold(migration: ops.MigrationScript) -> None:
    """The pipeline's step 5 on both directions, as ``pipeline.lower`` runs it."""
    for container in (migration.upgrade_ops, migration.downgrade_ops):
        fold_rebuilds(container, sqlite.dialect())


def script(*table_ops) -> ops.MigrationScript:
    up = ops.UpgradeOps(ops=list(table_ops))
    return ops.MigrationScript("rev", up, up.reverse())


def students() -> sa.Table:
    return sa.Table(
        "students", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20)), sa.Column("grade", sa.Text),
    )


def test_changes_sqlite_cannot_make_in_place_fold_into_one_rebuild():
    table = students()
    unique = sa.UniqueConstraint(table.c.name)  # unnamed, as reflected from an inline UNIQUE
    table_ops = ops.ModifyTableOps("students", [
        ops.DropIndexOp("ix_students_grade", table_name="students"),
        ops.AlterColumnOp("students", "name", modify_name="full_name"),
        ops.AlterColumnOp("students", "grade", modify_type=sa.Integer(), existing_type=sa.Text()),
        ops.DropConstraintOp.from_constraint(unique),
        ops.CreateIndexOp("ix_students_grade", "students", ["grade"]),
    ])
    migration = script(table_ops)
    fold(migration)

    kinds = [type(op).__name__ for op in migration.upgrade_ops.ops]
    assert kinds == ["ModifyTableOps", "AlterColumnOp", "RebuildTableOp", "ModifyTableOps"]
    before, rename, rebuild, after = migration.upgrade_ops.ops
    assert rename.modify_name == "full_name"  # top level: a plain RENAME COLUMN, no copy
    assert isinstance(before.ops[0], ops.DropIndexOp) and isinstance(after.ops[0], ops.CreateIndexOp)
    assert isinstance(rebuild, RebuildTableOp)
    assert rebuild.drop_constraints == [{"type": "unique", "columns": ["name"]}]
    assert rebuild.restore_constraints == ["UNIQUE (name)"]

    source = " ".join(render_python_code(migration.upgrade_ops, render_as_batch=True).split())
    assert "op.alter_column('students', 'name', new_column_name='full_name')" in source
    assert "op.rebuild_table('students', alter_columns={'grade': {'type_': sa.Integer(), 'existing_type': sa.Text()}}" in source
    assert "drop_constraint(None" not in source
    assert "batch_op.alter_column" not in source  # batch mode would rebuild from reflection

    # the downgrade is folded too, and re-creates the unique constraint
    down_rebuilds = [op for op in migration.downgrade_ops.ops if isinstance(op, RebuildTableOp)]
    assert down_rebuilds and down_rebuilds[0].add_constraints == ["UNIQUE (name)"]
    assert "drop_constraint(None" not in render_python_code(migration.downgrade_ops, render_as_batch=True)


def test_native_changes_stay_native():
    table_ops = ops.ModifyTableOps("students", [
        ops.AddColumnOp("students", sa.Column("nickname", sa.String(20))),
        ops.CreateIndexOp("ix_students_nickname", "students", ["nickname"]),
    ])
    migration = script(table_ops)
    fold(migration)
    assert migration.upgrade_ops.ops == [table_ops]


def test_dropped_columns_are_restored_by_the_downgrade_rebuild():
    table = students()
    migration = script(ops.ModifyTableOps("students", [ops.DropColumnOp.from_column_and_tablename(None, "students", table.c.grade)]))
    fold(migration)
    (rebuild,) = migration.upgrade_ops.ops
    assert rebuild.drop_columns == ["grade"]
    assert rebuild.reverse().add_columns == ["grade TEXT"]
    (down,) = migration.downgrade_ops.ops  # an add_column SQLite does natively
    assert isinstance(down, ops.ModifyTableOps)
