"""Throwaway databases for checking migrations, and running migrations on them.

``verify`` and ``fill_downgrade`` run a project's migrations for real, so they
need a database nobody cares about: a temporary SQLite file, or a PostgreSQL
database created for the run (``CREATE DATABASE``) on the server the user
names and dropped afterwards.  The user's own database is never migrated: the
scratch URL is handed to env.py through ``load_project(url=...)``, and a
connection hook refuses to run any migration if env.py connected anywhere else
(an env.py that hard-codes its URL would otherwise migrate the real database).

``run_steps`` runs an explicit list of up/down steps in one env.py run, each in
its own transaction, calling back after each step with the live connection.
One run for many steps matters: each env.py run configures logging, builds an
engine and reads the revision map, which costs more than most steps.  What a
run would otherwise carry from step to step is reset, so each step behaves as
a separate ``alembic upgrade``: the revision file is executed afresh, and
Alembic's memo of the PostgreSQL types it created is cleared.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..config import Project, load_project, redact_url
from ..errors import ConfigError, DatabaseError, Refused
from ..runner import RunPolicy, RunState, run_env
from .atomic import sqlite_transactional_ddl

SCRATCH_PREFIX = "schemashift_scratch_"


class ScratchError(DatabaseError):
    """A scratch database could not be created, reset or dropped."""


@dataclass
class Scratch:
    """One scratch database: its URL, and how to empty or remove it."""

    url: str
    dialect: str
    label: str
    _dir: Path | None = None
    _admin_url: Any = None
    _name: str | None = None
    _dropped: bool = field(default=False, repr=False)

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite" or self._dir is None:
            return None
        return self._dir / "scratch.db"

    def reset(self) -> None:
        """Make the database empty again (a fresh file, or DROP and CREATE)."""
        if self.dialect == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{self.sqlite_path}{suffix}")
            return
        self._drop()
        self._create()

    def close(self) -> None:
        if self.dialect == "sqlite":
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
            return
        if not self._dropped:
            self._drop()
            self._dropped = True

    # -- PostgreSQL

    def _admin(self) -> Any:
        from sqlalchemy import create_engine, pool

        return create_engine(self._admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def _create(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self._name}"')
        except Exception as exc:
            raise ScratchError(
                f"cannot create scratch {self.label}: {_first_line(exc)}",
                hint="give --scratch-url of a PostgreSQL server where this user may CREATE DATABASE",
            ) from exc
        finally:
            engine.dispose()

    def _drop(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                version = conn.dialect.server_version_info or (0,)
                if version >= (13,):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
                else:
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(n)s",
                        {"n": self._name},
                    )
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._name}"')
        except Exception as exc:
            raise ScratchError(
                f"cannot drop scratch {self.label}: {_first_line(exc)}",
                hint=f"drop it by hand: DROP DATABASE {self._name}",
            ) from exc
        finally:
            engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _backend(url: Any) -> str:
    return url.get_backend_name()


@contextlib.contextmanager
def scratch_database(project_url: str | None, scratch_url: str | None = None) -> Iterator[Scratch]:
    """Create a scratch database of the right kind; remove it on exit.

    ``scratch_url`` (if given) names the server and dialect; otherwise the
    project's URL does.  SQLite always gets a new temporary file (a given
    SQLite path is never used); PostgreSQL gets a new database named
    ``schemashift_scratch_<random>`` on that server.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    source = scratch_url or project_url or "sqlite://"
    try:
        url = make_url(source)
    except ArgumentError as exc:
        raise ConfigError(f"bad scratch database URL {redact_url(source)}: {exc}") from exc
    backend = _backend(url)
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="schemashift-scratch-"))
        scratch_path = directory / "scratch.db"
        scratch = Scratch(
            url=url.set(database=str(scratch_path)).render_as_string(hide_password=False),
            dialect="sqlite",
            label="a temporary SQLite file",
            _dir=directory,
        )
    elif backend == "postgresql":
        name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
        scratch = Scratch(
            url=url.set(database=name).render_as_string(hide_password=False),
            dialect="postgresql",
            label=f"temporary database {redact_url(url.set(database=name).render_as_string(hide_password=False))}",
            _admin_url=_pick_admin_url(url),
            _name=name,
        )
        scratch._create()
    else:
        raise ConfigError(
            f"scratch databases on {backend} are not supported",
            hint="give --scratch-url with a postgresql:// server, or sqlite:// for a temporary file",
        )
    try:
        yield scratch
    finally:
        scratch.close()


def _pick_admin_url(url: Any) -> Any:
    """Where to send CREATE/DROP DATABASE: the ``postgres`` database if we may
    connect to it, else the database named in the URL (only connected to)."""
    from sqlalchemy import create_engine, pool

    candidates = [url.set(database="postgres")]
    if url.database and url.database != "postgres":
        candidates.append(url)
    last: Exception | None = None
    for candidate in candidates:
        engine = create_engine(candidate, poolclass=pool.NullPool)
        try:
            with engine.connect():
                return candidate
        except Exception as exc:  # try the next one
            last = exc
        finally:
            engine.dispose()
    raise ScratchError(
        f"cannot connect to {redact_url(url.render_as_string(hide_password=False))} "
        f"to create a scratch database: {_first_line(last) if last else 'unknown error'}",
        hint="check --scratch-url (or the project's URL) and that the server is running",
    )


