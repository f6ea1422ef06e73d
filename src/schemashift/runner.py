"""The one place that runs a project's ``env.py``.

Alembic drives every command through the user's ``env.py``, which calls
``context.configure(...)``.  ``SchemashiftEnvironment`` is an
``EnvironmentContext`` whose ``configure`` adds what schemashift needs on top
of whatever that env.py asked for: progress callbacks, real transactions on SQLite, and hooks that see
the connection before any migration runs (the lock, the ledger).  The env.py
itself stays exactly as Alembic wrote it.

Every run also translates failures into ``SchemashiftError``s that name the
file, revision or statement at fault.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError as AlembicRevisionError
from alembic.util import CommandError

# What Alembic raises for a bad revision argument: ScriptDirectory wraps the
# revision map's own errors in CommandError, the map itself does not.
REVISION_ERRORS = (CommandError, AlembicRevisionError)

from .alembic_bridge.environment import attached_environment, check_attached
from .config import Project, redact_url, require_env_py
from .revisions.index import RevisionIndex
from .errors import (
    ConfigError,
    DatabaseError,
    MigrationFailed,
    RevisionError,
    RevisionFileError,
    SchemashiftError,
    missing_driver,
)

ConnectionHook = Callable[[Any, "SchemashiftEnvironment"], "Callable[[], None] | None"]

# the engines env.py connected through in this process (weakly: a living process keeps or drops them as it likes)
_ENV_ENGINES: "weakref.WeakSet[Any]" = weakref.WeakSet()


def close_env_engines() -> None:
    """The command-line process is about to exit: close the connections env.py's engines still keep.

    An env.py with a pooling engine (its app's own, say) leaves its
    connection in the pool when it is done.  Python's shutdown used to close
    it when the collector freed the engine; once the process freezes its
    objects first (``runtime.heap.before_exit``) nothing would, and a SQLite
    database in WAL mode would keep the run's commits in its ``-wal`` file
    until the next connection, where copying the database file alone would
    miss them.  ``dispose()`` closes them as the collector did.  An async
    engine's pool can only be closed from its event loop (env.py disposes
    it there, as Alembic's template does): left alone.  Only for the whole
    process: a program that goes on living keeps its pools.
    """
    for engine in list(_ENV_ENGINES):
        if getattr(engine.dialect, "is_async", False):
            continue
        with contextlib.suppress(Exception):
            engine.dispose()
    _ENV_ENGINES.clear()


@dataclass
class RunPolicy:
    """What schemashift adds to the ``configure()`` call of a run.

    ``connection_hooks`` are called with the live connection before Alembic
    sees it; each may return a cleanup called when the run ends (even on
    failure), in reverse order.
    """

    on_version_apply: list[Callable[..., None]] = field(default_factory=list)
    connection_hooks: list[ConnectionHook] = field(default_factory=list)
    transaction_per_migration: bool | None = None
    transactional_ddl: bool | None = None
    extra_opts: dict[str, Any] = field(default_factory=dict)


class SchemashiftEnvironment:
    """Alembic's environment for one command, attached through ``alembic_bridge``.

    ``configure`` applies the ``RunPolicy`` (read commands, scratch runs)
    and then, when a ``Run`` owns the command, lets the run decide the rest.
    """

    def __init__(
        self, config: Any, script: ScriptDirectory, *, policy: RunPolicy, run: Any = None, **kw: Any
    ) -> None:
        self.context = attached_environment(config, script, on_configure=self.configure, **kw)
        self.policy = policy
        self.run = run
        self.connection: Any = None
        self.dialect_name: str | None = None
        self._cleanups: list[Callable[[], None]] = []
        if run is not None:
            run.env = self.context

    def __enter__(self) -> "SchemashiftEnvironment":
        self.context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.context.__exit__(*exc)

    def configure(self, kw: dict[str, Any]) -> dict[str, Any]:
        connection = kw.get("connection")
        if connection is not None:
            self.connection = connection
            with contextlib.suppress(Exception):  # an object that only looks like a Connection
                _ENV_ENGINES.add(connection.engine)
            self.dialect_name = connection.dialect.name
            for hook in self.policy.connection_hooks:
                cleanup = hook(connection, self)
                if cleanup is not None:
                    self._cleanups.append(cleanup)
        else:
            url = kw.get("url")
            self.dialect_name = kw.get("dialect_name") or (_dialect_of(url) if url is not None else None)
        policy = self.policy
        if policy.on_version_apply:
            user_apply = kw.pop("on_version_apply", None)
            applies = list(user_apply if isinstance(user_apply, (list, tuple)) else [user_apply] if user_apply else [])
            kw["on_version_apply"] = applies + policy.on_version_apply
        if policy.transaction_per_migration is not None:
            kw["transaction_per_migration"] = policy.transaction_per_migration
        if policy.transactional_ddl is not None and connection is not None:
            kw["transactional_ddl"] = policy.transactional_ddl
        kw.update(policy.extra_opts)
        if self.run is not None:
            kw = self.run.configure(kw)
        return kw

    def run_cleanups(self) -> None:
        while self._cleanups:
            cleanup = self._cleanups.pop()
            with contextlib.suppress(Exception):
                cleanup()
        if self.run is not None:
            self.run.close()


def _dialect_of(url: Any) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(str(url)).get_backend_name()
    except Exception:
        return None


@dataclass
class RunState:
    """What a run did, for error messages and reports."""

    steps: list[Any] = field(default_factory=list)
    applied: int = 0
    env: SchemashiftEnvironment | None = None
    statements: list[str] = field(default_factory=list)  # run by the current step so far
    transactional: bool = True
    atomic: str = "step"
    run: Any = None
    script_dir: str | None = None


def script_directory(project: Project) -> ScriptDirectory:
    try:
        return ScriptDirectory.from_config(project.config)
    except CommandError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc


def revision_map(project: Project, *, check_syntax: bool = True) -> Any:
    """Alembic's ``RevisionMap`` of the project, from the cached header index (``check_syntax=False``:
    the caller imports every file next, which proves their syntax)."""
    try:
        return RevisionIndex(script_directory(project), check_syntax=check_syntax).revision_map()
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc


def check_revision_ids(project: Project) -> None:
    """Refuse duplicate revision ids (as ``revision_map`` does) when no revision map is needed."""
    try:
        RevisionIndex(script_directory(project), check_syntax=False).check_unique()
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc


def run_env(
    project: Project,
    fn: Callable[[Any, Any], list[Any]],
    *,
    policy: RunPolicy | None = None,
    state: RunState | None = None,
    run: Any = None,
    **context_kw: Any,
) -> RunState:
    """Run the project's env.py with ``fn`` deciding which steps to take.

    With ``run`` (a ``runtime.run.Run``), the run owns transactions, lock and
    ledger, and words any failure of a step.
    """
    require_env_py(project)
    script = script_directory(project)
    state = state or RunState()
    state.script_dir = script.dir
    policy = policy or RunPolicy()

    def count_applied(**_: Any) -> None:
        state.applied += 1

    if run is None:  # a ``Run`` counts its steps itself (each callback costs Alembic a ``MigrationInfo`` per step)
        policy.on_version_apply.append(count_applied)

    def decide(rev: Any, context: Any) -> list[Any]:
        check_attached(env.context)
        steps = fn(rev, context)
        state.steps = list(steps)
        return state.steps

    env = SchemashiftEnvironment(project.config, script, policy=policy, run=run, fn=decide, **context_kw)
    state.env = env
    state.run = run
    saved_url = _raw_url(project.config)
    with translate_errors(project, state):
        try:
            with env, _url_restored(project.config, saved_url), url_in_environment(project):
                script.run_env()
            if run is not None:
                run.finish()
        except (Exception, SystemExit) as exc:
            if run is not None:
                run.note_failure(exc)  # worded while the lock's connection can still read the version
            raise
        finally:
            env.run_cleanups()
    return state


def _raw_url(config: Any) -> str | None:
    try:
        return config.file_config.get(config.config_ini_section, "sqlalchemy.url", raw=True)
    except Exception:
        return None


@contextlib.contextmanager
def url_in_environment(project: Project) -> Iterator[None]:
    """For an env.py that reads its URL from an environment variable (an app's settings:
    ``DATABASE_URL``) rather than ``sqlalchemy.url``: with ``schemashift.url_env = VAR`` in the
    config, a URL schemashift was given (``--url``, ``$SCHEMASHIFT_URL``, a scratch database)
    is put in VAR while env.py runs, and VAR is restored afterwards.  Without a URL of its own
    to give, VAR is left alone, so env.py connects where plain Alembic's would."""
    variable = (project.config.get_main_option("schemashift.url_env") or "").strip()
    if variable and not variable.isidentifier():
        raise ConfigError(
            f"schemashift.url_env = {variable!r} in {project.describe()} is not an environment variable's name",
            hint="name the variable env.py reads its URL from, e.g. 'schemashift.url_env = DATABASE_URL'",
        )
    url = project.url
    if not variable or project.url_source == "config" or not url:
        yield
        return
    before = os.environ.get(variable)
    os.environ[variable] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before


