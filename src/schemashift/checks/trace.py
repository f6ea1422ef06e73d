"""What PostgreSQL really did: the locks each statement took and the tables it rewrote.

The static rules guess from the operation; ``--trace`` asks the server.  A
revision runs on the scratch database (``lint``) after every empty table got
a few representative rows (``safety.seed``, so a rewrite has something to
copy); after each statement the tracer reads, from a second connection,
``pg_locks`` of the migrating backend (locks are visible across sessions at
once), and, on the migrating connection itself, each table's
``relfilenode`` (a rewrite gives the table a new file; that change is visible
only inside the migrating transaction).  New locks are the statement's, a
changed relfilenode of a table that existed before is a rewrite.

The trace then overrides the static guess for the revision: a rewrite no rule
predicted becomes an SS-P406 finding (``source="trace"``), and a predicted
rewrite that did not happen is dropped (the change was confirmed safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .findings import Finding

_FILES = (
    "SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)
_LOCKS = (
    "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE l.pid = %(pid)s AND l.granted AND c.relkind IN ('r', 'p')"
)


@dataclass
class TracedStatement:
    statement: str
    locks: list[tuple[str, str]] = field(default_factory=list)  # (table, mode) first taken by this statement
    rewritten: list[str] = field(default_factory=list)


@dataclass
class Trace:
    statements: list[TracedStatement] = field(default_factory=list)
    existing: set[str] = field(default_factory=set)  # tables present before the revision

    def rewritten(self) -> dict[str, TracedStatement]:
        out: dict[str, TracedStatement] = {}
        for st in self.statements:
            for table in st.rewritten:
                out.setdefault(table, st)
        return out

    def locks_on(self, table: str) -> list[str]:
        return sorted({mode for st in self.statements for t, mode in st.locks if t == table})


class Tracer:
    """Listens on the migrating connection; reads locks through a second one."""

    def __init__(self, connection: Any, url: str) -> None:
        import sqlalchemy as sa

        self.connection = connection
        self.trace = Trace()
        self.watcher = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT").connect()
        self.pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.files = self._files()
        self.trace.existing = set(self.files)
        self.locks = self._locks()
        self._busy = False

    def _files(self) -> dict[str, int]:
        cursor = self.connection.connection.dbapi_connection.cursor()  # no SQLAlchemy events: not traced itself
        try:
            cursor.execute(_FILES)
            return {name: node for name, node in cursor.fetchall()}
        finally:
            cursor.close()

    def _locks(self) -> set[tuple[str, str]]:
        rows = self.watcher.exec_driver_sql(_LOCKS, {"pid": self.pid}).fetchall()
        return {(name, mode) for name, mode in rows}

    def after(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            files = self._files()
            locks = self._locks()
        finally:
            self._busy = False
        step = TracedStatement(" ".join(statement.split())[:300])
        step.locks = sorted(locks - self.locks)
        step.rewritten = sorted(t for t, node in files.items() if t in self.files and self.files[t] != node
                                and t in self.trace.existing)
        self.files.update(files)
        self.locks |= locks
        if step.locks or step.rewritten:
            self.trace.statements.append(step)

    def start(self) -> None:
        from sqlalchemy import event

        event.listen(self.connection, "after_cursor_execute", self.after)

    def stop(self) -> Trace:
        from sqlalchemy import event

        event.remove(self.connection, "after_cursor_execute", self.after)
        self.watcher.close()
        return self.trace


_REWRITE_RULES = {"SS-P406", "SS-P407"}


def apply_trace(findings: list[Finding], trace: Trace, ctx: Any) -> list[Finding]:
    """The revision's findings with the trace's facts in place of the static guesses."""
    from .actions import Action

    rewritten = trace.rewritten()
    out = []
    for f in findings:
        if f.rule in _REWRITE_RULES and f.table and f.table in trace.existing and f.table not in rewritten:
            continue  # predicted a rewrite; the server did not rewrite: confirmed safe
        if f.rule in _REWRITE_RULES and f.table in rewritten:
            f.source = "trace"
        out.append(f)
    predicted = {f.table for f in out if f.rule in _REWRITE_RULES}
    for table, st in rewritten.items():
        if table in predicted:
            continue
        ctx.line = None
        locks = ", ".join(trace.locks_on(table)) or "?"
        finding = ctx.finding("SS-P406", f"trace: {st.statement[:120]} rewrote table {table} (locks: {locks})",
                              Action("traced", table=table), source="trace")
        out.append(finding)
    return out
