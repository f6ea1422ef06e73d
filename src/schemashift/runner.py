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
import traceback
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

from .config import Project, redact_url
from .errors import (
    ConfigError,
    DatabaseError,
    MigrationFailed,
    RevisionError,
    RevisionFileError,
    SchemashiftError,
)

ConnectionHook = Callable[[Any, "SchemashiftEnvironment"], "Callable[[], None] | None"]


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
    """An Alembic ``EnvironmentContext`` whose configure() also applies a ``RunPolicy``.

    The context's own ``configure`` is replaced on the instance, so env.py's
    ``context.configure(...)`` (proxied by Alembic from the instance) lands
    in ``configure`` below, which then calls Alembic's.
    """

    def __init__(self, config: Any, script: ScriptDirectory, *, policy: RunPolicy, **kw: Any) -> None:
        self.context = EnvironmentContext(config, script, **kw)
        self._alembic_configure = self.context.configure
        self.context.configure = self.configure  # type: ignore[method-assign]
        self.policy = policy
        self.connection: Any = None
        self.dialect_name: str | None = None
        self._cleanups: list[Callable[[], None]] = []

    def __enter__(self) -> "SchemashiftEnvironment":
        self.context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.context.__exit__(*exc)

    def configure(self, *args: Any, **kw: Any) -> None:
        if args:  # configure's first positional parameter is the connection
            kw.setdefault("connection", args[0])
        connection = kw.get("connection")
        if connection is not None:
            # hooks see the connection first and may adjust the policy (e.g.
            # SQLite turns on transactional DDL once its driver is fixed)
            self.connection = connection
            self.dialect_name = connection.dialect.name
            for hook in self.policy.connection_hooks:
                cleanup = hook(connection, self)
                if cleanup is not None:
                    self._cleanups.append(cleanup)
        else:
            url = kw.get("url")
            self.dialect_name = kw.get("dialect_name") or (_dialect_of(url) if url is not None else None)
        policy = self.policy
        user_apply = kw.pop("on_version_apply", None)
        applies = list(user_apply if isinstance(user_apply, (list, tuple)) else [user_apply] if user_apply else [])
        kw["on_version_apply"] = applies + policy.on_version_apply
        if policy.transaction_per_migration is not None:
            kw["transaction_per_migration"] = policy.transaction_per_migration
        if policy.transactional_ddl is not None and connection is not None:
            kw["transactional_ddl"] = policy.transactional_ddl
        kw.update(policy.extra_opts)
        self._alembic_configure(**kw)

    def run_cleanups(self) -> None:
        while self._cleanups:
            cleanup = self._cleanups.pop()
            with contextlib.suppress(Exception):
                cleanup()


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


def script_directory(project: Project) -> ScriptDirectory:
    try:
        return ScriptDirectory.from_config(project.config)
    except CommandError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc


def run_env(
    project: Project,
    fn: Callable[[Any, Any], list[Any]],
    *,
    policy: RunPolicy | None = None,
    state: RunState | None = None,
    **context_kw: Any,
) -> RunState:
    """Run the project's env.py with ``fn`` deciding which steps to take."""
    script = script_directory(project)
    state = state or RunState()
    policy = policy or RunPolicy()

    def count_applied(**_: Any) -> None:
        state.applied += 1

    policy.on_version_apply.append(count_applied)

    def decide(rev: Any, context: Any) -> list[Any]:
        steps = fn(rev, context)
        state.steps = list(steps)
        return state.steps

    env = SchemashiftEnvironment(project.config, script, fn=decide, policy=policy, **context_kw)
    state.env = env
    with translate_errors(project, state):
        try:
            with env:
                script.run_env()
        finally:
            env.run_cleanups()
    return state


def _project_frame(exc: BaseException, project: Project) -> tuple[str, int] | None:
    """The innermost traceback frame inside the project's migration folder."""
    root = str(project.script_location)
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            found = (frame.filename, frame.lineno or 0)
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def translate_errors(project: Project, state: RunState | None = None) -> Iterator[None]:
    """Turn what Alembic, SQLAlchemy and the project's files raise into one-line errors."""
    from sqlalchemy import exc as sa_exc

    try:
        yield
    except SchemashiftError:
        raise
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    except sa_exc.DBAPIError as exc:
        env = state.env if state else None
        if env is None or env.connection is None:
            raise DatabaseError(
                f"cannot connect to database {redact_url(project.url)}: {_first_line(exc.orig or exc)}",
                hint="check the URL (--url, $SCHEMASHIFT_URL or sqlalchemy.url) and that the server is running",
            ) from exc
        raise _migration_failure(exc, state, exc.statement) from exc
    except sa_exc.ArgumentError as exc:
        raise ConfigError(
            f"bad database URL {redact_url(project.url)}: {_first_line(exc)}",
            hint="set sqlalchemy.url, --url or $SCHEMASHIFT_URL to a URL like sqlite:///app.db",
        ) from exc
    except (SyntaxError, ImportError, NameError, AttributeError, TypeError, ValueError, KeyError) as exc:
        where = _project_frame(exc, project)
        reason = f"{type(exc).__name__}: {_first_line(exc)}"
        if isinstance(exc, SyntaxError) and exc.filename:
            where = (exc.filename, exc.lineno or 0)
            reason = f"SyntaxError: {exc.msg}"
        if where and Path(where[0]).name == "env.py":
            raise ConfigError(
                f"{where[0]} failed at line {where[1]}: {reason}",
                hint="fix env.py or the models it imports",
            ) from exc
        if where and state is not None and state.steps and state.applied < len(state.steps):
            raise _migration_failure(exc, state, None) from exc
        if where:
            raise RevisionFileError(
                where[0], f"{reason} (line {where[1]})", hint="fix or remove the file"
            ) from exc
        raise


def _migration_failure(exc: BaseException, state: RunState | None, statement: str | None) -> MigrationFailed:
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