@contextlib.contextmanager
def _url_restored(config: Any, saved: str | None) -> Iterator[None]:
    """env.py may rewrite ``sqlalchemy.url``; the next command starts from the URL schemashift was given."""
    try:
        yield
    finally:
        if saved is not None and _raw_url(config) != saved:
            with contextlib.suppress(Exception):
                config.file_config.set(config.config_ini_section, "sqlalchemy.url", saved)


def _frames_in(exc: BaseException, root: str | None) -> list[tuple[str, int]]:
    if not root:
        return []
    root = str(Path(root).resolve())
    found = []
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            name = str(Path(frame.filename).resolve())
        except OSError:
            continue
        if name.startswith(root):
            found.append((frame.filename, frame.lineno or 0))
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _script_root(project: Project, state: RunState | None) -> str | None:
    if state is not None and state.script_dir:
        return state.script_dir
    try:
        return str(project.script_location)
    except SchemashiftError:
        return None


_LOCKED = ("database is locked", "database table is locked")
_DRIVERS = ("sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql")


def _from_driver(exc: BaseException) -> bool:
    """A database driver's own error, raised by a call made on the raw DBAPI connection (e.g. ATTACH)."""
    return type(exc).__module__.split(".", 1)[0] in _DRIVERS and isinstance(exc, Exception)


