"""The ledger: every applied step, with a checksum of the file that ran.

Alembic stores only the current revision id, so a migration edited after it
was applied goes unnoticed.  Beside the version table we keep one row per
step (revision, direction, checksum, when, how long, tool version), written
in the same transaction as the step itself.  ``validate`` compares the
checksums of applied revisions with their files today.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, select
from sqlalchemy.engine import BindTyping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable

from ..revisions.checksum import file_checksum
from . import ledger_place
from .ledger_place import DEFAULT_TABLE, OWN_SCHEMA

LEDGER_OPTION = "schemashift.ledger_table"

UP, DOWN, STAMP, ADOPT = "up", "down", "stamp", "adopt"
#: a reviewed edit of an applied file: the row's checksum is the new baseline, and
#: its ``tool_version`` says who accepted it ("accepted by USER@HOST")
ACCEPT = "accept"


def checksum(path: str | Path) -> str:
    """sha256 of a revision file, blind to line endings and trailing blank lines."""
    return file_checksum(Path(path).read_bytes())


_TOOL_VERSION = ""


def _tool_version() -> str:
    global _TOOL_VERSION
    from .. import __version__

    _TOOL_VERSION = f"schemashift {__version__}"
    return _TOOL_VERSION


def ledger_table(name: str = DEFAULT_TABLE, schema: str | None = None) -> Table:
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("revision", String(64), nullable=False, index=True),
        Column("direction", String(8), nullable=False),
        Column("checksum", String(64)),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        Column("duration_ms", Integer),
        Column("tool_version", String(40)),
        schema=schema,
    )


@dataclass
class Entry:
    revision: str
    direction: str
    checksum: str | None
    applied_at: dt.datetime
    duration_ms: int | None
    tool_version: str | None


class Ledger:
    """Reads and writes the ledger through a migration connection.

    The ledger lives in its own schema (PostgreSQL) or an attached sidecar
    file (SQLite) so plain ``alembic check`` never sees it; see
    ``ledger_place``.  ``prepare(connection)`` must be called on the migration
    connection before any transaction begins (SQLite cannot ATTACH inside
    one); without it the SQLite ledger falls back to the database's own
    schema.  A ledger an older release left in the default schema is still
    read, and moved to its place by ``prepare`` or ``create``.
    """

    def __init__(self, name: str = DEFAULT_TABLE, schema: str | None = OWN_SCHEMA, *, explicit: bool = False) -> None:
        self.name = name
        self.schema = schema
        self.explicit = explicit  # a schema the config names is used on every dialect
        self.table = ledger_table(name, schema)
        self.legacy = ledger_table(name, None)
        self.staging = ledger_table(name, "main")  # SQLite: rows of a run waiting in the main file
        self._pg_table: Table | None = None
        self._ready: set[int] = set()
        self._writing: dict[int, Table] = {}  # connection -> the table its rows go to
        self._inserts: dict[str, RowInsert] = {}
        self._staging: dict[int, str] = {}  # connection -> its staging table's DDL (rows wait in the main file)
        self._not_staging: set[int] = set()
        self._staged: list[dict[str, Any]] = []

    @classmethod
    def for_config(cls, config: Any) -> "Ledger":
        name = (config.get_main_option(LEDGER_OPTION) if config is not None else None) or DEFAULT_TABLE
        schema, explicit = ledger_place.configured_schema(config)
        return cls(name, schema, explicit=explicit)

    # ------------------------------------------------------------ where

    def prepare(self, connection: Any, *, create: bool = True) -> None:
        """Before any transaction on ``connection``: make the ledger reachable.

        On SQLite, ATTACH the sidecar file (``create=False``: only if it
        exists, so reads never write) and move an older release's ledger into
        it, copy first and drop second, each committed on its own (safe in WAL
        mode too; a repeat copies nothing twice).  Elsewhere nothing to do.
        """
        if self.schema is None or connection.dialect.name != "sqlite":
            return
        if connection.in_transaction():
            ledger_place.sqlite_attach(connection, self.schema, create=create)
            return  # someone else's transaction: create() moves the old ledger inside it
        try:
            if not ledger_place.sqlite_attach(connection, self.schema, create=create):
                return
            if create and self._has(connection, self.legacy):
                connection.commit()
                with connection.begin():
                    self.table.create(connection, checkfirst=True)
                    self._copy_legacy(connection, self.table)
                with connection.begin():
                    self.legacy.drop(connection)
                self._staging.clear()
                self._staged.clear()
        finally:
            if connection.in_transaction():  # the reads above auto-began one: leave none behind
                connection.commit()

    def place(self, connection: Any) -> Table:
        """The table the ledger lives in on this connection."""
        dialect = connection.dialect.name
        if self.schema is None or (not self.explicit and dialect not in ledger_place.OWN_SCHEMA_DIALECTS):
            return self.legacy
        if dialect == "sqlite":
            # readers that never called prepare(): attach an existing sidecar if SQLite allows it now
            attached = ledger_place.sqlite_attached(connection, self.schema) or ledger_place.sqlite_attach(
                connection, self.schema, create=False
            )
            return self.table if attached else self.legacy
        if dialect == "postgresql" and not self.explicit:
            if self._pg_table is None:
                own = ledger_place.postgresql_own_schema(connection, self.schema)
                self._pg_table = ledger_table(self.name, own) if own else self.legacy
            return self._pg_table
        return self.table

    def _has(self, connection: Any, table: Table) -> bool:
        return inspect(connection).has_table(table.name, schema=table.schema)

    # -------------------------------------------------------------- API

    def exists(self, connection: Any) -> bool:
        """A ledger can be read here (at its place, or where an older release left it)."""
        table = self.place(connection)
        return self._has(connection, table) or (table is not self.legacy and self._has(connection, self.legacy))

    def presence(self, connection: Any) -> tuple[bool, bool]:
        """(a ledger can be read here, ``create`` has something to do), in one or two catalog reads."""
        table = self.place(connection)
        here = self._has(connection, table)
        legacy = table is not self.legacy and self._has(connection, self.legacy)
        if here and not legacy:
            self._ready.add(id(connection))
        return here or legacy, not here or legacy

    def create(self, connection: Any) -> bool:
        """Create the ledger at its place (in the current transaction), moving an older one in.

        Idempotent; True when it changed anything.
        """
        table = self.place(connection)
        changed = False
        if not self._has(connection, table):
            if table.schema is not None and connection.dialect.name == "postgresql":
                ledger_place.postgresql_create_schema(connection, table.schema)
            table.create(connection)
            changed = True
        if table is not self.legacy and self._has(connection, self.legacy):
            self._copy_legacy(connection, table)
            if not (connection.dialect.name == "sqlite" and ledger_place.sqlite_wal(connection)):
                # WAL commits each file on its own: the old table stays until prepare() moves it
                self.legacy.drop(connection)
            changed = True
        self._ready.add(id(connection))
        return changed

    def record(
        self,
        connection: Any,
        revision: str,
        direction: str,
        *,
        path: str | None,
        duration_ms: int | None = None,
        file_checksum: str | None = None,
        stage: bool = False,
        defer: bool = False,
    ) -> None:
        """One ledger row.  ``file_checksum``: the file's checksum when the caller knows it already
        (the run takes it from the revision index); otherwise the file at ``path`` is hashed.

        ``stage``: more steps follow in transactions of their own.  On SQLite
        the row then waits in a table of the main file, committed with its
        step, and ``unstage`` moves it into the sidecar with the run's last
        step: a commit writing both files costs SQLite a super-journal and
        about twice the syncs, once per run instead of once per step.

        ``defer``: the step's transaction ends with a commit the run will
        make; where the driver allows (``RowInsert.defer``), the row is sent
        in the same message as that ``COMMIT`` (``send_with_commit``).
        """
        key = id(connection)
        table = self._writing.get(key)
        if table is None:
            table = self.place(connection)
            if key not in self._ready:
                if not self._has(connection, table):
                    self.create(connection)
                self._ready.add(key)
            if table is not self.legacy or connection.dialect.name != "sqlite":
                self._writing[key] = table  # SQLite: until the sidecar is attached, ask again
        if file_checksum is None and path and Path(path).exists():
            file_checksum = checksum(path)
        row = {
            "revision": revision,
            "direction": direction,
            "checksum": file_checksum,
            "applied_at": dt.datetime.now(dt.timezone.utc),
            "duration_ms": duration_ms,
            "tool_version": _TOOL_VERSION or _tool_version(),
        }
        if stage and self._stages(connection, table):
            table = self.staging
        insert = self._insert_for(table, connection.dialect)
        if defer and insert.defer(connection, row):
            return
        insert.run(connection, row)
        if table is self.staging:
            self._staged.append(row)

    def _insert_for(self, table: Table, dialect: Any) -> "RowInsert":
        """The row INSERT for ``table``, compiled once per table and dialect."""
        insert = self._inserts.get(table.key)
        if insert is None or insert.dialect is not dialect:
            insert = self._inserts[table.key] = RowInsert(table, dialect)
        return insert

    # ------------------------------------------------------- SQLite staging

    def _stages(self, connection: Any, table: Table) -> bool:
        """Whether this step's row may wait in the main file (see ``record``'s ``stage``).

        Only for the SQLite sidecar in a rollback-journal mode (there a commit
        touching both files pays SQLite's super-journal; in WAL mode the files
        commit one by one and staging would not keep its promise), on a file
        database, inside a transaction.  The staging table is created on first
        use, in this step's transaction, through the driver (the run's
        statement watch reports the migration's statements, not ours).
        """
        key = id(connection)
        ddl = self._staging.get(key)
        if ddl is not None:
            # again before every row: a migration that dropped the table (reflect and drop all) cannot fail
            # the next step's row; the rows it took are written again from memory by unstage
            connection.connection.dbapi_connection.execute(ddl)
            return True
        if (
            table is self.legacy
            or connection.dialect.name != "sqlite"
            or key in self._not_staging
            or not connection.in_transaction()
        ):
            return False
        dbapi = connection.connection.dbapi_connection
        main = ledger_place.sqlite_main_file(connection)
        if not main or ledger_place.sidecar_path(main) == ":memory:" or ledger_place.sqlite_wal(connection):
            self._not_staging.add(key)
            return False
        ddl = str(CreateTable(self.staging, if_not_exists=True).compile(dialect=connection.dialect))
        dbapi.execute(ddl)
        self._staging[key] = ddl
        return True

    def staging_left(self) -> bool:
        """Rows of this run still wait in SQLite's main file (the run stopped before its last step)."""
        return bool(self._staging)

    def unstage(self, connection: Any) -> None:
        """Move the rows this run staged in the main file into the sidecar, and drop the staging table.

        Runs in the transaction of the run's last step, before that step's
        own row, so the move commits with that step (one commit across both
        files per run, not one per step) and the rows keep the order the
        steps ran in.  When the table holds exactly what this run wrote (as
        always, unless a migration touched it), one ``INSERT ... SELECT``
        moves it; otherwise what it holds that this run did not write goes
        first, kept, and this run's rows follow exactly as they were written
        (from memory: a migration may have deleted or changed them).  Rows a
        run that stopped half way left there are moved by ``prepare`` at the
        next run's start, and ``entries`` reads them meanwhile.
        """
        key = id(connection)
        if key not in self._staging:
            return
        dbapi = connection.connection.dbapi_connection
        dialect = connection.dialect
        main = dialect.identifier_preparer.format_table(self.staging)
        side = dialect.identifier_preparer.format_table(self.table)
        columns = ", ".join(_ROW_KEYS)
        staged, self._staged = self._staged, []
        self._staging.pop(key, None)
        exists = dbapi.execute(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?", (self.legacy.name,)
        ).fetchone()
        held = dbapi.execute(f"SELECT {columns} FROM {main} ORDER BY id").fetchall() if exists else []
        insert = self._insert_for(self.table, dialect)
        when = self.table.c.applied_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        mine = [tuple(when(row[k]) if k == "applied_at" else row[k] for k in _ROW_KEYS) for row in staged]
        found = [tuple(r) for r in held]
        if found == mine:  # as always, unless something else touched the table: one statement
            if held:
                dbapi.execute(f"INSERT INTO {side} ({columns}) SELECT {columns} FROM {main} ORDER BY id")
        else:  # rows another run left first, then this run's rows exactly as they were written
            ours = {(r[0], r[1], r[3]) for r in mine}
            marks = ", ".join("?" for _ in _ROW_KEYS)
            dbapi.executemany(f"INSERT INTO {side} ({columns}) VALUES ({marks})",
                              [r for r in found if (r[0], r[1], r[3]) not in ours])
            for row in staged:
                insert.run(connection, row)
        if exists:
            dbapi.execute(f"DROP TABLE {main}")

    def send_with_commit(self, connection: Any) -> None:
        """``connection`` is about to commit: send a row deferred to that commit, with the ``COMMIT``."""
        for insert in self._inserts.values():
            if insert.deferred is not None:
                insert.send_with_commit(connection)

    def forget_deferred(self) -> None:
        """The transaction a deferred row waited for was rolled back: the row goes with it."""
        for insert in self._inserts.values():
            insert.deferred = None

    def close(self) -> None:
        """The run is over: let go of any row still waiting for a commit, and of the cursors kept for the rows."""
        self.forget_deferred()
        for insert in self._inserts.values():
            insert.close()

    def adopt(self, connection: Any, revisions: Iterable[Any], checksum_of: ChecksumOf | None = None) -> int:
        """Mark revisions a database already has (migrated by plain Alembic) as adopted.

        Revisions the ledger already records (e.g. moved from an older
        release's ledger) are left as they are.
        """
        known = set(last_applied(self.entries(connection))) if self.exists(connection) else set()
        count = 0
        for rev in revisions:
            if rev.revision in known:
                continue
            path = getattr(rev, "path", None)
            self.record(connection, rev.revision, ADOPT, path=path,
                        file_checksum=checksum_of(path) if checksum_of is not None and path else None)
            count += 1
        return count

    def accept(self, connection: Any, revision: str, path: str, who: str) -> str:
        """Record the checksum ``path`` has now as ``revision``'s baseline; return it."""
        value = checksum(path)
        connection.execute(
            self.table.insert().values(
                revision=revision,
                direction=ACCEPT,
                checksum=value,
                applied_at=dt.datetime.now(dt.timezone.utc),
                duration_ms=None,
                tool_version=f"accepted by {who}"[:40],
            )
        )
        return value

    def entries(self, connection: Any) -> list[Entry]:
        table = self.place(connection)
        rows = self._read(connection, table) if self._has(connection, table) else []
        if table is not self.legacy and self._has(connection, self.legacy):
            # an older release's ledger (older rows), or rows a SQLite run staged (newer rows): in time order
            have = {_key(e) for e in rows}
            rows = sorted([e for e in self._read(connection, self.legacy) if _key(e) not in have] + rows, key=_when)
        return rows

    def baselines(self, connection: Any, *, legacy: bool = True) -> dict[str, str | None]:
        """For each revision, the checksum its file must match (as ``baselines(entries)``), reading
        only the columns that says.  ``legacy=False``: the caller knows no older release's ledger is left."""
        table = self.place(connection)
        if legacy and table is not self.legacy and self._has(connection, self.legacy):
            return {rev: entry.checksum for rev, entry in baselines(self.entries(connection)).items()}
        if not self._has(connection, table):
            return {}
        c = table.c
        rows = connection.execute(select(c.revision, c.direction, c.checksum).order_by(c.id))
        return {rev: value for rev, direction, value in rows if direction in _BASELINE}

    def _read(self, connection: Any, table: Table) -> list[Entry]:
        result = connection.execute(select(table).order_by(table.c.id)).mappings()
        return [
            Entry(r["revision"], r["direction"], r["checksum"], r["applied_at"], r["duration_ms"], r["tool_version"])
            for r in result
        ]

    def _copy_legacy(self, connection: Any, table: Table) -> None:
        have = {_key(e) for e in self._read(connection, table)}
        for entry in self._read(connection, self.legacy):
            if _key(entry) not in have:
                connection.execute(table.insert().values(**entry.__dict__))


