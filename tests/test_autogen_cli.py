"""Autogenerate through the real CLI, on SQLite and PostgreSQL with rows: nothing changed,
a NOT NULL column on a table with rows (refused, then given a value), and
``--not-renamed`` answering "not a rename" for CI."""

from __future__ import annotations

from fixtures_projects import STUDENTS
from test_errors_cli import assert_clean_failure

CODE = "    code: Mapped[str] = mapped_column(String(20))"


def _at_head_with_rows(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "x0001")
    school.cli("upgrade", "head")
    school.insert_students()


def _files(school) -> list[str]:
    return sorted(p.name for p in school.versions.glob("*.py"))


def test_nothing_changed_writes_no_file(school):
    _at_head_with_rows(school)
    before = _files(school)
    out = school.cli("revision", "--autogenerate", "-m", "nothing")
    assert "No changes detected" in out.stdout
    assert _files(school) == before
    out = school.cli("revision", "--autogenerate", "-m", "nothing", "--allow-empty")
    assert "Generating" in out.stdout and len(_files(school)) == len(before) + 1


def test_not_null_column_on_rows_needs_a_value(school):
    _at_head_with_rows(school)
    school.write_models(extra=CODE)
    before, files = school.state(), _files(school)
    seen = school.cli("check", ok=False)  # check says what revision would refuse, before it is run
    assert seen.code == 1 and "add column students.code" in seen.stdout
    assert "revision would refuse: column students.code is NOT NULL and table students has rows" in seen.stderr
    assert "--default students.code=VALUE" in seen.stderr
    given = school.cli("check", "--default", "students.code=n/a", ok=False)  # the lines revision writes with it
    assert given.code == 1 and "revision would refuse" not in given.stderr
    assert "add column students.code" in given.stdout and "'n/a' -> none" in given.stdout  # the one-off default, dropped
    refused = school.cli("revision", "--autogenerate", "-m", "code", ok=False)
    assert refused.code == 2
    assert_clean_failure(refused, "students.code is NOT NULL and table students has rows", "--default students.code=VALUE")
    assert _files(school) == files and school.state() == before
    bad = school.cli("revision", "--autogenerate", "-m", "code", "--default", "code", ok=False)
    assert_clean_failure(bad, "--default 'code': expected TABLE.COLUMN=VALUE")
    school.cli("revision", "--autogenerate", "-m", "code", "--default", "students.code=n/a")
    school.cli("upgrade", "head")
    assert school.rows("students", "id, name, grade, code") == [(*row, "n/a") for row in STUDENTS]
    assert "No differences" in school.cli("check").stdout
    seen = school.cli("check", "--default", "students.code=n/a")  # nothing left: --default changes nothing
    assert "No differences" in seen.stdout
    school.write_models()
    seen = school.cli("check", ok=False)  # the risk note revision would print, printed by check
    assert "note: drop column students.code: its data is deleted" in seen.stderr
    written = school.cli("revision", "--autogenerate", "-m", "drop code")
    assert "note: drop column students.code: its data is deleted" in written.stderr
    school.cli("downgrade", "-1", "--allow-destructive")  # the downgrade drops the filled column, on purpose
    assert school.rows("students") == STUDENTS and "code" not in school.columns("students")


def test_not_renamed_answers_for_ci(school):
    _at_head_with_rows(school)
    school.write_models(table="scholars")
    out = school.cli("revision", "--autogenerate", "-m", "new table", "--not-renamed", "scholars", "--strict")
    lines = out.stderr.splitlines()
    assert "note: drop table students: its data is deleted" in lines  # the risk, said
    assert not [line for line in lines if "students" in line and not line.startswith("note: drop table")]  # decided: no warning, no hint about that pair
    written = [p for p in school.versions.glob("*new_table*.py")]
    assert len(written) == 1
    text = written[0].read_text()
    assert "op.create_table('scholars'" in text and "op.drop_table('students')" in text and "rename_table" not in text
