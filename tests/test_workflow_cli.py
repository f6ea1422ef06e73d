"""The lesson's workflow through the real ``schemashift`` command, on SQLite and PostgreSQL.

Every test that changes the schema inserts rows first and checks they survive.
"""

from __future__ import annotations

import re

import pytest

from fixtures_projects import STUDENTS

pytestmark = pytest.mark.also_mariadb  # every backend-parametrized test runs on MariaDB too


def _rev_from(output: str) -> str:
    return re.search(r"versions/(\w+?)_", output).group(1)


def test_lesson_rename_table_upgrade_downgrade_discard(school):
    # MariaDB keeps the ledger in the app's database (no second database without extra privileges)
    ledger = {"schemashift_ledger"} if school.backend == "mariadb" else set()
    first = _rev_from(school.cli("revision", "--autogenerate", "-m", "Create students").stdout)
    school.cli("upgrade", "head")
    assert school.tables() == {"alembic_version", "students"} | ledger
    school.insert_students()

    school.write_models(table="scholars")
    rename = school.manual_revision(
        "Renaming students to scholars",
        "op.rename_table('students', 'scholars')",
        "op.rename_table('scholars', 'students')",
    )
    out = school.cli("upgrade", "head")
    assert f"{first} -> {rename}" in out.stdout
    assert school.tables() == {"alembic_version", "scholars"} | ledger
    assert school.rows("scholars") == STUDENTS

    assert school.cli("current").stdout.split() == [rename, "(head)"]
    history = school.cli("history", "-i").stdout.splitlines()
    assert history[0].startswith(f"{first} -> {rename} (head) (current), Renaming students to scholars")
    assert history[1] == f"<base> -> {first}, Create students"

    school.cli("downgrade", first)
    assert school.tables() == {"alembic_version", "students"} | ledger
    assert school.rows("students") == STUDENTS
    assert school.version() == {first}

    out = school.cli("discard", rename)
    assert "Removed" in out.stdout
    assert not list(school.versions.glob(f"{rename}_*.py"))
    assert school.cli("heads").stdout.split() == [first, "(head)"]
    assert school.rows("students") == STUDENTS


def test_manual_column_rename_up_and_down(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "aaa111")
    school.cli("upgrade", "head")
    school.insert_students()
    rev = school.manual_revision(
        "Rename name to full_name",
        "op.alter_column('students', 'name', new_column_name='full_name')",
        "op.alter_column('students', 'full_name', new_column_name='name')",
        rev_id="bbb222",
    )
    school.cli("upgrade", rev)
    assert "full_name" in school.columns("students")
    assert school.rows("students", "id, full_name, grade") == STUDENTS
    school.cli("downgrade", "aaa111")
    assert "name" in school.columns("students") and "full_name" not in school.columns("students")
    assert school.rows("students") == STUDENTS


def _three_revisions(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "1a2b3c4d5e6f")
    school.manual_revision(
        "add nickname", "op.add_column('students', sa.Column('nickname', sa.String(50)))",
        "op.drop_column('students', 'nickname')", rev_id="2b3c4d5e6f70",
    )
    school.manual_revision(
        "add email", "op.add_column('students', sa.Column('email', sa.String(50)))",
        "op.drop_column('students', 'email')", rev_id="3c4d5e6f7081",
    )


def test_partial_ids_and_relative_steps(school):
    _three_revisions(school)
    school.cli("upgrade", "+1")
    assert school.version() == {"1a2b3c4d5e6f"}
    school.insert_students()
    school.cli("upgrade", "1a2b+1")  # partial id plus relative step
    assert school.version() == {"2b3c4d5e6f70"}
    school.cli("upgrade", "3c4d")  # unique partial id
    assert school.version() == {"3c4d5e6f7081"}
    assert {"nickname", "email"} <= set(school.columns("students"))
    school.cli("downgrade", "-1")
    assert school.version() == {"2b3c4d5e6f70"}
    school.cli("downgrade", "3c4d-2")
    assert school.version() == {"1a2b3c4d5e6f"}
    assert school.rows("students") == STUDENTS
    school.cli("upgrade", "heads")
    assert school.version() == {"3c4d5e6f7081"}
    assert school.rows("students") == STUDENTS
    refused = school.cli("downgrade", "base", ok=False)  # students holds 3 rows: refused until allowed
    assert refused.code == 5 and "SS-D107" in refused.stderr and school.rows("students") == STUDENTS
    school.cli("downgrade", "base", "--allow-destructive")
    assert school.version() == set()
    assert "students" not in school.tables()


