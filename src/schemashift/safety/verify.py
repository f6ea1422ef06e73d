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

import contextlib
import dataclasses
import gc
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..autogen.drift import check as check_drift
from ..autogen.expression_indexes import blind_spot_warnings_hidden
from ..config import Project
from ..errors import MigrationFailed, RevisionError, SchemashiftError
from ..runner import REVISION_ERRORS, revision_error, revision_map
from .scratch import (
    PlannedStep,
    Scratch,
    StepFailed,
    describe_failure,
    probe_schemas,
    run_steps,
    scratch_database,
    scratch_project,
)
from .acknowledge import acknowledged_rules
from .history_hints import read_hints
from .seed import Loss, RowProblem, TableRows, check_round_trip, fingerprint, reflect_tables, seed_tables
from .verify_data import VerifyData
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
    losses: list[Loss] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)
    seeded: dict[str, int] = field(default_factory=dict)
    seed_skipped: dict[str, str] = field(default_factory=dict)
    values_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "irreversible")

    @property
    def downgrade_proven(self) -> bool:
        """The downgrade restores the schema and every value the upgrade kept
        (what ``fill_downgrade`` promises); losses by the upgrade itself aside."""
        return self.status in ("ok", "irreversible") or (self.status == "failed" and self.failed_step == "data lost")

    def notes(self) -> list[str]:
        """Acknowledged losses: reported, not failures."""
        return [
            f"acknowledged loss: {loss.one_line()} ({self.acknowledged[loss.rule]})"
            for loss in self.losses if loss.rule in self.acknowledged
        ]

    def one_line(self) -> str:
        """``ok   ae10f3 add users (0.04s)`` (for progress output)."""
        label = {"ok": "ok", "failed": "FAIL", "irreversible": "irrev", "not checked": "skip"}[self.status]
        extra = f" [{self.failed_step}]" if self.status == "failed" and self.failed_step else ""
        return f"{label:5} {self.revision} {one_line_doc(self.doc)}{extra} ({self.seconds:.2f}s)"

    def problems(self) -> list[str]:
        """Every finding as one line (empty when the revision passed)."""
        out = [c.one_line(DOWNGRADE_WORDS) for c in self.schema_diff]
        out += [f"data: {p.one_line()}" for p in self.row_problems]
        out += [f"after re-upgrade: {c.one_line(REUPGRADE_WORDS)}" for c in self.reupgrade_diff]
        out += [
            f"data lost: {loss.one_line()} (acknowledge with '# schemashift: allow {loss.rule} -- <reason>')"
            for loss in self.losses if loss.rule not in self.acknowledged
        ]
        if self.error and self.status == "not checked":
            out.append(f"not checked: {self.error}")
        elif self.error:
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
            "losses": [loss.to_dict() for loss in self.losses],
            "lost_by_upgrade": [loss.one_line() for loss in self.losses],
            "acknowledged": dict(self.acknowledged),
            "seeded": dict(self.seeded),
            "seed_skipped": dict(self.seed_skipped),
            "values_checked": self.values_checked,
            "problems": self.problems(),
            "seconds": round(self.seconds, 4),
        }


def one_line_doc(doc: str | None) -> str:
    """A revision message on one line (docstrings may span several)."""
    return " ".join((doc or "").split())


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
            if result.status in ("failed", "not checked"):
                label = "FAIL" if result.status == "failed" else "SKIP"
                out.append(f"{label} {result.revision} {one_line_doc(result.doc)}".rstrip() + (f"  ({result.path})" if result.path else ""))
                out += [f"    {line}" for line in result.problems()]
            elif result.status == "irreversible":
                out.append(f"note {result.revision}: downgrade is declared irreversible ({result.error})")
            if result.status != "failed":
                out += [f"note {result.revision}: {line}" for line in result.notes()]
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


def error_document(exc: SchemashiftError, project: str = "") -> str:
    """The ``--json`` document when verify could not run at all: same keys, ``ok`` false."""
    report = VerifyReport(project=project, scratch="", dialect="", error=exc.one_line())
    data = report.to_dict()
    data["exit_code"] = exc.exit_code
    return json.dumps(data, indent=2)


