"""``verify``: prove every downgrade on a scratch database, schema and rows.

Why: nothing in Alembic checks a downgrade, and pytest-alembic's up/down test
only checks that each step runs.  A hand-written downgrade that forgets an
index, drops the wrong column, leaves a rename in place or drops and recreates
a table (losing its rows) runs without error, and is found in production.

For each revision, base to head, on a scratch database (see ``scratch``):

1. seed a few rows into every empty table, snapshot the schema, fingerprint the rows;
2. upgrade one step; snapshot and fingerprint again; seed the tables it created;
3. downgrade one step; the schema must equal (1) and every value the upgrade
   kept must be back;
4. upgrade again; the schema must equal (2).

All steps of a walk run in one env.py run (each step still gets a fresh copy of
its revision file, as a separate ``alembic upgrade`` would; see ``scratch``);
after a failure the scratch database is rebuilt up to the failing revision and
the walk goes on, so one run reports every broken revision.  Then the script
heads are counted and the models are compared with the scratch database at
head (``check``).  The result is a ``VerifyReport``; nothing is printed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import Project
from ..errors import MigrationFailed, RevisionError, SchemashiftError
from .scratch import PlannedStep, Scratch, run_steps, scratch_database, scratch_project
from .seed import RowProblem, TableRows, check_round_trip, fingerprint, seed_tables
from .snapshot import Change, SchemaDiff, Snapshot, Snapshotter, diff_snapshots

CHECKS = (
    "each upgrade runs with rows present",
    "each downgrade runs",
    "schema after downgrade equals schema before upgrade "
    "(tables, columns, types, nullability, defaults, keys, indexes, unique and check constraints)",
    "values kept by the upgrade are back after the downgrade",
    "re-upgrade runs and gives the same schema",
    "single head",
    "models match the database at head",
)

DOWNGRADE_WORDS = {"added": "left behind", "removed": "lost", "changed": "not restored", "renamed": "not renamed back"}
REUPGRADE_WORDS = {"added": "extra", "removed": "missing", "changed": "differs", "renamed": "renamed"}


@dataclass
class RevisionResult:
    """What verify found for one revision.

    ``status``: ``ok``; ``failed``; ``irreversible`` (its downgrade raises
    ``NotImplementedError`` on purpose: reported, not a failure); or
    ``not checked`` (an earlier failure made it unreachable, or --fail-fast).
    """

    revision: str
    doc: str = ""
    path: str | None = None
    status: str = "not checked"
    failed_step: str | None = None
    error: str | None = None
    schema_diff: list[Change] = field(default_factory=list)
    row_problems: list[RowProblem] = field(default_factory=list)
    reupgrade_diff: list[Change] = field(default_factory=list)
    lost_by_upgrade: list[str] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)
    seed_skipped: dict[str, str] = field(default_factory=dict)
    values_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "irreversible")

    def one_line(self) -> str:
        """``ok   ae10f3 add users (0.04s)`` (for progress output)."""
        label = {"ok": "ok", "failed": "FAIL", "irreversible": "irrev", "not checked": "skip"}[self.status]
        extra = f" [{self.failed_step}]" if self.status == "failed" and self.failed_step else ""
        return f"{label:5} {self.revision} {self.doc}{extra} ({self.seconds:.2f}s)"

    def problems(self) -> list[str]:
        """Every finding as one line (empty when the revision passed)."""
        out = [c.one_line(DOWNGRADE_WORDS) for c in self.schema_diff]
        out += [f"data: {p.one_line()}" for p in self.row_problems]
        out += [f"after re-upgrade: {c.one_line(REUPGRADE_WORDS)}" for c in self.reupgrade_diff]
        if self.error:
            out.append(f"{self.failed_step} failed: {self.error}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "doc": self.doc,
            "path": self.path,
            "status": self.status,
            "failed_step": self.failed_step,
            "error": self.error,
            "schema_diff": [c.to_dict() for c in self.schema_diff],
            "row_problems": [p.to_dict() for p in self.row_problems],
            "reupgrade_diff": [c.to_dict() for c in self.reupgrade_diff],
            "lost_by_upgrade": list(self.lost_by_upgrade),
            "seeded": dict(self.seeded),
            "seed_skipped": dict(self.seed_skipped),
            "values_checked": self.values_checked,
            "problems": self.problems(),
            "seconds": round(self.seconds, 4),
        }


@dataclass
class VerifyReport:
    """Everything ``verify`` found; ``ok`` decides the exit code."""

    project: str
    scratch: str
    dialect: str
    revisions: list[RevisionResult] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    drift: list[str] | None = None
    drift_note: str | None = None
    error: str | None = None
    seconds: float = 0.0
    checks: tuple[str, ...] = CHECKS

    @property
    def heads_ok(self) -> bool:
        return len(self.heads) <= 1

    @property
    def failures(self) -> list[RevisionResult]:
        return [r for r in self.revisions if r.status == "failed"]

    @property
    def not_checked(self) -> list[RevisionResult]:
        return [r for r in self.revisions if r.status == "not checked"]

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and not self.not_checked
            and self.heads_ok
            and not self.drift
            and self.error is None
        )

    def lines(self) -> list[str]:
        """A readable report: one block per failing revision, then the summary."""
        out = []
        for result in self.revisions:
            if result.status == "failed":
                out.append(f"FAIL {result.revision} {result.doc}".rstrip() + (f"  ({result.path})" if result.path else ""))
                out += [f"    {line}" for line in result.problems()]
            elif result.status == "irreversible":
                out.append(f"note {result.revision}: downgrade is declared irreversible ({result.error})")
        if self.error:
            out.append(f"error: {self.error}")
        if not self.heads_ok:
            out.append(f"FAIL {len(self.heads)} heads: {', '.join(self.heads)} (merge them: schemashift merge heads)")
        if self.drift:
            out.append(f"FAIL the models differ from the database at head ({len(self.drift)}):")
            out += [f"    {line}" for line in self.drift]
        elif self.drift_note:
            out.append(f"note models vs head: {self.drift_note}")
        counts = {s: sum(r.status == s for r in self.revisions) for s in ("ok", "failed", "irreversible", "not checked")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        out.append(
            f"{'OK' if self.ok else 'FAILED'}: {len(self.revisions)} revision(s) on {self.scratch}: "
            f"{summary or 'nothing to check'} ({self.seconds:.1f}s)"
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": self.project,
            "scratch": self.scratch,
            "dialect": self.dialect,
            "heads": list(self.heads),
            "heads_ok": self.heads_ok,
            "drift": self.drift,
            "drift_note": self.drift_note,
            "error": self.error,
            "checks": list(self.checks),
            "revisions": [r.to_dict() for r in self.revisions],
            "seconds": round(self.seconds, 3),
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **({"indent": 2} | kw))


# ------------------------------------------------------------------- walk


class _Restart(SchemashiftError):
    """The scratch database no longer matches any revision: rebuild it."""


class _Stop(SchemashiftError):
    """--fail-fast: a revision failed, stop the walk."""


class _CallbackFailed(SchemashiftError):
    """verify's own checking code failed; the original exception is the cause."""


