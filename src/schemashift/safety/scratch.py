"""Throwaway databases for checking migrations, and running migrations on them.

``verify`` and ``fill_downgrade`` run a project's migrations for real, so they
need a database nobody cares about: a temporary SQLite file, or a PostgreSQL
database created for the run (``CREATE DATABASE``) on the server the user
names and dropped afterwards.  The user's own database is never migrated: the
scratch URL is handed to env.py through ``load_project(url=...)``, and a
connection hook refuses to run any migration if env.py connected anywhere else
(an env.py that hard-codes its URL would otherwise migrate the real database).

"Scratch" is proved, not assumed: the name is fresh and random, database
selectors hidden in the URL's query (``?dbname=prod``) are dropped, and before
anything runs the server itself is asked where the connection landed
(``current_database()``, SQLite's ``PRAGMA database_list``) and whether that
database is empty.  A ``--scratch-url`` that reaches the project's own
database, however it is spelled (a host alias, query parameters), is refused.
The scratch database is dropped on the way out, Ctrl-C included.

``run_steps`` runs an explicit list of up/down steps in one env.py run, each in
its own transaction, calling back after each step with the live connection.
The run is owned by ``runtime.run.Run``, the object that owns ``upgrade``'s
(transactions, SQLite foreign-key mode, lock, URL check), so a step runs on
the scratch database as it would under ``upgrade``.
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
from ..errors import ConfigError, DatabaseError, MigrationFailed, Refused, SchemashiftError
from ..runner import RunPolicy, RunState, run_env

SCRATCH_PREFIX = "schemashift_scratch_"

# query parameters through which a driver can be told another database than
# the URL's path (psycopg and psycopg2 pass ``dbname`` straight to libpq)
DATABASE_QUERY_KEYS = ("dbname", "database", "db")

# async drivers and the sync driver used for CREATE/DROP DATABASE and checks
SYNC_DRIVERS = {
    "asyncpg": "psycopg", "psycopg_async": "psycopg", "aiosqlite": "pysqlite", "pysqlcipher": "pysqlite",
    "aiomysql": "pymysql", "asyncmy": "pymysql",
}
MYSQL = ("mysql", "mariadb")


class ScratchError(DatabaseError):
    """A scratch database could not be created, reset or dropped."""


class StepFailed(MigrationFailed):
    """One planned step raised (or its function is missing): which step, and why.

    Raised from inside the step, so the failure is pinned to the step that
    ran, never guessed afterwards; ``original`` is what the step raised.
    """

    def __init__(self, planned: "PlannedStep", original: BaseException | None, reason: str) -> None:
        self.planned = planned
        self.original = original
        super().__init__(
            f"{'upgrade' if planned.upgrade else 'downgrade'} of {planned.revision} failed: {reason}",
            revision=planned.revision,
        )
        self.reason = reason


def describe_failure(exc: BaseException) -> str:
    """What a step raised, in one line: the database's message and the statement."""
    orig = getattr(exc, "orig", None)
    text = " ".join(str(orig if orig is not None else exc).split())
    if orig is None and not isinstance(exc, MigrationFailed):
        text = f"{type(exc).__name__}: {text}".rstrip(": ")
    statement = getattr(exc, "statement", None)
    if statement:
        text += f" in statement: {' '.join(str(statement).split())[:200]}"
    return text[:600]


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
    fresh: bool = field(default=True, repr=False)  # nothing has run on it since created or reset
    schemas: tuple[str, ...] = ()  # created in every fresh PostgreSQL scratch database (see probe_schemas)

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite" or self._dir is None:
            return None
        return self._dir / str(self._name)

    def check_new(self) -> None:
        """Connect once, through a sync driver, and prove the database is ours and empty."""
        from sqlalchemy import create_engine, pool
        from sqlalchemy.engine import make_url

        engine = create_engine(sync_url(make_url(self.url)), poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                self.prove(conn, empty=True)
        except Refused:
            raise
        except Exception as exc:
            raise ScratchError(f"cannot connect to scratch {self.label}: {_first_line(exc)}") from exc
        finally:
            engine.dispose()

    def reset(self) -> None:
        """Make the database empty again (a fresh file, or DROP and CREATE)."""
        self.fresh = True
        if self.dialect == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{self.sqlite_path}{suffix}")
            return
        self._drop()
        self._create()
        self.create_schemas()

    def create_schemas(self, names: Sequence[str] = ()) -> None:
        """Make the schemas the project expects to exist (its version table's, its models')."""
        self.schemas = tuple(dict.fromkeys([*self.schemas, *names]))
        if self.dialect != "postgresql" or not self.schemas:
            return
        from sqlalchemy import create_engine, pool
        from sqlalchemy.engine import make_url

        engine = create_engine(sync_url(make_url(self.url)), poolclass=pool.NullPool)
        try:
            with engine.begin() as conn:
                self.prove(conn, empty=False)
                for name in self.schemas:
                    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        finally:
            engine.dispose()

    def close(self) -> None:
        if self.dialect == "sqlite":
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
            return
        if not self._dropped:
            self._drop()
            self._dropped = True

    def prove(self, connection: Any, *, empty: bool) -> None:
        """Refuse unless ``connection`` is on this scratch database (asked of the
        server, not read from the URL) and, with ``empty``, it holds nothing."""
        where = self.where(connection)
        if where != self.identity():
            raise Refused(
                f"the scratch connection reached {where}, not the scratch database {self.identity()}; "
                "nothing was run",
                hint="check the URL's query parameters and env.py: the database must come from sqlalchemy.url",
            )
        if empty:
            found = _objects(connection)
            if found:
                hint = "remove objects from the template database (template1), or give another --scratch-url"
                if self.dialect == "sqlite":  # a new file: only a connection kept from before the reset writes there
                    hint = ("a connection kept open across runs wrote into it (an engine env.py makes once per "
                            "process, as Airflow's settings.engine, outlives the scratch file it was made for): make "
                            "env.py build its engine from sqlalchemy.url each time, or give --scratch-url a server")
                raise Refused(
                    f"the scratch database {where} is not empty ({', '.join(found[:5])}); nothing was run",
                    hint=hint,
                )

    def identity(self) -> str:
        if self.dialect == "sqlite":
            return os.path.realpath(str(self.sqlite_path))
        return str(self._name)

    def where(self, connection: Any) -> str:
        """Which database ``connection`` is on, as the server says."""
        if connection.dialect.name != self.dialect:
            return f"a {connection.dialect.name} database"
        if self.dialect == "sqlite":
            for row in connection.exec_driver_sql("PRAGMA database_list"):
                if row[1] == "main":
                    return os.path.realpath(row[2]) if row[2] else "an in-memory database"
            return "an unknown SQLite database"
        if self.dialect in MYSQL:
            return str(connection.exec_driver_sql("SELECT DATABASE()").scalar())
        return str(connection.exec_driver_sql("SELECT current_database()").scalar())

    # -- PostgreSQL, MySQL and MariaDB

    def _admin(self) -> Any:
        from sqlalchemy import create_engine, pool

        return create_engine(self._admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def _create(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                name = conn.dialect.identifier_preparer.quote_identifier(str(self._name))
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        except Exception as exc:
            raise ScratchError(
                f"cannot create scratch {self.label}: {_first_line(exc)}",
                hint="give --scratch-url of a server where this user may CREATE DATABASE",
            ) from exc
        finally:
            engine.dispose()

    def _drop(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                name = conn.dialect.identifier_preparer.quote_identifier(str(self._name))
                version = conn.dialect.server_version_info or (0,)
                if self.dialect in MYSQL:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
                elif version >= (13,):
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                else:
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(n)s",
                        {"n": self._name},
                    )
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
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


def _objects(connection: Any) -> list[str]:
    """What the database holds outside the system catalogs (names, a few)."""
    if connection.dialect.name == "sqlite":
        return [r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master LIMIT 5")]
    if connection.dialect.name in MYSQL:
        return [
            r[0]
            for r in connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                "UNION ALL SELECT routine_name FROM information_schema.routines WHERE routine_schema = DATABASE() "
                "LIMIT 5"
            )
        ]
    return [
        r[0]
        for r in connection.exec_driver_sql(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)' LIMIT 5"
        )
    ]


def without_database_query(url: Any) -> Any:
    """``url`` without query parameters that would pick another database."""
    return url.difference_update_query([k for k in url.query if k.lower() in DATABASE_QUERY_KEYS])


def sync_url(url: Any) -> Any:
    """The same server through a sync driver (for our own short connections)."""
    driver = url.get_driver_name()
    if driver in SYNC_DRIVERS:
        backend = url.get_backend_name()
        sync = SYNC_DRIVERS[driver]
        return url.set(drivername=backend if backend == "sqlite" else f"{backend}+{sync}")
    return url


def _server_identity(url: Any) -> tuple[Any, ...] | None:
    """(server start time, port, database) as the server reports them, or None if unreachable."""
    from sqlalchemy import create_engine, pool

    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.dialect.name in MYSQL:  # server_id alone can repeat across servers: with its start time
                uptime = conn.exec_driver_sql("SHOW GLOBAL STATUS LIKE 'Uptime'").one()[1]
                row = conn.exec_driver_sql("SELECT @@hostname, @@port, UNIX_TIMESTAMP(), DATABASE()").one()
                return (row[0], row[1], round((int(row[2]) - int(uptime)) / 10), row[3])
            row = conn.exec_driver_sql(
                "SELECT pg_postmaster_start_time(), inet_server_port(), current_database()"
            ).one()
            return tuple(row)
    except Exception:
        return None
    finally:
        engine.dispose()


def _sqlite_file(url: Any) -> str | None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database[5:].split("?", 1)[0]
    return os.path.realpath(database)


def refuse_project_database(project_url: str | None, scratch_url: str) -> None:
    """Refuse a --scratch-url that reaches the project's own database, however
    spelled: the same SQLite file, or the same PostgreSQL server and database
    (compared as the servers report them, so host aliases and query
    parameters do not hide it)."""
    from sqlalchemy.engine import make_url

    if not project_url:
        return
    try:
        mine, theirs = make_url(project_url), make_url(scratch_url)
    except Exception:
        return
    if mine.get_backend_name() != theirs.get_backend_name():
        return
    same = False
    if theirs.get_backend_name() == "sqlite":
        a, b = _sqlite_file(mine), _sqlite_file(theirs)
        same = a is not None and a == b
    elif theirs.get_backend_name() in ("postgresql", *MYSQL):
        a = _server_identity(mine)
        same = a is not None and a == _server_identity(theirs)
    if same:
        raise Refused(
            f"--scratch-url {redact_url(scratch_url)} is the project's own database; nothing was run",
            hint="give a server URL whose database is a maintenance one, e.g. postgresql://user@host/postgres "
            "(verify creates and drops its own database there)",
        )


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
    if scratch_url:
        refuse_project_database(project_url, scratch_url)
    backend = _backend(url)
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="schemashift-scratch-"))
        scratch_path = directory / f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}.db"
        scratch = Scratch(
            url=url.set(database=str(scratch_path), query={}).render_as_string(hide_password=False),
            dialect="sqlite",
            label="a temporary SQLite file",
            _dir=directory,
            _name=scratch_path.name,
        )
    elif backend == "postgresql" or backend in MYSQL:
        name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
        target = without_database_query(url).set(database=name)
        scratch = Scratch(
            url=target.render_as_string(hide_password=False),
            dialect=backend,
            label=f"temporary database {redact_url(target.render_as_string(hide_password=False))}",
            _admin_url=_pick_admin_url(url) if backend == "postgresql" else sync_url(url.set(database=None)),
            _name=name,
        )
    else:
        raise ConfigError(
            f"scratch databases on {backend} are not supported",
            hint="give --scratch-url with a postgresql:// or mysql:// server, or sqlite:// for a temporary file",
        )
    try:
        if scratch.dialect != "sqlite":
            scratch._create()
        scratch.check_new()
        yield scratch
    finally:
        scratch.close()


