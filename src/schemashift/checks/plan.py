"""What an upgrade or downgrade will do, before it does anything.

``build_plan`` runs the project's env.py once, as ``upgrade`` would, works
out the same steps Alembic would run, and captures each revision's
operations without executing them (``capture``).  Each operation is put in
words, with the tables it touches, their rows (live), the PostgreSQL lock it
takes and whether it rewrites the table, and the findings of every rule.
Nothing is written: the plan's transaction only reads.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..config import Project, redact_url
from ..revisions.index import script_doc
from ..runner import REVISION_ERRORS, RunState, revision_error, run_env
from .actions import Action, from_op
from .capture import Listening, capture_function
from .facts import Facts
from .findings import RULES, Finding, level_rank
from .rules import Context, evaluate
from .rules import mysql as mysql_rules
from .rules import postgres as pg_rules
from .suppress import configured_levels, parse_suppressions, suppressions


@dataclass
class PlannedOperation:
    words: str | Callable[[], str]  # the operation in words, or how to say it (built only when shown)
    line: int | None = None
    tables: list[str] = field(default_factory=list)
    rows: int | None = None
    estimated: bool = False
    lock: str | None = None
    rewrites: bool | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def description(self) -> str:
        if callable(self.words):
            self.words = self.words()
        return self.words

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description, "line": self.line, "tables": self.tables, "rows": self.rows,
            "estimated": self.estimated, "lock": self.lock, "rewrites": self.rewrites,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class PlannedRevision:
    revision: str
    doc: str
    path: str | None
    direction: str
    operations: list[PlannedOperation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the revision as a whole
    stopped: str | None = None
    batch_recreates: bool = False  # an Alembic batch block that may copy, drop and rename a table
    depends_on_state: bool = False  # the function read the database (or raised): judged again when it runs

    def all_findings(self) -> list[Finding]:
        return [f for op in self.operations for f in op.findings] + self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "doc": self.doc, "path": self.path, "direction": self.direction,
            "operations": [o.as_dict() for o in self.operations], "findings": [f.as_dict() for f in self.findings],
            "stopped": self.stopped,
        }


@dataclass
class Plan:
    direction: str
    target: str
    dialect: str
    server_version: tuple[int, ...] | None = None
    url: str | None = None
    live: bool = True  # rows counted on the live database
    revisions: list[PlannedRevision] = field(default_factory=list)
    # revisions judged again just before they ran, on the database the steps before them left
    when_run: list[PlannedRevision] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.revisions for f in r.all_findings()]

    def blocking(self) -> list[Finding]:
        """Error-level findings nobody allowed: what refuses a run."""
        return [f for f in self.findings if f.level == "error" and not f.allowed_by]

    def worst(self) -> str:
        levels = [f.level for f in self.findings if not f.allowed_by]
        return max(levels, key=level_rank) if levels else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction, "target": self.target, "dialect": self.dialect,
            "server_version": list(self.server_version) if self.server_version else None, "url": self.url,
            "live": self.live, "revisions": [r.as_dict() for r in self.revisions],
            "when_run": [r.as_dict() for r in self.when_run],
            "blocking": [f.as_dict() for f in self.blocking()],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=str)


@dataclass
class Allowances:
    """What the person running the command accepted (and how rules are levelled)."""

    rules: frozenset[str] = frozenset()
    destructive: bool = False
    levels: dict[str, str] = field(default_factory=dict)

    def apply(self, finding: Finding, revision_suppressions: dict[str, str]) -> Finding | None:
        level = self.levels.get(finding.rule)
        if level:
            finding.level = level if finding.level != "info" or level == "off" else finding.level
        if finding.level == "off":
            return None
        if finding.rule in revision_suppressions:
            finding.allowed_by = f"comment: {revision_suppressions[finding.rule]}"
        elif finding.rule in self.rules:
            finding.allowed_by = "--allow"
        elif self.destructive and RULES.get(finding.rule) and RULES[finding.rule].family == "destructive":
            finding.allowed_by = "--allow-destructive"
        return finding


def _loss_allowed(migration_context: Any) -> bool:
    """``safety.precheck.loss_allowed(ctx, False)``: the run's --allow-loss (run_options, not precheck's
    import, which every run's plan would pay for)."""
    from ..safety.run_options import run_option

    return bool(run_option(migration_context, "allow_loss"))


