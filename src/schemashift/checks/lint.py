"""Lint revision files: every rule that needs no live data, without the user's database.

The revisions run, base first, on a scratch database (``safety.scratch``: a
temporary SQLite file or a temporary PostgreSQL database, never the user's);
each operation is recorded through ``safety.recording``'s ``Recorder`` as
it runs, with the table as it was just before, so revisions that reflect the
database work (where offline ``--sql`` and SQL-text linters cannot).  Rows are
unknown here, so a destructive operation is an error whatever the table holds:
``plan`` on the real database is where "nothing at stake" is decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Project
from .actions import from_op
from .capture import caller_line
from .findings import Finding, level_rank
from .plan import Allowances
from .rules import Context, evaluate
from .rules import postgres as pg_rules
from .suppress import configured_levels, suppressions


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    dialect: str = ""
    scratch: str = ""
    traces: dict[str, Any] = field(default_factory=dict)  # revision -> checks.trace.Trace (with --trace)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error" and not f.allowed_by]

    @property
    def ok(self) -> bool:
        return not self.errors()

    def worst(self) -> str:
        levels = [f.level for f in self.findings if not f.allowed_by]
        return max(levels, key=level_rank) if levels else "ok"


def _recorder_class() -> Any:
    from ..safety.recording import Recorder

    class LineRecorder(Recorder):
        """A ``Recorder`` that also notes the revision file's line of each operation."""

        path: str | None = None
        lines: list[int | None]

        def run(self, op: Any, invoke: Any, batch: str | None = None, batch_before: Any = None) -> Any:
            self.lines.append(caller_line(self.path))
            return super().run(op, invoke, batch=batch, batch_before=batch_before)

    return LineRecorder


def record(module: Any, migration_context: Any, path: str | None) -> tuple[Any, list[int | None]]:
    """Run ``module.upgrade()`` recording each operation and its line (as ``safety.recording.record_upgrade``)."""
    from sqlalchemy import event

    from ..safety.recording import RecordingOperations

    connection = migration_context.connection
    recorder = _recorder_class()(connection)
    recorder.path = path
    recorder.lines = []
    operations = RecordingOperations(migration_context, recorder)
    module.op = operations
    event.listen(connection, "before_cursor_execute", recorder.on_sql)
    try:
        module.upgrade()
    finally:
        event.remove(connection, "before_cursor_execute", recorder.on_sql)
    return recorder.recording, recorder.lines


def judge(recording: Any, lines: list[int | None], ctx: Context, allowances: Allowances) -> list[Finding]:
    """Findings of one recorded revision (rows unknown)."""
    from .actions import Action
    from .rawsql import analyse

    found: list[Finding] = []
    created: set[str] = set()
    locking = False
    for index, entry in enumerate(recording.operations):
        ctx.line = lines[index] if index < len(lines) else None
        actions = from_op(entry.op, ctx.dialect, batch=entry.batch is not None)
        for action in actions:
            if entry.batch:
                action.table = action.table or entry.batch
            # the recorder reflects the op's table_name; other ops (a foreign key, raw SQL) name theirs differently
            existed = (entry.before is not None if entry.table else True) and (action.table or entry.table) not in created
            ctx.existing_override = existed
            if action.kind == "set_lock_timeout":
                ctx.lock_timeout = True
            found.extend(evaluate(action, ctx))
            lock, _ = pg_rules.lock_of(action, ctx) if ctx.name == "postgresql" else (None, False)
            if lock == pg_rules.ACCESS_EXCLUSIVE and existed and not ctx.lock_timeout:
                locking = True
            if action.kind == "create_table" and action.table:
                created.add(action.table)
    ctx.existing_override = None
    for statement in recording.direct_sql:
        ctx.line = None
        for action in analyse(statement, ctx.name):
            found.extend(evaluate(action, ctx))
    if locking and ctx.name == "postgresql":
        ctx.line = None
        found.append(ctx.finding("SS-P409", "takes ACCESS EXCLUSIVE locks on existing tables with no lock_timeout set",
                                 Action("ddl")))
    marks = suppressions(ctx.path)
    seen = set()
    out = []
    for f in found:
        key = (f.rule, f.message, f.line)
        if key in seen:
            continue
        seen.add(key)
        kept = allowances.apply(f, marks)
        if kept is not None:
            out.append(kept)
    return out


def _start_trace(connection: Any, url: str) -> Any:
    """Give every empty table a few rows (a rewrite then has something to copy), then listen."""
    import sqlalchemy as sa

    from ..safety.seed import seed_tables
    from .trace import Tracer

    from ..schema.bookkeeping import is_bookkeeping

    names = [n for n in sa.inspect(connection).get_table_names() if not is_bookkeeping(n)]
    if names:
        seed_tables(connection, names)
    tracer = Tracer(connection, url)
    tracer.start()
    return tracer


def lint(
    project: Project,
    *,
    rev_range: str | None = None,
    scratch_url: str | None = None,
    target_version: tuple[int, ...] | None = None,
    allowances: Allowances | None = None,
    trace: bool = False,
) -> LintReport:
    """Findings of the revisions in ``rev_range`` (default: all), from a scratch run.

    ``trace`` (PostgreSQL): seed rows, record the locks and rewrites each
    statement really causes, and let them override the static guesses.
    """
    from ..safety.scratch import PlannedStep, load_revision_module, run_steps, scratch_database, scratch_project
    from ..safety.verify import plan_revisions

    allowances = allowances or Allowances(levels=configured_levels(project))
    setup, to_check, revisions = plan_revisions(project, rev_range)
    report = LintReport(revisions=list(to_check))
    checked = set(to_check)

    with scratch_database(project.url, scratch_url) as scratch:
        report.dialect, report.scratch = scratch.dialect, scratch.label
        if trace and scratch.dialect != "postgresql":
            from ..errors import ConfigError

            raise ConfigError("--trace needs PostgreSQL", hint="point --scratch-url (or the project's URL) at a PostgreSQL server")
        scratch_proj = scratch_project(project, scratch)

        def runner(rev_id: str) -> Any:
            script = revisions[rev_id]

            def run(migration_context: Any) -> None:
                module = load_revision_module(script.path, f"schemashift_lint_{rev_id}")
                tracer = None
                if trace and rev_id in checked:
                    tracer = _start_trace(migration_context.connection, scratch.url)
                try:
                    recording, lines = record(module, migration_context, script.path)
                finally:
                    traced = tracer.stop() if tracer is not None else None
                if rev_id not in checked:
                    return
                dialect = migration_context.dialect
                ctx = Context(dialect, direction="up", facts=None, revision=rev_id, path=script.path,
                              pg_version=target_version or getattr(dialect, "server_version_info", None),
                              target_metadata=migration_context.opts.get("target_metadata"))
                found = judge(recording, lines, ctx, allowances)
                if traced is not None:
                    from .trace import apply_trace

                    report.traces[rev_id] = traced
                    found = apply_trace(found, traced, ctx)
                report.findings.extend(found)

            return run

        steps = [PlannedStep(r, True, "lint", run=runner(r)) for r in [*setup, *to_check]]
        if steps:
            run_steps(scratch_proj, scratch, steps)
    return report