@dataclass
class _State:
    snapshot: Snapshot
    rows: dict[str, TableRows]


class _Rows:
    """Row fingerprints that skip tables which cannot have changed.

    On SQLite, ``total_changes()`` counts every row the connection inserted,
    updated or deleted (triggers and foreign-key actions included); when it
    has not moved and a table's DDL text is the same, its rows are the same.
    Elsewhere every table is read each time.
    """

    def __init__(self, snapshotter: Snapshotter) -> None:
        self.snapshotter = snapshotter
        self.cache: dict[str, tuple[Any, TableRows]] = {}
        self.changes: int | None = None

    def reset(self) -> None:
        self.cache.clear()
        self.changes = None

    def _total_changes(self, conn: Any) -> int | None:
        if conn.dialect.name != "sqlite":
            return None
        cursor = conn.connection.cursor()
        try:
            cursor.execute("SELECT total_changes()")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def take(self, conn: Any, snapshot: Snapshot) -> dict[str, TableRows]:
        changes = self._total_changes(conn)
        if changes is None or changes != self.changes:
            self.cache.clear()
        raw = self.snapshotter.last_raw
        stale = [n for n in snapshot.tables if n not in self.cache or self.cache[n][0] != raw.get(n)]
        for name, rows in fingerprint(conn, snapshot, only=stale).items():
            self.cache[name] = (raw.get(name), rows)
        self.changes = changes
        return {name: self.cache[name][1] for name in snapshot.tables}

    def wrote(self, conn: Any, tables: Any) -> None:
        """We inserted into ``tables`` ourselves: forget only those."""
        for name in tables:
            self.cache.pop(name, None)
        if self.changes is not None:
            self.changes = self._total_changes(conn)


