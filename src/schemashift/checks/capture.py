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

from . import table_result
from ..runtime.watch import savepoint_possible
from ..schema.sql import READ_ONLY_STATEMENTS

_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK")  # the capture's own savepoint, not a read of the revision
STOPPED_BY_WRITE = "it writes through op.get_bind(); what follows that write is not planned"


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
    reads: int = 0  # statements the function sent to the database (it may decide from what it read)
    failed: bool = False  # the function raised: what it would do after that is unknown

    @property
    def depends_on_state(self) -> bool:
        """What the function does may change with the database it runs on: it read it, or it raised."""
        return self.reads > 0 or self.failed


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
            if table_result.result_discarded() and table_result.may_skip(operation, self.migration_context):
                return None  # a table nobody could see (``table_result``)
            return operation.to_table(self.migration_context)
        return None

    @contextlib.contextmanager
    def batch_alter_table(self, table_name: str, schema: str | None = None, recreate: str = "auto",  # type: ignore[override]
                          **kw: Any) -> Iterator[Any]:
        yield CaptureBatchOperations(self.migration_context, self, table_name, schema, recreate)


class _Guard:
    """Stops a write sent outside an operation before it reaches the database, keeping its SQL."""

    def __init__(self) -> None:
        self.capture: Capture | None = None

    def __call__(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if self.capture is None:
            return
        head = statement.lstrip().upper()
        if not head.startswith(READ_ONLY_STATEMENTS):
            self.capture.direct_sql.append(" ".join(statement.split()))
            # said here, not only where WriteBlocked lands: a revision may catch it (``except Exception``)
            # and go on down a path it would not take when the write succeeds
            self.capture.stopped = self.capture.stopped or STOPPED_BY_WRITE
            raise WriteBlocked(statement)
        if not head.startswith(_BOOKKEEPING):
            self.capture.reads += 1


class Listening:
    """The connection's listeners for a whole plan, installed once (each costs SQLAlchemy some work)."""

    def __init__(self, connection: Any) -> None:
        from sqlalchemy import event

        self.connection = connection
        self.guard = _Guard()
        self.savepoint = _SavepointOnFirstUse(connection) if connection.dialect.name == "postgresql" else None
        event.listen(connection, "before_cursor_execute", self.guard)
        if self.savepoint is not None:
            event.listen(connection, "before_execute", self.savepoint)

    def begin(self, capture: Capture) -> None:
        self.guard.capture = capture
        if self.savepoint is not None:
            self.savepoint.nested = None
            self.savepoint.active = True

    def end(self) -> None:
        self.guard.capture = None
        if self.savepoint is not None:
            self.savepoint.active = False
            self.savepoint.end()

    def close(self) -> None:
        from sqlalchemy import event

        self.end()
        with contextlib.suppress(Exception):
            event.remove(self.connection, "before_cursor_execute", self.guard)
        if self.savepoint is not None:
            with contextlib.suppress(Exception):
                event.remove(self.connection, "before_execute", self.savepoint)


class _SavepointOnFirstUse:
    """A failed read aborts a PostgreSQL transaction: the first statement a
    revision sends opens a savepoint, rolled back when the capture ends, so the
    run's transaction stays usable.  A revision that sends nothing (most of
    them) costs no round trip."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.nested: Any = None
        self.opening = False
        self.active = True

    def __call__(self, conn: Any, *args: Any) -> None:
        if self.active and self.nested is None and not self.opening and savepoint_possible(conn):
            self.opening = True  # begin_nested() sends SAVEPOINT through this very event
            try:
                self.nested = conn.begin_nested()
            finally:
                self.opening = False

    def end(self) -> None:
        if self.nested is not None:
            with contextlib.suppress(Exception):
                self.nested.rollback()
            self.nested = None


@contextlib.contextmanager
def _no_autocommit() -> Iterator[None]:
    """While capturing, an ``autocommit_block()`` commits nothing: the operations in it are captured."""
    yield


def capture_function(
    module: Any, name: str, migration_context: Any, path: str | None = None, listening: Listening | None = None
) -> Capture:
    """Run ``module.<name>()`` (upgrade or downgrade) with ``op`` capturing.

    ``listening``: the plan's listeners on the connection (else installed for this call only).
    """
    table_result.calibrate(migration_context)
    operations = CaptureOperations(migration_context, path or getattr(module, "__file__", None))
    had_op = "op" in vars(module)
    previous = vars(module).get("op")
    online = not getattr(migration_context, "as_sql", False)
    connection = migration_context.connection if online else None  # offline: a mock that only prints
    own_listening = listening is None and connection is not None
    if own_listening:
        listening = Listening(connection)
    if listening is not None:
        listening.begin(operations.capture)
    module.op = operations
    own_autocommit = vars(migration_context).get("autocommit_block")
    migration_context.autocommit_block = _no_autocommit
    try:
        getattr(module, name)()
    except WriteBlocked:
        operations.capture.stopped = STOPPED_BY_WRITE
    except (Exception, SystemExit) as exc:  # a revision that cannot be followed without running it (sys.exit too)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        operations.capture.stopped = f"{type(exc).__name__}: {first[:200]}"
        operations.capture.failed = True
    finally:
        if own_autocommit is not None:
            migration_context.autocommit_block = own_autocommit
        else:
            with contextlib.suppress(AttributeError):
                del migration_context.autocommit_block
        if listening is not None:
            listening.close() if own_listening else listening.end()
        if had_op:
            module.op = previous
        else:
            with contextlib.suppress(AttributeError):
                delattr(module, "op")
    return operations.capture
