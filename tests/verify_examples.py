"""Small example projects for the verify / fill-downgrade tests.

Each test builds one in its tmp dir, named after its scenario: the same base
revision (users, posts with a foreign key, notes) followed by the revisions
under test, with a models module that matches the head (for the drift check).
Module names are unique per project, because every project's folder ends up
on ``sys.path`` of the one test process.
"""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from schemashift import api
from schemashift.config import Project, load_project

BASE_UP = """
op.create_table(
    "users",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("email", sa.String(100), nullable=False),
    sa.Column("score", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("email", name="uq_users_email"),
    sa.CheckConstraint("score >= 0", name="ck_users_score"),
)
op.create_table(
    "posts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", name="fk_posts_user_id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text),
)
op.create_index("ix_posts_user_id", "posts", ["user_id"])
op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text, nullable=False))
"""

BASE_DOWN = """
op.drop_table("notes")
op.drop_index("ix_posts_user_id", table_name="posts")
op.drop_table("posts")
op.drop_table("users")
"""

BASE_MODELS = """
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, text

metadata = MetaData()
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("email", String(100), nullable=False),
    Column("score", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("email", name="uq_users_email"),
    CheckConstraint("score >= 0", name="ck_users_score"),
)
posts = Table(
    "posts", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", name="fk_posts_user_id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text),
)
Index("ix_posts_user_id", posts.c.user_id)
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("body", Text, nullable=False))
"""


@dataclass
class Rev:
    """One revision: its id, and the bodies of upgrade() and downgrade()."""

    id: str
    up: str
    down: str = "pass"
    doc: str = ""


@dataclass
class Example:
    name: str
    root: Path
    project: Project
    url: str

    def revision_path(self, rev: str) -> Path:
        return self.root / "migrations" / "versions" / f"{rev}.py"

    def reload(self) -> Project:
        self.project = load_project(self.root / "alembic.ini")
        return self.project


def _body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip() or "pass", "    ")


def write_revision(versions: Path, rev: Rev, down_revision: str | None) -> Path:
    path = versions / f"{rev.id}.py"
    path.write_text(
        f'''"""{rev.doc or rev.id}

Revision ID: {rev.id}
Revises: {down_revision or ''}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev.id!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{_body(rev.up)}


def downgrade() -> None:
    """Downgrade schema."""
{_body(rev.down)}
'''
    )
    return path


def make_project(
    tmp_path: Path,
    name: str,
    revisions: list[Rev],
    *,
    url: str,
    models_extra: str = "",
    models: str | None = None,
    base: bool = True,
) -> Example:
    """A project in ``tmp_path/name``: the base revision ``r0`` (if ``base``), then ``revisions``."""
    root = tmp_path / name
    module = f"models_{name}_{uuid.uuid4().hex[:8]}"
    api.init(root, metadata=f"{module}:metadata", url=url)
    (root / f"{module}.py").write_text((models if models is not None else BASE_MODELS) + textwrap.dedent(models_extra))
    versions = root / "migrations" / "versions"
    chain = ([Rev("r0", BASE_UP, BASE_DOWN, "create users, posts, notes")] if base else []) + revisions
    previous = None
    for rev in chain:
        write_revision(versions, rev, previous)
        previous = rev.id
    return Example(name, root, load_project(root / "alembic.ini"), url)


def table_names(url: str) -> list[str]:
    """Tables in the database at ``url`` (to prove verify never touched it)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def run_verify(example: Example, **kw):
    """verify on ``example``, asserting that the project's own database was not migrated."""
    from schemashift.safety.verify import verify

    report = verify(example.project, **kw)
    assert table_names(example.url) == [], "verify must never migrate the project's own database"
    return report


def verdict(report) -> dict[str, tuple[str, str | None]]:
    return {r.revision: (r.status, r.failed_step) for r in report.revisions}


def sqlite_foreign_keys_on(example: Example) -> Example:
    """env.py turns SQLite foreign keys on for every connection (common in apps)."""
    env_py = example.root / "migrations" / "env.py"
    text = env_py.read_text()
    hooked = text.replace(
        "    with connectable.connect() as connection:\n        _run(connection)",
        "    from sqlalchemy import event\n"
        "    event.listen(connectable, 'connect', lambda c, r: c.execute('PRAGMA foreign_keys=ON'))\n"
        "    with connectable.connect() as connection:\n        _run(connection)",
    )
    assert hooked != text
    env_py.write_text(hooked)
    example.reload()
    return example