def _pick_admin_url(url: Any) -> Any:
    """Where to send CREATE/DROP DATABASE: the ``postgres`` database if we may
    connect to it, else the database named in the URL (only connected to)."""
    from sqlalchemy import create_engine, pool

    url = sync_url(without_database_query(url))
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


def probe_schemas(project: Project, scratch: Scratch) -> list[str]:
    """Schemas env.py expects to exist already: ``version_table_schema`` and the
    schemas of ``target_metadata``'s tables.  Read from the options env.py
    passes to ``configure()``, in a run that changes nothing (``dont_mutate``,
    as ``alembic current`` runs), so the scratch database can have them
    before the version table is created in one.

    On every engine this first run also proves that env.py connects to the
    scratch database, before anything else runs env.py: verify's comparison
    with the models goes through Alembic's own command, which creates the
    version table wherever env.py connected (a history with no revision to
    walk reached it first).
    """
    found: list[str] = []

    def read(rev: Any, context: Any) -> list[Any]:
        opts = context.opts
        if opts.get("version_table_schema"):
            found.append(opts["version_table_schema"])
        metadata = opts.get("target_metadata")
        for md in metadata if isinstance(metadata, (list, tuple)) else [metadata] if metadata is not None else []:
            found.extend(t.schema for t in md.tables.values() if t.schema)
            if md.schema:
                found.append(md.schema)
        return []

    def prove(connection: Any, env: Any) -> None:
        prove_connection(scratch, connection, empty=False)

    run_env(project, read, policy=RunPolicy(connection_hooks=[prove]), dont_mutate=True)
    if scratch.dialect != "postgresql":
        return []
    return [name for name in dict.fromkeys(found) if name not in ("public",)]



