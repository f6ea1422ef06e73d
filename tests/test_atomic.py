"""A migration that fails leaves schema, rows and version exactly as before it (SQLite too)."""

from __future__ import annotations

import pytest

from fixtures_projects import STUDENTS, chain_rev, write_chain
from schemashift import api
from schemashift.errors import MigrationFailed

FAILS_AFTER_DDL_AND_DML = """
op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))
op.add_column('students', sa.Column('nickname', sa.String(20)))
op.execute("UPDATE students SET grade = grade + 1")
op.execute("INSERT INTO students (id, name, grade) VALUES (99, 'Ghost', 1)")
op.execute("SELECT * FROM table_that_does_not_exist")
"""


@pytest.fixture
def at_head(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "s0001")
    school.cli("upgrade", "head")
    school.insert_students()
    return school


def test_failed_migration_is_rolled_back_entirely(at_head):
    before = at_head.state()
    at_head.manual_revision("breaks half way", FAILS_AFTER_DDL_AND_DML, "pass", rev_id="s0002")
    result = at_head.cli("upgrade", "head", ok=False)
    assert result.code == MigrationFailed.exit_code
    assert "migration s0002 failed" in result.error_line
    assert "table_that_does_not_exist" in result.error_line  # the failing statement
    assert "rolled back: the database is as it was before migration s0002" in result.error_line
    assert at_head.state() == before  # schema, rows, version and ledger all identical
    assert at_head.rows("students") == STUDENTS


def test_each_step_commits_on_its_own(at_head):
    at_head.manual_revision(
        "good", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
        "op.drop_column('students', 'nickname')", rev_id="s0002",
    )
    at_head.manual_revision("bad", FAILS_AFTER_DDL_AND_DML.replace("nickname", "alias"), "pass", rev_id="s0003")
    at_head.cli("upgrade", "head", ok=False)
    assert at_head.version() == {"s0002"}  # the good step stands
    assert "nickname" in at_head.columns("students") and "alias" not in at_head.columns("students")
    assert "half_done" not in at_head.tables()
    assert at_head.rows("students") == STUDENTS


def test_atomic_run_rolls_back_the_whole_run(at_head):
    before = at_head.state()
    at_head.manual_revision(
        "good", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
        "op.drop_column('students', 'nickname')", rev_id="s0002",
    )
    at_head.manual_revision("bad", FAILS_AFTER_DDL_AND_DML.replace("nickname", "alias"), "pass", rev_id="s0003")
    result = at_head.cli("upgrade", "head", "--atomic", "run", ok=False)
    assert "as it was before the run" in result.error_line
    assert at_head.state() == before
    assert at_head.version() == {"s0001"}


def test_failed_downgrade_is_rolled_back(at_head):
    at_head.manual_revision(
        "bad downgrade", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
        "op.drop_column('students', 'nickname')\nop.execute('SELECT * FROM nowhere_at_all')", rev_id="s0002",
    )
    at_head.cli("upgrade", "head")
    before = at_head.state()
    result = at_head.cli("downgrade", "-1", ok=False)
    assert "migration s0002 failed" in result.error_line
    assert at_head.state() == before
    assert "nickname" in at_head.columns("students")


def test_failed_batch_rebuild_leaves_no_temp_table(at_head):
    """A batch (table copy) that fails half way leaves no _alembic_tmp_* table behind."""
    before = at_head.state()
    at_head.manual_revision(
        "batch then fail",
        """
with op.batch_alter_table('students', recreate='always') as batch:
    batch.alter_column('name', type_=sa.String(200))
    batch.add_column(sa.Column('nickname', sa.String(20)))
op.execute("SELECT * FROM nothing_here")
""",
        "pass",
        rev_id="s0002",
    )
    at_head.cli("upgrade", "head", ok=False)
    assert not [t for t in at_head.tables() if t.startswith("_alembic_tmp")]
    assert at_head.state() == before


def test_api_failure_carries_revision_and_statement(at_head):
    at_head.manual_revision("breaks", FAILS_AFTER_DDL_AND_DML, "pass", rev_id="s0002")
    with pytest.raises(MigrationFailed) as info:
        api.upgrade(at_head.project(), "head")
    assert info.value.revision == "s0002"
    assert "table_that_does_not_exist" in info.value.statement


def test_failure_in_the_middle_of_a_chain(chain):
    """Ten steps; the seventh fails after its DDL: six applied, seventh fully undone."""
    def step(i):
        up = f"    op.create_table('t_{i}', sa.Column('id', sa.Integer, primary_key=True))"
        if i == 6:
            up += "\n    op.execute('INSERT INTO t_6 (id) VALUES (1)')\n    op.execute('SELECT * FROM missing_table')"
        return up, f"    op.drop_table('t_{i}')"

    write_chain(chain.versions, 10, step=step)
    chain.cli("upgrade", "head", ok=False)
    assert chain.version() == {chain_rev(5)}
    assert {f"t_{i}" for i in range(6)} <= chain.tables()
    assert "t_6" not in chain.tables()
