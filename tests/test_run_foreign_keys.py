"""SQLite foreign keys: the user's setting holds, except in a transaction that rebuilds a table.

A project whose engine turns ``PRAGMA foreign_keys=ON`` gets exactly what
plain Alembic gives it in ordinary migrations (cascades fire, orphans are
refused); only a step that rebuilds a table runs with enforcement off, and
is refused if it would commit rows that violate a foreign key.
"""

from __future__ import annotations

import pytest

from schemashift.errors import MigrationFailed, Refused

FK_ON = """    from sqlalchemy import event as _event

    @_event.listens_for(connectable, "connect")
    def _foreign_keys_on(dbapi_connection, record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

"""

SCHEMA = """
op.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(20))')
op.execute('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE, v VARCHAR(20))')
op.execute("INSERT INTO parent VALUES (1, 'p1'), (2, 'p2')")
op.execute("INSERT INTO child VALUES (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'c')")
"""

REBUILD_PARENT = """
import schemashift.safety.rebuild  # noqa: F401  (op.rebuild_table)
op.rebuild_table('parent', add_columns=['note VARCHAR(10)'])
"""


@pytest.fixture
def fk_project(sqlite_runcore):
    p = sqlite_runcore
    p.edit_env("    with connectable.connect() as connection:", FK_ON + "    with connectable.connect() as connection:")
    p.rev("aaa", None, SCHEMA)
    p.upgrade()
    return p


def children(p):
    return p.rows("child", "id, parent_id, v")


def test_on_delete_cascade_fires_in_an_ordinary_migration(fk_project):
    fk_project.rev("bbb", "aaa", "op.execute('DELETE FROM parent WHERE id = 1')")
    fk_project.upgrade()
    assert children(fk_project) == [(20, 2, "c")]


def test_orphan_rows_are_refused_as_plain_alembic_refuses_them(fk_project):
    before = fk_project.state()
    fk_project.rev("bbb", "aaa", "op.execute(\"INSERT INTO child VALUES (30, 99, 'orphan')\")")
    with pytest.raises(MigrationFailed, match="FOREIGN KEY constraint failed"):
        fk_project.upgrade()
    assert fk_project.state() == before


def test_rebuild_of_a_referenced_table_runs_with_enforcement_off_then_on_again(fk_project):
    fk_project.rev("bbb", "aaa", REBUILD_PARENT)
    fk_project.rev("ccc", "bbb", "op.execute('DELETE FROM parent WHERE id = 2')")  # cascades again
    fk_project.upgrade()
    assert fk_project.rows("parent", "id, name, note") == [(1, "p1", None)]
    assert children(fk_project) == [(10, 1, "a"), (11, 1, "b")]
    assert fk_project.version() == {"ccc"}


def test_rebuild_step_that_leaves_orphans_is_refused_with_the_rows_named(fk_project):
    before = fk_project.state()
    fk_project.rev("bbb", "aaa", REBUILD_PARENT + "\nop.execute(\"INSERT INTO child VALUES (30, 99, 'orphan')\")")
    with pytest.raises(Refused) as refused:
        fk_project.upgrade()
    line = refused.value.one_line()
    assert "migration bbb refused" in line and "child rowid 30 -> parent" in line
    assert "rolled back: the database is as it was before migration bbb" in line
    assert fk_project.state() == before


def test_rebuild_in_a_one_transaction_run_checks_the_whole_run(fk_project):
    before = fk_project.state()
    fk_project.rev("bbb", "aaa", "op.execute(\"INSERT INTO parent VALUES (3, 'p3')\")")
    fk_project.rev("ccc", "bbb", REBUILD_PARENT + "\nop.execute(\"INSERT INTO child VALUES (31, 77, 'orphan')\")")
    with pytest.raises(Refused, match="child rowid 31 -> parent"):
        fk_project.upgrade(atomic="run")
    assert fk_project.state() == before


def test_without_enforcement_the_users_setting_is_kept(sqlite_runcore):
    """No foreign_keys pragma in the project: an orphan goes in, exactly as under plain Alembic."""
    p = sqlite_runcore
    p.rev("aaa", None, SCHEMA + "\nop.execute(\"INSERT INTO child VALUES (30, 99, 'orphan')\")")
    p.upgrade()
    assert (30, 99, "orphan") in children(p)


SET_NULL_CHILD = """
op.execute('CREATE TABLE pet (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE SET NULL)')
op.execute('INSERT INTO pet VALUES (1, 1), (2, 2)')
"""


@pytest.mark.parametrize(
    "batch",
    [
        # a type change makes Alembic's batch mode recreate the table on SQLite ("auto")
        "with op.batch_alter_table('parent') as b:\n    b.alter_column('name', type_=sa.String(40))",
        "with op.batch_alter_table('parent', recreate='always') as b:\n    b.add_column(sa.Column('note', sa.String(10)))",
    ],
    ids=["auto", "always"],
)
def test_alembic_batch_rebuild_of_a_referenced_table_keeps_the_referencing_rows(fk_project, batch):
    """Alembic's batch mode drops the old table; with enforcement on, SQLite's implicit DELETE of
    that drop would empty ``child`` (ON DELETE CASCADE) and null ``pet`` (SET NULL), as it does
    under plain Alembic.  The step runs with enforcement off, and is checked before commit."""
    fk_project.rev("bbb", "aaa", SET_NULL_CHILD)
    fk_project.upgrade()
    fk_project.rev("ccc", "bbb", "import sqlalchemy as sa\n" + batch)
    fk_project.rev("ddd", "ccc", "op.execute('DELETE FROM parent WHERE id = 2')")  # enforcement is back on
    fk_project.upgrade()
    assert fk_project.version() == {"ddd"}
    assert children(fk_project) == [(10, 1, "a"), (11, 1, "b")]
    assert fk_project.rows("pet", "id, parent_id") == [(1, 1), (2, None)]
    assert fk_project.rows("parent", "id, name") == [(1, "p1")]


