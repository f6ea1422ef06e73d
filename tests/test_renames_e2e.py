"""End to end: autogenerate with the rename hook on a real project, then upgrade and
downgrade with rows in the tables, on SQLite and PostgreSQL (``db_url``).

Each scenario: old models + rows -> new models -> ``alembic.command.revision(...,
process_revision_directives=hook)`` -> the generated ops are checked -> upgrade
(rows checked, no drift left) -> downgrade (the original rows back) -> upgrade again.
"""

from __future__ import annotations

import pytest

from test_renames_support import rename_hook
from schemashift.autogen.questioner import NonInteractiveQuestioner, ScriptedQuestioner
from schemashift.autogen.renames import RenameConflict, UnresolvedRenames
from test_renames_support import RenameProject, Scenario, is_subsequence

STUDENTS = """
Table("students", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("email", String(80)),
)
"""

STUDENT_ROWS = {
    "students": [
        {"id": 1, "name": "Ada", "email": "ada@example.org"},
        {"id": 2, "name": "Alan", "email": "alan@example.org"},
        {"id": 3, "name": "Grace", "email": None},
    ]
}
STUDENTS_NULLABLE = STUDENTS.replace("nullable=False", "nullable=True")
ALL3 = [(1, "Ada", "ada@example.org"), (2, "Alan", "alan@example.org"), (3, "Grace", None)]


def scholars(extra_table: str = "", name: str = "name", name_info: str = "", table_info: str = "", name_type: str = "String(50)", extra_cols: str = "") -> str:
    return f"""
Table("scholars", metadata,
    Column("id", Integer, primary_key=True),
    Column("{name}", {name_type}, nullable=False{name_info}),
    Column("email", String(80)),{extra_cols}
    {table_info}
)
{extra_table}
"""


DECL_T = 'info={"renamed_from": "students"},'
DECL_C = ', info={"renamed_from": "name"}'

ENROLL_OLD = """
Table("enrollments", metadata,
    Column("id", Integer, primary_key=True),
    Column("student_id", ForeignKey("students.id"), nullable=False),
    Column("course", String(40)),
)
"""
ENROLL_NEW = ENROLL_OLD.replace('"students.id"', '"scholars.id"')
ENROLL_ROWS = {"enrollments": [{"id": 10, "student_id": 1, "course": "math"}, {"id": 11, "student_id": 2, "course": "logic"}]}


def _fk_target(table: str, target: str):
    def check(p: RenameProject, backend: str) -> None:
        fks = p.foreign_keys(table)
        assert fks and all(fk["referred_table"] == target for fk in fks), fks

    return check


def _indexes(table: str, *names: str):
    def check(p: RenameProject, backend: str) -> None:
        assert set(names) <= p.index_names(table), p.index_names(table)

    return check


def _pg_names(sql: str, *expected: str):
    def check(p: RenameProject, backend: str) -> None:
        if backend != "postgresql":
            return
        import sqlalchemy as sa

        with p.engine.connect() as conn:
            got = {r[0] for r in conn.execute(sa.text(sql))}
        assert set(expected) <= got, got

    return check


def _all(*checks):
    def check(p: RenameProject, backend: str) -> None:
        for c in checks:
            c(p, backend)

    return check


PG_CONSTRAINTS = "SELECT conname FROM pg_constraint"
PG_SEQUENCES = "SELECT relname FROM pg_class WHERE relkind = 'S'"
PG_INDEXES = "SELECT indexname FROM pg_indexes"