def alembic_command(project: Project, name: str, *args: Any, **kw: Any) -> Any:
    """``alembic.command.<name>`` (revision, merge) on the project, its errors worded as ours."""
    from alembic import command  # start-up time: the read commands never need Alembic's command module

    if kw.get("autogenerate"):  # runs env.py (revision and merge alone do not)
        require_env_py(project)
    with translate_errors(project, RunState()), url_in_environment(project):
        try:
            return getattr(command, name)(project.config, *args, **kw)
        except REVISION_ERRORS as exc:
            raise revision_error(exc) from exc


@contextlib.contextmanager
def translate_errors(project: Project, state: RunState | None = None) -> Iterator[None]:
    """Turn what Alembic, SQLAlchemy, env.py and the revision files raise into one-line errors.

    While a run's steps are running, anything raised (a database error, an
    AssertionError, ``sys.exit()``, one of our own errors) is that step's
    failure, worded by the run from what the database really did.
    """
    from sqlalchemy import exc as sa_exc

    run = state.run if state is not None else None
    try:
        yield
    except (Exception, SystemExit) as exc:
        failed = run.worded_failure(exc) if run is not None else None
        if failed is not None:
            raise failed from exc
        if isinstance(exc, SchemashiftError):
            raise
        if isinstance(exc, REVISION_ERRORS):
            raise revision_error(exc) from exc
        no_driver = missing_driver(exc)
        if no_driver is not None:
            raise no_driver from exc
        if isinstance(exc, sa_exc.DBAPIError) or _from_driver(exc):
            reason = _first_line(getattr(exc, "orig", None) or exc)
            if any(text in reason.lower() for text in _LOCKED):
                raise DatabaseError(
                    f"database {redact_url(project.url)} is locked by another connection: {reason}",
                    hint="wait for the other writer to finish (or close it), then run again",
                ) from exc
            env = state.env if state else None
            if env is None or env.connection is None:
                raise DatabaseError(
                    f"cannot connect to database {redact_url(project.url)}: {reason}",
                    hint="check the URL (--url, $SCHEMASHIFT_URL or sqlalchemy.url) and that the server is running",
                ) from exc
            if state is not None and run is None and state.steps and state.applied < len(state.steps):
                raise _migration_failure(exc, state, getattr(exc, "statement", None)) from exc
            raise DatabaseError(
                f"database {redact_url(project.url)} refused a statement: {reason}",
                hint="check the database and its permissions",
            ) from exc
        if (not project.url and not isinstance(exc, SystemExit) and _about_the_url(exc)
                and _frames_in(exc, _script_root(project, state))):
            raise ConfigError(
                f"no database URL: sqlalchemy.url is not set in {project.describe()} "
                f"(env.py failed with {type(exc).__name__}: {_first_line(exc)})",
                hint="set sqlalchemy.url under [alembic], or pass --url or $SCHEMASHIFT_URL",
            ) from exc
        if isinstance(exc, sa_exc.ArgumentError) or _bad_url(exc):
            raise ConfigError(
                f"bad database URL {redact_url(project.url)}: {_first_line(exc)}",
                hint="set sqlalchemy.url, --url or $SCHEMASHIFT_URL to a URL like sqlite:///app.db",
            ) from exc
        root = _script_root(project, state)
        frames = _frames_in(exc, root)
        reason = f"{type(exc).__name__}: {_first_line(exc)}"
        if isinstance(exc, SyntaxError) and exc.filename:
            frames.append((exc.filename, exc.lineno or 0))
            reason = f"SyntaxError: {exc.msg}"
        env_frames = [f for f in frames if Path(f[0]).name == "env.py"]
        if not (state is not None and state.steps and _applied(state) < len(state.steps)) and not isinstance(exc, SystemExit):
            models_error = _models_failure(exc, project, reason)
            if models_error is not None:
                raise models_error from exc
        if isinstance(exc, SystemExit):
            where = env_frames[-1] if env_frames else None
            raise ConfigError(
                f"{where[0] if where else 'env.py'} called sys.exit({exc.code!r})"
                + (f" at line {where[1]}" if where else ""),
                hint="env.py must not exit; let it raise or return",
            ) from exc
        if frames and Path(frames[-1][0]).name != "env.py" and state is not None and run is None and state.steps:
            if state.applied < len(state.steps):
                raise _migration_failure(exc, state, None) from exc
        if frames and Path(frames[-1][0]).name != "env.py":
            raise RevisionFileError(frames[-1][0], f"{reason} (line {frames[-1][1]})", hint="fix or remove the file") from exc
        if env_frames:
            where = env_frames[-1]
            raise ConfigError(
                f"{where[0]} failed at line {where[1]}: {reason}",
                hint=_env_py_hint(exc),
            ) from exc
        raise


