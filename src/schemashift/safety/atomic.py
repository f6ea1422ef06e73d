"""Real transactions for migrations on SQLite (scratch runs; a ``Run`` uses ``runtime.sqlite``).

Python's sqlite3 driver only opens a transaction before DML, so DDL runs in
autocommit and a failed migration leaves half its tables behind.  The fix is
SQLAlchemy's documented recipe for pysqlite: turn off the driver's own
transaction handling and emit ``BEGIN`` whenever SQLAlchemy begins.  Applied
to the migration connection only, and undone when the run ends.

``sqlite_foreign_keys_off`` is the other SQLite connection hook a scratch run
installs: step 1 of SQLite's table-rebuild procedure (``safety.rebuild``).
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import event


def sqlite_transactional_ddl(connection: Any, env: Any) -> Callable[[], None] | None:
    """Connection hook: make this SQLite connection's DDL transactional."""
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        # another dialect, or env.py already opened a transaction it owns
        return None
    dbapi = connection.connection.dbapi_connection
    if not hasattr(dbapi, "isolation_level"):
        return None
    previous = dbapi.isolation_level
    dbapi.isolation_level = None

    def begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT" or dbapi.in_transaction:
            return  # an autocommit_block() (VACUUM and the like), or a transaction already open
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(connection, "begin", begin)
    env.policy.transactional_ddl = True

    def restore() -> None:
        event.remove(connection, "begin", begin)
        if connection.in_transaction():
            return
        dbapi.isolation_level = previous

    return restore


def sqlite_foreign_keys_off(connection: Any, env: Any) -> Callable[[], None] | None:
    """Connection hook (``RunPolicy.connection_hooks``): step 1 of SQLite's procedure.

    Must run before the migration's ``BEGIN``, the only time the pragma takes
    effect.  Each rebuild then checks foreign keys itself before commit
    (``PRAGMA foreign_key_check``).  Enforcement is switched back on when the
    run ends.
    """
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        return None
    dbapi = connection.connection.dbapi_connection
    if not dbapi.execute("PRAGMA foreign_keys").fetchone()[0]:
        return None
    dbapi.execute("PRAGMA foreign_keys=OFF")

    def restore() -> None:
        if not dbapi.in_transaction:
            dbapi.execute("PRAGMA foreign_keys=ON")

    return restore
