"""Helpers for the rename tests: a real Alembic project in a temporary directory.

No tests here.  ``RenameProject`` writes ``alembic.ini``, an ``env.py`` that
loads ``models.py`` afresh on every run, and the models; it runs Alembic's own
commands in-process (``command.revision(..., process_revision_directives=hook)``,
``command.upgrade``/``downgrade``) and reads rows back.
"""

from __future__ import annotations

import io
import runpy
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from schemashift.autogen.describe import describe_ops

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HEADER = """\
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = sa.MetaData(naming_convention={nc!r})
"""

ENV_PY = """\
import os
import runpy

import schemashift.autogen.hook
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "models.py"))["metadata"]
options = dict(
    target_metadata=target_metadata,
    render_as_batch={batch},
    include_schemas={include_schemas},{extra}
)


def run_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_online():
    section = config.get_section(config.config_ini_section)
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
"""

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''


class RenameProject:
    """A throwaway Alembic project on ``url`` (SQLite projects render as batch, as usual)."""

    def __init__(
        self,
        root: Path,
        url: str,
        *,
        naming_convention: bool = True,
        env_hook: bool = False,
        include_schemas: bool = False,
        x_args: Sequence[str] = (),
    ) -> None:
        self.root = Path(root)
        self.url = url
        self.batch = url.startswith("sqlite")
        self.include_schemas = include_schemas
        self.naming_convention = NAMING_CONVENTION if naming_convention else None
        (self.root / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
        (self.root / "alembic.ini").write_text(
            f"[alembic]\nscript_location = {self.root / 'migrations'}\nsqlalchemy.url = {url.replace('%', '%%')}\n"
        )
        extra = (
            "\n    process_revision_directives=schemashift.autogen.hook.process_revision_directives,"
            if env_hook
            else ""
        )
        (self.root / "migrations" / "env.py").write_text(
            ENV_PY.format(batch=self.batch, include_schemas=include_schemas, extra=extra)
        )
        (self.root / "migrations" / "script.py.mako").write_text(SCRIPT_MAKO)
        self.output = io.StringIO()
        from argparse import Namespace

        self.config = Config(
            str(self.root / "alembic.ini"), stdout=self.output, output_buffer=self.output, cmd_opts=Namespace(x=list(x_args))
        )
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.last_upgrade: Any = None
        self.last_downgrade: Any = None

    # -- models and revisions

    def models(self, body: str) -> None:
        header = HEADER.format(nc=self.naming_convention or {})
        (self.root / "models.py").write_text(header + textwrap.dedent(body))

    def metadata(self) -> sa.MetaData:
        return runpy.run_path(str(self.root / "models.py"))["metadata"]

    def revision(self, message: str = "rev", hook: Callable[..., None] | None = None, **kw: Any) -> Any:
        def record(context: Any, revision: Any, directives: list[Any]) -> None:
            if hook is not None:
                hook(context, revision, directives)
            if directives:
                self.last_upgrade = directives[0].upgrade_ops
                self.last_downgrade = directives[0].downgrade_ops

        return command.revision(self.config, message, autogenerate=True, process_revision_directives=record, **kw)

    def upgrade(self, rev: str = "head") -> None:
        command.upgrade(self.config, rev)

    def downgrade(self, rev: str = "-1") -> None:
        command.downgrade(self.config, rev)

    def revision_files(self) -> list[Path]:
        return sorted((self.root / "migrations" / "versions").glob("*.py"))

    # -- what happened

    def upgrade_lines(self) -> list[str]:
        return describe_ops(self.last_upgrade) if self.last_upgrade is not None else []

    def downgrade_lines(self) -> list[str]:
        return describe_ops(self.last_downgrade) if self.last_downgrade is not None else []

    def drift(self) -> list[Any]:
        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_schemas": self.include_schemas})
            return compare_metadata(ctx, self.metadata())

    # -- data

    def insert(self, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            for table, items in rows.items():
                for row in items:
                    cols = ", ".join(row)
                    params = ", ".join(f":{c}" for c in row)
                    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params})"), dict(row))

    def select(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}"))
            ]

    def tables(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names()) - {"alembic_version"}

    def columns(self, table: str) -> list[str]:
        with self.engine.connect() as conn:
            return [c["name"] for c in sa.inspect(conn).get_columns(table)]

    def index_names(self, table: str) -> set[str]:
        with self.engine.connect() as conn:
            return {i["name"] for i in sa.inspect(conn).get_indexes(table)}

    def foreign_keys(self, table: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return sa.inspect(conn).get_foreign_keys(table)


def as_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[c] for c in columns) for r in rows)


def is_subsequence(expected: Sequence[str], actual: Sequence[str]) -> bool:
    it = iter(actual)
    return all(any(line == a for a in it) for line in expected)


@dataclass
class Scenario:
    """One end-to-end rename case: old models + rows -> new models -> revision, up, down."""

    id: str
    old: str
    new: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: after upgrade: table -> (columns, expected rows as tuples, sorted)
    after: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = field(default_factory=dict)
    #: lines of describe_ops(upgrade) that must appear, in this order
    expect: list[str] = field(default_factory=list)
    #: prefixes of lines that must not appear (default: nothing dropped)
    forbid: list[str] = field(default_factory=lambda: ["drop table", "drop column"])
    cli: tuple[str, ...] = ()
    accept: bool = False
    answers: dict[str, bool] | None = None
    strict: bool = False
    error: type | None = None
    #: regular expression the error's message must match
    match: str | None = None
    #: specs (RenameCandidate.spec) expected among report.unresolved
    unresolved: tuple[str, ...] = ()
    naming_convention: bool = True
    #: rows do not survive (the user said "no"): skip the row checks of upgrade
    lossy: bool = False
    drift_free: bool = True
    #: "table.column" dropped by the migration on purpose: not compared after downgrade
    lost: tuple[str, ...] = ()
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    #: extra check: fn(project, backend) after upgrade
    check: Callable[[RenameProject, str], None] | None = None


def rename_hook(
    *,
    questioner: Any = None,
    cli_renames: Sequence[str] = (),
    not_renamed: Sequence[str] = (),
    strict: bool = False,
    full_compare: bool = False,
    accept_renames: bool = False,
) -> tuple[Any, Any]:
    """schemashift's autogenerate pipeline as a ``process_revision_directives`` hook, and its rename report."""
    from schemashift.autogen.pipeline import Options, Pipeline
    from schemashift.autogen.questioner import NonInteractiveQuestioner

    pipeline = Pipeline(
        Options(
            renames=tuple(cli_renames),
            not_renamed=tuple(not_renamed),
            strict=strict,
            full_compare=full_compare,
            questioner=questioner or NonInteractiveQuestioner(accept_unambiguous=accept_renames),
        )
    )
    return pipeline, pipeline.renames