# ------------------------------------------------------------------- walk


class _Restart(SchemashiftError):
    """The scratch database no longer matches any revision: rebuild it."""


class _Stop(SchemashiftError):
    """--fail-fast: a revision failed, stop the walk."""


class _CallbackFailed(SchemashiftError):
    """verify's own checking code failed; the original exception is the cause."""

    def __init__(self, message: str, revision: str | None) -> None:
        super().__init__(message)
        self.revision = revision


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
        if conn.dialect.is_async:
            return int(conn.exec_driver_sql("SELECT total_changes()").scalar())
        cursor = conn.connection.cursor()  # cheap: once per snapshot
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


@dataclass
class WalkOptions:
    """How a walk seeds: ``seed`` off runs schema-only; ``first_mode`` is the
    seeding mode for the first revision checked (``default``, ``plain``:
    digit strings and no NULLs, or ``none``); ``data`` holds user rows by
    revision (see ``verify_data``)."""

    seed: bool = True
    first_mode: str = "default"
    data: Any = None
    hints: Any = None
    user_tables: frozenset[str] = frozenset()


class _Walk:
    """The per-step callback of one or more scratch runs (see module docstring)."""

    def __init__(self, results: dict[str, RevisionResult], fail_fast: bool, progress: Callable[..., None] | None):
        self.results = results
        self.fail_fast = fail_fast
        self.progress = progress
        self.snapshotter = Snapshotter()
        self.rows = _Rows(self.snapshotter)
        self.plan: list[PlannedStep] = []
        self.options = WalkOptions()
        self.done = 0
        self.clean = True
        self.current: str | None = None  # the revision being checked (for verify's own failures)
        self.seeded_at: dict[str, tuple[str, dict[str, Any]]] = {}  # table -> (revision, first row)
        self.acknowledged: dict[str, dict[str, str]] = {}  # revision -> {rule: reason}
        self._started: dict[str, float] = {}
        self._before: _State | None = None
        self._after_up: _State | None = None
        self._up_diff = SchemaDiff()
        self._seed_tables: dict[str, tuple[Any, Any]] = {}  # table -> (definition, sa.Table): see _reflected

    def begin(self, plan: list[PlannedStep], dialect: str, options: WalkOptions, schemas: tuple[str, ...] = ()) -> None:
        self.plan = plan
        self.options = options
        self.done = 0
        self.clean = False
        self.current = None
        self.seeded_at = {}
        self.rows.reset()
        self._before = self._after_up = None
        if not plan or plan[0].phase != "setup":
            # a fresh scratch database is empty but for the schemas made for the project
            self._before = _State(Snapshot(dialect, {}, schemas=tuple(sorted(schemas))), {})
            if plan:
                self.current = plan[0].revision
                self._started[plan[0].revision] = time.perf_counter()

    def prepare_outside(self, scratch: Scratch, revision: str, mode: str) -> None:
        """Seed and fingerprint before the first step, on a connection of our own
        (a baseline database is not empty before the walk starts)."""
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        from .scratch import sync_url

        engine = sa.create_engine(sync_url(make_url(scratch.url)), poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                scratch.prove(conn, empty=False)
                if self.options.data is not None:
                    self.options.data.insert_before(conn, revision)
                self._prepare(conn, revision, self.snapshotter.take(conn), mode)
        finally:
            engine.dispose()
        self.rows.reset()

    @property
    def had_rows(self) -> bool:
        """Whether the tables held rows before the current revision's upgrade."""
        return self._before is not None and any(t.rows for t in self._before.rows.values())

    def seeded_tables(self) -> list[str]:
        """The tables holding rows verify seeded (not user rows), with where and a sample."""
        assert self._before is not None
        out = []
        for name, table in sorted(self._before.rows.items()):
            if table.rows and name in self.seeded_at:
                revision, sample = self.seeded_at[name]
                values = ", ".join(f"{k}={v!r}" for k, v in list(sample.items())[:4])
                out.append(f"{name} (seeded at {revision}: {values})")
        return out

    def failing_step(self) -> PlannedStep | None:
        return self.plan[self.done] if self.done < len(self.plan) else None

    def on_step(self, index: int, step: PlannedStep, ctx: Any) -> None:
        self.done = index + 1
        version_table = (getattr(ctx, "opts", None) or {}).get("version_table")
        if version_table:
            self.snapshotter.exclude = (version_table,)
        nxt = self.plan[index + 1] if index + 1 < len(self.plan) else None
        try:
            self._dispatch(step, ctx.connection, nxt)
        except (_Restart, _Stop):
            raise
        except Exception as exc:  # our own failure, not the migration's: keep it apart
            raise _CallbackFailed(f"verify could not check it: {describe_failure(exc)}", self.current) from exc

    def _dispatch(self, step: PlannedStep, conn: Any, nxt: PlannedStep | None) -> None:
        if nxt is not None and nxt.phase in ("setup", "up") and self.options.data is not None:
            self.options.data.insert_before(conn, nxt.revision)
            self.rows.reset()
        if step.phase == "setup":
            if nxt is not None and nxt.phase == "up":
                self.current = nxt.revision
                self._prepare(conn, nxt.revision, self.snapshotter.take(conn), self.options.first_mode)
            elif nxt is None:
                self.clean = True
        elif step.phase == "up":
            self._upgraded(conn, step.revision)
        elif step.phase == "down":
            self._downgraded(conn, step.revision)
        elif step.phase == "reup":
            self._reupgraded(conn, step.revision, nxt)

    def _seed(self, conn: Any, revision: str, names: list[str], mode: str, snapshot: Snapshot) -> None:
        """Seed ``names``, tables just read and found empty in ``snapshot``."""
        names = [n for n in names if n.lower() not in self.options.user_tables]
        if not self.options.seed or mode == "none" or not names:
            return
        seeded = seed_tables(
            conn, names, plain=mode == "plain", hints=self.options.hints, known_empty=True,
            reflect=lambda c, keys: self._reflected(c, keys, snapshot),
        )
        result = self.results[revision]
        result.seeded.update(seeded.inserted)
        result.seed_skipped.update(seeded.skipped)
        for table, sample in seeded.samples.items():
            self.seeded_at[table] = (revision, sample)
        if seeded.inserted:
            self.rows.wrote(conn, seeded.inserted)

    def _reflected(self, conn: Any, keys: list[str], snapshot: Snapshot) -> dict[str, Any]:
        """The seeder's ``sa.Table`` objects, reflected once per table definition.

        A table a revision creates is seeded after its upgrade, and again
        before the next revision (its downgrade dropped the rows): the same
        definition, so the same ``Table``.  Keyed by the catalog's text of the
        table (see ``snapshot.raw_fingerprints``) and, on PostgreSQL, the enum
        labels (which that text does not hold); without a catalog text (MySQL)
        every seeding reflects.
        """
        enums = tuple(sorted(snapshot.enums.items()))
        out: dict[str, Any] = {}
        missing = []
        for key in keys:
            raw = self.snapshotter.last_raw.get(key)
            cached = self._seed_tables.get(key)
            if raw is not None and cached is not None and cached[0] == (raw, enums):
                out[key] = cached[1]
            else:
                missing.append(key)
        if missing:
            for key, table in reflect_tables(conn, missing).items():
                out[key] = table
                raw = self.snapshotter.last_raw.get(key)
                if raw is not None:
                    self._seed_tables[key] = ((raw, enums), table)
        return out

    def _prepare(self, conn: Any, revision: str, snapshot: Snapshot, mode: str = "default") -> None:
        self._started[revision] = time.perf_counter()
        rows = self.rows.take(conn, snapshot)
        empty = [name for name, table in rows.items() if not table.rows]
        self._seed(conn, revision, empty, mode, snapshot)
        if self.results[revision].seeded:
            rows = self.rows.take(conn, snapshot)
        self._before = _State(snapshot, rows)

    def _upgraded(self, conn: Any, revision: str) -> None:
        assert self._before is not None
        snapshot = self.snapshotter.take(conn)
        self._after_up = _State(snapshot, self.rows.take(conn, snapshot))
        self._up_diff = diff_snapshots(self._before.snapshot, snapshot)
        renamed = set(self._up_diff.renamed_tables.values())
        rows = self._after_up.rows
        new = [t for t in snapshot.tables if t not in self._before.snapshot.tables and t not in renamed and not rows[t].rows]
        self._seed(conn, revision, new, "default", snapshot)

    def _downgraded(self, conn: Any, revision: str) -> None:
        assert self._before is not None and self._after_up is not None
        result = self.results[revision]
        snapshot = self.snapshotter.take(conn)
        result.schema_diff = diff_snapshots(self._before.snapshot, snapshot).changes
        rows = check_round_trip(self._before.rows, self._after_up.rows, self.rows.take(conn, snapshot), self._up_diff)
        result.row_problems = rows.problems
        result.losses = rows.losses
        result.values_checked = rows.values_checked

    def _reupgraded(self, conn: Any, revision: str, nxt: PlannedStep | None) -> None:
        assert self._after_up is not None
        result = self.results[revision]
        snapshot = self.snapshotter.take(conn)
        reup = diff_snapshots(self._after_up.snapshot, snapshot)
        result.reupgrade_diff = reup.changes
        decide(result, self.acknowledged.get(revision, {}))
        self.finish(revision)
        if self.fail_fast and result.status == "failed":
            raise _Stop(f"--fail-fast: stopped after {revision} failed")
        if reup:
            raise _Restart(f"re-upgrade of {revision} gave a different schema")
        if nxt is None:
            self.clean = True
        else:
            self.current = nxt.revision
            self._prepare(conn, nxt.revision, snapshot)

    def finish(self, revision: str) -> None:
        result = self.results[revision]
        started = self._started.pop(revision, None)
        if started is not None:
            result.seconds = time.perf_counter() - started
        if self.progress is not None:
            self.progress(result)


def decide(result: RevisionResult, allowed: dict[str, str]) -> None:
    """A checked revision's status from its findings (losses the revision
    acknowledges with a reviewed comment are notes, not failures)."""
    result.acknowledged = {rule: why for rule, why in allowed.items() if any(l.rule == rule for l in result.losses)}
    unacknowledged = [l for l in result.losses if l.rule not in allowed]
    if result.status == "failed":  # decided earlier (upgrade with rows present)
        return
    if result.schema_diff or result.row_problems or result.reupgrade_diff:
        result.status = "failed"
        result.failed_step = result.failed_step or "downgrade"
    elif unacknowledged:
        result.status = "failed"
        result.failed_step = "data lost"
    else:
        result.status = "ok"


def _plan(setup: list[str], check: list[str]) -> list[PlannedStep]:
    steps = [PlannedStep(r, True, "setup") for r in setup]
    for r in check:
        steps += [PlannedStep(r, True, "up"), PlannedStep(r, False, "down"), PlannedStep(r, True, "reup")]
    return steps


def plan_revisions(project: Project, rev_range: str | None) -> tuple[list[str], list[str], dict[str, Any]]:
    """(revisions to apply first, revisions to check, revision objects by id), base first."""
    rmap = revision_map(project)
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
    seed: bool = True,
    baseline: str | None = None,
) -> VerifyReport:
    """Check every revision's downgrade (schema and rows) on a scratch database.

    ``rev_range`` is ``[start]:[end]`` (inclusive; default ``base:heads``);
    ``progress`` is called with each ``RevisionResult`` as it is decided;
    ``seed=False`` checks schemas only (user rows from ``verify_data`` still
    go in); ``baseline`` starts from the models' ``create_all()`` stamped at
    that revision and checks the revisions above it.  The project's own
    database is never connected to for migrating.  Every revision ends up in
    the report with a status and, when not ``ok``, a reason: verify does not
    abort on a broken revision.
    """
    # SQLite's expression indexes are read from SQLite itself (snapshot.sqlite_indexes):
    # reflection's "skipped" warnings about them are noise here
    with _older_objects_frozen(), blind_spot_warnings_hidden():
        return _verify(project, scratch_url, rev_range, fail_fast, progress, seed, baseline)


