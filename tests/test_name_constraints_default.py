"""``name-constraints`` when the models have no naming convention: schemashift's default
(the one ``init`` writes) names everything, said in one line; ``--convention`` for another."""

from __future__ import annotations

import re

import sqlalchemy as sa

from fixtures_projects import STUDENTS
from schemashift import api
from schemashift.naming import DEFAULT_NAMING_CONVENTION

NO_CONVENTION_MODELS = '''
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Teacher(Base):
    __tablename__ = "teachers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("email"),)


class Student(Base):
    __tablename__ = "students"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int]
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    __table_args__ = (CheckConstraint("grade > 0"),)
'''

OTHER_CONVENTION = '''
CONV = {"pk": "%(table_name)s_primary", "uq": "%(table_name)s_%(column_0_name)s_unique",
        "ck": "%(table_name)s_%(constraint_name)s_check",
        "fk": "%(table_name)s_%(column_0_name)s_to_%(referred_table_name)s"}
'''


def constraint_names(school) -> set[str]:
    engine = school.engine()
    try:
        insp = sa.inspect(engine)
        names = set()
        for table in ("teachers", "students"):
            names.add(insp.get_pk_constraint(table)["name"])
            names.update(c["name"] for c in insp.get_unique_constraints(table))
            names.update(c["name"] for c in insp.get_check_constraints(table))
            names.update(c["name"] for c in insp.get_foreign_keys(table))
        return names
    finally:
        engine.dispose()


def _unnamed_project(school):
    (school.root / "models.py").write_text(NO_CONVENTION_MODELS)
    api.revision(school.project(), "tables", autogenerate=True, rev_id="n0001")
    api.upgrade(school.project(), "head")
    with school.engine().begin() as conn:
        conn.execute(sa.text("INSERT INTO teachers (id, email) VALUES (1, 'a@school.test')"))
    school.insert_students()
    with school.engine().begin() as conn:
        conn.execute(sa.text("UPDATE students SET teacher_id = 1 WHERE id = 1"))


def test_default_convention_names_everything(school, run_cli):
    _unnamed_project(school)
    result = run_cli(school.root, "name-constraints", "-m", "name them", "--rev-id", "n0002")
    assert result.code == 0, result.stderr
    default_lines = [ln for ln in result.stdout.splitlines() if "schemashift's default" in ln]
    assert len(default_lines) == 1
    assert "skipped" not in result.stdout + result.stderr
    assert run_cli(school.root, "upgrade", "head").code == 0
    names = constraint_names(school)
    assert {"pk_teachers", "pk_students", "uq_teachers_email", "fk_students_teacher_id_teachers"} <= names
    assert any(re.fullmatch(r"ck_students_\w+", n or "") for n in names), names
    assert school.rows("students") == STUDENTS
    assert run_cli(school.root, "downgrade", "-1").code == 0
    assert school.rows("students") == STUDENTS


def test_another_convention_on_the_command_line(school, run_cli):
    _unnamed_project(school)
    (school.root / "conventions.py").write_text(OTHER_CONVENTION)
    result = run_cli(school.root, "name-constraints", "--convention", "conventions:CONV", "--rev-id", "n0003")
    assert result.code == 0, result.stderr
    assert "schemashift's default" not in result.stdout
    assert run_cli(school.root, "upgrade", "head").code == 0
    names = constraint_names(school)
    assert {"teachers_primary", "students_primary", "teachers_email_unique", "students_teacher_id_to_teachers"} <= names
    assert school.rows("students") == STUDENTS
    before = school.state()
    for bad in ("conventions:NOPE", "nosuchmodule:X", "conventions"):
        result = run_cli(school.root, "name-constraints", "--convention", bad)
        assert result.code == 2 and len(result.lines) == 1 and "--convention" in result.lines[0], result.stderr
    assert school.state() == before


def test_starter_models_declare_the_default_convention():
    from schemashift.api import TEMPLATES

    scope: dict = {}
    exec((TEMPLATES / "models.py").read_text(), scope)  # noqa: S102 - our own template
    assert scope["NAMING_CONVENTION"] == DEFAULT_NAMING_CONVENTION
    assert scope["Base"].metadata.naming_convention["pk"] == DEFAULT_NAMING_CONVENTION["pk"]
