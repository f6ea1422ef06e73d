"""``Facts.prefetch`` gives the plan the same live answers as the lazy reads, in a few statements.

The gate plans every revision of a run before it starts; a downgrade of
hundreds of revisions asks for the columns, rows and non-NULL values of every
table it drops.  Prefetching reads them for all tables at once; these tests
hold it to the answers of the one-table-at-a-time reads it replaces (empty,
holding rows, analysed on PostgreSQL, quoted names, another schema, missing
tables), and count the statements it sends.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from schemashift.checks.facts import Facts


def _schema(conn: sa.Connection, backend: str) -> None:
    conn.exec_driver_sql("CREATE TABLE full_t (id INTEGER PRIMARY KEY, note VARCHAR(20), blank VARCHAR(20))")
    conn.exec_driver_sql("INSERT INTO full_t (id, note, blank) VALUES (1, 'a', NULL), (2, NULL, NULL), (3, 'c', NULL)")
    conn.exec_driver_sql("CREATE TABLE empty_t (id INTEGER PRIMARY KEY, extra VARCHAR(20))")
    conn.exec_driver_sql('CREATE TABLE "Mixed Case" (id INTEGER PRIMARY KEY, "Odd Col" INTEGER)')
    conn.exec_driver_sql('INSERT INTO "Mixed Case" (id, "Odd Col") VALUES (1, 5)')
    if backend == "postgresql":
        conn.exec_driver_sql("CREATE TABLE analysed (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.exec_driver_sql("INSERT INTO analysed (id, v) SELECT g, g FROM generate_series(1, 50) g")
        conn.exec_driver_sql("ANALYZE analysed")
        conn.exec_driver_sql("CREATE SCHEMA other")
        conn.exec_driver_sql("CREATE TABLE other.full_t (id INTEGER PRIMARY KEY)")


def _tables(backend: str) -> list[tuple[str | None, str]]:
    tables = [(None, "full_t"), (None, "empty_t"), (None, "Mixed Case"), (None, "missing"), (None, "EMPTY_T")]
    if backend == "postgresql":
        tables += [(None, "analysed"), ("other", "full_t"), ("other", "missing")]
    return tables


def _answers(facts: Facts, tables: list[tuple[str | None, str]]) -> list[object]:
    out: list[object] = []
    for schema, table in tables:
        cols = facts.columns(table, schema)
        out.append((schema, table, sorted((n, str(c["type"]), c["nullable"]) for n, c in cols.items()) if cols else cols))
        out.append(facts.exists(table, schema))
        count = facts.count(table, schema)
        out.append((count.rows, count.estimated) if count is not None else None)
        for column in sorted(cols or ()):
            out.append((column, facts.non_null(table, column, schema)))
    return out


class Statements:
    def __init__(self, conn: sa.Connection) -> None:
        self.sent: list[str] = []
        sa.event.listen(conn, "before_cursor_execute", self)

    def __call__(self, conn, cursor, statement, *rest) -> None:
        self.sent.append(statement)


@pytest.mark.parametrize("exact", [False, True])
def test_prefetch_answers_as_the_lazy_reads_do(db_url, backend, exact):
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            _schema(conn, backend)
        tables = _tables(backend)
        with engine.connect() as conn, conn.begin():
            lazy = _answers(Facts(conn, exact=exact), tables)
        with engine.connect() as conn, conn.begin():
            facts = Facts(conn, exact=exact)
            watch = Statements(conn)
            facts.prefetch(tables, tables)
            prefetching = list(watch.sent)
            watch.sent.clear()
            prefetched = _answers(facts, tables)
            after = list(watch.sent)
        assert prefetched == lazy
        # the answers themselves, so both cannot agree on something wrong
        by_table = {(row[0], row[1]): i for i, row in enumerate(lazy) if isinstance(row, tuple) and len(row) == 3
                    and isinstance(row[1], str) and (row[2] is None or isinstance(row[2], list))}
        assert lazy[by_table[(None, "full_t")] + 2] == (3, False)
        assert lazy[by_table[(None, "empty_t")] + 2] == (0, False)
        assert lazy[by_table[(None, "missing")]][2] is None and lazy[by_table[(None, "missing")] + 1] is False
        assert ("blank", 0) in lazy and ("note", 2) in lazy and ("Odd Col", 1) in lazy
        if backend == "postgresql":
            assert lazy[by_table[(None, "analysed")] + 2] == ((50, False) if exact else (50, True))
            assert lazy[by_table[("other", "full_t")] + 2] == (0, False)
        # few statements for all tables; afterwards the empty table's reads are answered without asking
        if backend == "postgresql":
            assert len(prefetching) <= 8, prefetching
        else:  # SQLite: one read of the schema, a PRAGMA per existing table (local calls), one probe for all
            assert len([s for s in prefetching if not s.startswith("PRAGMA")]) == 2, prefetching
            assert not [s for s in prefetching if "missing" in s], prefetching
        empty_reads = [s for s in after if "empty_t" in s]
        assert empty_reads == [], empty_reads
    finally:
        engine.dispose()


def test_tables_nobody_has_cost_one_catalog_read_on_postgresql(pg_url):
    """An upgrade that creates its tables names them all: on PostgreSQL one read of pg_class finds that
    none exists (in any schema), and SQLAlchemy's column reflection is not run for them; a table that
    exists in another schema than the one asked is still reflected, and answered as the lazy read does."""
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA elsewhere")
            conn.exec_driver_sql("CREATE TABLE elsewhere.shadow_t (id INTEGER PRIMARY KEY)")
        absent = [(None, f"new_t{i}") for i in range(50)] + [("elsewhere", "new_e"), (None, "shadow_t")]
        with engine.connect() as conn, conn.begin():
            facts = Facts(conn)
            watch = Statements(conn)
            facts.prefetch(absent, absent)
            sent = [s for s in watch.sent if not s.startswith(("SAVEPOINT", "RELEASE"))]
            assert len(sent) == 2 and "pg_class" in sent[0], sent  # the presence read; shadow_t reflected
            watch.sent.clear()
            assert all(facts.columns(t, s) is None for s, t in absent)
            assert watch.sent == []  # settled by the prefetch
        with engine.connect() as conn, conn.begin():
            assert Facts(conn).columns("shadow_t") is None and Facts(conn).columns("shadow_t", "elsewhere")
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA elsewhere CASCADE")
        engine.dispose()


def test_a_table_without_pages_is_empty_without_a_probe_and_a_partitioned_one_is_counted(pg_url):
    """PostgreSQL: a never-analysed table of zero pages counts 0 from the catalog read alone; one whose
    rows were deleted still has pages and is probed (0); a partitioned table has no pages of its own but
    rows in its partitions, and is counted, lazily and prefetched alike."""
    engine = sa.create_engine(pg_url)
    names = ["nopages_t", "deleted_t", "parted_t"]
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE nopages_t (id INTEGER)")
            conn.exec_driver_sql("CREATE TABLE deleted_t (id INTEGER)")
            conn.exec_driver_sql("INSERT INTO deleted_t VALUES (1)")
            conn.exec_driver_sql("DELETE FROM deleted_t")
            conn.exec_driver_sql("CREATE TABLE parted_t (id INTEGER) PARTITION BY RANGE (id)")
            conn.exec_driver_sql("CREATE TABLE parted_low PARTITION OF parted_t FOR VALUES FROM (0) TO (100)")
            conn.exec_driver_sql("INSERT INTO parted_t VALUES (1), (2), (3)")
        with engine.connect() as conn, conn.begin():
            lazy = [Facts(conn).count(name) for name in names]
        with engine.connect() as conn, conn.begin():
            facts = Facts(conn)
            watch = Statements(conn)
            facts.prefetch([(None, n) for n in names], [(None, n) for n in names])
            probes = [s for s in watch.sent if "EXISTS" in s]
            prefetched = [facts.count(name) for name in names]
        assert [(c.rows, c.estimated) for c in lazy] == [(0, False), (0, False), (3, False)]
        assert prefetched == lazy
        assert len(probes) == 1 and "nopages_t" not in probes[0] and "deleted_t" in probes[0], probes
    finally:
        with engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        engine.dispose()


def test_a_failing_prefetch_leaves_the_lazy_reads_and_the_transaction_usable(pg_url):
    """A table the probe cannot read (no privilege): nothing is cached, the plan's transaction still works."""
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE secret (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO secret VALUES (1)")
            conn.exec_driver_sql("CREATE TABLE open_t (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("CREATE ROLE facts_reader")
            conn.exec_driver_sql("GRANT SELECT ON open_t TO facts_reader")
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SET LOCAL ROLE facts_reader")
            facts = Facts(conn, exact=True)
            facts.prefetch([(None, "secret"), (None, "open_t")], [(None, "secret"), (None, "open_t")])
            assert facts._counts == {}  # the probe of secret failed: nothing half-known
            assert facts.count("open_t") is not None and facts.count("open_t").rows == 0
            assert facts.count("secret") is None  # read lazily, and it fails as it did before
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