def _about_the_url(exc: BaseException) -> bool:
    """env.py failed for want of a URL (a stock env.py's ``engine_from_config`` raises KeyError('url'));
    another failure of an env.py that takes its URL elsewhere is worded as env.py's own."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, KeyError):
        return exc.args == ("url",) or exc.args == ("sqlalchemy.url",)
    return isinstance(exc, sa_exc.ArgumentError) or "url" in str(exc).lower()


def _env_py_hint(exc: BaseException) -> str:
    """What to do about env.py's own failure; an env.py made to run inside its application's
    AnyIO worker thread (Prefect's) cannot run from a command line, Alembic's or ours."""
    if type(exc).__name__ == "NoEventLoopError" or "AnyIO worker thread" in str(exc):
        return ("this env.py runs only inside an AnyIO worker thread, as its application starts it: call "
                "schemashift.api from such a thread (anyio.to_thread.run_sync), as the application calls Alembic")
    return "fix env.py or the models it imports"


def _models_failure(exc: BaseException, project: Project, reason: str) -> ConfigError | None:
    """A failure in the models (or another project module env.py imports), worded as that, not as
    env.py or a revision file."""
    spec = project.config.get_main_option("schemashift.metadata") or ""
    module = spec.partition(":")[0]
    if isinstance(exc, ModuleNotFoundError) and module and exc.name and module.startswith(exc.name):
        return ConfigError(
            f"env.py cannot import the models: no module named {exc.name!r} "
            f"(schemashift.metadata = {spec} in {project.describe()})",
            hint="create it, or point schemashift.metadata at your models' MetaData (MODULE:ATTR)",
        )
    try:
        scripts = str(project.script_location)
    except SchemashiftError:
        return None
    top = str(project.root)
    found = None
    if isinstance(exc, SyntaxError) and exc.filename:
        found = (exc.filename, exc.lineno or 0)
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.startswith(top):
                found = (frame.filename, frame.lineno or 0)
    if found is None:
        return None
    path = str(Path(found[0]).absolute())
    if not path.startswith(top) or path.startswith(scripts) or "site-packages" in path:
        return None
    is_models = bool(module) and Path(path).with_suffix("").as_posix().endswith(module.replace(".", "/"))
    what = "the models module" if is_models else "a module env.py imports,"
    return ConfigError(
        f"{what} {path} failed at line {found[1]}: {reason}",
        hint=f"fix {Path(path).name}" + (f"; env.py imports it through schemashift.metadata = {spec}" if is_models else ""),
    )


def _bad_url(exc: BaseException) -> bool:
    """A URL SQLAlchemy parsed but the driver or socket layer could not use (a port out of range)."""
    text = str(exc).lower()
    return isinstance(exc, (ValueError, OverflowError)) and ("port" in text or "invalid literal for int" in text)


def _applied(state: RunState) -> int:
    """The steps whose migration ran so far: the ``Run``'s count when one owns the command."""
    return state.run.applied if state.run is not None else state.applied


def _migration_failure(exc: BaseException, state: RunState | None, statement: str | None) -> MigrationFailed:
    """A failed step in a run without a ``Run`` (scratch databases)."""
    revision = None
    if state is not None and state.steps and state.applied < len(state.steps):
        step = state.steps[state.applied]
        revision = getattr(step, "up_revision_id", None) or getattr(step, "revision", None)
        revision = getattr(revision, "revision", revision)
        if isinstance(revision, tuple):
            revision = ",".join(revision)
    reason = _first_line(getattr(exc, "orig", None) or exc)
    message = f"migration {revision or '?'} failed: {reason}"
    if statement:
        message += f" in statement: {' '.join(statement.split())[:300]}"
    ran = list(state.statements) if state else []
    if state is None or state.transactional:
        scope = "the run" if state is not None and state.atomic == "run" else f"migration {revision or '?'}"
        hint = f"rolled back: the database is as it was before {scope}"
    else:
        from .safety.nontransactional import describe_partial

        hint = describe_partial(ran, statement)
    return MigrationFailed(message, revision=revision, statement=statement, hint=hint)


def revision_error(exc: Exception) -> SchemashiftError:
    """Word Alembic's revision errors as ours, keeping its meaning."""
    text = _first_line(exc)
    lowered = text.lower()
    if "can't locate revision" in lowered or "no such revision" in lowered:
        return RevisionError(text, hint="see 'schemashift history' for the revision ids")
    if "multiple revisions start with" in lowered:
        return RevisionError(text, hint="give more characters of the revision id")
    if "relative revision" in lowered or "didn't produce" in lowered:
        return RevisionError(text, hint="there are not that many revisions in that direction")
    if "multiple head" in lowered or "multiple heads" in lowered:
        return RevisionError(
            text, hint="name a head explicitly, use 'heads', or merge them with 'schemashift merge heads'"
        )
    if "target database is not up to date" in lowered:
        return RevisionError(text, hint="run 'schemashift upgrade head' first")
    return RevisionError(text)
