"""Running migrations: the one place that owns transactions, the lock and the ledger.

An upgrade, downgrade or stamp is a ``MigrationRun``.  Before Alembic reads
the version table it takes the migration lock; before any step it adopts or
checks the ledger; each step runs in its own real transaction (SQLite
included) or, with ``atomic="run"``, the whole run in one; the ledger row of a
step is written in that step's transaction.  What ran is recorded so a
failure can say which revision and statement failed, and what was undone.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sqlalchemy import event

from .config import Project
from .errors import Refused, RevisionError
from .revisions.index import RevisionIndex
from .runner import REVISION_ERRORS, RunPolicy, RunState, revision_error, run_env, script_directory
from .safety import ledger as ledger_mod
from .safety import lock as lock_mod
from .safety import mysql_alter  # noqa: F401 - registers alter_column that completes MySQL column specs
from .safety.atomic import sqlite_transactional_ddl
from .safety.rebuild import sqlite_foreign_keys_off

TRANSACTIONAL_DDL = {"sqlite", "postgresql", "mssql"}


@dataclass
class StepEvent:
    """One migration step that was applied (reported through ``progress``)."""

    direction: str
    from_revisions: tuple[str, ...]
    to_revisions: tuple[str, ...]
    revision: str
    doc: str
    seconds: float

    def one_line(self) -> str:
        source = ", ".join(self.from_revisions) or "<base>"
        target = ", ".join(self.to_revisions) or "<base>"
        verb = {"up": "Upgraded", "down": "Downgraded"}.get(self.direction, "Stamped")
        return f"{verb} {source} -> {target}, {self.doc} ({self.seconds * 1000:.0f} ms)"


@dataclass
class MigrateResult:
    direction: str
    steps: list[StepEvent] = field(default_factory=list)
    sql: str | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    adopted: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunOptions:
    """How a run protects the database."""

    atomic: str = "step"  # "step": a transaction per migration; "run": one for the whole run
    lock_timeout: float = lock_mod.DEFAULT_TIMEOUT
    ignore_checksums: bool = False
    ledger: bool = True
    notice: Callable[[str], None] | None = None  # told things before they happen (e.g. no rollback possible)

    def __post_init__(self) -> None:
        if self.atomic not in ("step", "run"):
            raise RevisionError(f"atomic must be 'step' or 'run', not {self.atomic!r}")


def ledger_for(project: Project) -> ledger_mod.Ledger:
    return ledger_mod.Ledger.for_config(project.config)


def lock_timeout_for(project: Project, given: float | None) -> float:
    if given is not None:
        return given
    value = project.config.get_main_option("schemashift.lock_timeout")
    return float(value) if value else lock_mod.DEFAULT_TIMEOUT


class MigrationRun:
    """One upgrade, downgrade or stamp, with everything that keeps it safe."""

    def __init__(
        self,
        project: Project,
        direction: str,
        options: RunOptions,
        progress: Callable[[StepEvent], None] | None = None,
    ) -> None:
        self.project = project
        self.direction = direction
        self.options = options
        self.progress = progress
        self.result = MigrateResult(direction)
        self.state = RunState()
        self.ledger = ledger_for(project)
        self._clock = time.perf_counter()
        self._external = False

    # ------------------------------------------------------------ policy

    def policy(self) -> RunPolicy:
        return RunPolicy(
            on_version_apply=[self._on_apply],
            # foreign keys off before any BEGIN (SQLite ignores the pragma inside one)
            connection_hooks=[
                self._take_lock, self._prepare_ledger, sqlite_foreign_keys_off, sqlite_transactional_ddl,
                self._record_statements,
            ],
            transaction_per_migration=self.options.atomic == "step",
        )

    def _take_lock(self, connection: Any, env: Any) -> Callable[[], None] | None:
        self._external = connection.in_transaction()
        self.state.transactional = connection.dialect.name in TRANSACTIONAL_DDL
        spec = lock_mod.LockSpec(self._lock_name(env), self.options.lock_timeout)
        return lock_mod.acquire(connection, spec)

    def _prepare_ledger(self, connection: Any, env: Any) -> None:
        """Under the lock, before any BEGIN: SQLite attaches the ledger's sidecar file here."""
        if self.options.ledger:
            self.ledger.prepare(connection)

    def _lock_name(self, env: Any) -> str:
        opts = env.context.context_opts
        table = opts.get("version_table") or "alembic_version"
        schema = opts.get("version_table_schema")
        if schema is None and env.connection is not None:
            # one lock per schema (PostgreSQL schema per tenant) and per database on a
            # MySQL server (GET_LOCK is server-wide); the usual default keeps its plain name
            default = env.connection.dialect.default_schema_name
            schema = None if default in (None, "public", "main") else default
        return f"{schema}.{table}" if schema else table

    def _record_statements(self, connection: Any, env: Any) -> Callable[[], None]:
        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.state.statements.append(statement)

        event.listen(connection, "before_cursor_execute", before)
        return lambda: event.remove(connection, "before_cursor_execute", before)

    # ------------------------------------------------------------- steps

    def before_steps(self, heads: tuple[str, ...], context: Any) -> None:
        """With the lock held and the version read: adopt, then check, the ledger."""
        self.result.before = heads
        if context.as_sql or not self.options.ledger:
            return
        connection = context.connection
        existed = self.ledger.exists(connection)
        if self.ledger.create(connection) or not existed:  # create() also moves an older release's ledger
            if heads and not existed:
                applied = _applied_revisions(self.project, heads)
                self.result.adopted = self.ledger.adopt(connection, applied)
            if not self._external and connection.in_transaction():
                connection.commit()  # adoption stands even if no step runs
        if self.direction == "up":
            report = check_ledger(self.project, heads, self.ledger.entries(connection))
            if not report.ok and not self.options.ignore_checksums:
                problems = "; ".join(f.one_line() for f in report.failed)
                raise Refused(
                    f"applied migrations no longer match their files: {problems}",
                    hint="restore the files, or rerun with --ignore-checksums if the edit is intended",
                )
            self.result.warnings.extend(f.one_line() for f in report.findings if f.problem == "unrecorded")
        self.state.statements.clear()
        self._clock = time.perf_counter()

    def _on_apply(self, *, ctx: Any, step: Any, heads: set[str], run_args: Any) -> None:
        now = time.perf_counter()
        seconds = now - self._clock
        self._clock = now
        direction = "stamp" if step.is_stamp else self.direction
        revision = step.up_revision_id if step.up_revision_id else ",".join(step.up_revision_ids)
        event_ = StepEvent(
            direction=direction,
            from_revisions=tuple(step.source_revision_ids),
            to_revisions=tuple(step.destination_revision_ids),
            revision=revision or "",
            doc=step.up_revision.doc if step.up_revision is not None else "",
            seconds=seconds,
        )
        if not ctx.as_sql and self.options.ledger and ctx.connection is not None:
            self._write_ledger(ctx.connection, step, direction, int(seconds * 1000))
        self.result.steps.append(event_)
        self.state.statements.clear()
        if self.progress:
            self.progress(event_)

    def _write_ledger(self, connection: Any, step: Any, direction: str, duration_ms: int) -> None:
        if direction == "stamp":
            if step.is_upgrade:  # stamped forward: the destinations are now in place
                added = set(step.destination_revision_ids) - set(step.source_revision_ids)
                for rev in step.up_revisions:
                    if rev.revision in added:
                        self.ledger.record(connection, rev.revision, ledger_mod.STAMP, path=rev.path)
            else:  # stamped backward: the sources are no longer applied
                for rev_id in sorted(set(step.source_revision_ids) - set(step.destination_revision_ids)):
                    self.ledger.record(connection, rev_id, ledger_mod.DOWN, path=None)
            return
        for rev in step.up_revisions:
            kind = ledger_mod.UP if direction == "up" else ledger_mod.DOWN
            self.ledger.record(connection, rev.revision, kind, path=rev.path, duration_ms=duration_ms)

    # --------------------------------------------------------------- run

    def run(self, fn: Callable[[Any, Any], list[Any]], **context_kw: Any) -> MigrateResult:
        def steps(rev: Any, context: Any) -> list[Any]:
            try:
                planned = list(fn(rev, context))  # a bad target fails here, before any write
            except REVISION_ERRORS as exc:
                raise revision_error(exc) from exc
            self.before_steps(tuple(rev) if rev else (), context)
            env = self.state.env
            if planned and not self.state.transactional and self.options.notice and env and env.connection is not None:
                self.options.notice(  # said only when something will run (bad input gets its one line)
                    f"{env.dialect_name} commits each DDL statement at once: a migration that fails "
                    "half way cannot be rolled back; schemashift will list the statements that ran"
                )
            return planned

        self.state.atomic = self.options.atomic
        run_env(self.project, steps, policy=self.policy(), state=self.state, **context_kw)
        self.result.after = self.result.steps[-1].to_revisions if self.result.steps else self.result.before
        return self.result