def prove_connection(scratch: Scratch, connection: Any, *, empty: bool) -> None:
    """``Scratch.prove`` on the connection env.py made, worded for env.py,
    leaving the connection outside a transaction as env.py gave it."""
    outside = not connection.in_transaction()
    try:
        scratch.prove(connection, empty=empty)
    except Refused as exc:
        if "not the scratch database" in exc.message:
            where = redact_url(connection.engine.url.render_as_string(hide_password=False))
            raise Refused(
                f"env.py connected to {where}, not to the scratch database; nothing was migrated",
                hint="make env.py use the URL in sqlalchemy.url, which schemashift overrides for the scratch run; "
                "or, when env.py reads its URL from an environment variable (DATABASE_URL, say), name it in the "
                "config as 'schemashift.url_env = DATABASE_URL' and schemashift sets it for the run",
            ) from exc
        raise
    finally:
        if outside and connection.in_transaction():
            connection.rollback()  # our reads began one


def guard_hook(scratch: Scratch) -> Callable[[Any, Any], None]:
    """Connection hook: refuse to migrate anything but the scratch database,
    and anything at all on a database that should be new but is not."""

    def guard(connection: Any, env: Any) -> None:
        prove_connection(scratch, connection, empty=scratch.fresh)
        scratch.fresh = False
        if scratch.dialect == "sqlite" and not connection.in_transaction():
            # durability is worthless on a scratch file, and fsync per step dominates
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA journal_mode=MEMORY")
            connection.commit()

    return guard


