"""Expression indexes and index order on SQLite, which Alembic's compare cannot see.

Upstream: Alembic issue #750 (autogenerate skips a functional index even for a table
the same revision creates) and Arize-ai/phoenix issue #15039 (a batch-mode rebuild
silently turns a ``DESC`` index ascending; found by reading ``sqlite_master`` rather
than reflection).  Plain Alembic writes neither index below, and after a batch rebuild
reports nothing wrong.  Written anew here; every step checks the rows.
"""

from __future__ import annotations

import textwrap

import pytest

from schemashift import api
from schemashift.checks.refusal import UnsafeOperations

MODELS = """
class Session(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.Integer)
    end_time: Mapped[int] = mapped_column(sa.Integer)
    email: Mapped[str] = mapped_column(sa.String(50), index=True)
{flag}
    __table_args__ = (
        sa.Index("ix_sessions_project_end", "project_id", sa.desc("end_time")),
        sa.Index("ix_sessions_email_lower", sa.func.lower(sa.column("email"))),
    )
"""
FLAG = "    flag: Mapped[int | None] = mapped_column(sa.Integer)"
ROWS = [(1, 1, 10, "a@x.org"), (2, 1, 20, "B@x.org"), (3, 2, 5, "c@x.org")]

# what a batch-mode rebuild does to the table: the expression index is gone, the order lost
BATCH_REBUILD = '''"""add flag by a batch rebuild

Revision ID: r2batch
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = "r2batch"
down_revision = "{down}"


def upgrade():
    with op.batch_alter_table("sessions", recreate="always") as batch:
        batch.add_column(sa.Column("flag", sa.Integer, nullable=True))


def downgrade():
    with op.batch_alter_table("sessions", recreate="always") as batch:
        batch.drop_column("flag")
'''


def index_sql(proj, backend: str) -> dict[str, str]:
    if backend == "sqlite":
        found = proj.sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'")
    else:
        found = proj.sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sessions'")
    return {name: sql for name, sql in found if sql is not None and not name.startswith("pk_")}


def rows(proj) -> list[tuple]:
    return proj.sql("SELECT id, project_id, end_time, email FROM sessions ORDER BY id")


def fill(proj) -> None:
    for row in ROWS:
        proj.sql("INSERT INTO sessions (id, project_id, end_time, email) VALUES (%s, %s, %s, %s)"
                 .replace("%s", "?" if proj.url.startswith("sqlite") else "%s"), row)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_table_gets_its_expression_indexes(backend, schema_project, request) -> None:
    proj = schema_project(request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url"))
    proj.models(MODELS.format(flag=""))
    text = proj.revision("create sessions").read_text()
    for name in ("ix_sessions_project_end", "ix_sessions_email_lower", "ix_sessions_email"):
        assert text.split("def downgrade")[0].count(f"'{name}'") == 1, text  # once, never twice
    proj.upgrade()
    fill(proj)
    made = index_sql(proj, backend)
    assert "DESC" in made["ix_sessions_project_end"] and "lower(" in made["ix_sessions_email_lower"], made
    assert api.check(proj.project).differences == []
    assert rows(proj) == ROWS
    proj.downgrade("base", allow_destructive=True)  # drops the filled table, on purpose
    assert proj.inspect(lambda insp: insp.has_table("sessions")) is False


def test_a_batch_rebuild_that_lost_them_is_drift_and_the_revision_restores_them(schema_project, sqlite_url) -> None:
    proj = schema_project(sqlite_url)
    proj.models(MODELS.format(flag=""))
    first = proj.revision("create sessions")
    proj.upgrade()
    fill(proj)
    created = index_sql(proj, "sqlite")
    assert api.check(proj.project).differences == []  # the DESC index that exists is not "changed"
    down = first.name.split("_")[0]
    (first.parent / "r2batch.py").write_text(BATCH_REBUILD.format(down=down))
    with pytest.raises(UnsafeOperations) as refused:  # the plan names what the batch rebuild loses
        proj.upgrade()
    assert "ix_sessions_email_lower" in refused.value.findings[0].message
    proj.upgrade(allow=["SS-S503"])  # allowed on purpose: the drift this test is about
    lost = index_sql(proj, "sqlite")
    assert "ix_sessions_email_lower" not in lost and "DESC" not in lost["ix_sessions_project_end"], lost
    assert rows(proj) == ROWS
    proj.models(MODELS.format(flag=FLAG))
    assert api.check(proj.project).differences == [
        "drop index ix_sessions_project_end on sessions",
        "add index ix_sessions_project_end on sessions (project_id, end_time DESC)",
        "add index ix_sessions_email_lower on sessions (lower(email))",
    ]
    proj.revision("restore the indexes")
    proj.upgrade()
    assert index_sql(proj, "sqlite") == created
    assert rows(proj) == ROWS
    assert api.check(proj.project).differences == []
    proj.downgrade("-1")
    assert index_sql(proj, "sqlite") == lost and rows(proj) == ROWS


def test_an_index_env_py_excludes_is_not_added(schema_project, sqlite_url) -> None:
    proj = schema_project(sqlite_url)
    env = proj.root / "migrations" / "env.py"
    source = env.read_text()
    hook = textwrap.dedent('''
        def include_object(obj, name, type_, reflected, compare_to):
            return not (type_ == "index" and name == "ix_sessions_email_lower")

    ''')
    source = source.replace("def run_migrations_online", hook + "def run_migrations_online", 1)
    assert source.count("context.configure(") == 2
    source = source.replace("context.configure(", "context.configure(include_object=include_object, ")
    env.write_text(source)
    proj.models(MODELS.format(flag=""))
    text = proj.revision("create sessions").read_text()
    assert "ix_sessions_project_end" in text and "ix_sessions_email_lower" not in text