@contextlib.contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the collector off the objects that were there before verify.

    Why: a walk creates and drops many short-lived objects, and each full
    collection walked the whole long-lived heap (the application, SQLAlchemy,
    Alembic and every revision module): about a fifth of verify's time on 100
    revisions.  ``gc.freeze()`` moves the objects present now out of the
    collector's reach; what verify creates is collected as usual.  Scoped to
    this call: everything is unfrozen on the way out.  Left alone when the
    caller froze objects itself (unfreezing would undo theirs) or turned the
    collector off.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _verify(
    project: Project, scratch_url: str | None, rev_range: str | None, fail_fast: bool,
    progress: Callable[[RevisionResult], None] | None, seed: bool, baseline: str | None,
) -> VerifyReport:
    started = time.perf_counter()
    if baseline is not None:
        if rev_range:
            raise RevisionError("--baseline and --range cannot be combined", hint="give one of them")
        setup, to_check, revisions = plan_revisions(project, None)
        base_id = _resolve(project, baseline)
        if base_id not in setup + to_check:
            raise RevisionError(f"baseline {baseline} is not in the history")
        cut = (setup + to_check).index(base_id) + 1
        all_ids = setup + to_check
        setup, to_check = [], all_ids[cut:]
    else:
        setup, to_check, revisions = plan_revisions(project, rev_range)
        base_id = None
    results = {
        rid: RevisionResult(rid, one_line_doc(revisions[rid].doc), getattr(revisions[rid], "path", None))
        for rid in to_check
    }
    report = VerifyReport(project=project.describe(), scratch="", dialect="")
    report.revisions = [results[r] for r in to_check]
    report.heads = list(revision_map(project).heads)
    walk = _Walk(results, fail_fast, progress)
    walk.acknowledged = {rid: acknowledged_rules(results[rid].path) for rid in to_check}
    data = VerifyData.of(project)
    options = WalkOptions(
        seed=seed, data=data, user_tables=frozenset(data.tables()),
        hints=read_hints(getattr(r, "path", None) for r in revisions.values()),
    )
    with scratch_database(project.url, scratch_url) as scratch:
        report.scratch, report.dialect = scratch.label, scratch.dialect
        target = scratch_project(project, scratch)
        scratch.create_schemas(probe_schemas(target, scratch))
        start = _Start(target, scratch, base_id, data)
        stopped = _walk_all(target, scratch, start, walk, setup, to_check, results, revisions, fail_fast, options, report)
        at_heads = rev_range is None or (rev_range.split(":", 1)[1].strip() in ("", "head", "heads"))
        if stopped:
            report.drift_note = f"not checked: {stopped}"
        elif not at_heads:
            report.drift_note = "not checked: the range does not end at head"
        else:
            try:
                if not walk.clean:
                    start.fresh()
                    run_steps(target, scratch, _plan(setup + to_check, []))
                report.drift = check_drift(target).differences
            except SchemashiftError as exc:
                report.drift_note = f"not checked: {exc.one_line()}"
    for result in report.revisions:
        if result.status == "not checked" and not result.error:
            result.error = stopped or "not reached"
    report.seconds = time.perf_counter() - started
    return report


