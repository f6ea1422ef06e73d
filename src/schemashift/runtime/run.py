"""``Run``: the one owner of a migration run's transactions, lock and ledger rows.

Alembic runs the steps; env.py opens the connection; this object decides
everything else, attached through env.py's ``context.configure(...)``
(``alembic_bridge``):

1. It refuses a connection to another database than the one it was given.
2. It takes the migration lock on a connection of its own (so an
   ``autocommit_block()`` or ``CREATE INDEX CONCURRENTLY`` never waits on
   it), named after the project's real version table.
3. It reads the version, plans the steps, checks the ledger and hands the
   steps to the gate (``RunOptions.gate``: the plan's refusal) in one reading
   transaction; the gate decides with the lock still held, so what was
   planned is what runs.  Only then is the ledger created or adopted, before
   Alembic begins anything.
4. It tells Alembic the transaction policy: ``step`` (a transaction per
   revision, with its version and ledger rows) or ``run`` (one for all).
   When env.py opened the transaction itself, the run is one transaction
   and the user is told so before anything runs.
5. A step is reported only after its transaction committed; a failure is
   worded from what the database really did (``watch``), and the version is
   read back on another connection before "rolled back" is said.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import event

from ..config import redact_url
from ..errors import ConfigError, DatabaseError, MigrationFailed, Refused, SchemashiftError
from ..revisions.index import script_doc
from ..safety import ledger as ledger_mod
from ..safety import lock as lock_mod
from . import heap
from .options import CONTEXT_KEY, RunOptions
from .results import MigrateResult, StepEvent
from .sqlite import SqliteTransactions
from .watch import Watch, autocommit_option, autocommits

TRANSACTIONAL_DDL = {"sqlite", "postgresql", "mssql"}

# custom operations that rebuild a SQLite table (which needs foreign keys off)
# Alembic's batch mode rebuilds too (it drops the old table: with enforcement on, SQLite's
# implicit DELETE of that drop fires ON DELETE CASCADE / SET NULL in every referencing table).
REBUILDING_OPS = (
    "rebuild_table", "convert_column", "rename_constraint", "drop_constraint_matching", "alter_enum",
    "batch_alter_table",
)
# a migration that commits inside itself cannot be part of a one-transaction run
SELF_COMMITTING = ("autocommit_block",)

Planner = Callable[[Any, tuple[str, ...]], list[Any]]  # (script, heads) -> Alembic steps


class InternalMismatch(SchemashiftError):
    """What schemashift reported and what the database holds disagree: a schemashift bug."""

    exit_code = 70


def _revision_of(step: Any) -> str:
    revision = getattr(step, "revision", None)
    rid = getattr(revision, "revision", None)
    if rid is None:  # a stamp step
        ids = getattr(step, "to_revisions", None) or getattr(step, "from_revisions", None) or ()
        return ",".join(ids) or "?"
    return rid


def _source_of(step: Any) -> str:
    path = getattr(getattr(step, "revision", None), "path", None)
    if not path:
        return ""
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _uses(step: Any, names: Sequence[str]) -> bool:
    text = _source_of(step)
    return any(f"{name}(" in text for name in names)


def same_database(given: Any, actual: Any) -> bool:
    """Whether two SQLAlchemy URLs name the same database (driver, password and options aside)."""
    if given.get_backend_name() != actual.get_backend_name():
        return False
    if given.get_backend_name() == "sqlite":
        return lock_mod.sqlite_path(given) == lock_mod.sqlite_path(actual)

    def same(a: Any, b: Any) -> bool:
        return a is None or b is None or a == b

    local = {None, "localhost", "127.0.0.1", "::1"}
    hosts_match = same(given.host, actual.host) or (given.host in local and actual.host in local)
    return hosts_match and same(given.port, actual.port) and given.database == actual.database and same(
        given.username, actual.username
    )


class Run:
    """One upgrade, downgrade or stamp."""

    def __init__(
        self,
        *,
        direction: str,
        options: RunOptions,
        plan: Planner,
        ledger: ledger_mod.Ledger,
        check_ledger: Callable[[Any, tuple[str, ...], dict[str, str | None], Any], Any] | None = None,
        url: str | None = None,
        url_source: str = "config",
        progress: Callable[[StepEvent], None] | None = None,
    ) -> None:
        self.direction = direction
        self.options = options
        self.plan = plan
        self.ledger = ledger
        self.check_ledger = check_ledger
        self.url = url
        self.url_source = url_source
        self.progress = progress
        self.result = MigrateResult(direction)
        self.env: Any = None  # the AttachedEnvironment, set by run_env
        self.steps: list[Any] = []
        self.applied = 0
        self.iterating = False  # Alembic is inside its step loop
        # a stamp writes only bookkeeping: all of it or none of it
        self.whole_run = options.atomic == "run" or direction == "stamp"
        self.external = False
        self.connection: Any = None
        self.sqlite: SqliteTransactions | None = None
        self.watch: Watch | None = None
        self.rebuilds: list[bool] = []
        self.fk_off_now = False
        self.version_table = ("alembic_version", None)
        self._pending: list[tuple[StepEvent, tuple[str, ...]]] = []
        self._undone: list[str] = []  # steps a rollback that was not a failure's undid (env.py's own)
        self._committed_heads: tuple[str, ...] = ()
        self._scope_heads: tuple[str, ...] = ()
        self._commit_seen = False
        self._between = False
        self._applying: str | None = None  # the step whose ``on_version_apply`` bookkeeping is running
        self._rolled_back_at_commit: list[str] = []  # steps whose commit failed and were rolled back
        self._failures: dict[int, SchemashiftError | None] = {}
        self._cleanups: list[Callable[[], None]] = []
        self._observer: Callable[[], Any] | None = None  # opens a connection other than the migration's
        self._clock = time.perf_counter()
        self.transactional = True
        self.autocommit = False  # env.py's connection commits each statement (AUTOCOMMIT)
        self.offline = False
        self._ledger_existed = False
        self._ledger_to_write = False
        self._checksums: dict[str, str] | None = None  # revision file -> checksum, from the revision index
        self._planned: dict[str, Any] | None = None  # revision id -> Script of the planned steps
        self._violations: dict[tuple[str, str], int] = {}  # foreign key violations per (table, parent) so far
        self._real_dirs: dict[str, str] = {}

    # ------------------------------------------------------------ configure

    def configure(self, kw: dict[str, Any]) -> dict[str, Any]:
        """The bridge calls this with env.py's ``configure`` arguments; returns Alembic's."""
        kw = dict(kw)
        user_apply = kw.pop("on_version_apply", None)
        applies = list(user_apply if isinstance(user_apply, (list, tuple)) else [user_apply] if user_apply else [])
        kw["on_version_apply"] = [*applies, self._on_apply]
        kw[CONTEXT_KEY] = self.options
        connection = kw.get("connection")
        if connection is None or kw.get("as_sql"):
            self.offline = True
            kw["transaction_per_migration"] = not self.whole_run
            return kw
        if self.connection is not None:
            raise ConfigError(
                "env.py called context.configure() with a second connection in one run",
                hint="schemashift runs one database per command; point each database at its own project",
            )
        self.connection = connection
        self._check_url(connection)
        self.version_table = (kw.get("version_table") or "alembic_version", kw.get("version_table_schema"))
        self._take_lock(connection)
        self.external = connection.in_transaction()
        if self.external:
            self.whole_run = True  # env.py's transaction spans the run; no per-step commit is possible
        self.transactional = connection.dialect.name in TRANSACTIONAL_DDL
        self.autocommit = self.transactional and connection.dialect.name != "sqlite" and autocommits(connection)
        if self.autocommit:  # env.py's engine commits each statement: nothing can be rolled back
            self.transactional = False
        if connection.dialect.name == "sqlite":
            self.sqlite = SqliteTransactions(connection)
            self.transactional = self.sqlite.transactional
            self._cleanups.append(self.sqlite.restore)
            if self.sqlite.transactional:
                kw["transactional_ddl"] = True
        event.listen(connection, "begin", self._on_begin)
        event.listen(connection, "commit", self._on_commit)
        event.listen(connection, "rollback", self._on_rollback)
        self._cleanups.append(lambda: self._unlisten(connection))
        heap.enter()
        self._cleanups.append(heap.release)
        heap.hold()  # imports, env.py: out of the collector's walks from here (runtime.heap)
        self._prepare(connection, kw)
        heap.hold()  # the revision modules Alembic loaded, the plan: the same
        if not self.transactional and self.steps and self.options.notice:  # said only when something will run
            self.options.notice(
                f"{self._why_not_transactional()}: a migration that fails "
                "half way cannot be rolled back; schemashift will list the statements that ran"
            )
        self.watch = Watch(connection)
        self._cleanups.append(self.watch.close())
        if self.external:
            if self.options.atomic == "step" and self.steps and self.options.notice:
                self.options.notice(
                    "env.py's connection is already in a transaction when it calls context.configure() "
                    "(connectable.begin(), or a statement env.py ran first), so this run commits or rolls "
                    "back as one transaction, not one per migration"
                )
            if self.sqlite is not None:
                self.fk_off_now = any(self.rebuilds)
                self.sqlite.begin_now(self.fk_off_now)
        kw["transaction_per_migration"] = not self.whole_run
        return kw

    def _why_not_transactional(self) -> str:
        if self.autocommit:
            return "env.py's connection is in AUTOCOMMIT mode, so each statement commits at once"
        return f"{self.connection.dialect.name} commits each DDL statement at once"

    def _unlisten(self, connection: Any) -> None:
        for name, fn in (("begin", self._on_begin), ("commit", self._on_commit), ("rollback", self._on_rollback)):
            with contextlib.suppress(Exception):
                event.remove(connection, name, fn)

    def _check_url(self, connection: Any) -> None:
        handed_in = getattr(getattr(self.env, "config", None), "attributes", {}).get("connection")
        if not self.url or handed_in is connection:  # a connection the caller handed in on purpose
            return
        from sqlalchemy.engine import make_url

        try:
            given = make_url(self.url)
        except Exception:
            return
        actual = connection.engine.url
        if not same_database(given, actual):
            raise ConfigError(
                f"env.py connected to {redact_url(actual.render_as_string(hide_password=False))}, not to "
                f"{redact_url(self.url)} (from {self.url_source}); schemashift refuses to act on one database "
                "while reporting another",
                hint="make env.py build its engine from config.get_main_option('sqlalchemy.url'), "
                "which schemashift sets from --url and $SCHEMASHIFT_URL",
            )

    def _take_lock(self, connection: Any) -> None:
        table, schema = self.version_table
        if schema is None:
            # one lock per schema (PostgreSQL schema per tenant) and per database on a
            # MySQL server (GET_LOCK is server-wide); the usual default keeps its plain name
            default = connection.dialect.default_schema_name
            schema = None if default in (None, "public", "main") else default
        spec = lock_mod.LockSpec(f"{schema}.{table}" if schema else table, self.options.lock_timeout)
        held = lock_mod.take(connection, spec)
        self._cleanups.append(held.release)
        self._observer = held.observer

    def _read_heads(self, connection: Any) -> tuple[str, ...]:
        from alembic.runtime.migration import MigrationContext

        table, schema = self.version_table
        opts = {"version_table": table, "version_table_schema": schema}
        return tuple(MigrationContext.configure(connection, opts=opts).get_current_heads())

    def _prepare(self, connection: Any, kw: dict[str, Any]) -> None:
        """Read the version, plan the steps, check the ledger and pass the gate, before Alembic begins.

        Nothing is written before the gate decided: the reads share one
        transaction (the gate judges the rows the version was read with), the
        decision (which may ask a person) waits outside it with only the lock
        held, and the ledger is created or adopted after that.
        """
        prepare = getattr(self.ledger, "prepare", None)
        if prepare is not None and self.options.ledger:
            prepare(connection)  # under the lock, before any BEGIN (SQLite attaches the ledger's sidecar)
        if self.external:  # env.py's transaction spans everything: decide inside it
            decide = self._read_and_review(connection, kw)
            if decide is not None:
                decide()
            self._keep_ledger(connection)
            return
        with connection.begin():
            decide = self._read_and_review(connection, kw)
        if decide is not None:
            decide()
        if self._ledger_to_write:
            with connection.begin():
                self._keep_ledger(connection)

    def _read_and_review(self, connection: Any, kw: dict[str, Any]) -> Callable[[], None] | None:
        heads = self._read_heads(connection)
        self.result.before = heads
        self._committed_heads = self._scope_heads = heads
        self.steps = list(self.plan(self.env.script if self.env else None, heads))
        heap.hold()  # the revision modules Alembic just loaded: out of the collector's walks while the gate judges
        # only a SQLite project that enforces foreign keys needs to know which steps rebuild
        enforcing = self.sqlite is not None and self.sqlite.user_foreign_keys
        self.rebuilds = [enforcing and _uses(step, REBUILDING_OPS) for step in self.steps]
        if self.whole_run:
            self._refuse_self_committing()
        if self.options.ledger:
            self._ledger_existed, self._ledger_to_write = self.ledger.presence(connection)
            if self._ledger_existed and self.direction == "up" and self.check_ledger is not None and self.steps:
                self._check_ledger(connection, heads)
        decide = self._review(connection, kw, enforcing)
        if enforcing and any(self.rebuilds):  # what violated foreign keys before: not the migration's doing
            self._violations = _violations_by_table(self.sqlite.foreign_key_violations())  # type: ignore[union-attr]
            if self._violations:
                shown = ", ".join(f"{n} in {t} -> {p}" for (t, p), n in sorted(self._violations.items())[:5])
                self.result.warnings.append(
                    f"rows already violated foreign keys before this run ({shown}); schemashift left them as they "
                    "were and checks only that no migration adds to them"
                )
        return decide

    def _review(self, connection: Any, kw: dict[str, Any], enforcing: bool) -> Callable[[], None] | None:
        gate = self.options.gate
        if gate is None or not self.steps or self.direction not in ("up", "down"):
            return None
        from ..alembic_bridge.environment import serving

        reading = self._reading_context(connection, kw)
        with serving(self.env, reading):  # context.get_bind() in a revision answers while it is captured
            decide = gate(self.steps, reading)
        self._judge_again_when_run(gate)
        if enforcing:  # the capture also sees a batch block reached through a helper of the project's
            planned = {r.revision: r.batch_recreates for r in getattr(getattr(gate, "plan", None), "revisions", ())}
            self.rebuilds = [known or planned.get(_revision_of(step), False)
                             for known, step in zip(self.rebuilds, self.steps)]
        return decide

    def _judge_again_when_run(self, gate: Any) -> None:
        """A revision that decides from the database is judged again just before it runs.

        The plan saw the database as the run found it; a step after the first
        runs on a database the steps before it changed (``gate.recheck``).
        """
        recheck = getattr(gate, "recheck", None)
        again = gate.rejudged() if recheck is not None else ()
        if not again:
            return
        from ..alembic_bridge.steps import run_first

        for step in self.steps[1:]:
            script = getattr(step, "revision", None)
            if getattr(script, "revision", None) in again:
                run_first(step, lambda script=script: recheck(script, self.env.get_context()))

    def _check_ledger(self, connection: Any, heads: tuple[str, ...]) -> None:
        """Applied files unchanged: one narrow read of the ledger, checksums from the revision index."""
        assert self.check_ledger is not None
        recorded = self.ledger.baselines(connection, legacy=self._ledger_to_write)
        report = self.check_ledger(self.env.script, heads, recorded, self._checksum_of)
        if not report.ok and not self.options.ignore_checksums:
            problems = "; ".join(f.one_line() for f in report.failed)
            raise Refused(
                f"applied migrations no longer match their files: {problems}",
                hint="restore the files, or accept a reviewed edit with 'schemashift validate --accept REV' (once: --ignore-checksums)",
            )
        self.result.warnings.extend(f.one_line() for f in report.findings if f.problem == "unrecorded")

    def _keep_ledger(self, connection: Any) -> None:
        """Create the ledger (moving an older release's in) and adopt what plain Alembic applied."""
        if not self.options.ledger:
            return
        heads = self.result.before
        if self.ledger.create(connection) or not self._ledger_existed:
            if heads and not self._ledger_existed:
                applied = applied_revisions(self.env.script, heads)
                self.result.adopted = self.ledger.adopt(connection, applied, self._checksum_of)

    def _checksum_of(self, path: str) -> str | None:
        """The file's checksum from the revision index (hashed there only when the file changed);
        None when the index does not know the file (the caller hashes it)."""
        if self._checksums is None:
            self._checksums = {}
            if self.env is not None:
                from ..revisions.index import RevisionIndex

                with contextlib.suppress(Exception):  # an unreadable file: the caller hashes, or reports it
                    self._checksums = RevisionIndex(self.env.script).checksums()
        known = self._checksums.get(path)  # the index keys real paths: Alembic's are the same, unless linked
        if known is not None:
            return known
        folder, name = os.path.split(path)
        real = self._real_dirs.get(folder)
        if real is None:
            real = self._real_dirs[folder] = os.path.realpath(folder)
        return self._checksums.get(os.path.join(real, name))

    def _reading_context(self, connection: Any, kw: dict[str, Any]) -> Any:
        """A ``MigrationContext`` on the run's connection with env.py's options, for the gate to read through."""
        from alembic.runtime.migration import MigrationContext

        opts = {k: v for k, v in kw.items() if k not in ("connection", "on_version_apply")}
        return MigrationContext.configure(connection, environment_context=self.env, opts=opts)

    def _refuse_self_committing(self) -> None:
        for step in self.steps:
            if _uses(step, SELF_COMMITTING):
                raise Refused(
                    f"migration {_revision_of(step)} commits inside itself (autocommit_block), so this run "
                    "cannot be one transaction",
                    hint="run it with --atomic step (each migration in its own transaction), "
                    "and keep env.py from opening the transaction itself",
                )

    # --------------------------------------------------------------- steps

    def steps_for(self, script: Any, heads: tuple[str, ...], *, purged: bool = False) -> list[Any]:
        """Alembic's ``fn``: the steps planned at configure (the lock kept the version still).

        ``stamp --purge``: Alembic empties the version table just before it
        asks, and plans from no heads; so do we.
        """
        if self.offline or self.connection is None:
            self.steps = list(self.plan(script, heads))
            self._planned = None
            self.result.before = heads
            self._committed_heads = self._scope_heads = heads
        elif purged and not heads:
            self.steps = list(self.plan(script, ()))
            self._planned = None
        elif tuple(heads) != self.result.before:
            raise InternalMismatch(
                f"the version changed from {self.result.before} to {tuple(heads)} while the lock was held"
            )
        self.iterating = bool(self.steps)
        self._clock = time.perf_counter()
        if self.watch is not None:
            self.watch.new_scope()
        return self.steps

    def _rebuilds_next(self) -> bool:
        if self.whole_run:
            return any(self.rebuilds)
        return self.applied < len(self.rebuilds) and self.rebuilds[self.applied]

    def _on_begin(self, connection: Any) -> None:
        if self._commit_seen:
            self._flush()
        self._between = False
        self._rolled_back_at_commit = []
        if self.sqlite is not None:
            autocommit = autocommit_option(connection)
            self.fk_off_now = self._rebuilds_next() if not autocommit else self.fk_off_now
            self.sqlite.before_begin(connection, self.fk_off_now)

    def _on_commit(self, connection: Any) -> None:
        self._commit_seen = True
        if self.options.ledger:
            self.ledger.send_with_commit(connection)  # a step's row deferred to this commit (``_write_ledger``)
        if self.iterating and not (self._between and not self.whole_run) and self.watch is not None:
            # a commit inside a step (autocommit_block, a COMMIT the migration ran): no rollback past it
            self.watch.escaped.append("COMMIT (autocommit_block or a commit inside the migration)")

    def _on_rollback(self, connection: Any) -> None:
        self._commit_seen = False
        if self.options.ledger:
            self.ledger.forget_deferred()
        if self._between and not self.whole_run:  # a step's own transaction, ended after the step ran
            self._rolled_back_at_commit = [event_.revision for event_, _ in self._pending]
        self._undone.extend(event_.revision for event_, _ in self._pending)
        self._pending.clear()

    def _flush(self) -> None:
        """The transaction holding the pending steps committed: report them."""
        self._commit_seen = False
        pending, self._pending = self._pending, []
        for event_, heads in pending:
            self._committed_heads = heads
            if not self.whole_run:
                self._scope_heads = heads
            self.result.steps.append(event_)
            if self.progress:
                self.progress(event_)

    def _on_apply(self, *, ctx: Any, step: Any, heads: set[str], run_args: Any) -> None:
        now = time.perf_counter()
        seconds = now - self._clock
        self._clock = now
        stamp = step.is_stamp
        direction = "stamp" if stamp else "up" if step.is_upgrade else "down"  # scratch runs mix both
        revision = step.up_revision_id or ",".join(step.up_revision_ids)
        self._applying = revision or ""
        doc = ""
        script = None
        if not stamp:
            script = self._script_of(step)
            if script is not None:
                doc = script_doc(script)
        event_ = StepEvent(
            direction=direction,
            from_revisions=tuple(step.source_revision_ids),
            to_revisions=tuple(step.destination_revision_ids),
            revision=revision or "",
            doc=doc,
            seconds=seconds,
        )
        if not ctx.as_sql and self.options.ledger and ctx.connection is not None:
            self._write_ledger(ctx.connection, step, direction, int(seconds * 1000), script)
        self.applied += 1
        last = self.applied >= len(self.steps)
        if self.fk_off_now and self.sqlite is not None and (last or not self.whole_run):
            self._refuse_foreign_key_violations(step)
        if last:
            self.iterating = False
        ordered = tuple(sorted(heads))
        if self.offline or ctx.connection is None:
            self.result.steps.append(event_)
            if self.progress:
                self.progress(event_)
            self._applying = None
            return
        self._pending.append((event_, ordered))
        self._between = True
        self._applying = None
        if self.watch is not None and not self.whole_run:
            self.watch.new_scope()

    def _script_of(self, step: Any) -> Any:
        """The revision a step's ``MigrationInfo`` names: the planned step's own ``Script`` (Alembic
        runs exactly those steps), without a revision-map lookup per step; else the map's answer."""
        rid = step.up_revision_id
        planned = self._planned
        if planned is None:
            planned = self._planned = {}
            for one in self.steps:
                script = getattr(one, "revision", None)
                if getattr(script, "revision", None) is not None:
                    planned[script.revision] = script
        found = planned.get(rid)
        return found if found is not None else step.up_revision

    def _refuse_foreign_key_violations(self, step: Any) -> None:
        """Refuse a step that ran with foreign keys off and left more rows violating them than there were.

        Counted per (table, referenced table): a rebuild may renumber the rowids
        of a table without an INTEGER PRIMARY KEY.  Rows that violated them
        before the run (a database used with enforcement off) are not the
        migration's doing and never refuse it.
        """
        assert self.sqlite is not None
        found = self.sqlite.foreign_key_violations()
        now = _violations_by_table(found)
        added = {key: n - self._violations.get(key, 0) for key, n in now.items() if n > self._violations.get(key, 0)}
        if added:
            rows = [r for r in found if (r[0], r[2]) in added]
            shown = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, *_ in rows[:5])
            raise Refused(
                f"it would leave {sum(added.values())} more row(s) violating foreign keys than before it: {shown}",
                hint="fix the referencing rows in the migration (it ran with foreign keys off to rebuild a table)",
            )
        self._violations = now

    def _write_ledger(self, connection: Any, step: Any, direction: str, duration_ms: int,
                      script: Any = None) -> None:
        """The step's ledger rows; ``script``: the step's revision when ``_on_apply`` looked it up already."""
        # more steps follow, each committing on its own: the row may wait in SQLite's main file
        stage = (direction != "stamp" and not self.whole_run and self.transactional
                 and self.applied + 1 < len(self.steps))
        if not stage:
            self.ledger.unstage(connection)  # first: the rows keep the order the steps ran in
        if direction == "stamp":
            if step.is_upgrade:  # stamped forward: every revision now below the new heads is in place
                for rev in _newly_applied(self.env.script, step):
                    self.ledger.record(connection, rev.revision, ledger_mod.STAMP, path=rev.path,
                                       file_checksum=self._checksum_of(rev.path) if rev.path else None)
            else:  # stamped backward: the sources are no longer applied
                for rev_id in sorted(set(step.source_revision_ids) - set(step.destination_revision_ids)):
                    self.ledger.record(connection, rev_id, ledger_mod.DOWN, path=None)
            return
        kind = ledger_mod.UP if direction == "up" else ledger_mod.DOWN
        if len(step.up_revision_ids) != 1:
            script = None
        elif script is None:
            script = self._script_of(step)
        # the step's own transaction commits right after this (Alembic's, per migration): the row may
        # travel with that COMMIT (``_on_commit``), or is dropped with it on a rollback (``_on_rollback``)
        defer = not self.whole_run and self.transactional and not self.autocommit
        for rev in (script,) if script is not None else step.up_revisions:
            known = self._checksum_of(rev.path) if rev.path else None
            self.ledger.record(connection, rev.revision, kind, path=rev.path, duration_ms=duration_ms,
                               file_checksum=known, stage=stage, defer=defer)

    # ------------------------------------------------------------- the end

    def finish(self) -> MigrateResult:
        """env.py returned: everything pending committed; check the version we report."""
        if self._pending:
            self._flush()
        if self.offline or self.connection is None:
            self.result.after = self.result.steps[-1].to_revisions if self.result.steps else self.result.before
            return self.result
        if self._undone:
            self._undone_by_env_py()
        if self.applied != len(self.steps):
            raise InternalMismatch(
                f"env.py returned after {self.applied} of {len(self.steps)} migrations without an error",
                hint="env.py must call context.run_migrations() once; report this if it does",
            )
        expected = self._committed_heads
        found = self._heads_elsewhere()
        if found is not None and set(found) != set(expected):
            raise InternalMismatch(
                f"the run applied up to {', '.join(expected) or 'base'} but the database is at "
                f"{', '.join(found) or 'base'}",
                hint="env.py may have opened a transaction that nobody committed; report this with your env.py",
            )
        self.result.after = expected
        return self.result

    def _undone_by_env_py(self) -> None:
        """Steps ran, then env.py's transaction was rolled back, not committed, with no error.

        So it goes when env.py's connection was already in a transaction at
        ``context.configure()`` (a statement env.py ran first began one, as
        SQLAlchemy 2 does) and env.py closes the connection without
        committing, or rolls back on purpose (a dry run).  Plain Alembic says
        nothing; schemashift never reports such a run as applied, nor as
        "nothing to do".
        """
        found = self._heads_elsewhere()
        undone = ", ".join(self._undone)
        if found is None:
            state = "could not read the version back to confirm the state"
        elif set(found) == set(self.result.before):
            state = "rolled back: the database is as it was before the run"
        else:
            state = f"the database is at {', '.join(found) or 'base'}"
        raise MigrationFailed(
            f"env.py rolled back what ran ({undone}) instead of committing it: its connection was already in a "
            "transaction when it called context.configure(), and nobody committed that transaction",
            revision=undone,
            hint="commit in env.py after the statements it runs before context.configure() (or run them in a "
            f"'connect' event listener), or use connectable.begin(); {state}",
        )

    def _heads_elsewhere(self) -> tuple[str, ...] | None:
        if self._observer is None:
            return None
        with contextlib.suppress(Exception), self._observer() as other:
            return self._read_heads(other)
        return None

    def note_failure(self, exc: BaseException) -> None:
        """Word a failure now, before the lock (and its connection) are let go."""
        self._failures[id(exc)] = self.failure(exc)

    def worded_failure(self, exc: BaseException) -> SchemashiftError | None:
        if id(exc) in self._failures:
            return self._failures[id(exc)]
        return self.failure(exc)

    def failure(self, exc: BaseException) -> SchemashiftError | None:
        """Word an exception raised while steps ran; None when no step was running."""
        if self.offline or not self.steps:
            return None
        if self._applying is not None:  # the step ran; its bookkeeping (a check, its ledger row) failed
            revisions, where = [self._applying], ""
        elif self._between and not self.whole_run and (self._pending or self._rolled_back_at_commit):
            # between a step's end and the next one's begin: its own commit failed
            revisions = [event_.revision for event_, _ in self._pending] or list(self._rolled_back_at_commit)
            where = " at commit"
        elif self.iterating:
            step = self.steps[self.applied] if self.applied < len(self.steps) else self.steps[-1]
            revisions = [_revision_of(step)]
            where = ""
        elif self._pending:
            revisions = [e.revision for e, _ in self._pending]
            where = " at commit"
        else:
            return None
        revision = ",".join(revisions)
        statement = getattr(exc, "statement", None)
        self._failed_statement = statement
        hint = self._what_became_of_it(revision)
        if isinstance(exc, Refused):
            exc.message = f"migration {revision} refused: {exc.message}"
            exc.hint = f"{exc.hint}; {hint}" if exc.hint else hint
            exc.revision = revision  # type: ignore[attr-defined]
            return exc
        reason = _reason(exc)
        message = f"migration {revision} failed{where}: {reason}"
        if self.direction == "stamp":
            message = f"stamp failed at {revision}{where}: {reason}"
        if statement:
            message += f" in statement: {' '.join(str(statement).split())[:300]}"
        return MigrationFailed(message, revision=revision, statement=statement, hint=hint)

    def _what_became_of_it(self, revision: str) -> str:
        scope = "the run" if self.whole_run else f"migration {revision}"
        if self.direction == "stamp":
            scope = "the stamp"
        watch = self.watch
        ran = list(watch.statements) if watch else []
        if not self.transactional:
            from ..safety.nontransactional import describe_partial

            return describe_partial(ran, self._failed_statement, every_statement=self.autocommit)
        if watch is not None and watch.escaped:
            done = "; ".join(" ".join(s.split())[:120] for s in watch.escaped[:5])
            return (
                f"NOT rolled back: the database committed before the failure ({done}); what ran before "
                "that stayed applied, check the schema before rerunning"
            )
        found = self._heads_elsewhere()
        expected = self._scope_heads
        if found is None or (watch is not None and watch.unknown):
            return f"rolled back as far as the database allows; could not read the version back to confirm {scope}"
        if set(found) != set(expected):
            return (
                f"NOT rolled back: the database is at {', '.join(found) or 'base'}, "
                f"not at {', '.join(expected) or 'base'} as before {scope}"
            )
        kept = _never_rolled_back(ran, self.connection)
        return f"rolled back: the database is as it was before {scope}{kept}"

    def _unstage_left(self) -> None:
        """A run that stopped before its last step left its committed steps' ledger rows staged in
        SQLite's main file (see ``Ledger.record``): move them into the sidecar now, still under
        the lock, on a connection of our own (env.py closed its own).  When that cannot be done
        (an async driver), the next run's ``prepare`` moves them, and readers see them meanwhile."""
        if not self.ledger.staging_left():
            return
        engine = getattr(self.connection, "engine", None)
        if engine is None or engine.dialect.is_async:
            return
        with engine.connect() as connection:
            self.ledger.prepare(connection)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._unstage_left()
        while self._cleanups:
            cleanup = self._cleanups.pop()
            with contextlib.suppress(Exception):
                cleanup()
        with contextlib.suppress(Exception):
            self.ledger.close()