class _Walk:
    """The per-step callback of one or more scratch runs (see module docstring)."""

    def __init__(self, results: dict[str, RevisionResult], fail_fast: bool, progress: Callable[..., None] | None):
        self.results = results
        self.fail_fast = fail_fast
        self.progress = progress
        self.snapshotter = Snapshotter()
        self.rows = _Rows(self.snapshotter)
        self.plan: list[PlannedStep] = []
        self.done = 0
        self.clean = True
        self._started: dict[str, float] = {}
        self._before: _State | None = None
        self._after_up: _State | None = None
        self._up_diff = SchemaDiff()

    def begin(self, plan: list[PlannedStep], dialect: str) -> None:
        self.plan = plan
        self.done = 0
        self.clean = False
        self.rows.reset()
        self._before = self._after_up = None
        if not plan or plan[0].phase != "setup":
            self._before = _State(Snapshot(dialect, {}), {})  # a fresh scratch database is empty
            if plan:
                self._started[plan[0].revision] = time.perf_counter()

    @property
    def had_rows(self) -> bool:
        """Whether the tables held rows before the current revision's upgrade."""
        return self._before is not None and any(t.rows for t in self._before.rows.values())

    def failing_step(self) -> PlannedStep | None:
        return self.plan[self.done] if self.done < len(self.plan) else None

    def on_step(self, index: int, step: PlannedStep, ctx: Any) -> None:
        self.done = index + 1
        version_table = (getattr(ctx, "opts", None) or {}).get("version_table")
        if version_table:
            self.snapshotter.exclude = (version_table,)
        try:
            self._dispatch(step, ctx.connection, self.plan[index + 1] if index + 1 < len(self.plan) else None)
        except (_Restart, _Stop):
            raise
        except Exception as exc:  # our own failure, not the migration's: keep it apart
            raise _CallbackFailed(f"verify failed while checking {step.revision}: {exc}") from exc

    def _dispatch(self, step: PlannedStep, conn: Any, nxt: PlannedStep | None) -> None:
        if step.phase == "setup":
            if nxt is not None and nxt.phase == "up":
                self._prepare(conn, nxt.revision, self.snapshotter.take(conn))
            elif nxt is None:
                self.clean = True
        elif step.phase == "up":
            self._upgraded(conn, step.revision)
        elif step.phase == "down":
            self._downgraded(conn, step.revision)
        elif step.phase == "reup":
            self._reupgraded(conn, step.revision, nxt)

    def _prepare(self, conn: Any, revision: str, snapshot: Snapshot) -> None:
        self._started[revision] = time.perf_counter()
        result = self.results[revision]
        rows = self.rows.take(conn, snapshot)
        seeded = seed_tables(conn, [name for name, table in rows.items() if not table.rows])
        result.seeded.update(seeded.inserted)
        result.seed_skipped.update(seeded.skipped)
        if seeded.inserted:
            self.rows.wrote(conn, seeded.inserted)
            rows = self.rows.take(conn, snapshot)
        self._before = _State(snapshot, rows)

    def _upgraded(self, conn: Any, revision: str) -> None:
        assert self._before is not None
        snapshot = self.snapshotter.take(conn)
        self._after_up = _State(snapshot, self.rows.take(conn, snapshot))
        self._up_diff = diff_snapshots(self._before.snapshot, snapshot)
        renamed = set(self._up_diff.renamed_tables.values())
        new = [t for t in snapshot.tables if t not in self._before.snapshot.tables and t not in renamed]
        seeded = seed_tables(conn, new)
        self.rows.wrote(conn, seeded.inserted)
        result = self.results[revision]
        result.seeded.update(seeded.inserted)
        result.seed_skipped.update(seeded.skipped)

    def _downgraded(self, conn: Any, revision: str) -> None:
        assert self._before is not None and self._after_up is not None
        result = self.results[revision]
        snapshot = self.snapshotter.take(conn)
        result.schema_diff = diff_snapshots(self._before.snapshot, snapshot).changes
        rows = check_round_trip(self._before.rows, self._after_up.rows, self.rows.take(conn, snapshot), self._up_diff)
        result.row_problems = rows.problems
        result.lost_by_upgrade = rows.lost_by_upgrade
        result.values_checked = rows.values_checked

    def _reupgraded(self, conn: Any, revision: str, nxt: PlannedStep | None) -> None:
        assert self._after_up is not None
        result = self.results[revision]
        snapshot = self.snapshotter.take(conn)
        reup = diff_snapshots(self._after_up.snapshot, snapshot)
        result.reupgrade_diff = reup.changes
        if result.schema_diff or result.row_problems or result.reupgrade_diff:
            result.status = "failed"
            result.failed_step = result.failed_step or "downgrade"
        else:
            result.status = "ok"
        self.finish(revision)
        if self.fail_fast and result.status == "failed":
            raise _Stop(f"revision {revision} failed")
        if reup:
            raise _Restart(f"re-upgrade of {revision} gave a different schema")
        if nxt is None:
            self.clean = True
        else:
            self._prepare(conn, nxt.revision, snapshot)

    def finish(self, revision: str) -> None:
        result = self.results[revision]
        started = self._started.pop(revision, None)
        if started is not None:
            result.seconds = time.perf_counter() - started
        if self.progress is not None:
            self.progress(result)


