"""What really happened on the migration connection, statement by statement.

"Rolled back" may only be said after checking it.  After each statement
that writes, we ask the driver whether a transaction is still open: when it
is not, that statement (or a ``COMMIT`` in a migration, or an
``autocommit_block``) made everything before it permanent, and no later
rollback can undo it.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import event

# statements that cannot have made anything permanent by themselves
_HARMLESS = ("select", "pragma", "begin", "savepoint", "release", "show", "explain", "with")


def transaction_probe(dbapi_connection: Any) -> Callable[[Any], bool | None]:
    """A function telling whether a DBAPI connection of this kind has a transaction open (None: cannot say)."""
    if hasattr(dbapi_connection, "in_transaction") and not callable(dbapi_connection.in_transaction):
        return lambda c: bool(c.in_transaction)  # sqlite3
    if getattr(getattr(dbapi_connection, "pgconn", None), "transaction_status", None) is not None:
        # psycopg 3: libpq's own status as an int (IDLE = 0 .. UNKNOWN = 4); ``info.transaction_status``
        # says the same as an enum member made on every call, and the run asks after every statement
        return lambda c: c.pgconn.transaction_status in (1, 2, 3)
    if callable(getattr(dbapi_connection, "get_transaction_status", None)):
        return lambda c: int(c.get_transaction_status()) in (1, 2, 3)  # psycopg2
    # SQLAlchemy's async adapters: ask the driver's own connection
    driver = getattr(dbapi_connection, "driver_connection", None)
    if callable(getattr(driver, "is_in_transaction", None)):
        return lambda c: bool(c.driver_connection.is_in_transaction())  # asyncpg
    if getattr(getattr(driver, "info", None), "transaction_status", None) is not None:
        return lambda c: int(c.driver_connection.info.transaction_status) in (1, 2, 3)  # psycopg 3, async
    if hasattr(driver, "in_transaction") and not callable(driver.in_transaction):
        return lambda c: bool(c.driver_connection.in_transaction)  # aiosqlite
    return lambda c: None


def autocommit_option(connection: Any) -> bool:
    """The connection's own execution option says AUTOCOMMIT (as ``autocommit_block()`` sets it)."""
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def autocommits(connection: Any) -> bool:
    """The connection commits each statement by itself (AUTOCOMMIT), whatever SQLAlchemy's ``begin()`` says.

    Set per connection (``execution_options(isolation_level="AUTOCOMMIT")``)
    or per engine, which SQLAlchemy applies to the driver's connection only:
    then the driver's own ``autocommit`` flag says it (psycopg, psycopg2,
    asyncpg's adapter).  SQLite is left to ``runtime.sqlite``, which issues
    its own ``BEGIN``.
    """
    if autocommit_option(connection):
        return True
    if connection.dialect.name == "sqlite":
        return False
    try:
        dbapi = connection.connection.dbapi_connection
    except Exception:
        return False
    return getattr(dbapi, "autocommit", None) is True


def savepoint_possible(connection: Any) -> bool:
    """A PostgreSQL read may be fenced by a SAVEPOINT: a transaction is really open on the server."""
    return connection.dialect.name == "postgresql" and connection.in_transaction() and not autocommits(connection)


def driver_in_transaction(dbapi_connection: Any) -> bool | None:
    """Whether the DBAPI connection has a transaction open; None when the driver cannot say."""
    return transaction_probe(dbapi_connection)(dbapi_connection)


class Watch:
    """Records the statements of the current scope and those that escaped any transaction."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.statements: list[str] = []
        self.escaped: list[str] = []
        self.unknown = False  # the driver cannot tell us; never claim a rollback we cannot see
        self._probe = transaction_probe(connection.connection.dbapi_connection)
        event.listen(connection, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)
        if statement[:16].lstrip().lower().startswith(_HARMLESS):
            return
        state = self._probe(conn.connection.dbapi_connection)
        if state is None:
            self.unknown = True
        elif not state:
            self.escaped.append(statement)

    def new_scope(self) -> None:
        self.statements.clear()
        self.escaped.clear()

    def close(self) -> Callable[[], None]:
        return lambda: event.remove(self.connection, "after_cursor_execute", self._after)
