"""Capture the operations of a revision without running them.

``plan`` must say what a migration will do before it does anything, on the
user's own database.  ``CaptureOperations`` is Alembic's public
``Operations`` with ``invoke()`` overridden to keep each operation object and
not execute it (the same attachment point ``safety.recording`` uses to run and
record).  ``upgrade()``/``downgrade()`` run unchanged with ``op`` bound to it:
reads through ``op.get_bind()`` reach the live database (revisions that
reflect keep working), while a write sent outside an operation is stopped
before it reaches the database (``WriteBlocked``) and kept as SQL text; the
rest of that function is then unknown, and the capture says so.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterator

from alembic.operations import BatchOperations, Operations
from alembic.operations import ops as alembic_ops

_READ_ONLY = ("SELECT", "PRAGMA", "WITH", "SHOW", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "VALUES")


class WriteBlocked(Exception):
    """upgrade() wrote through the connection while being captured."""


@dataclass
class CapturedOp:
    op: Any
    batch: str | None = None  # the table of the batch block it was queued in
    line: int | None = None  # line in the revision file that called it
    recreate: str | None = None  # the batch block's recreate= argument


@dataclass
class Capture:
    """What one revision function would do."""

    ops: list[CapturedOp] = field(default_factory=list)
    direct_sql: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the capture could not follow the function to its end


def caller_line(path: str | None) -> int | None:
    if not path:
        return None
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == path:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


class CaptureBatchOperations(BatchOperations):
    def __init__(self, migration_context: Any, owner: "CaptureOperations", table: str, schema: str | None,
                 recreate: str) -> None:
        super().__init__(migration_context, impl=SimpleNamespace(table_name=table, schema=schema))  # type: ignore[arg-type]
        self._owner = owner
        self._table = table
        self._recreate = recreate

    def invoke(self, operation: Any) -> Any:
        self._owner.capture.ops.append(
            CapturedOp(operation, batch=self._table, line=caller_line(self._owner.path), recreate=self._recreate)
        )
        return None


class CaptureOperations(Operations):
    """``Operations`` that keeps each operation instead of running it."""

    def __init__(self, migration_context: Any, path: str | None = None) -> None:
        super().__init__(migration_context)
        self.capture = Capture()
        self.path = path

    def invoke(self, operation: Any) -> Any:
        self.capture.ops.append(CapturedOp(operation, line=caller_line(self.path)))
        if isinstance(operation, alembic_ops.CreateTableOp):
            return operation.to_table(self.migration_context)
        return None

    @contextlib.contextmanager
    def batch_alter_table(self, table_name: str, schema: str | None = None, recreate: str = "auto",  # type: ignore[override]
                          **kw: Any) -> Iterator[Any]:
        yield CaptureBatchOperations(self.migration_context, self, table_name, schema, recreate)


def _guard(capture: Capture) -> Any:
    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if not statement.lstrip().upper().startswith(_READ_ONLY):
            capture.direct_sql.append(" ".join(statement.split()))
            raise WriteBlocked(statement)

    return before


def capture_function(module: Any, name: str, migration_context: Any, path: str | None = None) -> Capture:
    """Run ``module.<name>()`` (upgrade or downgrade) with ``op`` capturing."""
    from sqlalchemy import event

    operations = CaptureOperations(migration_context, path or getattr(module, "__file__", None))
    had_op = "op" in vars(module)
    previous = vars(module).get("op")
    online = not getattr(migration_context, "as_sql", False)
    connection = migration_context.connection if online else None  # offline: a mock that only prints
    guard = _guard(operations.capture)
    listening = connection is not None
    if listening:
        event.listen(connection, "before_cursor_execute", guard)
    module.op = operations
    # a failed read aborts a PostgreSQL transaction: keep the plan's own one usable
    nested = None
    if connection is not None and connection.dialect.name == "postgresql" and connection.in_transaction():
        nested = connection.begin_nested()
    try:
        getattr(module, name)()
    except WriteBlocked:
        operations.capture.stopped = "it writes through op.get_bind(); what follows that write is not planned"
    except (Exception, SystemExit) as exc:  # a revision that cannot be followed without running it (sys.exit too)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        operations.capture.stopped = f"{type(exc).__name__}: {first[:200]}"
    finally:
        if nested is not None:
            with contextlib.suppress(Exception):
                nested.rollback()
        if listening:
            event.remove(connection, "before_cursor_execute", guard)
        if had_op:
            module.op = previous
        else:
            with contextlib.suppress(AttributeError):
                delattr(module, "op")
    return operations.capture