def _plan(setup: list[str], check: list[str]) -> list[PlannedStep]:
    steps = [PlannedStep(r, True, "setup") for r in setup]
    for r in check:
        steps += [PlannedStep(r, True, "up"), PlannedStep(r, False, "down"), PlannedStep(r, True, "reup")]
    return steps


def plan_revisions(project: Project, rev_range: str | None) -> tuple[list[str], list[str], dict[str, Any]]:
    """(revisions to apply first, revisions to check, revision objects by id), base first."""
    from .. import api
    from ..runner import REVISION_ERRORS, revision_error

    rmap = api.revision_index(project).revision_map()
    start: str | None = None
    end: str | None = None
    if rev_range:
        if ":" not in rev_range:
            raise RevisionError(f"range {rev_range!r} is not [start]:[end]", hint="e.g. --range ae10:head, --range :ae10")
        start, end = (part.strip() or None for part in rev_range.split(":", 1))
    try:
        top = "heads" if end in (None, "head", "heads") else rmap.get_revision(end).revision
        order = [r for r in reversed(list(rmap.iterate_revisions(top, "base", assert_relative_length=False)))]
        first = None if start in (None, "base") else rmap.get_revision(start)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    ids = [r.revision for r in order]
    if first is None:
        index = 0
    elif first.revision not in ids:
        raise RevisionError(f"{start} is not below {end} in the history", hint="give the older revision first: OLD:NEW")
    else:
        index = ids.index(first.revision)
    return ids[:index], ids[index:], {r.revision: r for r in order}


def verify(
    project: Project,
    *,
    scratch_url: str | None = None,
    rev_range: str | None = None,
    fail_fast: bool = False,
    progress: Callable[[RevisionResult], None] | None = None,
) -> VerifyReport:
    """Check every revision's downgrade (schema and rows) on a scratch database.

    ``rev_range`` is ``[start]:[end]`` (inclusive; default ``base:heads``);
    ``progress`` is called with each ``RevisionResult`` as it is decided.
    The project's own database is never connected to for migrating.
    """
    from .. import api

    started = time.perf_counter()
    setup, to_check, revisions = plan_revisions(project, rev_range)
    results = {
        rid: RevisionResult(rid, revisions[rid].doc or "", getattr(revisions[rid], "path", None)) for rid in to_check
    }
    report = VerifyReport(project=project.describe(), scratch="", dialect="")
    report.revisions = [results[r] for r in to_check]
    report.heads = [h.revision for h in api.heads(project)]
    walk = _Walk(results, fail_fast, progress)
    with scratch_database(project.url, scratch_url) as scratch:
        report.scratch, report.dialect = scratch.label, scratch.dialect
        target = scratch_project(project, scratch)
        stopped = _walk_all(target, scratch, walk, setup, to_check, results, fail_fast, report)
        at_heads = rev_range is None or (rev_range.split(":", 1)[1].strip() in ("", "head", "heads"))
        if stopped:
            report.drift_note = "not checked: the walk stopped early"
        elif not at_heads:
            report.drift_note = "not checked: the range does not end at head"
        else:
            if not walk.clean:
                scratch.reset()
                run_steps(target, scratch, _plan(setup + to_check, []))
            try:
                report.drift = api.check(target).differences
            except SchemashiftError as exc:
                report.drift_note = f"not checked: {exc.one_line()}"
    report.seconds = time.perf_counter() - started
    return report


