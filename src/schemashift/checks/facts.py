"""What the live database holds, asked lazily and once: tables, columns, row counts.

Counting is the expensive part of a plan, so nothing is counted unless a rule
needs it.  On PostgreSQL a count is ``pg_class.reltuples`` (the planner's
estimate, free) unless ``exact`` is asked for or the table was never analysed,
in which case it is counted (capped, so a huge table costs a bounded scan); a table
without a single page on disk is empty, known without reading it.
Tables the plan itself creates earlier are known to be empty; renamed ones are
counted under their live name.

``prefetch`` warms these caches for the tables a whole plan touches in a few
statements (one catalog read of their columns, one of the estimates, one
``EXISTS`` per table in a single SELECT), instead of several round trips per
table: the answers are the ones the lazy reads give (an empty table counts 0,
and so do its non-NULL values); anything not settled there is still read
lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..runtime.watch import savepoint_possible

COUNT_CAP = 1_000_000
# PostgreSQL's row estimates of tables :t in schema :s (the default one when NULL)
# with whether the table has no storage at all (a heap of zero pages holds no row, committed or not:
# counted 0 without reading it; partitioned tables and views have no storage of their own, so they are left out)
_ESTIMATES = (
    "SELECT c.relname, c.reltuples, c.relkind IN ('r', 'm') AND pg_relation_size(c.oid) = 0 "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname = ANY(:t) AND n.nspname = coalesce(:s, current_schema())"
)


# the names :t that a relation (table, view, materialized view, foreign or partitioned table) has, in any schema
_PRESENT = "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(:t) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"


@dataclass
class Count:
    rows: int
    estimated: bool = False


def _usable_estimate(reltuples: Any, no_pages: bool = False) -> Count | None:
    """An estimate to trust, or None: never analysed, or empty when last analysed (count instead).
    A table without a single page is known empty, analysed or not: exactly 0."""
    if no_pages:
        return Count(0)
    if reltuples is None or reltuples <= 0:
        return None
    return Count(int(reltuples), estimated=True)


@dataclass
class Facts:
    connection: Any
    exact: bool = False
    created: set[str] = field(default_factory=set)  # tables the plan creates before this point
    renamed: dict[str, str] = field(default_factory=dict)  # name in the plan -> live name
    dropped: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)  # tables whose rows the plan changes before this point
    _counts: dict[tuple[str | None, str], Count] = field(default_factory=dict)
    _columns: dict[tuple[str | None, str], dict[str, dict[str, Any]] | None] = field(default_factory=dict)
    _inspector: Any = None

    @property
    def dialect(self) -> Any:
        return self.connection.dialect

    @property
    def server_version(self) -> tuple[int, ...] | None:
        return getattr(self.dialect, "server_version_info", None)

    def live_name(self, table: str) -> str:
        return self.renamed.get(table, table)

    def is_new(self, table: str | None) -> bool:
        return bool(table) and table in self.created

    def quoted(self, table: str, schema: str | None = None) -> str:
        prep = self.dialect.identifier_preparer
        name = prep.quote(self.live_name(table))
        return f"{prep.quote_schema(schema)}.{name}" if schema else name

    def inspector(self) -> Any:
        if self._inspector is None:
            import sqlalchemy as sa

            self._inspector = sa.inspect(self.connection)
        return self._inspector

    def columns(self, table: str, schema: str | None = None) -> dict[str, dict[str, Any]] | None:
        """The live table's columns by name (None: no such table in the database)."""
        key = (schema, self.live_name(table))
        if key not in self._columns:
            try:
                cols = self.inspector().get_columns(key[1], schema=schema)
                self._columns[key] = {c["name"]: c for c in cols}
            except Exception:
                self._columns[key] = None
        return self._columns[key]

    def prefetch(self, tables: Iterable[tuple[str | None, str]], counted: Iterable[tuple[str | None, str]]) -> None:
        """Read the columns of live ``(schema, table)``s at once, and the estimates and emptiness of
        those in ``counted`` (the ones the plan counts; a probe takes a read lock) (see module doc)."""
        wanted: dict[str | None, list[str]] = {}
        for schema, name in [*tables, *counted]:
            if (schema, name) not in self._columns and name not in wanted.setdefault(schema, []):
                wanted[schema].append(name)
        to_count = set(counted)
        if not any(wanted.values()):
            return
        conn = self.connection
        nested = conn.begin_nested() if savepoint_possible(conn) else None
        try:
            self._prefetch(wanted, to_count)
        except Exception:  # a read that fails here is read (and failed) lazily, one table at a time
            if nested is not None:
                nested.rollback()
            return
        if nested is not None:
            nested.commit()

    def _prefetch(self, wanted: dict[str | None, list[str]], to_count: set[tuple[str | None, str]]) -> None:
        from sqlalchemy.engine.reflection import ObjectKind, ObjectScope

        columns: dict[tuple[str | None, str], dict[str, dict[str, Any]] | None] = {}
        # PostgreSQL: one read of the catalog for the names of every schema at once
        present = (self._pg_maybe_present([n for names in wanted.values() for n in names])
                   if self.dialect.name == "postgresql" else None)
        for schema, names in wanted.items():
            if not names:
                continue
            if self.dialect.name == "sqlite":
                reflect = self._sqlite_maybe_present(schema, names)
            elif present is not None:
                reflect = [name for name in names if name in present]
            else:
                reflect = names
            # the same read as get_columns (which is this call for one name), for every name at once
            found = self.inspector().get_multi_columns(
                schema=schema, filter_names=reflect, kind=ObjectKind.ANY, scope=ObjectScope.ANY
            ) if reflect else {}
            for name in names:
                cols = found.get((schema, name))
                columns[(schema, name)] = {c["name"]: c for c in cols} if cols is not None else None
        live = [key for key, cols in columns.items() if cols is not None and key in to_count and key not in self._counts]
        counts: dict[tuple[str | None, str], Count] = {}
        if live and self.dialect.name == "postgresql" and not self.exact:
            counts.update(self._estimates(live))
        unknown = [key for key in live if key not in counts]
        for start in range(0, len(unknown), 200):
            chunk = unknown[start:start + 200]
            prep = self.dialect.identifier_preparer
            probes = ", ".join(
                f"CASE WHEN EXISTS (SELECT 1 FROM {prep.quote_schema(s) + '.' if s else ''}{prep.quote(t)}) "
                "THEN 1 ELSE 0 END" for s, t in chunk
            )
            import sqlalchemy as sa

            row = self.connection.execute(sa.text(f"SELECT {probes}")).one()
            for key, present in zip(chunk, row):
                if not present:
                    counts[key] = Count(0)
        self._columns.update(columns)
        self._counts.update(counts)

    def _sqlite_maybe_present(self, schema: str | None, names: list[str]) -> list[str]:
        """The names SQLite may hold (one read of the schema tables; SQLAlchemy reflects a table per
        PRAGMA and tries three for a missing one).  Compared case-blind, as SQLite compares names: a
        name kept here that is not there is still found missing by the reflection."""
        import sqlalchemy as sa

        prep = self.dialect.identifier_preparer
        masters = [f"{prep.quote_schema(schema)}.sqlite_master"] if schema else ["main.sqlite_master", "temp.sqlite_master"]
        sql = " UNION ".join(f"SELECT name FROM {m} WHERE type IN ('table', 'view')" for m in masters)
        present = {str(row[0]).lower() for row in self.connection.execute(sa.text(sql))}
        return [name for name in names if name.lower() in present]

    def _pg_maybe_present(self, names: list[str]) -> set[str]:
        """Which of ``names`` some relation in any schema of PostgreSQL's catalog has, in one read: a
        superset of what the reflection finds.  A plan that creates its tables names them all, and
        reflecting names nobody has still costs SQLAlchemy its catalog reads (domains, enums,
        columns); names found anywhere are reflected as before."""
        import sqlalchemy as sa

        return {row[0] for row in self.connection.execute(sa.text(_PRESENT), {"t": names})}

    def _estimates(self, keys: list[tuple[str | None, str]]) -> dict[tuple[str | None, str], Count]:
        """``_estimate`` of many tables in one catalog read (only the usable ones: analysed, not empty)."""
        import sqlalchemy as sa

        out: dict[tuple[str | None, str], Count] = {}
        by_schema: dict[str | None, list[str]] = {}
        for schema, name in keys:
            by_schema.setdefault(schema, []).append(name)
        for schema, names in by_schema.items():
            for relname, reltuples, no_pages in self.connection.execute(sa.text(_ESTIMATES), {"t": names, "s": schema}):
                found = _usable_estimate(reltuples, no_pages)
                if found is not None:
                    out[(schema, relname)] = found
        return out

    def exists(self, table: str, schema: str | None = None) -> bool:
        if table in self.created:
            return True
        return self.columns(table, schema) is not None

    def count(self, table: str, schema: str | None = None) -> Count | None:
        """Rows in ``table`` now (None: the table does not exist yet, or cannot be counted)."""
        if table in self.created:
            return Count(0)
        key = (schema, self.live_name(table))
        if key in self._counts:
            return self._counts[key]
        if self.columns(table, schema) is None:
            return None
        found: Count | None = None
        if self.dialect.name == "postgresql" and not self.exact:
            found = self._estimate(key[1], schema)
        if found is None:
            found = self._exact(table, schema)
        if found is not None:
            self._counts[key] = found
        return found

    def _estimate(self, table: str, schema: str | None) -> Count | None:
        rows = self.query(_ESTIMATES, t=[table], s=schema)
        return _usable_estimate(rows[0][1], rows[0][2]) if rows else None

    def _exact(self, table: str, schema: str | None) -> Count | None:
        rows = self.query(f"SELECT count(*) FROM (SELECT 1 FROM {self.quoted(table, schema)} LIMIT {COUNT_CAP}) s")
        return Count(int(rows[0][0])) if rows else None

    def query(self, sql: str, **params: Any) -> list[Any] | None:
        """Run a read-only query; None if it fails (the failure never spoils the plan)."""
        import sqlalchemy as sa

        conn = self.connection
        nested = conn.begin_nested() if savepoint_possible(conn) else None
        try:
            rows = list(conn.execute(sa.text(sql), params))
        except Exception:
            if nested is not None:
                nested.rollback()
            return None
        if nested is not None:
            nested.commit()
        return rows

    def non_null(self, table: str, column: str, schema: str | None = None) -> int | None:
        known = self._counts.get((schema, self.live_name(table)))
        if known is not None and known.rows == 0 and not known.estimated:
            return 0  # counted empty: no value at all
        prep = self.dialect.identifier_preparer
        rows = self.query(
            f"SELECT count(*) FROM (SELECT 1 FROM {self.quoted(table, schema)} "
            f"WHERE {prep.quote(column)} IS NOT NULL LIMIT {COUNT_CAP}) s"
        )
        return int(rows[0][0]) if rows else None