def _violations_by_table(rows: Sequence[tuple[Any, ...]]) -> dict[tuple[str, str], int]:
    """``PRAGMA foreign_key_check`` rows counted per (table, referenced table)."""
    counts: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, *_ in rows:
        counts[(table, parent)] = counts.get((table, parent), 0) + 1
    return counts


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the migration called sys.exit({exc.code!r})"
    if isinstance(exc, AttributeError) and getattr(exc, "name", None) in ("upgrade", "downgrade"):
        return f"the revision file has no {exc.name}() function"
    if isinstance(exc, SchemashiftError):
        return exc.one_line()
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(orig if orig is not None else exc).__name__
    if orig is not None:
        return _explained(first) or name
    return f"{name}: {first}" if first else name


_FK_MISMATCH = re.compile(r'foreign key mismatch - "(?P<child>[^"]+)" referencing "(?P<parent>[^"]+)"')


def _explained(message: str) -> str:
    """SQLite's terse "foreign key mismatch", with what it means and the fix."""
    found = _FK_MISMATCH.search(message)
    if found is None:
        return message
    return (f"{message}: a foreign key of {found['child']} names columns of {found['parent']} that are neither "
            f"its primary key nor covered by a UNIQUE constraint, which SQLite requires (make them unique, or "
            "point the foreign key at the primary key)")