def parse_allow(values: Iterable[str]) -> frozenset[str]:
    from ..errors import ConfigError

    out = set()
    for value in values:
        for part in str(value).split(","):
            rule = part.strip().upper()
            if not rule:
                continue
            if rule not in RULES:
                raise ConfigError(f"--allow {rule}: no such rule", hint=f"rules are {', '.join(sorted(RULES))}")
            out.add(rule)
    return frozenset(out)


# ------------------------------------------------------------------ building


def _words(op: Any, dialect: Any) -> str:
    from ..autogen.describe import describe_op

    try:
        lines = describe_op(op, dialect)
    except Exception:
        lines = [type(op).__name__]
    return "; ".join(lines) if lines else type(op).__name__


class Planner:
    """Walks captured operations in order, keeping the facts the plan itself changes."""

    def __init__(self, connection: Any, dialect: Any, *, direction: str, live: bool, exact: bool,
                 target_version: tuple[int, ...] | None, target_metadata: Any, allowances: Allowances) -> None:
        self.dialect = dialect
        self.direction = direction
        self.facts = Facts(connection, exact=exact) if live and connection is not None else None
        self.target_version = target_version
        self.target_metadata = target_metadata
        self.allowances = allowances
        self.session_lock_timeout = self._session_lock_timeout() if self.facts is not None else False
        self.listening: Listening | None = None  # set by plan_revisions for the whole plan
        self.file_marks: dict[str, str] | None = None  # real path -> its "schemashift:" lines (revision index)
        self._real_dirs: dict[str, str] = {}
        self._loss_allowed_by: tuple[Any, bool] | None = None

    def _suppressions(self, path: str | None) -> dict[str, str]:
        """The revision's reviewed suppressions, from the revision index's cached lines when it has them."""
        if path and self.file_marks is not None:
            folder, name = os.path.split(path)
            real = self._real_dirs.get(folder)
            if real is None:
                real = self._real_dirs[folder] = os.path.realpath(folder)
            text = self.file_marks.get(os.path.join(real, name))
            if text is not None:
                return parse_suppressions(text) if text else {}
        return suppressions(path)

    def _loss_allowed(self, migration_context: Any) -> bool:
        """The run's --allow-loss, asked once per migration context (the same for every revision of a plan)."""
        known = self._loss_allowed_by
        if known is None or known[0] is not migration_context:
            known = self._loss_allowed_by = (migration_context, _loss_allowed(migration_context))
        return known[1]

    def _session_lock_timeout(self) -> bool:
        if self.dialect.name != "postgresql":
            return False
        rows = self.facts.query("SHOW lock_timeout")  # type: ignore[union-attr]
        return bool(rows) and str(rows[0][0]) not in ("0", "0ms", "0s")

    def pg_version(self) -> tuple[int, ...] | None:
        if self.target_version:
            return self.target_version
        return self.facts.server_version if self.facts is not None else None

    def revision(self, script: Any, module: Any, function: str, migration_context: Any) -> PlannedRevision:
        return self.judge(script, self.capture(script, module, function, migration_context), migration_context)

    def capture(self, script: Any, module: Any, function: str, migration_context: Any) -> Captured:
        """The revision's operations, captured, with the actions each one stands for."""
        path = str(script.path) if getattr(script, "path", None) else None
        capture = capture_function(module, function, migration_context, path, self.listening)
        actions = []
        for item in capture.ops:
            found = from_op(item.op, self.dialect, batch=item.batch is not None, recreate=item.recreate)
            if item.batch is not None:
                for action in found:
                    action.table = action.table or item.batch
            actions.append(found)
        return Captured(capture, actions)

    def prefetch(self, captured: Iterable[Captured]) -> None:
        """Read at once the live facts ``_describe`` and the rules will ask about the plan's tables.

        Columns of every table an operation names; counts (estimate, or an
        emptiness probe) only of the tables ``_describe`` counts: the first
        table of an operation that does not create it, unless an earlier
        operation of the plan created it.
        """
        if self.facts is None:
            return
        named: list[tuple[str | None, str]] = []
        counted: list[tuple[str | None, str]] = []
        created: set[str] = set()
        for one in captured:
            for actions in one.actions:
                for action in actions:
                    for table, schema in ((action.table, action.schema),
                                          (action.ref_table, action.extra.get("ref_schema"))):
                        if table and table not in created:
                            named.append((schema, table))
                tables = _tables(actions)
                if tables and actions[0].kind != "create_table" and tables[0] not in created:
                    counted.append((actions[0].schema, tables[0]))
                for action in actions:
                    if action.kind == "create_table" and action.table:
                        created.add(action.table)
                    elif action.kind == "rename_table" and action.table in created and action.new_name:
                        created.add(action.new_name)
                    elif action.kind == "drop_table" and action.table:
                        created.discard(action.table)
        self.facts.prefetch(named, counted)

    def judge(self, script: Any, captured: Captured, migration_context: Any) -> PlannedRevision:
        """The captured revision in words, with its live rows, locks and the findings of every rule."""
        path = str(script.path) if getattr(script, "path", None) else None
        planned = PlannedRevision(script.revision, script_doc(script), path, self.direction)
        capture = captured.capture
        planned.stopped = capture.stopped
        planned.depends_on_state = capture.depends_on_state
        planned.batch_recreates = any(item.batch is not None and item.recreate != "never" for item in capture.ops)
        ctx = Context(self.dialect, direction=self.direction, facts=self.facts, pg_version=self.pg_version(),
                      target_metadata=self.target_metadata, lock_timeout=self.session_lock_timeout,
                      revision=script.revision, path=path, allow_loss=self._loss_allowed(migration_context))
        locking = False
        ddl = 0  # operations that run DDL (MySQL/MariaDB commit each: SS-M701; counted only there)
        count_ddl = ctx.name in mysql_rules.NON_ATOMIC_DDL
        for item, actions in zip(capture.ops, captured.actions):
            ctx.line = item.line
            op = PlannedOperation(functools.partial(_words, item.op, self.dialect), line=item.line)
            if count_ddl:
                ddl += mysql_rules.is_ddl(actions)
            self._describe(op, actions, ctx)
            for action in actions:
                if action.kind == "set_lock_timeout":
                    ctx.lock_timeout = True
                op.findings.extend(evaluate(action, ctx))
                if op.lock == pg_rules.ACCESS_EXCLUSIVE and ctx.existing(action) and not ctx.lock_timeout:
                    locking = True
                self._advance(action)
            if len(op.findings) > 1:
                op.findings = self._dedupe(op.findings)
            planned.operations.append(op)
        for statement in capture.direct_sql:
            ctx.line = None
            from .rawsql import analyse

            op = PlannedOperation(f"execute SQL (through op.get_bind()): {statement[:200]}")
            direct = analyse(statement, self.dialect.name)
            ddl += mysql_rules.is_ddl(direct)
            for action in direct:
                op.findings.extend(evaluate(action, ctx))
            planned.operations.append(op)
        if capture.stopped:
            ctx.line = None
            planned.findings.append(ctx.finding(
                "SS-X601", f"{'upgrade' if self.direction == 'up' else 'downgrade'}() could not be followed to its "
                f"end without running it: {capture.stopped}", Action("unknown")))
        if locking and self.dialect.name == "postgresql":
            ctx.line = None
            planned.findings.append(ctx.finding(
                "SS-P409", "takes ACCESS EXCLUSIVE locks on existing tables with no lock_timeout set", Action("ddl")))
        ctx.line = None
        non_atomic = mysql_rules.non_atomic_revision(ddl, ctx)
        if non_atomic is not None:
            planned.findings.append(non_atomic)
        if not planned.findings and not any(op.findings for op in planned.operations):
            return planned  # nothing to allow or level: the revision's suppressions need not be read
        marks = self._suppressions(path)
        for op in planned.operations:
            if op.findings:
                op.findings = [f for f in (self.allowances.apply(x, marks) for x in op.findings) if f is not None]
        planned.findings = [f for f in (self.allowances.apply(x, marks) for x in planned.findings) if f is not None]
        return planned

    @staticmethod
    def _dedupe(findings: list[Finding]) -> list[Finding]:
        seen = set()
        out = []
        for f in findings:
            key = (f.rule, f.message)
            if key not in seen:
                seen.add(key)
                out.append(f)
        return out

    def _describe(self, op: PlannedOperation, actions: list[Action], ctx: Context) -> None:
        tables = _tables(actions)
        op.tables = [t for t in tables]
        creates = bool(actions) and actions[0].kind == "create_table"
        if self.facts is not None and tables and not creates and not self.facts.is_new(tables[0]):
            counted = self.facts.count(tables[0], actions[0].schema if actions else None)
            if counted is not None:
                op.rows, op.estimated = counted.rows, counted.estimated
        elif self.facts is not None and tables:
            op.rows = 0  # a table this plan creates
        if self.dialect.name == "postgresql":
            strongest, rewrites = None, False
            order = ["ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "ACCESS EXCLUSIVE"]
            for action in actions:
                if not pg_rules.locks_a_table(action) or not ctx.existing(action):
                    continue
                lock, rw = pg_rules.lock_of(action, ctx)
                if lock and (strongest is None or order.index(lock) > order.index(strongest)):
                    strongest = lock
                rewrites = rewrites or rw
            op.lock, op.rewrites = strongest, rewrites if strongest else None

    def _advance(self, action: Action) -> None:
        """Keep what this action changes, so later actions are judged on the plan's state."""
        facts = self.facts
        if facts is None or not action.table:
            return
        if action.kind == "create_table":
            facts.created.add(action.table)
            facts.dropped.discard(action.table)
        elif action.kind == "drop_table":
            facts.dropped.add(action.table)
            facts.created.discard(action.table)
        elif action.kind == "rename_table" and action.new_name:
            if action.table in facts.created:
                facts.created.add(action.new_name)
            else:
                facts.renamed[action.new_name] = facts.live_name(action.table)
        elif action.kind in ("write", "delete_all", "truncate"):
            facts.written.add(action.table)


def _tables(actions: list[Action]) -> list[str]:
    """The tables an operation's actions touch, in order (its own first, then referenced ones)."""
    tables: list[str] = []
    for action in actions:
        if action.table and action.table not in tables:
            tables.append(action.table)
        if action.ref_table and action.ref_table not in tables:
            tables.append(action.ref_table)
    return tables


@dataclass
class Captured:
    """One revision function captured: its operations and, for each, the actions it stands for."""

    capture: Any  # capture.Capture
    actions: list[list[Action]]


def _revisions(script: Any, direction: str, target: str, heads: Any) -> list[Any]:
    """The revisions the run will apply, in order, from the cached header index.

    The same walk as Alembic's ``ScriptDirectory._upgrade_revs`` /
    ``_downgrade_revs`` (``RevisionMap.iterate_revisions``, public), on the
    index's map: no revision file is imported just to learn the order.
    """
    from ..revisions.index import RevisionIndex

    try:
        rmap = RevisionIndex(script).revision_map()
        if direction == "up":
            return list(reversed(list(rmap.iterate_revisions(target, heads, implicit_base=True))))
        return list(rmap.iterate_revisions(heads, target, select_for_downgrade=True))
    except REVISION_ERRORS:
        pass
    # a bad target: let Alembic's own walk word the error exactly as the run would
    try:
        from ..alembic_bridge.steps import downgrade_steps, upgrade_steps

        steps = (upgrade_steps if direction == "up" else downgrade_steps)(script, target, heads)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    return [step.revision for step in steps]


def plan_revisions(
    revisions: Iterable[Any],
    migration_context: Any,
    *,
    direction: str,
    target: str,
    url: str | None,
    allowances: Allowances,
    exact: bool = False,
    target_version: tuple[int, ...] | None = None,
) -> Plan:
    """The plan of ``revisions`` (Alembic ``Script``s, in the order they will run) through ``migration_context``.

    Online, rows and columns are read through the context's connection (in
    its transaction; nothing is written); offline nothing is connected.
    """
    connection = None if migration_context.as_sql else migration_context.connection
    dialect = migration_context.dialect
    plan = Plan(direction, target, dialect.name, url=url, live=connection is not None)
    planner = Planner(connection, dialect, direction=direction, live=connection is not None, exact=exact,
                      target_version=target_version, target_metadata=migration_context.opts.get("target_metadata"),
                      allowances=allowances)
    plan.server_version = planner.pg_version() if dialect.name == "postgresql" else None
    function = "upgrade" if direction == "up" else "downgrade"
    planner.listening = Listening(connection) if connection is not None else None
    script = getattr(getattr(migration_context, "environment_context", None), "script", None)
    if script is not None:
        from ..revisions.index import RevisionIndex

        with contextlib.suppress(Exception):  # an unreadable file: its suppressions are read directly
            planner.file_marks = RevisionIndex(script).marks()
    try:
        # every revision captured first, so the live facts of all their tables are read in a few statements
        captured = []
        for revision in revisions:
            module = _module_to_capture(revision, _load_revision_module)
            captured.append((revision, planner.capture(revision, module, function, migration_context)))
        planner.prefetch(c for _, c in captured)
        for revision, one in captured:
            plan.revisions.append(planner.judge(revision, one, migration_context))
    finally:
        if planner.listening is not None:
            planner.listening.close()
    return plan


def _load_revision_module(path: str, name: str) -> Any:
    """``safety.scratch.load_revision_module``, imported only when a revision needs a copy of its own."""
    from ..safety.scratch import load_revision_module

    return load_revision_module(path, name)


def _module_to_capture(revision: Any, load: Callable[[str, str], Any]) -> Any:
    """The module whose ``upgrade()``/``downgrade()`` is captured.

    Alembic's own module when it holds no schema objects at module level (a
    ``Column`` or ``Table`` made at import time is attached to the table a
    captured ``create_table`` builds, and Alembic's run would then find it
    taken); otherwise a fresh copy of its own, so capturing never touches
    what Alembic will run.  ``op`` is swapped only while capturing.
    """
    module = getattr(revision, "_module", None) or getattr(revision, "module", None)
    if module is not None and not _holds_schema_objects(module):
        return module
    return load(revision.path, f"schemashift_plan_{revision.revision}")


#: the types of a revision module's usual names (its header, functions, imported modules): never schema objects
_PLAIN_NAMES = frozenset({str, int, float, bool, type(None), types.FunctionType, types.ModuleType})


def _holds_schema_objects(module: Any) -> bool:
    from sqlalchemy.sql.schema import SchemaItem

    # by ``type()``: ``isinstance`` asks ``__class__``, which a lazy proxy a revision imported (Airflow's
    # ``db_types.StringID``) answers by resolving itself, outside any migration context
    plain = _PLAIN_NAMES
    for name, value in vars(module).items():
        kind = type(value)
        if kind in plain or name.startswith("__"):
            continue
        if issubclass(kind, SchemaItem):
            return True
        if kind in (list, tuple, set, dict):
            items = value.values() if kind is dict else value
            if any(issubclass(type(item), SchemaItem) for item in items):
                return True
    return False


def build_plan(
    project: Project,
    direction: str = "up",
    target: str = "head",
    *,
    exact: bool = False,
    target_version: tuple[int, ...] | None = None,
    allowances: Allowances | None = None,
    sql: bool = False,
    starting_rev: str | None = None,
) -> Plan:
    """The plan of ``upgrade``/``downgrade`` to ``target`` on the project's database (see module doc).

    With ``sql`` (offline) nothing is connected: operations are captured from
    Alembic's offline context and judged without live data.
    """
    allowances = allowances or Allowances(levels=configured_levels(project))
    if not allowances.levels:
        allowances.levels = configured_levels(project)
    state = RunState()
    holder: list[Plan] = []

    def fn(rev: Any, context: Any) -> list[Any]:
        script = state.env.context.script  # type: ignore[union-attr]
        revisions = _revisions(script, direction, target, rev)
        holder.append(plan_revisions(revisions, context, direction=direction, target=target,
                                     url=redact_url(project.url), exact=exact, target_version=target_version,
                                     allowances=allowances))
        return []

    kw: dict[str, Any] = {"dont_mutate": True}
    if sql:
        kw.update(as_sql=True, starting_rev=starting_rev, destination_rev=target, output_buffer=io.StringIO())
    run_env(project, fn, state=state, **kw)
    if not holder:  # env.py never asked for migrations (a custom env.py)
        return Plan(direction, target, "?", url=redact_url(project.url))
    return holder[0]
