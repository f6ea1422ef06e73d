"""What is particular to MariaDB (and MySQL, same dialect): DDL commits at once.

A migration that fails half way cannot be rolled back there, so schemashift says so
before running, names exactly the statements of the failed revision that stayed
applied, and leaves the version at the last complete revision.  The workflow,
errors, ledger and lock tests run on MariaDB too (the ``also_mariadb`` marker);
these are the cases whose outcome differs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from fixtures_projects import STUDENTS, SchoolProject, chain_rev, forget_project_modules, write_chain
from schemashift import api
from schemashift.safety import lock as lock_mod


@pytest.fixture
def school(tmp_path, mariadb_url):
    root = tmp_path / "school"
    api.init(root, url=mariadb_url)
    project = SchoolProject(root, mariadb_url, "mariadb")
    project.write_models()
    yield project
    forget_project_modules()


@pytest.fixture
def migrated(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "m1")
    school.cli("upgrade", "head")
    school.insert_students()
    return school


def test_failed_revision_names_the_statements_that_stayed_applied(migrated):
    migrated.manual_revision(
        "half way",
        "op.create_table('extra', sa.Column('id', sa.Integer, primary_key=True))\n"
        "op.add_column('students', sa.Column('nickname', sa.String(30)))\n"
        "op.execute('UPDATE students SET nickname = name')\n"
        "op.execute('SELECT * FROM no_such_table')",
        "pass", rev_id="m2",
    )
    result = migrated.cli("upgrade", "head", ok=False)
    assert result.code == 4
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[0] == ("note: mysql commits each DDL statement at once: a migration that fails half way cannot "
                        "be rolled back; schemashift will list the statements that ran")
    assert lines[-1] == (
        "error: migration m2 failed: (1146, \"Table 'test_"
        + migrated.url.split("/test_")[1].split("?")[0]
        + ".no_such_table' doesn't exist\") in statement: SELECT * FROM no_such_table "
        "(this database has no transactional DDL, so these statements of it stayed applied: "
        "CREATE TABLE extra ( id INTEGER NOT NULL AUTO_INCREMENT, CONSTRAINT pk_extra PRIMARY KEY (id) ); "
        "ALTER TABLE students ADD COLUMN nickname VARCHAR(30); rolled back: UPDATE students SET nickname = name)"
    )
    assert migrated.version() == {"m1"}  # the last complete revision
    with migrated.engine().connect() as conn:
        ledger = [tuple(r) for r in conn.execute(sa.text("SELECT revision, direction FROM schemashift_ledger"))]
    assert ledger == [("m1", "up")]
    # what the message says stayed applied really did, what it says was rolled back was, no row was lost
    assert "extra" in migrated.tables() and "nickname" in migrated.columns("students")
    assert migrated.rows("students") == STUDENTS
    assert migrated.rows("students", "id, nickname") == [(i, None) for i, _, _ in STUDENTS]


def test_rows_changed_before_a_ddl_statement_are_named_as_applied(migrated):
    """DDL commits the open transaction: an UPDATE before it stays, with it."""
    migrated.manual_revision(
        "update then ddl",
        "op.execute(\"UPDATE students SET name = 'X' WHERE id = 2\")\n"
        "op.create_index('ix_students_grade', 'students', ['grade'])\n"
        "op.execute('SELECT * FROM no_such_table')",
        "pass", rev_id="m2",
    )
    result = migrated.cli("upgrade", "head", ok=False)
    assert result.code == 4
    assert result.error_line.endswith(
        "stayed applied: UPDATE students SET name = 'X' WHERE id = 2; "
        "CREATE INDEX ix_students_grade ON students (grade))")
    assert migrated.version() == {"m1"}
    assert migrated.rows("students") == [STUDENTS[0], (2, "X", 4), STUDENTS[2]]


def _columns(project, table: str) -> dict:
    """The table's columns as the database reports them, by name."""
    engine = project.engine()
    try:
        return {c["name"]: c for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_hand_written_column_rename_keeps_not_null_and_default(migrated):
    """MySQL's CHANGE restates the column: the definition left out of the migration is read from the database."""
    migrated.manual_revision(
        "grade default", "op.alter_column('students', 'grade', server_default='1', existing_type=sa.Integer(), "
        "existing_nullable=False)", "pass", rev_id="m2",
    )
    migrated.manual_revision(
        "rename", "op.alter_column('students', 'name', new_column_name='full_name')\n"
        "op.alter_column('students', 'grade', new_column_name='level')",
        "op.alter_column('students', 'full_name', new_column_name='name')\n"
        "op.alter_column('students', 'level', new_column_name='grade')", rev_id="m3",
    )
    migrated.cli("upgrade", "head")
    columns = _columns(migrated, "students")
    assert columns["full_name"]["nullable"] is False and str(columns["full_name"]["type"]).startswith("VARCHAR(100)")
    assert columns["level"]["nullable"] is False and columns["level"]["default"] == "1"
    assert migrated.rows("students", "id, full_name, level") == STUDENTS
    migrated.cli("downgrade", "m2")
    assert migrated.rows("students") == STUDENTS
    assert not _columns(migrated, "students")["name"]["nullable"]


def test_alter_column_given_a_clause_as_existing_server_default(migrated):
    """mlflow's 75868b020152 passes ``existing_server_default=sa.false()`` and no ``existing_nullable``:
    it ran under plain Alembic, and failed under schemashift with "Boolean value of this clause is
    not defined" (the missing definition is read from the database, and a clause was compared with ==)."""
    migrated.manual_revision(
        "active flag", "op.add_column('students', sa.Column('active', sa.Boolean(), server_default=sa.false()))",
        "op.drop_column('students', 'active')", rev_id="m2",
    )
    migrated.manual_revision(
        "active required", "op.alter_column('students', 'active', existing_type=sa.Boolean(), nullable=False, "
        "existing_server_default=sa.false())",
        "op.alter_column('students', 'active', existing_type=sa.Boolean(), nullable=True, "
        "existing_server_default=sa.false())", rev_id="m3",
    )
    migrated.cli("upgrade", "head")
    column = _columns(migrated, "students")["active"]
    assert column["nullable"] is False and column["default"] == "0"
    assert migrated.rows("students", "id, name, grade, active") == [row + (False,) for row in STUDENTS]
    migrated.cli("downgrade", "m1", "--allow-destructive")
    assert migrated.rows("students") == STUDENTS


def test_offline_sql_still_asks_for_the_existing_type(migrated):
    """With --sql there is no database to read the column from: Alembic's own message stays."""
    migrated.manual_revision("rename", "op.alter_column('students', 'name', new_column_name='full_name')",
                             "pass", rev_id="m2")
    result = migrated.cli("upgrade", "--sql", "m1:m2", ok=False)
    assert result.code != 0 and "existing type" in result.error_line


def test_plan_flags_a_revision_of_several_ddl_statements_as_not_atomic(migrated):
    """Issue 14.3: MariaDB commits each DDL statement, so a revision of several cannot be
    rolled back there; ``plan`` says so (SS-M701) before anything runs, and not for one
    statement or for DML next to it."""
    migrated.manual_revision(
        "two ddl",
        "op.add_column('students', sa.Column('nickname', sa.String(30)))\n"
        "op.create_index('ix_students_nickname', 'students', ['nickname'])",
        "op.drop_index('ix_students_nickname', table_name='students')\nop.drop_column('students', 'nickname')",
        rev_id="m2",
    )
    plan = api.plan(migrated.project())
    (finding,) = [f for f in plan.findings if f.rule == "SS-M701"]
    assert finding.revision == "m2" and finding.level == "warning"
    assert finding.message.startswith("runs 2 DDL statements, and mysql commits each at once")
    migrated.cli("upgrade", "head")
    down = api.plan(migrated.project(), "m1", direction="down")
    assert [(f.revision, f.direction) for f in down.findings if f.rule == "SS-M701"] == [("m2", "down")]
    migrated.manual_revision(
        "one ddl and a write",
        "op.add_column('students', sa.Column('house', sa.String(20)))\n"
        "op.execute(\"UPDATE students SET house = 'red'\")",
        "op.drop_column('students', 'house')", rev_id="m3",
    )
    assert "SS-M701" not in {f.rule for f in api.plan(migrated.project()).findings}
    assert migrated.version() == {"m2"}
    assert migrated.rows("students") == STUDENTS


STEPS = 30


def test_sigkill_during_an_upgrade_releases_the_lock_and_keeps_version_and_ledger_in_step(tmp_path, mariadb_url):
    """Issue 14.3: a process killed mid-upgrade on MariaDB.  Each step's DDL is
    committed as it runs, so the step that was running may stay half applied
    (that is the database's nature, said before every run); what must hold is
    that the server released the lock with the connection, the version names
    the last complete revision, and the ledger records exactly the revisions
    up to it, with every row of the completed steps."""
    root = tmp_path / "killed"
    api.init(root, url=mariadb_url)
    project = SchoolProject(root, mariadb_url, "mariadb")
    write_chain(project.versions, STEPS)
    env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "schemashift", "upgrade", "head"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watcher = project.engine()
    deadline = time.monotonic() + 120
    with watcher.connect() as conn:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            except sa.exc.DBAPIError:
                conn.rollback()
                found = None
            else:
                conn.rollback()  # a fresh snapshot on the next read
            if found is not None and found != chain_rev(0):
                break  # at least two steps committed: kill inside the run
            time.sleep(0.002)
    watcher.dispose()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the upgrade finished before the kill; the chain is too short here"
    engine = project.engine()
    with engine.connect() as other:  # the lock went with the killed connection: taken at once
        name = f"{other.dialect.default_schema_name}.alembic_version"
        release = lock_mod.acquire(other, lock_mod.LockSpec(name, 5))
        assert release is not None
        release()
    engine.dispose()
    (version,) = project.version()
    reached = int(version[1:])
    assert 1 <= reached < STEPS - 1
    assert [rev for rev, _ in project.ledger_rows()] == [chain_rev(i) for i in range(reached + 1)]
    with project.engine().connect() as conn:
        for i in range(reached + 1):
            assert conn.execute(sa.text(f"SELECT count(*) FROM t_{i}")).scalar() == 200
    forget_project_modules()
