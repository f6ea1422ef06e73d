"""Small projects for the run core: hand-written revisions and env.py in the shapes real projects use.

``runcore`` gives a ``RunCore``: a ``schemashift init`` project on the
test's database (``db_url``) with helpers to write a revision file directly,
rewrite env.py into another shape, run the api in-process, and read the
version, ledger and rows back.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures_projects import SchoolProject, forget_project_modules
from schemashift import api

REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}
'''

DOWNGRADE = '''

def downgrade():
{downgrade}
'''

# env.py shapes: each replaces the template's ``with connectable.connect() ...`` block
CONNECT = "    with connectable.connect() as connection:\n        _run(connection)\n"
SHAPES = {
    "connect": CONNECT,
    "begin": "    with connectable.begin() as connection:\n        _run(connection)\n",
}


# Alembic's ``async`` template, as the body of an init project's run_migrations_online()
ASYNC_ONLINE = '''
def run_migrations_online() -> None:
    """Async engine, as Alembic's ``async`` template writes it."""
    import asyncio

    from sqlalchemy.ext.asyncio import async_engine_from_config

    async def main():
        connectable = async_engine_from_config(
            config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool,
        )
        async with connectable.connect() as connection:
            await connection.run_sync(_run)
        await connectable.dispose()

    asyncio.run(main())

'''


def make_env_async(env_py: Path) -> None:
    """Rewrite an init project's env.py to run through an async engine (the URL must name an async driver)."""
    text = env_py.read_text()
    start, end = text.index("def run_migrations_online"), text.index("if context.is_offline_mode()")
    env_py.write_text(text[:start] + ASYNC_ONLINE + text[end:])


@dataclass
class RunCore(SchoolProject):
    def rev(self, rev: str, down, upgrade: str, downgrade: str | None = "pass", *, folder: Path | None = None) -> Path:
        """Write revision ``rev`` revising ``down`` (None, an id, or a tuple for a merge)."""
        body = REVISION.format(
            message=f"revision {rev}", rev=rev, down=down or "", down_repr=repr(down),
            upgrade=textwrap.indent(textwrap.dedent(upgrade).strip() or "pass", "    "),
        )
        if downgrade is not None:
            body += DOWNGRADE.format(downgrade=textwrap.indent(textwrap.dedent(downgrade).strip() or "pass", "    "))
        path = (folder or self.versions) / f"{rev}_r.py"
        path.write_text(body)
        sys.modules.pop(path.stem, None)
        return path

    @property
    def env_py(self) -> Path:
        return self.root / "migrations" / "env.py"

    def env_shape(self, shape: str) -> None:
        text = self.env_py.read_text()
        assert CONNECT in text
        self.env_py.write_text(text.replace(CONNECT, SHAPES[shape]))

    def edit_env(self, old: str, new: str) -> None:
        text = self.env_py.read_text()
        assert old in text, old
        self.env_py.write_text(text.replace(old, new, 1))

    def upgrade(self, target: str = "head", **kw):
        kw.setdefault("allow_destructive", True)  # these tests drop and rewrite rows on purpose
        return api.upgrade(self.project(), target, **kw)

    def downgrade(self, target: str, **kw):
        kw.setdefault("allow_destructive", True)
        return api.downgrade(self.project(), target, **kw)

    def ledger(self) -> list[tuple[str, str]]:
        """(revision, direction) rows, read wherever the ledger lives (own schema, sidecar file)."""
        from schemashift.safety.ledger import Ledger

        ledger = Ledger.for_config(self.project().config)
        engine = self.engine()
        try:
            with engine.connect() as conn:
                ledger.prepare(conn, create=False)
                if not ledger.exists(conn):
                    return []
                return [(e.revision, e.direction) for e in ledger.entries(conn)]
        finally:
            engine.dispose()

    def query(self, sql: str) -> list[tuple]:
        with self.engine().connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    def run_sql(self, *statements: str) -> None:
        with self.engine().begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))


@pytest.fixture
def runcore(tmp_path, db_url, backend) -> RunCore:
    root = tmp_path / "proj"
    api.init(root, url=db_url)
    project = RunCore(root, db_url, backend)
    yield project
    forget_project_modules()


@pytest.fixture
def sqlite_runcore(tmp_path, sqlite_url) -> RunCore:
    root = tmp_path / "proj"
    api.init(root, url=sqlite_url)
    project = RunCore(root, sqlite_url, "sqlite")
    yield project
    forget_project_modules()


@pytest.fixture
def pg_runcore(tmp_path, pg_url) -> RunCore:
    root = tmp_path / "proj"
    api.init(root, url=pg_url)
    project = RunCore(root, pg_url, "postgresql")
    yield project
    forget_project_modules()