@pytest.mark.parametrize("child_first", [False, True], ids=["parent-only", "child-dropped-first"])
def test_drop_of_a_referenced_table_names_the_rows_its_cascades_change(fk_project, child_first):
    """SQLite's DROP TABLE deletes every row first, firing ON DELETE actions: the refusal
    counts those rows too (live), and the run then does exactly that.  A child the same
    plan drops first loses nothing to the cascade, and is not named."""
    fk_project.rev("bbb", "aaa", SET_NULL_CHILD)
    fk_project.upgrade()
    before = fk_project.state()
    fk_project.rev("ccc", "bbb", ("op.drop_table('child')\n" if child_first else "") + "op.drop_table('parent')")
    with pytest.raises(Refused) as refused:
        fk_project.upgrade(allow_destructive=False)
    line = "\n".join(refused.value.lines())
    assert fk_project.state() == before
    assert ("deletes 3 rows of child (ON DELETE CASCADE)" in line) is not child_first
    assert "sets to NULL pet.parent_id in 2 rows (ON DELETE SET NULL)" in line
    fk_project.upgrade()
    assert fk_project.rows("pet", "id, parent_id") == [(1, None), (2, None)]
    if not child_first:
        assert children(fk_project) == []


def test_a_batch_block_in_a_helper_of_the_project_is_seen_through_the_plan(fk_project):
    """The revision's own text shows no batch block; the plan's capture does (it runs the
    function against a recorder), so the step still runs with enforcement off."""
    import uuid

    module = f"fk_helpers_{uuid.uuid4().hex[:8]}"
    (fk_project.root / f"{module}.py").write_text(
        "import sqlalchemy as sa\n\n\n"
        "def widen(op):\n"
        "    with op.batch_alter_table('parent') as b:\n"
        "        b.alter_column('name', type_=sa.String(40))\n"
    )
    fk_project.rev("bbb", "aaa", SET_NULL_CHILD)
    fk_project.upgrade()
    fk_project.rev("ccc", "bbb", f"import {module}\n{module}.widen(op)")
    fk_project.upgrade()
    assert children(fk_project) == [(10, 1, "a"), (11, 1, "b"), (20, 2, "c")]
    assert fk_project.rows("pet", "id, parent_id") == [(1, 1), (2, 2)]


def test_a_foreign_key_to_columns_that_are_not_unique_is_explained(fk_project):
    """mlflow's models have input_tags.input_uuid reference inputs.input_uuid, which is not unique; the
    rebuild adding it failed with SQLite's bare "foreign key mismatch".  The step is rolled back, and
    the error now says what SQLite requires and the fix."""
    before = fk_project.state()
    fk_project.rev("bbb", "aaa", """
        import schemashift.safety.rebuild  # noqa: F401  (op.rebuild_table)
        op.rebuild_table('child', add_constraints=['FOREIGN KEY(v) REFERENCES parent (name)'])
    """)
    with pytest.raises(MigrationFailed) as failed:
        fk_project.upgrade()
    line = failed.value.one_line()
    assert 'foreign key mismatch - "child" referencing "parent"' in line
    assert "neither its primary key nor covered by a UNIQUE constraint" in line
    assert "rolled back: the database is as it was before migration bbb" in line
    assert fk_project.state() == before and children(fk_project) == [(10, 1, "a"), (11, 1, "b"), (20, 2, "c")]


def _orphan_before(p) -> None:
    """A row that violated its foreign key before any migration (written while enforcement was off)."""
    import sqlite3

    db = sqlite3.connect(p.url.removeprefix("sqlite:///"))
    db.execute("INSERT INTO child VALUES (40, 98, 'old orphan')")
    db.commit()
    db.close()


@pytest.mark.parametrize("atomic", ["step", "run"])
def test_rows_that_violated_before_the_run_do_not_refuse_a_rebuild(fk_project, atomic):
    """A database once used with enforcement off holds orphans: every rebuild of it was refused as if the
    migration had made them ("migration ? would leave 1 row(s) ..."). Now only rows a step adds count."""
    p = fk_project
    _orphan_before(p)
    p.rev("bbb", "aaa", "import schemashift.safety.rebuild  # noqa: F401\n"
          "op.rebuild_table('child', alter_columns={'v': {'type_': sa.String(50)}})")
    result = p.upgrade(atomic=atomic)
    assert [s.revision for s in result.steps] == ["bbb"]
    assert result.warnings == [
        "rows already violated foreign keys before this run (1 in child -> parent); schemashift left them as "
        "they were and checks only that no migration adds to them"
    ]
    assert children(p) == [(10, 1, "a"), (11, 1, "b"), (20, 2, "c"), (40, 98, "old orphan")]


def test_a_step_adding_to_rows_that_violated_before_is_refused(fk_project):
    p = fk_project
    _orphan_before(p)
    before = p.state()
    p.rev("bbb", "aaa", REBUILD_PARENT + "\nop.execute(\"INSERT INTO child VALUES (30, 99, 'new orphan')\")")
    with pytest.raises(Refused) as refused:
        p.upgrade()
    line = refused.value.one_line()
    assert line.startswith("migration bbb refused: it would leave 1 more row(s) violating foreign keys than before it:")
    assert "child rowid 30 -> parent" in line and "migration ?" not in line
    assert "rolled back: the database is as it was before migration bbb" in line
    assert p.state() == before
