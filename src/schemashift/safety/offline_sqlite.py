"""``--sql`` on SQLite with table rebuilds: a shadow database follows the SQL as it is written.

A rebuild starts from the table's stored ``CREATE TABLE`` text, which an
offline run cannot read from the user's database.  So for SQLite the run's
output goes through ``ShadowOutput``: a scratch database is brought to the
start revision first (migrated online, as ``verify`` does; empty for base),
then every complete statement the run writes is also executed on it.  When a
rebuild comes, the shadow holds the schema exactly as the SQL so far leaves
it, and the rebuild plans from there (``offline_statements``).

The SQL is held until the run ends and written only if it succeeded: a
migration that cannot be rendered fails before any SQL is printed.

What an online rebuild checks against the data (values a conversion would
lose, rows a constraint would drop, foreign keys) becomes guard statements
in the script: a temporary table whose named CHECK fails, stopping the
script with ``CHECK constraint failed: <what>``, before the old table is
dropped.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from ..schema.sql import quote
from .scratch import scratch_database, scratch_project

GUARD = "schemashift_guard"


class ShadowOutput(io.TextIOBase):
    """The output buffer of an offline SQLite run: holds the SQL, runs each statement on the shadow."""

    def __init__(self, target: Any, shadow_url: str) -> None:
        super().__init__()
        self.target = target
        self.parts: list[str] = []
        self._pending = ""
        self.stale: str | None = None  # why the shadow no longer follows the script, once it does not
        self.engine = sa.create_engine(shadow_url, poolclass=sa.pool.StaticPool)
        self.connection = self.engine.connect()
        self.connection.connection.dbapi_connection.isolation_level = None  # the script's BEGIN/COMMIT rule

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        self._pending += text
        if sqlite3.complete_statement(self._pending):
            statement, self._pending = self._pending.strip(), ""
            if statement.rstrip(";").strip() and self.stale is None:
                try:
                    self.connection.connection.dbapi_connection.execute(statement)
                except sqlite3.Error as error:  # e.g. SQL meant for data the shadow does not hold
                    self.stale = f"{' '.join(statement.split())[:120]!r} failed on it ({error})"
        return len(text)

    def flush(self) -> None:  # nothing reaches the target before the run succeeded
        pass

    def finish(self) -> None:
        """The run succeeded: write the SQL out."""
        self.target.write("".join(self.parts))
        if hasattr(self.target, "flush"):
            self.target.flush()

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()
        super().close()


def shadow_of(migration_context: Any) -> tuple[Any, str | None]:
    """(the shadow connection of an offline run or None, why it stopped following the script or None)."""
    buffer = getattr(migration_context, "output_buffer", None)
    if not isinstance(buffer, ShadowOutput):
        return None, None
    return buffer.connection, buffer.stale


def _guard(name: str, count_sql: str) -> list[str]:
    """Statements that stop the script when ``count_sql`` is not 0 (CHECK constraint failed: name)."""
    return [
        f"CREATE TEMP TABLE {GUARD} (n INTEGER CONSTRAINT {quote(name)} CHECK (n = 0))",
        f"INSERT INTO {GUARD} SELECT ({count_sql})",
        f"DROP TABLE {GUARD}",
    ]


def offline_statements(plan: Any, *, autoincrement: bool) -> list[str]:
    """A rebuild as a script: the online rebuild's checks become guards (see the module doc)."""
    table, temp = quote(plan.table), quote(plan.temp_name)
    out: list[str] = []
    if not plan.allow_loss:
        for check in plan.checks:
            out += _guard(
                f"{plan.table}.{check.column}: rows that {check.reason} (allow_loss=True converts them)",
                f"SELECT count(*) FROM {table} WHERE {check.predicate}",
            )
    for column in plan.becoming_not_null:
        out += _guard(f"{plan.table}.{column}: rows that are NULL", f"SELECT count(*) FROM {table} WHERE {quote(column)} IS NULL")
    checked = plan._checked_tables()  # noqa: SLF001 - the same tables the online rebuild checks
    fk_count = " + ".join(f"(SELECT count(*) FROM pragma_foreign_key_check({_literal(t)}))" for t in checked)
    if checked:
        out.append(f"CREATE TEMP TABLE schemashift_fk_before AS SELECT {fk_count} AS n")
    out += [plan.new_sql, plan.copy_sql()]
    out += _guard(
        f"{plan.table}: rows the new table did not take (a UNIQUE, PRIMARY KEY or ON CONFLICT clause)",
        f"SELECT (SELECT count(*) FROM {table}) - (SELECT count(*) FROM {temp})",
    )
    if autoincrement:
        out.append(f"CREATE TEMP TABLE schemashift_seq AS SELECT seq FROM sqlite_sequence WHERE name = {_literal(plan.table)}")
    out += [
        f"DROP TABLE {table}",
        "PRAGMA legacy_alter_table=ON",
        f"ALTER TABLE {temp} RENAME TO {table}",
        "PRAGMA legacy_alter_table=OFF",
        *plan.dependents,
    ]
    if autoincrement:
        out += [
            f"UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM schemashift_seq), 0)) "
            f"WHERE name = {_literal(plan.table)}",
            "DROP TABLE schemashift_seq",
        ]
    if checked:
        out += _guard(
            f"{plan.table}: foreign key references the rebuild would break",
            f"SELECT {fk_count} - (SELECT n FROM schemashift_fk_before)",
        )
        out.append("DROP TABLE schemashift_fk_before")
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def offline_output(
    project: Any, target: Any, starting_rev: str | None, upgrade: Callable[[Any, str], Any]
) -> Iterator[Any]:
    """The output buffer for ``--sql``: a ``ShadowOutput`` on SQLite (written to ``target`` on success), else ``target``.

    ``upgrade(project, rev)`` brings the shadow database to ``starting_rev``
    first: the migration command's own online upgrade, handed down by it.
    """
    from sqlalchemy.engine import make_url

    url = project.url
    if not url or make_url(url).get_backend_name() != "sqlite":
        yield target
        return
    with scratch_database(url) as scratch:
        if starting_rev not in (None, "base"):
            upgrade(scratch_project(project, scratch), starting_rev)
        shadow = ShadowOutput(target, scratch.url)
        try:
            yield shadow
            shadow.finish()
        finally:
            shadow.close()
