"""Where the ledger lives: out of sight of plain Alembic, committed with the version row.

Alembic's autogenerate compares only the database's default schema (unless
env.py sets ``include_schemas=True``), so a ledger kept in the default schema
shows up in plain ``alembic check`` as a table to drop.  We keep it elsewhere:

- PostgreSQL: a schema of its own (``schemashift``; ``schemashift_<name>`` when
  the search path puts schema ``name`` first, as fleet tenants do), created in
  the run's transaction.  Needs the CREATE privilege on the database (the owner has it);
  without it, and with no such schema yet, the ledger stays in the default
  schema (where an older release put it).
- SQLite: a sidecar database file beside the database, ``<database>-schemashift``,
  ATTACHed as ``schemashift`` to the migration connection before any
  transaction begins (SQLite refuses ATTACH inside one).  A transaction that
  writes both files commits atomically in rollback-journal mode (SQLite's
  super-journal), not in WAL mode: there each file commits on its own, the
  database file first, so a crash between the two commits can leave an applied
  revision without its ledger row (``validate`` then reports it as unrecorded;
  never a wrong checksum).  ``:memory:`` databases get an in-memory sidecar.
- MySQL/MariaDB and others: the default schema, unless
  ``schemashift.ledger_schema`` names a schema (a database, on MySQL) the
  migration user may write; a second database needs its own privileges
  (``GRANT ALL ON ledgerdb.* TO user``), so it is opt-in.

``schemashift.ledger_schema =`` (empty) keeps the ledger in the default schema
everywhere, as releases before this one did.
"""

from __future__ import annotations

import os
from typing import Any

OWN_SCHEMA = "schemashift"
SCHEMA_OPTION = "schemashift.ledger_schema"
SIDECAR_SUFFIX = "-schemashift"
DEFAULT_TABLE = "schemashift_ledger"  # the ledger's table, unless schemashift.ledger_table names another


OWN_SCHEMA_DIALECTS = {"postgresql", "sqlite"}


def configured_schema(config: Any) -> tuple[str | None, bool]:
    """``schemashift.ledger_schema`` from the config, and whether it was given.

    Unset: the own schema on PostgreSQL and SQLite, the default schema
    elsewhere.  Empty: the default schema everywhere.
    """
    value = config.get_main_option(SCHEMA_OPTION) if config is not None else None
    if value is None:
        return OWN_SCHEMA, False
    return value.strip() or None, True


# ------------------------------------------------------------------ SQLite


def _dbapi(connection: Any) -> Any:
    return connection.connection.dbapi_connection


def sqlite_main_file(connection: Any) -> str:
    """The main database's file ('' for ``:memory:`` and temporary databases)."""
    for _seq, name, path in _dbapi(connection).execute("PRAGMA database_list").fetchall():
        if name == "main":
            return path or ""
    return ""


def sidecar_path(main_file: str) -> str:
    return main_file + SIDECAR_SUFFIX if main_file else ":memory:"


def sqlite_attached(connection: Any, alias: str) -> bool:
    return any(row[1] == alias for row in _dbapi(connection).execute("PRAGMA database_list").fetchall())


def sqlite_attach(connection: Any, alias: str, *, create: bool) -> bool:
    """ATTACH the sidecar as ``alias``; False when it cannot be (yet).

    Not possible inside an open driver transaction; with ``create=False`` a
    sidecar file that does not exist is not created (reads never write).
    """
    if sqlite_attached(connection, alias):
        return True
    dbapi = _dbapi(connection)
    if getattr(dbapi, "in_transaction", False):
        return False
    path = sidecar_path(sqlite_main_file(connection))
    if not create and path != ":memory:" and not os.path.exists(path):
        return False
    dbapi.execute("ATTACH DATABASE ? AS " + _quote(alias), (path,))
    return True


def sqlite_wal(connection: Any) -> bool:
    """True when the database is in WAL mode: no atomic commit across files."""
    row = _dbapi(connection).execute("PRAGMA main.journal_mode").fetchone()
    return bool(row) and str(row[0]).lower() == "wal"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -------------------------------------------------------------- PostgreSQL


def postgresql_own_schema(connection: Any, base: str) -> str | None:
    """The ledger's schema for this connection, or None when it must stay in the default schema.

    One ledger per schema the run migrates: ``base`` for the usual ``public``,
    ``base_<schema>`` when the search path puts another schema first (a
    tenant of a fleet).  None when that schema does not exist and this role
    may not create it.
    """
    from sqlalchemy import text

    current = connection.execute(text("SELECT current_schema()")).scalar()
    own = base if current in (None, "public") else f"{base}_{current}"[:63]
    row = connection.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :s), "
            "has_database_privilege(current_database(), 'CREATE')"
        ),
        {"s": own},
    ).one()
    return own if row[0] or row[1] else None


def postgresql_create_schema(connection: Any, schema: str) -> None:
    from sqlalchemy import text

    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}"))
