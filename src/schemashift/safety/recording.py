"""Run a revision's ``upgrade()`` while recording what each operation removes.

Why: writing a downgrade needs two things Alembic does not keep: the list of
operations ``upgrade()`` performed, and what each destructive one destroyed
(a dropped table's columns, keys and indexes; a dropped column's type; an
altered column's old type, nullability and default; a dropped index's
columns).  Only the database knows the latter, and only before the operation.

Every ``op.*`` call builds an Alembic operation object and hands it to
``Operations.invoke()``; ``RecordingOperations`` overrides that public method
to reflect the affected table, record the object, run it, and reflect again.
Batch blocks yield a ``RecordingBatchOperations`` (same public constructor
Alembic uses, sharing Alembic's batch) so the operations inside are recorded
too, with the table as it was when the block began.  SQL sent outside any
operation (``op.get_bind().execute(...)``) is noticed through SQLAlchemy's
``before_cursor_execute`` event, because its effect cannot be known.

The revision file is executed afresh into its own module and its ``op`` name
is bound to the recording instance, so ``upgrade()`` and its helpers run
unchanged; Alembic's own modules and proxies are not touched.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from alembic.operations import BatchOperations, Operations
from alembic.operations import ops as alembic_ops

from ..schema.reflection import expression_index_skips_hidden
from ..schema.sql import READ_ONLY_STATEMENTS



@dataclass
class Recorded:
    """One operation ``upgrade()`` invoked, with its table before and after it ran.

    ``before``/``after`` are reflected SQLAlchemy ``Table`` objects (``None``
    when the table did not exist); ``batch`` names the table of the batch
    block the operation was queued in.
    """

    op: Any
    table: str | None
    before: Any = None
    after: Any = None
    batch: str | None = None
    enums_created: tuple[str, ...] = ()  # PostgreSQL types the operation created on the side


@dataclass
class Recording:
    """Everything one ``upgrade()`` did."""

    operations: list[Recorded] = field(default_factory=list)
    direct_sql: list[str] = field(default_factory=list)
    dialect: str = ""


def _table_of(op: Any) -> str | None:
    if isinstance(op, alembic_ops.RenameTableOp):
        return op.table_name
    return getattr(op, "table_name", None)


class Recorder:
    """Reflects tables for, and keeps, the operations of one run."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.recording = Recording(dialect=connection.dialect.name)
        self.internal = 0  # >0 while Alembic or we run SQL on the operation's behalf

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Our own reads: not recorded, and without SQLite's skipped-expression-index warning (the
        rebuild copies those indexes from sqlite_master)."""
        self.internal += 1
        try:
            with expression_index_skips_hidden():
                yield
        finally:
            self.internal -= 1

    def reflect(self, name: str | None, schema: str | None = None) -> Any:
        """The table as a SQLAlchemy ``Table``, or ``None`` if there is none."""
        if not name:
            return None
        import sqlalchemy as sa

        with self.quiet():
            if not sa.inspect(self.connection).has_table(name, schema=schema):
                return None
            return sa.Table(name, sa.MetaData(), autoload_with=self.connection, schema=schema)

    def enum_names(self) -> set[str]:
        """PostgreSQL enum types (a CREATE TABLE may create them on the side)."""
        if self.recording.dialect != "postgresql":
            return set()
        import sqlalchemy as sa

        with self.quiet():
            return {e["name"] for e in sa.inspect(self.connection).get_enums()}

    def table_holding_index(self, index_name: str, schema: str | None = None) -> str | None:
        import sqlalchemy as sa

        with self.quiet():
            inspector = sa.inspect(self.connection)
            for table in inspector.get_table_names(schema=schema):
                if any(ix.get("name") == index_name for ix in inspector.get_indexes(table, schema=schema)):
                    return table
        return None

    def run(self, op: Any, invoke: Any, batch: str | None = None, batch_before: Any = None) -> Any:
        """Record ``op``, run it through Alembic's ``invoke``, reflect again."""
        table = batch or _table_of(op)
        if isinstance(op, alembic_ops.DropIndexOp) and not table:
            table = self.table_holding_index(op.index_name, op.schema)
        schema = getattr(op, "schema", None)
        entry = Recorded(op, table, batch=batch)
        entry.before = batch_before if batch else self.reflect(table, schema)
        self.recording.operations.append(entry)
        enums = self.enum_names()
        with self.quiet():
            result = invoke(op)
        entry.enums_created = tuple(sorted(self.enum_names() - enums))
        if not batch:
            entry.after = self.reflect(op.new_table_name if isinstance(op, alembic_ops.RenameTableOp) else table, schema)
        return result

    def on_sql(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if self.internal:
            return
        if not statement.lstrip().upper().startswith(READ_ONLY_STATEMENTS):
            self.recording.direct_sql.append(" ".join(statement.split()))


class RecordingBatchOperations(BatchOperations):
    """A batch block's operations object that records what is queued in it."""

    def __init__(self, migration_context: Any, impl: Any, recorder: Recorder, table: str, before: Any) -> None:
        super().__init__(migration_context, impl=impl)
        self._recorder = recorder
        self._table = table
        self._before = before
        self.entries_start = len(recorder.recording.operations)

    def invoke(self, operation: Any) -> Any:
        return self._recorder.run(operation, super().invoke, batch=self._table, batch_before=self._before)


class RecordingOperations(Operations):
    """``Operations`` that records each operation (see module docstring)."""

    def __init__(self, migration_context: Any, recorder: Recorder) -> None:
        super().__init__(migration_context)
        self._recorder = recorder

    def invoke(self, operation: Any) -> Any:
        return self._recorder.run(operation, super().invoke)

    @contextlib.contextmanager
    def batch_alter_table(self, table_name: str, schema: str | None = None, **kw: Any) -> Iterator[Any]:  # type: ignore[override]
        recorder = self._recorder
        before = recorder.reflect(table_name, schema)
        enums = recorder.enum_names()
        flushing = False
        try:
            with super().batch_alter_table(table_name, schema, **kw) as batch_op:
                recording = RecordingBatchOperations(
                    batch_op.migration_context, batch_op.impl, recorder, table_name, before
                )
                yield recording
                flushing = True  # Alembic runs the queued operations as the block closes
                recorder.internal += 1
        finally:
            if flushing:
                recorder.internal -= 1
        after = recorder.reflect(table_name, schema)
        entries = [e for e in recorder.recording.operations[recording.entries_start:] if e.batch == table_name]
        for entry in entries:
            entry.after = after
        if entries:  # the queued operations ran together as the block closed
            entries[0].enums_created = tuple(sorted(recorder.enum_names() - enums))


def record_upgrade(module: Any, migration_context: Any) -> Recording:
    """Run ``module.upgrade()`` on ``migration_context``'s connection, recording it."""
    from sqlalchemy import event

    connection = migration_context.connection
    recorder = Recorder(connection)
    operations = RecordingOperations(migration_context, recorder)
    had_op = "op" in vars(module)
    previous = vars(module).get("op")
    module.op = operations
    event.listen(connection, "before_cursor_execute", recorder.on_sql)
    try:
        module.upgrade()
    finally:
        event.remove(connection, "before_cursor_execute", recorder.on_sql)
        if had_op:
            module.op = previous
    return recorder.recording