def revision_map(project: Project) -> Any:
    """Alembic's ``RevisionMap`` of the project, from the cached header index."""
    try:
        return RevisionIndex(script_directory(project)).revision_map()
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc


def _applied_revisions(project: Project, heads: Sequence[str]) -> list[Any]:
    rmap = revision_map(project)
    known = [h for h in heads if _exists(rmap, h)]
    if not known:
        return []
    return list(rmap.iterate_revisions(tuple(known), "base", assert_relative_length=False))


def _exists(rmap: Any, rev_id: str) -> bool:
    try:
        return rmap.get_revision(rev_id) is not None
    except REVISION_ERRORS:
        return False


def check_ledger(project: Project, heads: Sequence[str], entries: list[Any]) -> ledger_mod.ValidationReport:
    """Applied revisions (ancestors of ``heads``) whose files changed or vanished."""
    return ledger_mod.validate(_applied_revisions(project, heads), entries, set(heads))


# ------------------------------------------------------------------ targets

_SPECIAL_TARGETS = {"", "head", "heads", "base", "current"}
_RELATIVE = re.compile(r"^(.*?)([+-]\d+)$")


def precheck_targets(project: Project, targets: Sequence[str | None]) -> None:
    """Resolve each target's revision part before touching the database.

    Alembic reports an ambiguous partial id as "Can't locate revision"; the
    revision map says which revisions it matched, so ask it first.
    """
    idents = []
    for target in targets:
        if target is None:
            continue
        match = _RELATIVE.match(target)
        ident = match.group(1) if match else target
        ident = ident.split("@", 1)[0]  # branch@head: let Alembic resolve the branch
        if ident.lower() not in _SPECIAL_TARGETS:
            idents.append(ident)
    if not idents:
        return
    rmap = revision_map(project)
    for ident in idents:
        try:
            rmap.get_revisions(ident)
        except REVISION_ERRORS as exc:
            raise revision_error(exc) from exc


