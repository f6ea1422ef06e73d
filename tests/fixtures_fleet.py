"""A small tenant project and many tenant databases, for fleet tests.

``tenants`` gives a ``Tenants`` helper: a project (no models) with three small
revisions (create ``accounts``, add ``plan`` with a default, rename ``name``
to ``full_name``), plus makers of tenant targets: PostgreSQL databases, schemas
of one PostgreSQL database, SQLite files.  Each tenant gets its own rows, and
``check_rows`` compares them value by value after a run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import forked_cli
import pytest
import sqlalchemy as sa

from schemashift import api

REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

STEPS = [
    ("f1", "create accounts",
     "op.create_table('accounts', sa.Column('id', sa.Integer, primary_key=True), "
     "sa.Column('name', sa.String(80), nullable=False))",
     "op.drop_table('accounts')"),
    ("f2", "add plan",
     "op.add_column('accounts', sa.Column('plan', sa.String(20), nullable=False, server_default='free'))",
     "op.drop_column('accounts', 'plan')"),
    ("f3", "rename name to full_name",
     "op.alter_column('accounts', 'name', new_column_name='full_name', existing_type=sa.String(80), "
     "existing_nullable=False)",
     "op.alter_column('accounts', 'full_name', new_column_name='name', existing_type=sa.String(80), "
     "existing_nullable=False)"),
]


def write_revision(versions: Path, rev: str, down: str | None, message: str, upgrade: str, downgrade: str) -> None:
    (versions / f"{rev}_{message.replace(' ', '_')}.py").write_text(REVISION.format(
        message=message, rev=rev, down=down or "", down_repr=repr(down),
        upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
        downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
    ))


def tenant_rows(name: str) -> list[tuple[int, str]]:
    return [(1, f"Ada of {name}"), (2, f"Grace of {name}"), (3, f"Alan of {name}")]


@dataclass
class Tenants:
    root: Path
    pg_server: object | None = None
    targets: list[str] = field(default_factory=list)  # as written on the command line
    urls: dict[str, str] = field(default_factory=dict)  # target -> URL that reaches exactly that tenant
    schemas: dict[str, str | None] = field(default_factory=dict)
    _databases: list[str] = field(default_factory=list)

    @property
    def versions(self) -> Path:
        return self.root / "migrations" / "versions"

    def project(self):
        return api.load_project(self.root / "alembic.ini")

    def add_revision(self, rev: str, down: str, message: str, upgrade: str, downgrade: str = "pass") -> None:
        write_revision(self.versions, rev, down, message, upgrade, downgrade)

    # ------------------------------------------------------------ targets

    def sqlite_files(self, count: int, directory: str = "tenants") -> str:
        """``count`` empty SQLite files; returns their glob target."""
        folder = self.root.parent / directory
        folder.mkdir(exist_ok=True)
        for i in range(count):
            path = folder / f"t{i:02d}.db"
            sa.create_engine(f"sqlite:///{path}").connect().close()
            self.urls[f"sqlite:///{path}"] = f"sqlite:///{path}"
            self.schemas[f"sqlite:///{path}"] = None
        return f"sqlite:///{folder}/*.db"

    def pg_databases(self, count: int, password: str | None = None) -> list[str]:
        """``count`` fresh databases (a password in the URL is accepted by the trust-auth server)."""
        made = []
        for _ in range(count):
            name = self.pg_server.create_database()
            self._databases.append(name)
            url = self.pg_server.url(name)
            if password:
                url = url.replace("postgres@", f"postgres:{password}@")
            self.urls[url] = url
            self.schemas[url] = None
            made.append(url)
        return made

    def pg_schemas(self, count: int) -> list[str]:
        """``count`` schemas of one fresh database, as URL#schema=NAME targets."""
        name = self.pg_server.create_database()
        self._databases.append(name)
        url = self.pg_server.url(name)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for i in range(count):
                conn.execute(sa.text(f"CREATE SCHEMA tenant_{i}"))
        engine.dispose()
        made = []
        for i in range(count):
            target = f"{url}#schema=tenant_{i}"
            self.urls[target] = url
            self.schemas[target] = f"tenant_{i}"
            made.append(target)
        return made

    def drop(self) -> None:
        for name in self._databases:
            self.pg_server.drop_database(name)

    # ----------------------------------------------------------- database

    def _connect(self, target: str):
        engine = sa.create_engine(self.urls[target], poolclass=sa.pool.NullPool)
        conn = engine.connect()
        schema = self.schemas.get(target)
        if schema:
            conn.execute(sa.text(f"SET search_path TO {schema}"))
        return engine, conn

    def read(self, target: str, sql: str) -> list[tuple]:
        engine, conn = self._connect(target)
        try:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
        finally:
            conn.close()
            engine.dispose()

    def execute(self, target: str, sql: str, rows: list[dict] | None = None) -> None:
        engine, conn = self._connect(target)
        try:
            conn.execute(sa.text(sql), rows or {})
            conn.commit()
        finally:
            conn.close()
            engine.dispose()

    def version(self, target: str) -> set[str]:
        return {r[0] for r in self.read(target, "SELECT version_num FROM alembic_version")}

    def ledger(self, target: str) -> list[tuple[str, str]]:
        """The ledger's rows, read where schemashift keeps it (own schema, sidecar file)."""
        from schemashift.safety.ledger import Ledger

        engine, conn = self._connect(target)
        try:
            ledger = Ledger()
            ledger.prepare(conn, create=False)
            return [(e.revision, e.direction) for e in ledger.entries(conn)] if ledger.exists(conn) else []
        finally:
            conn.close()
            engine.dispose()

    def columns(self, target: str, table: str = "accounts") -> list[str]:
        schema = self.schemas.get(target)
        engine = sa.create_engine(self.urls[target], poolclass=sa.pool.NullPool)
        try:
            return [c["name"] for c in sa.inspect(engine).get_columns(table, schema=schema)]
        finally:
            engine.dispose()

    def fill(self, target: str, name: str | None = None, column: str = "name") -> None:
        rows = tenant_rows(name or target)
        self.execute(target, f"INSERT INTO accounts (id, {column}) VALUES (:id, :name)",
                     [{"id": i, "name": n} for i, n in rows])

    def check_rows(self, target: str, column: str = "full_name", name: str | None = None,
                   plan: bool = True) -> None:
        expected = [(i, n, "free") if plan else (i, n) for i, n in tenant_rows(name or target)]
        got = self.read(target, f"SELECT id, {column}{', plan' if plan else ''} FROM accounts ORDER BY id")
        assert got == expected, target

    # ---------------------------------------------------------------- CLI

    def cli(self, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
        full_env.update(env or {})
        return forked_cli.run(list(args), cwd=self.root, env=full_env, timeout=timeout)

    def spawn(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        full_env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
        full_env.update(env or {})
        return subprocess.Popen([sys.executable, "-m", "schemashift", *args], cwd=self.root, env=full_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def make_tenants(tmp_path: Path, pg_server=None, steps=STEPS) -> Tenants:
    root = tmp_path / "app"
    api.init(root, url=f"sqlite:///{tmp_path / 'unused.db'}")
    tenants = Tenants(root, pg_server)
    down = None
    for rev, message, up, dn in steps:
        tenants.add_revision(rev, down, message, up, dn)
        down = rev
    return tenants


@pytest.fixture
def tenants(tmp_path, pg_server):
    made = make_tenants(tmp_path, pg_server)
    yield made
    made.drop()


@pytest.fixture
def sqlite_tenants(tmp_path):
    return make_tenants(tmp_path)
