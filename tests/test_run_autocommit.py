"""env.py's connection in AUTOCOMMIT mode (PostgreSQL), as dagster's storages hand theirs to Alembic.

Every statement then commits by itself: Alembic's ``begin_transaction()`` sends
nothing, ``CREATE INDEX CONCURRENTLY`` works outside an ``autocommit_block()``,
and a migration that fails half way stays half applied.  Before, schemashift
failed before running anything ("SAVEPOINT can only be used in transaction
blocks", from the plan's read fences) and, had it run, would have said
"rolled back".  Now the run is planned without savepoints, says before it runs
that nothing can be rolled back, runs as plain Alembic does, and a failure
lists the statements that stayed applied.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from schemashift import api
from schemashift.checks.refusal import UnsafeOperations
from schemashift.errors import MigrationFailed

ROWS = [(1, "ann", "a@x"), (2, "bob", None), (3, "cyd", "c@x")]
TABLE = """
t = op.create_table('people', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(20)),
                    sa.Column('email', sa.String(40)))
op.bulk_insert(t, [dict(id=i, name=n, email=e) for i, n, e in %r])
""" % (ROWS,)


@pytest.fixture
def autocommit(pg_runcore):
    p = pg_runcore
    p.edit_env("            poolclass=pool.NullPool,\n", "            poolclass=pool.NullPool,\n"
               "            isolation_level='AUTOCOMMIT',\n")
    return p


def test_concurrent_index_runs_as_under_alembic_and_the_user_is_told(autocommit):
    p = autocommit
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    p.rev("bbb", "aaa", "op.create_index('ix_people_name', 'people', ['name'], postgresql_concurrently=True)",
          "op.drop_index('ix_people_name', 'people', postgresql_concurrently=True)")
    notes: list[str] = []
    result = p.upgrade(notice=notes.append)
    assert [s.revision for s in result.steps] == ["aaa", "bbb"]
    assert notes == ["env.py's connection is in AUTOCOMMIT mode, so each statement commits at once: a migration "
                     "that fails half way cannot be rolled back; schemashift will list the statements that ran"]
    assert p.query("SELECT indexname FROM pg_indexes WHERE tablename = 'people' AND indexname = 'ix_people_name'")
    assert p.rows("people", "id, name, email") == ROWS
    assert p.version() == {"bbb"} and [r for r in p.ledger()] == [("aaa", "up"), ("bbb", "up")]
    p.downgrade("aaa")
    assert not p.query("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_people_name'")
    assert p.rows("people", "id, name, email") == ROWS


def test_the_plan_refuses_with_live_numbers_and_changes_nothing(autocommit):
    p = autocommit
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    p.upgrade()
    p.rev("bbb", "aaa", "op.drop_column('people', 'email')", "op.add_column('people', sa.Column('email', sa.String(40)))")
    with pytest.raises(UnsafeOperations) as refused:
        api.upgrade(p.project(), "head")
    assert [f.message for f in refused.value.findings] == ["drops column people.email holding 2 values"]
    assert p.version() == {"aaa"} and p.rows("people", "id, name, email") == ROWS


def test_a_failure_half_way_lists_what_stayed_and_never_says_rolled_back(autocommit):
    p = autocommit
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    p.upgrade()
    p.rev(
        "bbb", "aaa",
        "op.add_column('people', sa.Column('nick', sa.String(20)))\n"
        "op.execute(\"UPDATE people SET nick = lower(name)\")\n"
        "op.create_unique_constraint('uq_people_email', 'people', ['email'])\n"
        "op.execute('SELECT * FROM no_such_table')",
    )
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade()
    exc = failed.value
    assert exc.revision == "bbb" and exc.exit_code == 4
    assert "rolled back:" not in exc.hint and "as it was before" not in exc.hint
    assert exc.hint.startswith("env.py's connection commits each statement (AUTOCOMMIT), so these statements of it "
                               "stayed applied: ALTER TABLE people ADD COLUMN nick")
    assert "UPDATE people SET nick = lower(name)" in exc.hint and "uq_people_email" in exc.hint
    # what the hint says is what the database holds: the column and its values stayed, the version did not move
    assert p.version() == {"aaa"}
    assert p.rows("people", "id, name, email, nick") == [(i, n, e, n.lower()) for i, n, e in ROWS]


def test_a_connection_handed_in_in_autocommit_mode(pg_runcore):
    """dagster's shape: the caller hands env.py an AUTOCOMMIT connection in ``config.attributes``."""
    p = pg_runcore
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    p.rev("bbb", "aaa", "op.create_index('ix_people_email', 'people', ['email'], postgresql_concurrently=True)",
          "op.drop_index('ix_people_email', 'people')")
    engine = sa.create_engine(p.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            project = p.project()
            project.config.attributes["connection"] = conn
            result = api.upgrade(project, "head")
    finally:
        engine.dispose()
    assert [s.revision for s in result.steps] == ["aaa", "bbb"]
    assert p.version() == {"bbb"} and p.rows("people", "id, name, email") == ROWS
    assert p.query("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_people_email'")