def scratch_run(scratch: Scratch, direction: str, planner: Callable[[Any, tuple[str, ...]], list[Any]]) -> Any:
    """The ``runtime.run.Run`` that owns a scratch run, as it owns ``upgrade``'s.

    The same object decides transactions (one per step), the SQLite
    foreign-key mode and real DDL transactions, the lock and the URL check,
    so a step behaves on the scratch database as it would under ``upgrade``.
    Only the ledger is off: a scratch database has no history to keep.
    """
    from ..runtime.options import RunOptions
    from ..runtime.run import Run

    return Run(
        direction=direction, options=RunOptions(ledger=False), plan=planner, ledger=None,  # type: ignore[arg-type]
        url=scratch.url, url_source="the scratch database",
    )


def run_on_scratch(
    project: Project, scratch: Scratch, direction: str, planner: Callable[[Any, tuple[str, ...]], list[Any]],
    *, policy: RunPolicy | None = None, state: RunState | None = None, before_steps: Callable[[Any], None] | None = None,
) -> RunState:
    """Run env.py on the scratch database through a ``Run`` (see ``scratch_run``),
    behind the guard; ``before_steps(context)`` is called inside the run's
    transaction, before its steps.

    A failure the run words from one of our own errors (a ``StepFailed``,
    verify's callbacks) is raised as that error: the caller decides what a
    failed scratch step means.
    """
    policy = policy or RunPolicy()
    policy.connection_hooks.insert(0, guard_hook(scratch))
    run = scratch_run(scratch, direction, planner)

    def steps(rev: Any, context: Any) -> list[Any]:
        planned = run.steps_for(context.script, tuple(rev) if rev else ())
        if before_steps is not None:
            before_steps(context)
        return planned

    try:
        return run_env(project, steps, policy=policy, state=state, run=run)
    except MigrationFailed as exc:
        cause = exc.__cause__
        if cause is not exc and isinstance(cause, SchemashiftError) and not isinstance(cause, Refused):
            raise cause from cause.__cause__
        raise


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

    def planner(script: Any, heads: tuple[str, ...]) -> list[Any]:
        rmap = script.revision_map
        out = []
        for planned in plan:
            script_rev = script.get_revision(planned.revision)
            try:
                step = RevisionStep(rmap, script_rev, planned.upgrade)
            except AttributeError:  # no upgrade()/downgrade(): _fresh reports it as this step's failure
                step = RevisionStep(rmap, script_rev, not planned.upgrade)
                step.is_upgrade = planned.upgrade
            if planned.run is not None:
                step.migration_fn = _runner(planned.run, state)
            else:
                step.migration_fn = _fresh(script_rev.path, planned)
            out.append(step)
        return out

    run_on_scratch(project, scratch, "mixed", planner, policy=RunPolicy(on_version_apply=[after_step]), state=state)
    return state