def _resolve(project: Project, rev: str) -> str:
    try:
        return revision_map(project).get_revision(rev).revision
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    except AttributeError as exc:
        raise RevisionError(f"no such revision: {rev}") from exc


class _Start:
    """How each walk starts: an empty scratch database, or (``--baseline``) the
    models' ``create_all()`` stamped at the baseline revision."""

    def __init__(self, target: Project, scratch: Scratch, baseline: str | None, data: VerifyData) -> None:
        self.target, self.scratch, self.baseline, self.data = target, scratch, baseline, data
        self.used = False

    def fresh(self) -> None:
        if self.used:
            self.scratch.reset()
        self.used = True
        if self.baseline is not None:
            from .baseline import create_baseline

            create_baseline(self.target, self.scratch, self.baseline)


def _walk_all(
    target: Project, scratch: Scratch, start: _Start, walk: _Walk, setup: list[str], to_check: list[str],
    results: dict[str, RevisionResult], revisions: dict[str, Any], fail_fast: bool, options: WalkOptions,
    report: VerifyReport,
) -> str | None:
    """Run walks until every revision is decided; the reason when stopped early.

    After a failure the scratch database is rebuilt (reset, then upgraded
    straight to where the walk goes on) and the next walk starts after the
    failed revision.  An upgrade that fails with seeded rows present is tried
    again with plainer rows (digit strings, no NULLs), then with no rows: if
    only the rows were the problem the revision fails as "upgrade with rows
    present", naming the seeded tables, and the walk goes on; if it fails on
    empty tables too, nothing above it can be reached.
    """
    position = 0  # index in to_check of the first revision not yet decided
    modes: dict[str, str] = {}  # revision -> seeding mode of its next try
    while position < len(to_check):
        start.fresh()
        revision = to_check[position]
        plan = _plan(setup + to_check[:position], to_check[position:])
        mode = modes.get(revision, "default")
        walk.begin(plan, scratch.dialect, dataclasses.replace(options, first_mode=mode), scratch.schemas)
        if start.baseline is not None and position == 0:
            walk.prepare_outside(scratch, revision, mode)  # no step runs before the first: seed from outside
        try:
            run_steps(target, scratch, plan, walk.on_step)
            return None
        except _Stop as exc:
            return exc.message
        except _Restart:
            step: PlannedStep | None = walk.plan[walk.done - 1]
            failure: BaseException | None = None
        except _CallbackFailed as exc:
            rid = exc.revision or revision
            if rid not in results:
                raise
            result = results[rid]
            result.status, result.failed_step, result.error = "failed", "check", exc.message
            walk.finish(rid)
            if fail_fast:
                return f"--fail-fast: stopped after {rid} failed"
            position = to_check.index(rid) + 1
            continue
        except StepFailed as exc:
            step, failure = exc.planned, exc
        except SchemashiftError as exc:
            if isinstance(exc, MigrationFailed) and walk.failing_step() is not None:
                step, failure = walk.failing_step(), exc
            else:
                raise
        assert step is not None
        rid = step.revision
        if rid not in results:  # below --range (or --baseline): reported as a failed revision too
            below = RevisionResult(rid, one_line_doc(revisions[rid].doc), getattr(revisions[rid], "path", None))
            below.status, below.failed_step = "failed", "upgrade (below the checked range)"
            below.error = _describe(failure) if failure else "gave a different schema"
            report.revisions.insert(0, below)
            return f"the upgrade of {rid}, below the checked range, failed"
        result = results[rid]
        position = to_check.index(rid)
        if failure is None:  # _Restart: decided, but the database is not trustworthy
            position += 1
            continue
        error = _describe(failure)
        if step.phase in ("setup", "up"):
            if step.phase == "up" and walk.had_rows and options.seed and mode != "none":
                if mode == "default":
                    modes[rid] = "plain"
                    result.seeded.clear()
                    continue
                result.status, result.failed_step = "failed", "upgrade with rows present"
                result.error = f"{error}; it runs on empty tables: rows present: {'; '.join(walk.seeded_tables()) or 'user rows'}"
                modes[rid] = "none"
                result.seeded.clear()
                continue
            result.status, result.failed_step, result.error = "failed", "upgrade", error
            walk.finish(rid)
            return f"the upgrade of {rid} failed, so the revisions above it cannot be reached"
        result.status, result.error = "failed", error
        result.failed_step = "downgrade" if step.phase == "down" else "re-upgrade after downgrade"
        original = getattr(failure, "original", failure)
        if step.phase == "down" and isinstance(original, NotImplementedError):
            result.status = "irreversible"
        walk.finish(rid)
        if fail_fast and result.status == "failed":
            return f"--fail-fast: stopped after {rid} failed"
        position += 1
    return None


def _describe(exc: BaseException) -> str:
    """The error of a failed step, in one line, without "migration X failed"."""
    if isinstance(exc, StepFailed):
        return exc.reason
    if isinstance(exc, SchemashiftError):
        text = exc.message
        if text.startswith("migration ") and " failed: " in text:
            text = text.split(" failed: ", 1)[1]
        return " ".join(text.split())
    return describe_failure(exc)