def test_history_range_verbose_and_show(school):
    _three_revisions(school)
    school.cli("upgrade", "2b3c")
    lines = school.cli("history", "-i", "-r", "1a2b:2b3c").stdout.splitlines()
    assert [ln.split(",")[0] for ln in lines] == [
        "1a2b3c4d5e6f -> 2b3c4d5e6f70 (current)",
        "<base> -> 1a2b3c4d5e6f",
    ]
    lines = school.cli("history", "-r", "current:").stdout.splitlines()
    assert lines[0].startswith("2b3c4d5e6f70 -> 3c4d5e6f7081 (head)")
    assert len(lines) == 2
    verbose = school.cli("history", "-v").stdout
    assert "Rev: 3c4d5e6f7081 (head)" in verbose and "Path: " in verbose
    shown = school.cli("show", "2b3c").stdout
    assert shown.startswith("Rev: 2b3c4d5e6f70") and "Parent: 1a2b3c4d5e6f" in shown and "add nickname" in shown
    current = school.cli("current", "-v").stdout
    assert current.startswith("Current revision(s) for ") and "\nRev: 2b3c4d5e6f70\n" in current  # as alembic current -v


def test_branches_merge_and_stamp(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "base01")
    school.cli("upgrade", "head")
    school.insert_students()
    school.manual_revision(
        "branch a", "op.add_column('students', sa.Column('a', sa.Integer()))",
        "op.drop_column('students', 'a')", rev_id="brancha", head="base01",
    )
    school.manual_revision(
        "branch b", "op.add_column('students', sa.Column('b', sa.Integer()))",
        "op.drop_column('students', 'b')", rev_id="branchb", head="base01", splice=True,
    )
    heads = school.cli("heads").stdout.split()
    assert {"brancha", "branchb"} <= set(heads)
    failed = school.cli("upgrade", "head", ok=False)
    assert "Multiple head revisions" in failed.error_line and "merge" in failed.error_line
    school.cli("upgrade", "heads")
    assert school.version() == {"brancha", "branchb"}
    merged = school.cli("merge", "-m", "join branches", "--rev-id", "merge01").stdout
    assert "merge01_join_branches.py" in merged
    school.cli("upgrade", "head")
    assert school.version() == {"merge01"}
    assert "mergepoint" in school.cli("history").stdout
    assert school.rows("students") == STUDENTS
    # stamp moves the version without running anything
    school.cli("stamp", "base01")
    assert school.version() == {"base01"}
    assert {"a", "b"} <= set(school.columns("students"))
    school.cli("stamp", "--purge", "merge01")
    assert school.version() == {"merge01"}
    assert school.rows("students") == STUDENTS


def test_offline_sql_changes_nothing(school):
    _three_revisions(school)
    up = school.cli("upgrade", "--sql", "base:head").stdout
    assert "CREATE TABLE students" in up and "ADD COLUMN nickname" in up
    assert "INSERT INTO alembic_version" in up
    down = school.cli("downgrade", "--sql", "head:base").stdout
    assert "DROP TABLE students" in down
    assert school.tables() <= {"alembic_version"}  # nothing ran (autogenerate made the empty version table)
    assert school.version() == set()
    stamp_sql = school.cli("stamp", "--sql", "3c4d5e6f7081").stdout
    assert "3c4d5e6f7081" in stamp_sql and school.version() == set()


def test_check_reports_drift_and_exits_1(school):
    school.cli("revision", "--autogenerate", "-m", "Create students")
    school.cli("upgrade", "head")
    school.insert_students()
    assert "No differences" in school.cli("check").stdout
    school.write_models(extra="    nickname: Mapped[str | None] = mapped_column(String(30))\n")
    result = school.cli("check", ok=False)
    assert result.code == 1
    assert "add column students.nickname" in result.stdout
    assert school.rows("students") == STUDENTS
    assert "nickname" not in school.columns("students")  # check changed nothing


def test_revision_autogenerate_writes_file_that_upgrades(school):
    out = school.cli("revision", "--autogenerate", "-m", "Create students").stdout
    rev = _rev_from(out)
    text = next(school.versions.glob(f"{rev}_*.py")).read_text()
    assert "op.create_table('students'" in text
    school.cli("upgrade", rev)
    school.insert_students()
    school.write_models(extra="    nickname: Mapped[str | None] = mapped_column(String(30))\n")
    rev2 = _rev_from(school.cli("revision", "--autogenerate", "-m", "nickname").stdout)
    school.cli("upgrade", "head")
    assert "nickname" in school.columns("students")
    assert school.rows("students") == STUDENTS
    school.cli("downgrade", f"{rev2}-1")
    assert "nickname" not in school.columns("students")
    assert school.rows("students") == STUDENTS


def test_url_from_environment_and_option(school, tmp_path):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "r1")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    school.cli("upgrade", "head", env={"SCHEMASHIFT_URL": other})
    assert school.version() == set()  # the configured database was not touched
    assert school.cli("--url", other, "current").stdout.split() == ["r1", "(head)"]
    assert "r1 (head)" in school.cli("current", env={"SCHEMASHIFT_URL": other}).stdout
