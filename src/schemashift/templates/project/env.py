"""Alembic environment, created by ``schemashift init``.

It runs unchanged under plain ``alembic`` and under ``schemashift``.  The
models' MetaData is found from the ``schemashift.metadata`` option in
alembic.ini (``MODULE:ATTR``), so nothing here needs editing when the models
move.
"""

from __future__ import annotations

import asyncio
import importlib
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.engine import Connection

config = context.config

# Plain `alembic` prints its usual log lines; schemashift prints its own.
if config.config_file_name is not None and not config.attributes.get("schemashift"):
    fileConfig(config.config_file_name)


def load_target_metadata():
    """Import the MetaData named by ``schemashift.metadata`` (e.g. ``models:Base.metadata``)."""
    spec = config.get_main_option("schemashift.metadata")
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    target = importlib.import_module(module_name)
    for name in filter(None, attribute.split(".")):
        target = getattr(target, name)
    return target


target_metadata = load_target_metadata()


# schemashift's ledger lives in the database, not in the models: keep it out of autogenerate
BOOKKEEPING_TABLES = {config.get_main_option("schemashift.ledger_table") or "schemashift_ledger"}


def include_name(name, type_, parent_names) -> bool:
    return not (type_ == "table" and name in BOOKKEEPING_TABLES)


def _is_sqlite(url) -> bool:
    return str(url or "").startswith("sqlite")


def run_migrations_offline() -> None:
    """Write the migration SQL to standard output instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        include_name=include_name,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=_is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(engine) -> None:
    """An async driver's URL (postgresql+asyncpg, sqlite+aiosqlite): as Alembic's ``async`` template."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    async_engine = AsyncEngine(engine)
    try:
        async with async_engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await async_engine.dispose()


def run_migrations_online() -> None:
    """Run the migrations against the database, or an engine or connection handed in.

    As in Alembic's cookbook, ``config.attributes["connection"]`` may hold a
    Connection (used as it is) or an Engine (connected here): this is how
    pytest-alembic's ``alembic_engine`` fixture and test suites pass theirs.
    A URL naming an async driver runs in an event loop of its own.
    """
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    if isinstance(connectable, Connection):
        _run(connectable)
        return
    if connectable.dialect.is_async:
        asyncio.run(_run_async(connectable))
        return
    with connectable.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
