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


def driver_in_transaction(dbapi_connection: Any) -> bool | None:
    """Whether the DBAPI connection has a transaction open; None when the driver cannot say."""
    if hasattr(dbapi_connection, "in_transaction") and not callable(dbapi_connection.in_transaction):
        return bool(dbapi_connection.in_transaction)  # sqlite3
    info = getattr(dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    if status is not None:  # psycopg 3: IDLE = 0, ACTIVE, INTRANS, INERROR, UNKNOWN = 4
        return int(status) in (1, 2, 3)
    get_status = getattr(dbapi_connection, "get_transaction_status", None)
    if callable(get_status):  # psycopg2: IDLE = 0 .. UNKNOWN = 4
        return int(get_status()) in (1, 2, 3)
    return None


class Watch:
    """Records the statements of the current scope and those that escaped any transaction."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.statements: list[str] = []
        self.escaped: list[str] = []
        self.unknown = False  # the driver cannot tell us; never claim a rollback we cannot see
        event.listen(connection, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)
        if statement.lstrip().lower().startswith(_HARMLESS):
            return
        state = driver_in_transaction(conn.connection.dbapi_connection)
        if state is None:
            self.unknown = True
        elif not state:
            self.escaped.append(statement)

    def new_scope(self) -> None:
        self.statements.clear()
        self.escaped.clear()

    def close(self) -> Callable[[], None]:
        return lambda: event.remove(self.connection, "after_cursor_execute", self._after)