def _runner(run: Callable[[Any], None], state: RunState) -> Callable[..., None]:
    def migration_fn(**_: Any) -> None:
        run(state.env.context.get_context())  # type: ignore[union-attr]

    return migration_fn


def load_revision_module(path: str | Path, name: str) -> Any:
    """Execute a revision file into a new module of its own.

    The module is new each time (module-level state is never shared); only
    the compiled code is kept, per file and version of its text, as Python's
    own import keeps ``.pyc`` files: a walk runs each file three times.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    exec(_compiled(str(path)), module.__dict__)  # noqa: S102 - the project's own revision file, as Alembic runs it
    return module


_CODE: dict[tuple[str, bytes], Any] = {}


def _compiled(path: str) -> Any:
    """The file's code object, compiled once per path and exact text."""
    with open(path, "rb") as handle:
        source = handle.read()
    key = (path, source)
    code = _CODE.get(key)
    if code is None:
        if len(_CODE) > 2048:
            _CODE.clear()
        code = compile(source, path, "exec", dont_inherit=True)
        _CODE[key] = code
    return code


def _fresh(path: str, planned: PlannedStep) -> Callable[..., None]:
    """The step's function from a fresh copy of its file, as a separate
    ``alembic upgrade`` would run it: module-level objects (a shared
    ``sa.Enum``, a cached ``Table``) are not carried from step to step."""
    counter = next(_LOADS)

    def migration_fn(**kw: Any) -> None:
        name = "upgrade" if planned.upgrade else "downgrade"
        try:
            module = load_revision_module(path, f"schemashift_step_{planned.revision}_{counter}")
        except Exception as exc:
            raise StepFailed(planned, exc, f"cannot load {path}: {describe_failure(exc)}") from exc
        fn = getattr(module, name, None)
        if not callable(fn):
            raise StepFailed(planned, None, f"the revision file has no {name}() function")
        try:
            fn(**kw)
        except Exception as exc:
            raise StepFailed(planned, exc, describe_failure(exc)) from exc

    return migration_fn


_LOADS = itertools.count()