def _walk_all(
    target: Project, scratch: Scratch, walk: _Walk, setup: list[str], to_check: list[str],
    results: dict[str, RevisionResult], fail_fast: bool, report: VerifyReport,
) -> bool:
    """Run walks until every revision is decided; True when stopped early.

    After a failure the scratch database is rebuilt (reset, then upgraded
    straight to the failing revision) and the next walk starts after it.  An
    upgrade that fails with seeded rows present is retried on empty tables:
    if that works the revision fails as "upgrade with rows present" and the
    walk goes on; if not, nothing above it can be reached.
    """
    position = 0  # index in to_check of the first revision not yet decided
    retry: str | None = None  # upgrade once more, without rows
    first = True
    while position < len(to_check):
        if not first:
            scratch.reset()
        first = False
        applied = setup + to_check[:position] + ([retry] if retry else [])
        plan = _plan(applied, to_check[position + (1 if retry else 0):])
        walk.begin(plan, scratch.dialect)
        retried, retry = retry, None
        try:
            run_steps(target, scratch, plan, walk.on_step)
            step, exc = None, None
        except _Stop:
            return True
        except _Restart:
            step, exc = walk.plan[walk.done - 1], None
        except _CallbackFailed as caught:
            raise caught.__cause__ or caught
        except Exception as caught:
            if isinstance(caught, SchemashiftError) and not isinstance(caught, MigrationFailed):
                raise
            step, exc = walk.failing_step(), caught
            if step is None:
                raise
        if retried is not None:
            if exc is not None and step is not None and step.phase == "setup" and step.revision == retried:
                results[retried].failed_step = "upgrade"  # it fails on empty tables too
                results[retried].error = _describe(exc)
                walk.finish(retried)
                return True
            walk.finish(retried)
            if fail_fast:
                return True
        if step is None:
            return False
        position = to_check.index(step.revision) + 1
        if exc is None:  # _Restart: the revision is decided, the database is not trustworthy
            continue
        error = _describe(exc)
        if step.phase == "setup":
            if step.revision in results:
                result = results[step.revision]
                result.status, result.failed_step, result.error = "failed", "upgrade", error
                walk.finish(step.revision)
            else:
                report.error = f"cannot reach the start of the range: upgrade of {step.revision} failed: {error}"
            return True
        result = results[step.revision]
        result.status, result.error = "failed", error
        if step.phase == "up":
            if walk.had_rows:
                result.failed_step = "upgrade with rows present"
                retry = step.revision
                position -= 1
                continue
            result.failed_step = "upgrade"
            walk.finish(step.revision)
            return True
        result.failed_step = "downgrade" if step.phase == "down" else "re-upgrade after downgrade"
        if step.phase == "down" and isinstance(exc, NotImplementedError):
            result.status = "irreversible"
        walk.finish(step.revision)
        if fail_fast and result.status == "failed":
            return True
    return False


def _describe(exc: BaseException) -> str:
    """The error of a failed step, in one line, without "migration X failed"."""
    if isinstance(exc, SchemashiftError):
        text = exc.message
        if text.startswith("migration ") and " failed: " in text:
            text = text.split(" failed: ", 1)[1]
        cause = exc.__cause__
        if cause is not None and not hasattr(cause, "orig") and not text.startswith(type(cause).__name__):
            text = f"{type(cause).__name__}: {text}"
        return " ".join(text.split())
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