# ------------------------------------------------------------- the commands


def migrate(
    project: Project,
    direction: str,
    revision: str,
    *,
    sql: bool = False,
    tag: str | None = None,
    progress: Callable[[StepEvent], None] | None = None,
    output: Any = None,
    options: RunOptions | None = None,
) -> MigrateResult:
    """Upgrade (``direction="up"``) or downgrade to ``revision``."""
    options = options or RunOptions()
    script = script_directory(project)
    starting_rev = None
    if ":" in revision:
        if not sql:
            raise RevisionError(f"a range ({revision}) is only allowed with --sql", hint="give a single target revision")
        starting_rev, revision = revision.split(":", 1)
    elif direction == "down" and sql:
        raise RevisionError("downgrade with --sql needs a range", hint="e.g. schemashift downgrade --sql head:base")
    precheck_targets(project, (starting_rev, revision))

    def steps(rev: Any, context: Any) -> list[Any]:
        if direction == "up":
            return script._upgrade_revs(revision, rev)  # noqa: SLF001 - as alembic.command.upgrade does
        return script._downgrade_revs(revision, rev)  # noqa: SLF001 - as alembic.command.downgrade does

    run = MigrationRun(project, direction, options, progress)
    return _run_maybe_sql(run, steps, sql, output, starting_rev=starting_rev, destination_rev=revision, tag=tag)


def stamp(
    project: Project,
    revisions: Sequence[str],
    *,
    sql: bool = False,
    purge: bool = False,
    tag: str | None = None,
    output: Any = None,
    options: RunOptions | None = None,
) -> MigrateResult:
    """Record ``revisions`` in the version table without running migrations."""
    script = script_directory(project)
    destinations = list(revisions)
    starting_rev = None
    if sql:
        starts = {r.split(":", 1)[0] for r in destinations if ":" in r}
        if len(starts) > 1:
            raise RevisionError("stamp with --sql supports one starting revision at a time")
        starting_rev = next(iter(starts), None)
        destinations = [r.split(":", 1)[-1] for r in destinations]
    precheck_targets(project, [starting_rev, *destinations])

    def steps(rev: Any, context: Any) -> list[Any]:
        return script._stamp_revs(tuple(destinations), rev)  # noqa: SLF001 - as alembic.command.stamp does

    run = MigrationRun(project, "stamp", options or RunOptions())
    return _run_maybe_sql(
        run, steps, sql, output, starting_rev=starting_rev, destination_rev=tuple(destinations), tag=tag, purge=purge
    )


def _run_maybe_sql(run: MigrationRun, steps: Callable[..., Any], sql: bool, output: Any, **kw: Any) -> MigrateResult:
    buffer = io.StringIO() if sql and output is None else output
    if sql:
        kw["output_buffer"] = buffer
    result = run.run(steps, as_sql=sql, **kw)
    if sql and output is None:
        result.sql = buffer.getvalue()  # type: ignore[union-attr]
    return result
