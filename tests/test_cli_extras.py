"""The commands and options beyond Alembic's, through the real CLI, on SQLite and PostgreSQL.

Each changes a schema with rows in it and checks they survive; each has its bad input.
"""

from __future__ import annotations

import json
import re

from fixtures_projects import STUDENTS
from test_errors_cli import assert_clean_failure


def _rev(out: str) -> str:
    return re.search(r"versions/(\w+?)_", out).group(1)


def _at_head_with_rows(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "x0001")
    school.cli("upgrade", "head")
    school.insert_students()


def test_rename_on_the_command_line_and_strict(school):
    _at_head_with_rows(school)
    school.write_models(table="scholars")
    # without a decision: a warning with the declaration to add, and --strict writes nothing
    before = sorted(p.name for p in school.versions.glob("*.py"))
    refused = school.cli("revision", "--autogenerate", "-m", "rename", "--strict", ok=False)
    assert_clean_failure(refused, "possible rename(s) left undecided: students=scholars", "--rename")
    assert sorted(p.name for p in school.versions.glob("*.py")) == before
    drift = school.cli("check", ok=False)
    assert "drop table students" in drift.stdout and 'renamed_from": "students"' in drift.stderr
    assert "rename table students to scholars" in school.cli("check", "--accept-renames", ok=False).stdout
    # --rename decides it
    out = school.cli("revision", "--autogenerate", "-m", "rename", "--rename", "students=scholars")
    assert "rename table students -> scholars (--rename)" in out.stderr
    text = next(school.versions.glob(f"{_rev(out.stdout)}_*.py")).read_text()
    assert "op.rename_table('students', 'scholars')" in text and "drop_table" not in text
    school.cli("upgrade", "head")
    assert school.rows("scholars") == STUDENTS
    assert "No differences" in school.cli("check").stdout
    school.cli("downgrade", "-1")
    assert school.rows("students") == STUDENTS


def test_bad_rename_spec(school):
    _at_head_with_rows(school)
    before = school.state()
    result = school.cli("revision", "--autogenerate", "-m", "x", "--rename", "nonsense", ok=False)
    assert "nonsense" in result.error_line and "Traceback" not in result.stderr
    assert_clean_failure(school.cli("revision", "-m", "x", "--rename", "a=b", ok=False), "only applies with --autogenerate")
    assert school.state() == before


def test_verify_and_fill_downgrade(school):
    _at_head_with_rows(school)
    rev = school.manual_revision("drop nickname later", "op.add_column('students', sa.Column('nickname', sa.String(20)))", "pass")
    school.write_models(extra="    nickname: Mapped[str | None] = mapped_column(String(20))\n")
    result = school.cli("verify", ok=False)
    assert result.code == 1 and f"FAIL  {rev}" in result.stdout
    report = json.loads(school.cli("verify", "--json", ok=False).stdout)
    assert report["ok"] is False
    filled = school.cli("revision", "--fill-downgrade", rev[:6])
    assert "verify" in filled.stdout and "ok" in filled.stdout
    downgrade = next(school.versions.glob(f"{rev}_*.py")).read_text().split("def downgrade")[1]
    assert "drop_column(" in downgrade and "'nickname'" in downgrade
    assert "OK" in school.cli("verify").stdout
    # verify never touched the project's database; the real upgrade and downgrade keep the rows
    assert school.version() == {"x0001"}
    school.cli("upgrade", "head")
    school.cli("downgrade", "-1")
    assert school.rows("students") == STUDENTS
    refused = school.cli("revision", "--fill-downgrade", rev, ok=False)
    assert_clean_failure(refused, "is not empty")


def test_name_constraints_cli(school):
    school.write_models(extra="")
    # a table created by hand with unnamed constraints, as an old database has them
    with school.engine().begin() as conn:
        import sqlalchemy as sa

        conn.execute(sa.text("CREATE TABLE teachers (id INTEGER PRIMARY KEY, email VARCHAR(50) UNIQUE, age INTEGER CHECK (age > 0))"))
        conn.execute(sa.text("INSERT INTO teachers VALUES (1, 'a@school.test', 40)"))
    school.write_models(extra='''

class Teacher(Base):
    __tablename__ = "teachers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(50), unique=True)
    age: Mapped[int | None]
''')
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "x0001")
    school.cli("upgrade", "head")
    school.insert_students()
    out = school.cli("name-constraints", "-m", "name constraints").stdout
    # (the unique constraint got its name from the first autogenerate: the models name it)
    assert "-> pk_teachers" in out and "-> ck_teachers_age" in out and "Generating" in out
    school.cli("upgrade", "head")
    with school.engine().connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.text("SELECT id, email, age FROM teachers"))] == [(1, "a@school.test", 40)]
    assert school.rows("students") == STUDENTS
    school.cli("downgrade", "-1")
    assert school.rows("students") == STUDENTS


def test_allow_loss_on_the_command_line(school):
    school.write_models(extra="    code: Mapped[str | None] = mapped_column(String(10))\n")
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "x0001")
    school.cli("upgrade", "head")
    school.insert_students()
    import sqlalchemy as sa

    with school.engine().begin() as conn:
        conn.execute(sa.text("UPDATE students SET code = '12' WHERE id = 1"))
        conn.execute(sa.text("UPDATE students SET code = 'abc' WHERE id = 2"))
    school.write_models(extra="    code: Mapped[int | None]\n")
    school.cli("revision", "--autogenerate", "-m", "code to integer")
    before = school.state()
    refused = school.cli("upgrade", "head", ok=False)
    assert_clean_failure(refused, "would lose data", "abc", "--allow-loss", code=5)
    assert school.state() == before
    school.cli("upgrade", "head", "--allow-loss")
    assert school.rows("students", "id, name, grade, code") == [
        (1, "Ada Lovelace", 4, 12), (2, "Alan Turing", 4, None), (3, "Grace Hopper", 3, None)
    ]