def applied_revisions(script: Any, heads: Sequence[str]) -> list[Any]:
    rmap = script.revision_map
    known = [h for h in heads if _exists(rmap, h)]
    if not known:
        return []
    return list(rmap.iterate_revisions(tuple(known), "base", assert_relative_length=False))


def _newly_applied(script: Any, step: Any) -> list[Any]:
    """Revisions a forward stamp puts in place: ancestors of the new heads, not of the old."""
    after = set(r.revision for r in applied_revisions(script, step.destination_revision_ids))
    before = set(r.revision for r in applied_revisions(script, step.source_revision_ids))
    rmap = script.revision_map
    return [rmap.get_revision(r) for r in sorted(after - before)]


def _exists(rmap: Any, rev_id: str) -> bool:
    try:
        return rmap.get_revision(rev_id) is not None
    except Exception:
        return False


def _never_rolled_back(statements: list[str], connection: Any) -> str:
    """What a rollback leaves as it is, said beside "rolled back": on PostgreSQL a sequence's
    position set by ``setval()`` (``nextval()`` too, but a gap is what every rollback leaves)."""
    if connection is None or connection.dialect.name != "postgresql":
        return ""
    if not any("setval" in statement.lower() for statement in statements):
        return ""
    return ", except the sequence positions set by setval(), which PostgreSQL never rolls back"

