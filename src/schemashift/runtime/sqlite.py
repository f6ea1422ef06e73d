"""Real transactions and a per-transaction foreign-key mode on SQLite.

Python's sqlite3 driver only opens a transaction before DML, so DDL would
run in autocommit and a failed migration would leave half its tables behind.
The fix is SQLAlchemy's documented pysqlite recipe: turn off the driver's own
transaction handling and emit ``BEGIN`` whenever SQLAlchemy begins.  If the
project's engine already does that itself (``isolation_level=None`` plus its
own "begin" listener), its ``BEGIN`` is the one that runs.

Foreign keys: the user's setting holds, except in a transaction that
rebuilds a table, which SQLite requires to run with enforcement off.  The
pragma is a no-op inside a transaction, so it is set right before ``BEGIN``.
Nothing is committed here: the run decides every boundary.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .watch import autocommit_option, transaction_probe


class SqliteTransactions:
    """The SQLite side of a run on one connection."""

    def __init__(self, connection: Any) -> None:
        self.dbapi = connection.connection.dbapi_connection
        # sqlite3 says whether a transaction is open; under SQLAlchemy's aiosqlite adapter the
        # connection it wraps does (the statement watch asks the same way)
        self._probe = transaction_probe(self.dbapi)
        self.pysqlite = hasattr(self.dbapi, "isolation_level")
        self.user_foreign_keys = bool(self._scalar("PRAGMA foreign_keys"))
        self.foreign_keys = self.user_foreign_keys
        self.previous_isolation = self.dbapi.isolation_level if self.pysqlite else None
        # the pysqlite recipe: the engine's own "begin" listener emits BEGIN
        self.user_begins = self.pysqlite and self.previous_isolation is None
        if self.pysqlite:
            self.dbapi.isolation_level = None

    @property
    def in_transaction(self) -> bool:
        return bool(self._probe(self.dbapi))

    @property
    def transactional(self) -> bool:
        return self.pysqlite

    def _scalar(self, sql: str) -> Any:
        row = self.dbapi.execute(sql).fetchone()
        return row[0] if row else None

    def set_foreign_keys(self, on: bool) -> None:
        """Only outside a transaction (SQLite ignores the pragma inside one)."""
        if on != self.foreign_keys and not self.in_transaction:
            self.dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
            self.foreign_keys = on

    def before_begin(self, connection: Any, rebuilds: bool) -> None:
        """SQLAlchemy is beginning a transaction: set its foreign-key mode, then BEGIN."""
        if autocommit_option(connection) or self.in_transaction:
            return  # an autocommit_block(): no transaction wanted, or one is already open
        self.set_foreign_keys(self.user_foreign_keys and not rebuilds)
        if self.pysqlite and not self.user_begins:
            self._begin_immediate(connection.dialect)

    def _begin_immediate(self, dialect: Any) -> None:
        """``BEGIN IMMEDIATE`` on the driver connection (every step begins: SQLAlchemy's execution
        around it costs more than the statement); a busy database raised as SQLAlchemy's ``DBAPIError``."""
        base = dialect.loaded_dbapi.Error
        try:
            self.dbapi.execute("BEGIN IMMEDIATE")
        except base as exc:
            from sqlalchemy.exc import DBAPIError

            raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, base, dialect=dialect) from exc

    def begin_now(self, rebuilds: bool) -> None:
        """env.py began its transaction before configure(): make it a real one now."""
        if self.in_transaction:
            return
        self.set_foreign_keys(self.user_foreign_keys and not rebuilds)
        if self.pysqlite:
            self.dbapi.execute("BEGIN IMMEDIATE")

    def foreign_key_violations(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.dbapi.execute("PRAGMA foreign_key_check").fetchall()]

    def restore(self) -> None:
        with contextlib.suppress(Exception):  # the connection may be closed already
            if self.in_transaction:
                return
            self.set_foreign_keys(self.user_foreign_keys)
            if self.pysqlite:
                self.dbapi.isolation_level = self.previous_isolation