#: dialects whose driver is handed SQLAlchemy's compiled INSERT text and processed values
#: and nothing else (no setinputsizes, no per-execution rewriting)
DRIVER_SQL_DIALECTS = ("sqlite", "postgresql")


class RowInsert:
    """The ledger's INSERT of one row, compiled once per table and dialect, run once per step.

    A run writes a row in every step's own transaction, so the rows cannot be
    sent as one batch; what can be saved is SQLAlchemy's work around every row
    (cache key, execution context, result), which costs more than the driver's
    own.  Where the driver takes what SQLAlchemy would send
    (``DRIVER_SQL_DIALECTS``) the compiled text and the column types' bind
    processors go straight to a cursor of the step's connection (a failure is
    raised as the ``DBAPIError`` SQLAlchemy raises; ``exec_driver_sql`` for an
    async driver); without ``RETURNING`` the new id, which nobody reads.  An
    INSERT cannot end a transaction, so the run's statement watch loses nothing
    by not seeing it.  Anywhere else, and on a connection whose
    ``schema_translate_map`` would rename the table, the plain ``execute`` runs.
    """

    def __init__(self, table: Table, dialect: Any) -> None:
        self.table = table
        self.dialect = dialect
        self.statement = table.insert()
        self.sql: str | None = None
        self.order: tuple[str, ...] | None = None
        self.processors: dict[str, Any] = {}
        self._cursor: tuple[Any, Any] | None = None  # (DBAPI connection, its cursor kept for the rows)
        # rows waiting for their transaction's COMMIT: (DBAPI connection, SQLAlchemy transaction, INSERTs)
        self.deferred: tuple[Any, Any, list[str]] | None = None
        self.execute_options: dict[str, Any] = {}
        if dialect.name in DRIVER_SQL_DIALECTS and dialect.bind_typing != BindTyping.SETINPUTSIZES:
            compiled = table.insert().inline().compile(dialect=dialect, column_keys=list(_ROW_KEYS))
            names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
            if sorted(names) == sorted(_ROW_KEYS):
                self.sql = str(compiled)
                self.order = tuple(names) if compiled.positional else None
                if self.order is None and dialect.paramstyle == "pyformat":
                    # the same statement with positional parameters: the driver then takes a tuple as it
                    # is, instead of checking and reordering a dict on every row
                    order = re.findall(r"%\((\w+)\)s", self.sql)
                    if sorted(order) == sorted(_ROW_KEYS):
                        self.sql = re.sub(r"%\((\w+)\)s", "%s", self.sql)
                        self.order = tuple(order)
                if dialect.driver == "psycopg":
                    # psycopg prepares a statement run five times, and forgets it at every DDL (each
                    # step's): a DEALLOCATE and a PREPARE more per step for a row sent once
                    self.execute_options = {"prepare": False}
                for key in _ROW_KEYS:
                    process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
                    if process is not None:
                        self.processors[key] = process
        # a row may wait for its COMMIT (``defer``): positional SQL for psycopg's sync driver
        self.deferrable = (self.sql is not None and self.order is not None and dialect.driver == "psycopg"
                           and not dialect.is_async)

    def driver_params(self, row: dict[str, Any]) -> Any:
        """``row`` as the driver receives it from SQLAlchemy: processed, in the statement's order."""
        processors = self.processors
        if self.order is not None:
            return tuple([row[k] if k not in processors else processors[k](row[k]) for k in self.order])
        return {k: (v if k not in processors else processors[k](v)) for k, v in row.items()}

    def run(self, connection: Any, row: dict[str, Any], *, fast: bool = True) -> None:
        if not fast or self.sql is None or connection.get_execution_options().get("schema_translate_map"):
            connection.execute(self.statement, row)
        elif self.dialect.is_async:
            connection.exec_driver_sql(self.sql, self.driver_params(row))
        else:
            self._on_cursor(connection, self.driver_params(row))

    def defer(self, connection: Any, row: dict[str, Any]) -> bool:
        """Keep ``row`` to be sent with its transaction's ``COMMIT``; False where that cannot be done.

        Each step of a run on PostgreSQL costs Alembic four round trips to the
        server (BEGIN, the DDL, the version row, COMMIT); a ledger row sent on
        its own was a fifth, and the largest part of schemashift's cost per
        step.  psycopg sends a query without parameters as one simple-protocol
        message, which may hold several statements: the row, its values
        written as literals (``_string_literal``), goes in the message that
        commits (``send_with_commit``), run by the server in order inside the
        step's transaction.  Only for psycopg on a connection really inside a
        transaction (libpq says so), not in pipeline mode, with no schema
        renaming; the caller runs the row at once otherwise.
        """
        if not self.deferrable:
            return False
        if connection.get_execution_options().get("schema_translate_map"):
            return False
        dbapi = connection.connection.dbapi_connection
        pgconn = getattr(dbapi, "pgconn", None)
        if pgconn is None or dbapi.autocommit or pgconn.transaction_status != _INTRANS or _in_pipeline(pgconn):
            return False
        values = []
        for value in self.driver_params(row):
            if value is None:
                values.append("NULL")
            elif type(value) is int:
                values.append(str(value))
            else:
                values.append(_string_literal(value.isoformat() if isinstance(value, dt.datetime) else str(value)))
        text = self.sql % tuple(values)
        transaction = connection.get_transaction()
        waiting = self.deferred
        if waiting is not None and waiting[0] is dbapi and waiting[1] is transaction:
            waiting[2].append(text)  # a merge step: a row for each revision it joins
        else:
            self.deferred = (dbapi, transaction, [text])
        return True

    def send_with_commit(self, connection: Any) -> None:
        """``connection`` commits: the deferred row and the ``COMMIT`` go as one message.

        psycopg's own ``commit()``, which SQLAlchemy calls next, then finds no
        transaction open and sends nothing.  A failure (the row, or the commit
        itself: a deferred constraint) is raised as SQLAlchemy raises a failed
        commit, a ``DBAPIError`` without a statement; the server has then
        rolled back or holds a failed transaction that the caller rolls back.
        """
        if self.deferred is None:
            return
        dbapi, transaction, texts = self.deferred
        if dbapi is not connection.connection.dbapi_connection:
            return  # another connection commits: the row waits for its own
        self.deferred = None
        if transaction is not connection.get_transaction():
            return  # not the row's transaction (it ended without a rollback we saw): nothing of it to commit
        base = self.dialect.loaded_dbapi.Error
        cursor = self._cursor_of(dbapi)
        try:
            cursor.execute("; ".join(texts) + "; COMMIT", prepare=False, binary=False)  # text: the simple protocol
        except base as exc:
            self.close()
            # as when COMMIT itself fails: no transaction left open (a refused row leaves it aborted)
            with contextlib.suppress(Exception):
                dbapi.rollback()
            raise DBAPIError.instance(None, None, exc, base, dialect=self.dialect) from exc
        except BaseException:
            self.close()
            raise

    def _cursor_of(self, dbapi: Any) -> Any:
        kept = self._cursor
        if kept is not None and kept[0] is dbapi:
            return kept[1]
        self.close()  # another connection's cursor, if any
        cursor = dbapi.cursor()
        self._cursor = (dbapi, cursor)
        return cursor

    def _on_cursor(self, connection: Any, params: Any) -> None:
        """The row through a cursor of the step's own DBAPI connection (its transaction), a driver
        error raised as the ``DBAPIError`` SQLAlchemy would have raised, naming the statement.

        One cursor per DBAPI connection serves every step (making one costs psycopg more than
        sending the row); a new one after a failure, or on another connection."""
        cursor = self._cursor_of(connection.connection.dbapi_connection)
        base = self.dialect.loaded_dbapi.Error
        try:
            cursor.execute(self.sql, params, **self.execute_options)
        except base as exc:
            self.close()
            raise DBAPIError.instance(self.sql, params, exc, base, dialect=self.dialect) from exc
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let the kept cursor go."""
        kept, self._cursor = self._cursor, None
        if kept is not None:
            try:
                kept[1].close()
            except Exception:  # the connection went first
                pass


#: libpq's PQTRANS_INTRANS (``psycopg.pq.TransactionStatus.INTRANS``): inside a transaction block, idle
_INTRANS = 2


def _in_pipeline(pgconn: Any) -> bool:
    """libpq's pipeline mode is on (psycopg's ``pipeline()``): there every query takes the extended
    protocol, which refuses several statements in one query."""
    try:
        return bool(pgconn.pipeline_status)
    except Exception:  # a libpq before 14 has no pipeline mode
        return False


def _string_literal(text: str) -> str:
    """``text`` as a PostgreSQL string constant, whatever ``standard_conforming_strings`` says.

    In an escape string constant (``E'...'``) a backslash escapes in either
    setting, so doubling backslashes and quotes is all it takes; the
    constant stays untyped, so the column's type reads it (a timestamp,
    here).  psycopg sends the text in the connection's encoding, as it
    does a bound value's.
    """
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


_ROW_KEYS = ("revision", "direction", "checksum", "applied_at", "duration_ms", "tool_version")


def _when(entry: Entry) -> dt.datetime:
    return entry.applied_at.replace(tzinfo=None) if entry.applied_at is not None else dt.datetime.min


def _key(entry: Entry) -> tuple[Any, ...]:
    when = entry.applied_at.replace(tzinfo=None) if entry.applied_at is not None else None
    return (entry.revision, entry.direction, entry.checksum, when)


@dataclass
class Finding:
    revision: str
    problem: str  # "changed", "missing", "unrecorded"
    path: str | None
    recorded: str | None = None
    actual: str | None = None

    def one_line(self) -> str:
        if self.problem == "changed":
            return f"{self.revision}: {self.path} changed since it was applied"
        if self.problem == "missing":
            return f"{self.revision}: applied, but its file is missing"
        return f"{self.revision}: applied, but not in the ledger (no checksum to compare)"


@dataclass
class ValidationReport:
    applied: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ledger_exists: bool = True

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.problem in ("changed", "missing")]

    @property
    def ok(self) -> bool:
        return not self.failed


def last_applied(entries: list[Entry]) -> dict[str, Entry]:
    """For each revision, the latest entry that put it in place (up, stamp or adopt)."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        if entry.direction in (UP, STAMP, ADOPT):
            latest[entry.revision] = entry
    return latest