def scratch_project(project: Project, scratch: Scratch) -> Project:
    """The same project, with its URL pointing at the scratch database."""
    path = project.ini_path or project.toml_path
    opts = getattr(project.config, "cmd_opts", None)
    return load_project(
        path,
        url=scratch.url,
        section=project.config.config_ini_section,
        x_args=list(getattr(opts, "x", None) or ()),
        cwd=project.root,
    )


# ------------------------------------------------------------ running steps


def _same_database(connection: Any, scratch: Scratch) -> bool:
    url = connection.engine.url
    if scratch.dialect == "sqlite":
        path = url.database or ""
        return bool(path) and os.path.realpath(path) == os.path.realpath(str(scratch.sqlite_path))
    return url.get_backend_name() == "postgresql" and url.database == scratch._name


def guard_hook(scratch: Scratch) -> Callable[[Any, Any], None]:
    """Connection hook: refuse to migrate anything but the scratch database."""

    def guard(connection: Any, env: Any) -> None:
        if not _same_database(connection, scratch):
            where = redact_url(connection.engine.url.render_as_string(hide_password=False))
            raise Refused(
                f"env.py connected to {where}, not to the scratch database; nothing was migrated",
                hint="make env.py use the URL in sqlalchemy.url, which schemashift overrides for the scratch run",
            )
        if scratch.dialect == "sqlite" and not connection.in_transaction():
            # durability is worthless on a scratch file, and fsync per step dominates
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA journal_mode=MEMORY")
            connection.commit()

    return guard


@dataclass(frozen=True)
class PlannedStep:
    """One step of a scratch run: apply ``revision``'s upgrade or downgrade.

    ``run``, when given, is called with Alembic's ``MigrationContext`` instead
    of the revision's own function (``fill_downgrade`` records the upgrade
    this way), still inside the step's transaction and version bookkeeping.
    """

    revision: str
    upgrade: bool
    phase: str = ""
    run: Callable[[Any], None] | None = field(default=None, compare=False)


StepCallback = Callable[[int, PlannedStep, Any], None]


def run_steps(
    project: Project,
    scratch: Scratch,
    plan: Sequence[PlannedStep],
    on_step: StepCallback | None = None,
    *,
    state: RunState | None = None,
) -> RunState:
    """Run ``plan`` on the scratch database in one env.py run.

    Each step runs in its own transaction; ``on_step(index, step, context)``
    (Alembic's ``MigrationContext``; ``context.connection`` is live) runs
    inside that transaction right after the step and its version-table
    update, so what it reads is what the step left and what it writes is
    committed with it.  Steps are Alembic ``RevisionStep``s built from the
    script directory env.py runs with, exactly what ``alembic upgrade``
    would run for each revision.
    """
    from alembic.runtime.migration import RevisionStep

    state = state or RunState()
    done = [0]

    def after_step(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        index = done[0]
        done[0] += 1
        # Alembic's DDL runner remembers which PostgreSQL types it created
        # during a run and will not create them again; each step must start as
        # a separate `alembic upgrade` would (a type dropped by a downgrade is
        # created again by the re-upgrade).
        memo = getattr(ctx.impl, "memo", None)
        if isinstance(memo, dict):
            memo.clear()
        if on_step is not None:
            on_step(index, plan[index], ctx)

    def steps(rev: Any, context: Any) -> list[Any]:
        script = state.env.context.script  # type: ignore[union-attr]
        rmap = script.revision_map
        out = []
        for planned in plan:
            script_rev = script.get_revision(planned.revision)
            step = RevisionStep(rmap, script_rev, planned.upgrade)
            if planned.run is not None:
                step.migration_fn = _runner(planned.run, state)
            else:
                step.migration_fn = _fresh(script_rev.path, planned)
            out.append(step)
        return out

    policy = RunPolicy(
        on_version_apply=[after_step],
        connection_hooks=[guard_hook(scratch), sqlite_transactional_ddl],
        transaction_per_migration=True,
    )
    run_env(project, steps, policy=policy, state=state)
    return state


def _runner(run: Callable[[Any], None], state: RunState) -> Callable[..., None]:
    def migration_fn(**_: Any) -> None:
        run(state.env.context.get_context())  # type: ignore[union-attr]

    return migration_fn


def load_revision_module(path: str | Path, name: str) -> Any:
    """Execute a revision file into a new module of its own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh(path: str, planned: PlannedStep) -> Callable[..., None]:
    """The step's function from a fresh copy of its file, as a separate
    ``alembic upgrade`` would run it: module-level objects (a shared
    ``sa.Enum``, a cached ``Table``) are not carried from step to step."""
    counter = next(_LOADS)

    def migration_fn(**kw: Any) -> None:
        module = load_revision_module(path, f"schemashift_step_{planned.revision}_{counter}")
        getattr(module, "upgrade" if planned.upgrade else "downgrade")(**kw)

    return migration_fn


_LOADS = itertools.count()