S = Scenario
SCENARIOS = [
    # ---- tables
    S(
        "table-declared",
        STUDENTS,
        scholars(table_info=DECL_T),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
        check=_pg_names(PG_CONSTRAINTS, "pk_scholars"),
    ),
    S(
        "table-cli",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
        cli=("students=scholars",),
    ),
    S(
        "table-detected-accepted",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
        accept=True,
    ),
    S(
        "table-detected-answered-yes",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
        answers={"students=scholars": True},
    ),
    S(
        "table-detected-answered-no",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        {"scholars": (("id",), [])},
        ["add table scholars (3 columns)", "drop table students"],
        forbid=["rename"],
        answers={"students=scholars": False},
        lossy=True,
    ),
    S(
        "table-undecided-warns",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        {"scholars": (("id",), [])},
        ["add table scholars (3 columns)", "drop table students"],
        forbid=["rename"],
        unresolved=("students=scholars",),
        lossy=True,
    ),
    S(
        "table-undecided-strict",
        STUDENTS,
        scholars(),
        STUDENT_ROWS,
        strict=True,
        error=UnresolvedRenames,
        match="students=scholars",
    ),
    S(
        "table-renamed-from-list",
        STUDENTS,
        scholars(table_info='info={"renamed_from": ["pupils", "students"]},'),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
    ),
    S(
        "table-rename-plus-added-column",
        STUDENTS,
        scholars(table_info=DECL_T, extra_cols='\n    Column("year", Integer),'),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "year"), [(1, "Ada", None), (2, "Alan", None), (3, "Grace", None)])},
        ["rename table students to scholars", "add column scholars.year INTEGER"],
    ),
    S(
        "table-rename-plus-dropped-column",
        STUDENTS,
        """
Table("scholars", metadata, Column("id", Integer, primary_key=True), Column("name", String(50), nullable=False),
      info={"renamed_from": "students"})
""",
        STUDENT_ROWS,
        {"scholars": (("id", "name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["rename table students to scholars", "drop column scholars.email"],
        forbid=["drop table"],
        lost=("students.email",),
    ),
    S(
        "table-rename-plus-type-change",
        STUDENTS,
        scholars(table_info=DECL_T, name_type="String(120)"),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars", "alter column scholars.name type VARCHAR(50) -> VARCHAR(120)"],
    ),
    S(
        "table-rename-plus-nullability",
        STUDENTS,
        scholars(table_info=DECL_T).replace("nullable=False", "nullable=True"),
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars", "alter column scholars.name NOT NULL -> NULL"],
    ),
    # ---- columns
    S(
        "column-declared",
        STUDENTS,
        STUDENTS.replace('Column("name", String(50), nullable=False)', 'Column("full_name", String(50), nullable=False, info={"renamed_from": "name"})'),
        STUDENT_ROWS,
        {"students": (("id", "full_name", "email"), ALL3)},
        ["rename column students.name to full_name"],
    ),
    S(
        "column-cli",
        STUDENTS,
        STUDENTS.replace('"name"', '"full_name"'),
        STUDENT_ROWS,
        {"students": (("id", "full_name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["rename column students.name to full_name"],
        cli=("students.name=full_name",),
    ),
    S(
        "column-detected-accepted",
        STUDENTS,
        STUDENTS.replace('"name"', '"full_name"'),
        STUDENT_ROWS,
        {"students": (("id", "full_name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["rename column students.name to full_name"],
        accept=True,
    ),
    S(
        "column-undecided-warns",
        STUDENTS_NULLABLE,
        STUDENTS.replace('"name"', '"full_name"').replace("nullable=False", "nullable=True"),
        STUDENT_ROWS,
        {"students": (("id", "email"), [(1, "ada@example.org"), (2, "alan@example.org"), (3, None)])},
        ["add column students.full_name VARCHAR(50)", "drop column students.name"],
        forbid=["rename"],
        unresolved=("students.name=full_name",),
        lossy=True,
    ),
    S(
        "column-rename-plus-type-change",
        STUDENTS,
        STUDENTS.replace('Column("name", String(50)', 'Column("full_name", String(200)'),
        STUDENT_ROWS,
        {"students": (("id", "full_name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["rename column students.name to full_name", "alter column students.full_name type VARCHAR(50) -> VARCHAR(200)"],
        cli=("students.name=full_name",),
    ),
    S(
        "column-rename-across-affinity",
        """
Table("scores", metadata, Column("id", Integer, primary_key=True), Column("points", Integer))
""",
        """
Table("scores", metadata, Column("id", Integer, primary_key=True), Column("grade", String(20), info={"renamed_from": "points"}))
""",
        {"scores": [{"id": 1, "points": 7}, {"id": 2, "points": 9}]},
        {"scores": (("id", "grade"), [(1, "7"), (2, "9")])},
        ["rename column scores.points to grade", "alter column scores.grade type INTEGER -> VARCHAR(20)"],
        # PostgreSQL: the downgrade (varchar -> integer) needs a USING cast, which is the
        # type-conversion hooks' job, not the rename's
        backends=("sqlite",),
    ),
    S(
        "column-rename-plus-nullability",
        STUDENTS,
        STUDENTS.replace('Column("email", String(80))', 'Column("mail", String(80), nullable=False, server_default="none")'),
        {"students": [{"id": 1, "name": "Ada", "email": "a@x"}, {"id": 2, "name": "Alan", "email": "b@x"}]},
        {"students": (("id", "mail"), [(1, "a@x"), (2, "b@x")])},
        ["rename column students.email to mail", "alter column students.mail NULL -> NOT NULL"],
        cli=("students.email=mail",),
        drift_free=False,  # server default comparison is off by default; the default is added
    ),
    S(
        "column-rename-with-index",
        STUDENTS.replace('String(50), nullable=False', 'String(50), nullable=False, index=True'),
        STUDENTS.replace('Column("name", String(50), nullable=False', 'Column("full_name", String(50), nullable=False, index=True'),
        STUDENT_ROWS,
        {"students": (("id", "full_name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["rename column students.name to full_name"],
        accept=True,
        check=_indexes("students", "ix_students_full_name"),
    ),
    S(
        "column-rename-with-unique",
        STUDENTS.replace('Column("email", String(80))', 'Column("email", String(80), unique=True)'),
        STUDENTS.replace('Column("email", String(80))', 'Column("mail", String(80), unique=True, info={"renamed_from": "email"})'),
        STUDENT_ROWS,
        {"students": (("id", "mail"), [(1, "ada@example.org"), (2, "alan@example.org"), (3, None)])},
        ["rename column students.email to mail"],
        check=_pg_names(PG_CONSTRAINTS, "uq_students_mail"),
    ),
    S(
        "column-rename-primary-key-referenced",
        STUDENTS + ENROLL_OLD,
        STUDENTS.replace('Column("id", Integer', 'Column("student_no", Integer') + ENROLL_OLD.replace('"students.id"', '"students.student_no"'),
        {**STUDENT_ROWS, **ENROLL_ROWS},
        {"students": (("student_no", "name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")]),
         "enrollments": (("id", "student_id"), [(10, 1), (11, 2)])},
        ["rename column students.id to student_no"],
        forbid=["drop", "add foreign key"],
        cli=("students.id=student_no",),
        check=_pg_names(PG_SEQUENCES, "students_student_no_seq"),
    ),
    S(
        "column-rename-foreign-key-column",
        STUDENTS + ENROLL_OLD,
        STUDENTS + ENROLL_OLD.replace('Column("student_id"', 'Column("scholar_id"'),
        {**STUDENT_ROWS, **ENROLL_ROWS},
        {"enrollments": (("id", "scholar_id"), [(10, 1), (11, 2)])},
        ["rename column enrollments.student_id to scholar_id"],
        cli=("enrollments.student_id=scholar_id",),
        check=_pg_names(PG_CONSTRAINTS, "fk_enrollments_scholar_id_students"),
    ),
    S(
        "column-rename-keeps-server-default",
        """
Table("items", metadata, Column("id", Integer, primary_key=True), Column("qty", Integer, server_default="1", nullable=False))
""",
        """
Table("items", metadata, Column("id", Integer, primary_key=True), Column("quantity", Integer, server_default="1", nullable=False))
""",
        {"items": [{"id": 1, "qty": 5}]},
        {"items": (("id", "quantity"), [(1, 5)])},
        ["rename column items.qty to quantity"],
        accept=True,
    ),
    # ---- both
    S(
        "table-and-column-declared",
        STUDENTS,
        scholars(name="full_name", name_info=DECL_C, table_info=DECL_T),
        STUDENT_ROWS,
        {"scholars": (("id", "full_name", "email"), ALL3)},
        ["rename table students to scholars", "rename column scholars.name to full_name"],
    ),
    S(
        "table-and-column-detected",
        STUDENTS,
        scholars(name="full_name"),
        STUDENT_ROWS,
        {"scholars": (("id", "full_name", "email"), ALL3)},
        ["rename table students to scholars", "rename column scholars.name to full_name"],
        accept=True,
    ),
    S(
        "table-and-column-cli",
        STUDENTS,
        scholars(name="full_name"),
        STUDENT_ROWS,
        {"scholars": (("id", "full_name", "email"), ALL3)},
        ["rename table students to scholars", "rename column scholars.name to full_name"],
        cli=("students=scholars", "scholars.name=full_name"),
    ),
    S(
        "column-rename-among-other-changes",
        STUDENTS.replace('String(50), nullable=False', 'String(50), nullable=False, index=True'),
        """
Table("students", metadata,
    Column("id", Integer, primary_key=True),
    Column("full_name", String(50), nullable=False, index=True),
    Column("year", Integer, index=True),
)
""",
        STUDENT_ROWS,
        {"students": (("id", "full_name", "year"), [(1, "Ada", None), (2, "Alan", None), (3, "Grace", None)])},
        ["rename column students.name to full_name", "add column students.year INTEGER",
         "drop column students.email"],  # the new index: by check (SQLite creates it after the rebuild)
        forbid=["drop table", "add column students.full_name", "drop column students.name"],
        cli=("students.name=full_name",),
        lost=("students.email",),
        check=_indexes("students", "ix_students_full_name", "ix_students_year"),
    ),
    S(
        "orm-table-args-and-mapped-column",
        """
class Base(DeclarativeBase):
    metadata = metadata

class Student(Base):
    __tablename__ = "students"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
""",
        """
class Base(DeclarativeBase):
    metadata = metadata

class Scholar(Base):
    __tablename__ = "scholars"
    __table_args__ = {"info": {"renamed_from": "students"}}
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100), info={"renamed_from": "name"})
""",
        {"students": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Alan"}]},
        {"scholars": (("id", "full_name"), [(1, "Ada"), (2, "Alan")])},
        ["rename table students to scholars", "rename column scholars.name to full_name"],
    ),
    S(
        "table-and-column-with-index-and-unique",
        STUDENTS.replace('String(50), nullable=False', 'String(50), nullable=False, index=True').replace(
            'Column("email", String(80))', 'Column("email", String(80), unique=True)'
        ),
        scholars(name="full_name", name_info=DECL_C + ", index=True", table_info=DECL_T).replace(
            'Column("email", String(80))', 'Column("email", String(80), unique=True)'
        ),
        STUDENT_ROWS,
        {"scholars": (("id", "full_name", "email"), ALL3)},
        ["rename table students to scholars", "rename column scholars.name to full_name"],
        forbid=["drop table", "drop column", "add table", "add column"],
        check=_all(
            _indexes("scholars", "ix_scholars_full_name"),
            _pg_names(PG_CONSTRAINTS, "pk_scholars", "uq_scholars_email"),
            _pg_names(PG_INDEXES, "ix_scholars_full_name"),
            _pg_names(PG_SEQUENCES, "scholars_id_seq"),
        ),
    ),
    # ---- foreign keys
    S(
        "new-table-referencing-renamed-table",
        STUDENTS,
        scholars(table_info=DECL_T) + ENROLL_NEW,
        STUDENT_ROWS,
        {"scholars": (("id", "name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")]), "enrollments": (("id",), [])},
        ["rename table students to scholars", "add table enrollments (3 columns)"],
        check=_fk_target("enrollments", "scholars"),
    ),
    S(
        "dropped-table-referencing-renamed-table",
        STUDENTS + ENROLL_OLD,
        scholars(table_info=DECL_T),
        {**STUDENT_ROWS, **ENROLL_ROWS},
        {"scholars": (("id", "name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")])},
        ["drop table enrollments", "rename table students to scholars"],
        forbid=["drop column", "add table"],
        lost=("enrollments.id", "enrollments.student_id", "enrollments.course"),
    ),
    S(
        "fk-into-renamed-table",
        STUDENTS + ENROLL_OLD,
        scholars(table_info=DECL_T) + ENROLL_NEW,
        {**STUDENT_ROWS, **ENROLL_ROWS},
        {"scholars": (("id", "name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")]),
         "enrollments": (("id", "student_id"), [(10, 1), (11, 2)])},
        ["rename table students to scholars"],
        forbid=["drop", "add foreign key"],
        check=_all(_fk_target("enrollments", "scholars"), _pg_names(PG_CONSTRAINTS, "fk_enrollments_student_id_scholars")),
    ),
    S(
        "fk-self-referential",
        """
Table("students", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)),
      Column("mentor_id", ForeignKey("students.id")))
""",
        """
Table("scholars", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)),
      Column("mentor_id", ForeignKey("scholars.id")), info={"renamed_from": "students"})
""",
        {"students": [{"id": 1, "name": "Ada", "mentor_id": None}, {"id": 2, "name": "Alan", "mentor_id": 1}]},
        {"scholars": (("id", "mentor_id"), [(1, None), (2, 1)])},
        ["rename table students to scholars"],
        forbid=["drop", "add"],
        check=_fk_target("scholars", "scholars"),
    ),
    S(
        "fk-from-renamed-table",
        """
Table("courses", metadata, Column("id", Integer, primary_key=True), Column("title", String(40)))
Table("students", metadata, Column("id", Integer, primary_key=True), Column("course_id", ForeignKey("courses.id")))
""",
        """
Table("courses", metadata, Column("id", Integer, primary_key=True), Column("title", String(40)))
Table("scholars", metadata, Column("id", Integer, primary_key=True), Column("course_id", ForeignKey("courses.id")),
      info={"renamed_from": "students"})
""",
        {"courses": [{"id": 1, "title": "math"}], "students": [{"id": 1, "course_id": 1}]},
        {"scholars": (("id", "course_id"), [(1, 1)])},
        ["rename table students to scholars"],
        forbid=["drop", "add"],
        check=_fk_target("scholars", "courses"),
    ),
    S(
        "fk-between-two-renamed-tables",
        """
Table("courses", metadata, Column("id", Integer, primary_key=True), Column("title", String(40)))
Table("students", metadata, Column("id", Integer, primary_key=True), Column("course_id", ForeignKey("courses.id")))
""",
        """
Table("classes", metadata, Column("id", Integer, primary_key=True), Column("title", String(40)), info={"renamed_from": "courses"})
Table("scholars", metadata, Column("id", Integer, primary_key=True), Column("course_id", ForeignKey("classes.id")),
      info={"renamed_from": "students"})
""",
        {"courses": [{"id": 1, "title": "math"}], "students": [{"id": 1, "course_id": 1}]},
        {"scholars": (("id", "course_id"), [(1, 1)]), "classes": (("id", "title"), [(1, "math")])},
        ["rename table courses to classes", "rename table students to scholars"],
        forbid=["drop", "add"],
        check=_all(_fk_target("scholars", "classes"), _pg_names(PG_CONSTRAINTS, "fk_scholars_course_id_classes")),
    ),
    # ---- indexes and naming
    S(
        "no-naming-convention-defaults",
        STUDENTS.replace('Column("email", String(80))', 'Column("email", String(80), unique=True, index=False)'),
        scholars(table_info=DECL_T).replace('Column("email", String(80))', 'Column("email", String(80), unique=True)'),
        STUDENT_ROWS,
        {"scholars": (("id", "email"), [(1, "ada@example.org"), (2, "alan@example.org"), (3, None)])},
        ["rename table students to scholars"],
        naming_convention=False,
        check=_all(
            _pg_names(PG_CONSTRAINTS, "scholars_pkey", "scholars_email_key"),
            _pg_names(PG_SEQUENCES, "scholars_id_seq"),
        ),
    ),
    S(
        "composite-and-unique-indexes",
        STUDENTS + 'Index("ix_students_name_email", metadata.tables["students"].c.name, metadata.tables["students"].c.email)\n'
        'Index("ux_students_email", metadata.tables["students"].c.email, unique=True)\n',
        scholars(table_info=DECL_T)
        + 'Index("ix_scholars_name_email", metadata.tables["scholars"].c.name, metadata.tables["scholars"].c.email)\n'
        'Index("ux_scholars_email", metadata.tables["scholars"].c.email, unique=True)\n',
        STUDENT_ROWS,
        {"scholars": (("id", "name", "email"), ALL3)},
        ["rename table students to scholars"],
        forbid=["drop table", "drop column", "add table"],
        check=_indexes("scholars", "ix_scholars_name_email", "ux_scholars_email"),
    ),
    # ---- chains and swaps
    S(
        "table-chain",
        """
Table("a", metadata, Column("id", Integer, primary_key=True), Column("x", Integer))
Table("b", metadata, Column("id", Integer, primary_key=True), Column("y", String(20)))
""",
        """
Table("b", metadata, Column("id", Integer, primary_key=True), Column("x", Integer), info={"renamed_from": "a"})
Table("c", metadata, Column("id", Integer, primary_key=True), Column("y", String(20)), info={"renamed_from": "b"})
""",
        {"a": [{"id": 1, "x": 10}], "b": [{"id": 2, "y": "yy"}]},
        {"b": (("id", "x"), [(1, 10)]), "c": (("id", "y"), [(2, "yy")])},
        ["rename table b to c", "rename table a to b"],
    ),
    S(
        "table-swap",
        """
Table("a", metadata, Column("id", Integer, primary_key=True), Column("x", Integer))
Table("b", metadata, Column("id", Integer, primary_key=True), Column("y", String(20)))
""",
        """
Table("a", metadata, Column("id", Integer, primary_key=True), Column("y", String(20)), info={"renamed_from": "b"})
Table("b", metadata, Column("id", Integer, primary_key=True), Column("x", Integer), info={"renamed_from": "a"})
""",
        {"a": [{"id": 1, "x": 10}], "b": [{"id": 2, "y": "yy"}]},
        {"a": (("id", "y"), [(2, "yy")]), "b": (("id", "x"), [(1, 10)])},
        ["rename table a to a__ss_tmp", "rename table b to a", "rename table a__ss_tmp to b"],
    ),
    S(
        "column-swap",
        """
Table("people", metadata, Column("id", Integer, primary_key=True), Column("first", String(20)), Column("last", String(30)))
""",
        """
Table("people", metadata, Column("id", Integer, primary_key=True),
      Column("first", String(30), info={"renamed_from": "last"}), Column("last", String(20), info={"renamed_from": "first"}))
""",
        {"people": [{"id": 1, "first": "Ada", "last": "Lovelace"}]},
        {"people": (("id", "first", "last"), [(1, "Lovelace", "Ada")])},
        ["rename column people.first to first__ss_tmp", "rename column people.last to first", "rename column people.first__ss_tmp to last"],
    ),
    S(
        "column-chain",
        """
Table("t", metadata, Column("id", Integer, primary_key=True), Column("a", Integer), Column("b", String(10)))
""",
        """
Table("t", metadata, Column("id", Integer, primary_key=True), Column("b", Integer, info={"renamed_from": "a"}),
      Column("c", String(10), info={"renamed_from": "b"}))
""",
        {"t": [{"id": 1, "a": 5, "b": "bee"}]},
        {"t": (("id", "b", "c"), [(1, 5, "bee")])},
        ["rename column t.b to c", "rename column t.a to b"],
    ),
    S(
        "rename-then-reuse-old-table-name",
        """
Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", String(80)))
""",
        """
Table("accounts", metadata, Column("id", Integer, primary_key=True), Column("email", String(80)), info={"renamed_from": "users"})
Table("users", metadata, Column("id", Integer, primary_key=True), Column("nickname", String(30)))
""",
        {"users": [{"id": 1, "email": "a@x"}]},
        {"accounts": (("id", "email"), [(1, "a@x")]), "users": (("id",), [])},
        ["rename table users to accounts", "add table users (2 columns)"],
    ),
    S(
        "rename-then-reuse-old-column-name",
        """
Table("t", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
""",
        """
Table("t", metadata, Column("id", Integer, primary_key=True), Column("full_name", String(50), info={"renamed_from": "name"}),
      Column("name", String(10)))
""",
        {"t": [{"id": 1, "name": "Ada Lovelace"}]},
        {"t": (("id", "full_name", "name"), [(1, "Ada Lovelace", None)])},
        ["rename column t.name to full_name", "add column t.name VARCHAR(10)"],
    ),
    # ---- ambiguous
    S(
        "ambiguous-columns-never-guessed",
        STUDENTS_NULLABLE,
        STUDENTS.replace('Column("name", String(50), nullable=False)', 'Column("first_name", String(50), nullable=False, server_default=""), Column("last_name", String(50), nullable=False, server_default="")'),
        STUDENT_ROWS,
        {"students": (("id", "first_name"), [(1, ""), (2, ""), (3, "")])},
        ["drop column students.name"],
        forbid=["rename"],
        accept=True,
        unresolved=("students.name=first_name", "students.name=last_name"),
        lossy=True,
        drift_free=False,
    ),
    S(
        "ambiguous-tables-never-guessed",
        STUDENTS,
        scholars() + STUDENTS.replace('"students"', '"pupils"'),
        STUDENT_ROWS,
        {"scholars": (("id",), []), "pupils": (("id",), [])},
        ["drop table students"],
        forbid=["rename"],
        accept=True,
        unresolved=("students=pupils", "students=scholars"),
        lossy=True,
    ),
    S(
        "ambiguous-tables-answered",
        STUDENTS,
        scholars() + STUDENTS.replace('"students"', '"pupils"'),
        STUDENT_ROWS,
        {"pupils": (("id", "name", "email"), ALL3), "scholars": (("id",), [])},
        ["rename table students to pupils", "add table scholars (3 columns)"],
        answers={"students=pupils": True},
    ),
    # ---- conflicts
    S(
        "cli-target-exists",
        STUDENTS + scholars(),
        scholars(),
        STUDENT_ROWS,
        cli=("students=scholars",),
        error=RenameConflict,
        match="a table scholars already exists",
    ),
    S(
        "declared-but-both-tables-exist",
        STUDENTS + scholars(),
        scholars(table_info=DECL_T),
        STUDENT_ROWS,
        error=RenameConflict,
        match="would drop students",
    ),
    S(
        "declared-twice-from-one-table",
        STUDENTS,
        scholars(table_info=DECL_T) + STUDENTS.replace('"students"', '"pupils"').replace(")\n", '    info={"renamed_from": "students"},\n)\n', 1),
        STUDENT_ROWS,
        error=RenameConflict,
        match="declared renamed to pupils and scholars",
    ),
    # ---- combined
    S(
        "combined-everything",
        STUDENTS + ENROLL_OLD,
        """
Table("scholars", metadata,
    Column("id", Integer, primary_key=True),
    Column("full_name", String(100), nullable=False, info={"renamed_from": "name"}),
    Column("year", Integer, index=True),
    info={"renamed_from": "students"},
)
Table("enrollments", metadata,
    Column("id", Integer, primary_key=True),
    Column("scholar_id", ForeignKey("scholars.id"), nullable=False, info={"renamed_from": "student_id"}),
    Column("course", String(40)),
)
""",
        {**STUDENT_ROWS, **ENROLL_ROWS},
        {"scholars": (("id", "full_name"), [(1, "Ada"), (2, "Alan"), (3, "Grace")]),
         "enrollments": (("id", "scholar_id"), [(10, 1), (11, 2)])},
        ["rename table students to scholars", "rename column scholars.name to full_name",
         "rename column enrollments.student_id to scholar_id", "add column scholars.year INTEGER",
         "alter column scholars.full_name type VARCHAR(50) -> VARCHAR(100)",
         "drop column scholars.email"],  # the new index: by check (SQLite creates it after the rebuild)
        forbid=["drop table", "add table", "add foreign key"],
        lost=("students.email",),
        check=_all(
            _indexes("scholars", "ix_scholars_year"),
            _pg_names(PG_CONSTRAINTS, "fk_enrollments_scholar_id_scholars", "pk_scholars"),
        ),
    ),
]


@pytest.mark.parametrize("compare", ["fast", "alembic"])
@pytest.mark.parametrize(
    "sc, backend",
    [pytest.param(sc, b, id=f"{sc.id}-{b}") for sc in SCENARIOS for b in sc.backends],
)  # a scenario for one database only is not generated for the other (rather than skipped)
def test_rename_scenario(sc: Scenario, compare: str, backend: str, db_url: str, tmp_path) -> None:
    """``compare``: renamed tables compared from autogenerate's reflection (the default)
    or diffed again by Alembic under their old names (``full_compare``); same results."""
    p = RenameProject(tmp_path / "project", db_url, naming_convention=sc.naming_convention)
    p.models(sc.old)
    p.revision("initial")
    p.upgrade()
    p.insert(sc.rows)
    kept = {t: [c for c in rows[0] if f"{t}.{c}" not in sc.lost] for t, rows in sc.rows.items()}
    before = {t: p.select(t, cols) for t, cols in kept.items() if cols}
    tables_before = p.tables()

    p.models(sc.new)
    if sc.answers is not None:
        questioner = ScriptedQuestioner(sc.answers)
    else:
        questioner = NonInteractiveQuestioner(accept_unambiguous=sc.accept)
    hook, report = rename_hook(
        questioner=questioner, cli_renames=sc.cli, strict=sc.strict, full_compare=compare == "alembic"
    )
    if sc.error is not None:
        files = p.revision_files()
        with pytest.raises(sc.error, match=sc.match):
            p.revision("renames", hook)
        assert p.revision_files() == files, "no revision file may be written"
        return
    p.revision("renames", hook)

    lines = p.upgrade_lines()
    assert is_subsequence(sc.expect, lines), "\n".join(lines)
    for prefix in sc.forbid:
        assert not [ln for ln in lines if ln.startswith(prefix)], (prefix, lines)
    assert set(sc.unresolved) <= {c.spec for c in report.unresolved}, report.unresolved
    for c in report.unresolved:
        assert "renamed_from" in c.suggestion and c.warning()

    p.upgrade()
    for table, (cols, rows) in sc.after.items():
        assert p.select(table, cols) == rows, table
    if sc.drift_free:
        assert p.drift() == []
    if sc.check is not None:
        sc.check(p, backend)

    p.downgrade("-1")
    assert p.tables() == tables_before
    if not sc.lossy:
        for table, rows in before.items():
            assert p.select(table, kept[table]) == rows, table
    p.upgrade()  # and forward again
    if not sc.lossy:
        for table, (cols, rows) in sc.after.items():
            assert p.select(table, cols) == rows, table


def test_scenario_count() -> None:
    assert len(SCENARIOS) >= 30