_BASELINE = (UP, STAMP, ADOPT, ACCEPT)


def baselines(entries: list[Entry]) -> dict[str, Entry]:
    """For each revision, the latest entry whose checksum the file must match (``last_applied``
    plus accepted edits)."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        if entry.direction in _BASELINE:
            latest[entry.revision] = entry
    return latest


ChecksumOf = Callable[[str], "str | None"]  # a file's checksum when already known (None: hash the file)


def validate(
    applied: list[Any], entries: list[Entry], known_ids: set[str], *, checksum_of: ChecksumOf | None = None
) -> ValidationReport:
    """Compare what was applied with the files now.

    ``applied``: revision objects (with ``path``) that the database has;
    ``known_ids``: ids the version table holds, including any without a file.
    """
    recorded = {rev: entry.checksum for rev, entry in baselines(entries).items()}
    return validate_recorded(applied, recorded, known_ids, checksum_of=checksum_of)


def validate_recorded(
    applied: list[Any], recorded: dict[str, str | None], known_ids: set[str], *, checksum_of: ChecksumOf | None = None
) -> ValidationReport:
    """``validate`` from each revision's baseline checksum (``Ledger.baselines``)."""
    report = ValidationReport(applied=[r.revision for r in applied])
    for missing in sorted(known_ids - {r.revision for r in applied}):
        report.findings.append(Finding(missing, "missing", None))
    for rev in applied:
        expected = recorded.get(rev.revision)
        path = getattr(rev, "path", None)
        if path is None or not os.path.exists(path):
            report.findings.append(Finding(rev.revision, "missing", path))
        elif expected is None:
            report.findings.append(Finding(rev.revision, "unrecorded", path))
        else:
            actual = (checksum_of(path) if checksum_of is not None else None) or checksum(path)
            if actual != expected:
                report.findings.append(Finding(rev.revision, "changed", path, expected, actual))
    return report
