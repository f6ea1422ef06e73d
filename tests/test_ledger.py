"""The ledger records every step with a checksum; validate catches edited and missing files."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sqlalchemy as sa

from fixtures_projects import STUDENTS, chain_rev, write_chain
from schemashift import api
from schemashift.safety.ledger import checksum

pytestmark = pytest.mark.also_mariadb  # every backend-parametrized test runs on MariaDB too


def ledger_rows(project) -> list[tuple[str, str]]:
    return project.ledger_rows()


def test_every_step_is_recorded(chain):
    write_chain(chain.versions, 3)
    chain.cli("upgrade", "head")
    chain.cli("downgrade", "-1", "--allow", "SS-D107")  # drops t_2 and its 200 rows: deliberately allowed
    chain.cli("stamp", chain_rev(2))
    assert ledger_rows(chain) == [
        (chain_rev(0), "up"), (chain_rev(1), "up"), (chain_rev(2), "up"), (chain_rev(2), "down"), (chain_rev(2), "stamp")
    ]
    first = chain.ledger_entries()[0]
    assert first.checksum == checksum(next(chain.versions.glob(f"{chain_rev(0)}_*.py")))
    assert first.duration_ms >= 0 and first.tool_version.startswith("schemashift ")
    applied = chain.cli("history", "--applied").stdout
    assert "[applied up " in applied and "[applied stamp " in applied


def test_edited_applied_file_is_caught_and_blocks_upgrade(chain):
    write_chain(chain.versions, 3)
    chain.cli("upgrade", chain_rev(1))
    assert "OK: 2 applied" in chain.cli("validate").stdout
    path = next(chain.versions.glob(f"{chain_rev(0)}_*.py"))
    original = path.read_bytes()
    # line endings and a trailing newline do not count as a change
    path.write_bytes(original.replace(b"\n", b"\r\n") + b"\r\n\r\n")
    assert chain.cli("validate").code == 0
    path.write_bytes(original.replace(b"range(1, 201)", b"range(1, 301)"))
    result = chain.cli("validate", ok=False)
    assert result.code == 1 and f"FAIL {chain_rev(0)}" in result.stdout and "changed since it was applied" in result.stdout
    before = chain.state()
    refused = chain.cli("upgrade", "head", ok=False)
    assert refused.code == 5 and "no longer match their files" in refused.error_line and "--ignore-checksums" in refused.error_line
    assert chain.state() == before
    chain.cli("upgrade", "head", "--ignore-checksums")
    assert chain.version() == {chain_rev(2)}
    path.write_bytes(original)
    assert chain.cli("validate").code == 0


def test_missing_applied_file_is_caught(chain):
    write_chain(chain.versions, 2)
    chain.cli("upgrade", "head")
    next(chain.versions.glob(f"{chain_rev(1)}_*.py")).unlink()
    result = chain.cli("validate", ok=False)
    assert "missing" in result.stdout


def test_database_migrated_by_plain_alembic_is_adopted(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "p0001")
    school.manual_revision(
        "nickname", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
        "op.drop_column('students', 'nickname')", rev_id="p0002",
    )
    proc = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "p0001"], cwd=school.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    school.insert_students()
    assert "schemashift_ledger" not in school.tables()
    note = school.cli("validate").stderr
    assert "No ledger yet" in note
    result = school.cli("upgrade", "head")
    assert "Adopted 1 revision(s)" in result.stderr
    assert ledger_rows(school) == [("p0001", "adopt"), ("p0002", "up")]
    assert "OK: 2 applied" in school.cli("validate").stdout
    assert school.rows("students") == STUDENTS


def test_ledger_table_name_is_configurable_and_kept_out_of_autogenerate(school):
    # an empty ledger_schema keeps the ledger in the default schema, as older releases did
    school.ini.write_text(school.ini.read_text().replace(
        "[alembic]\n", "[alembic]\nschemashift.ledger_table = my_ledger\nschemashift.ledger_schema =\n", 1
    ))
    school.cli("revision", "--autogenerate", "-m", "Create students")
    school.cli("upgrade", "head")
    assert "my_ledger" in school.tables() and "schemashift_ledger" not in school.tables()
    assert [d for _, d in school.ledger_rows()] == ["up"]
    assert "No differences" in school.cli("check").stdout
    infos = api.revision(school.project(), "empty", autogenerate=True, allow_empty=True)
    text = open(infos[0].path).read()
    assert "my_ledger" not in text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_compiled_row_insert_stores_what_the_plain_insert_stores(db_url):
    """The per-step INSERT (compiled once, sent through exec_driver_sql) writes byte for byte the row
    SQLAlchemy's own ``execute(table.insert())`` writes, read back raw from the driver."""
    import datetime as dt

    from schemashift.safety.ledger import DRIVER_SQL_DIALECTS, RowInsert, ledger_table

    table = ledger_table("ledger_pin")
    engine = sa.create_engine(db_url)
    when = dt.datetime(2026, 11, 30, 16, 45, 7, 123456, tzinfo=dt.timezone.utc)
    rows = [
        {"revision": "abc123", "direction": "up", "checksum": "f" * 64, "applied_at": when,
         "duration_ms": 12, "tool_version": "schemashift 1.0"},
        {"revision": "x'y%s", "direction": "down", "checksum": None, "applied_at": when,
         "duration_ms": None, "tool_version": "schemashift 1.0"},
    ]
    try:
        with engine.begin() as conn:
            table.create(conn)
            insert = RowInsert(table, conn.dialect)
            assert conn.dialect.name in DRIVER_SQL_DIALECTS and insert.sql is not None  # the fast path is taken
            assert "RETURNING" not in insert.sql.upper()
            for row in rows:
                insert.run(conn, row, fast=True)
                insert.run(conn, row, fast=False)
        with engine.connect() as conn:
            raw = conn.exec_driver_sql(
                "SELECT revision, direction, checksum, applied_at, duration_ms, tool_version FROM ledger_pin ORDER BY id"
            ).all()
            typed = conn.execute(sa.select(table).order_by(table.c.id)).all()
    finally:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
        engine.dispose()
    assert len(raw) == 4
    assert raw[0] == raw[1] and raw[2] == raw[3]  # fast row == plain row, as stored
    raised = []
    with engine.begin() as conn:
        table.create(conn)
        for fast in (True, False):  # a row the table refuses: the same SQLAlchemy error either way
            try:
                with conn.begin_nested():
                    insert.run(conn, {**rows[0], "revision": None}, fast=fast)
            except sa.exc.DBAPIError as exc:
                raised.append((type(exc), "INSERT INTO ledger_pin" in (exc.statement or "")))
        table.drop(conn)
    engine.dispose()
    assert raised == [(sa.exc.IntegrityError, True)] * 2
    assert [tuple(r)[1:] for r in typed[::2]] == [tuple(r)[1:] for r in typed[1::2]]
    assert typed[0].revision == "abc123" and typed[2].revision == "x'y%s" and typed[2].checksum is None
    assert typed[0].applied_at.replace(tzinfo=None) == when.replace(tzinfo=None)


def test_compiled_row_insert_falls_back_under_a_schema_translate_map(tmp_path):
    """A connection that renames schemas at execution: the plain insert (which applies the map) runs."""
    import datetime as dt

    from schemashift.safety.ledger import RowInsert, ledger_table

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")
    table = ledger_table("ledger_map", "elsewhere")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
        ledger_table("ledger_map", "other").create(conn)
        mapped = conn.execution_options(schema_translate_map={"elsewhere": "other"})
        RowInsert(table, conn.dialect).run(mapped, {
            "revision": "r1", "direction": "up", "checksum": None, "applied_at": dt.datetime.now(dt.timezone.utc),
            "duration_ms": 1, "tool_version": "t"})
        assert conn.exec_driver_sql("SELECT revision FROM other.ledger_map").all() == [("r1",)]
    engine.dispose()


def test_a_deferred_row_travels_with_its_commit_and_only_with_it(pg_url, tmp_path):
    """PostgreSQL: a step's row waits for the step's COMMIT and goes in the same message (one round trip
    less per step). Stored as the plain INSERT stores it, quotes, backslashes, percent signs and all;
    invisible until the commit; dropped with a rollback; never sent with another transaction's commit;
    a row the server refuses fails the commit as SQLAlchemy fails one, and nothing is kept."""
    import datetime as dt

    from sqlalchemy import event

    from schemashift.safety.ledger import RowInsert, ledger_table

    when = dt.datetime(2026, 12, 1, 9, 30, 1, 654321, tzinfo=dt.timezone.utc)
    rows = [
        {"revision": "x'y%s", "direction": "up", "checksum": "f" * 64, "applied_at": when,
         "duration_ms": 12, "tool_version": "schemashift 1.0"},
        {"revision": "back\\slash ✓", "direction": "down", "checksum": None, "applied_at": when,
         "duration_ms": None, "tool_version": "it's 100%"},
    ]
    table = ledger_table("ledger_defer")
    engine = sa.create_engine(pg_url)
    read = "SELECT revision, direction, checksum, applied_at, duration_ms, tool_version FROM ledger_defer ORDER BY id"
    try:
        with engine.begin() as conn:
            table.create(conn)
        with engine.connect() as conn, engine.connect() as other:
            insert = RowInsert(table, conn.dialect)
            event.listen(conn, "commit", insert.send_with_commit)
            with conn.begin():
                for row in rows:
                    insert.run(conn, row, fast=False)  # the plain path, for comparison
            with conn.begin():
                conn.exec_driver_sql("SELECT 1")  # a step's transaction has begun on the server
                assert all(insert.defer(conn, row) for row in rows)
                assert conn.exec_driver_sql("SELECT count(*) FROM ledger_defer").scalar() == 2  # not sent yet
                assert other.exec_driver_sql("SELECT count(*) FROM ledger_defer").scalar() == 2
                other.rollback()
            stored = other.exec_driver_sql(read).all()
            other.rollback()
            assert len(stored) == 4 and stored[2:] == stored[:2]

            with conn.begin() as trans:  # a rollback takes the waiting row with it
                conn.exec_driver_sql("SELECT 1")
                assert insert.defer(conn, rows[0])
                trans.rollback()
            with conn.begin():  # the next commit does not send it: it belongs to a transaction that is gone
                conn.exec_driver_sql("SELECT 1")
            assert insert.deferred is None
            assert other.exec_driver_sql("SELECT count(*) FROM ledger_defer").scalar() == 4
            other.rollback()

            with pytest.raises(sa.exc.IntegrityError) as refused:
                with conn.begin():
                    conn.exec_driver_sql("SELECT 1")
                    assert insert.defer(conn, {**rows[0], "revision": None})
            assert refused.value.statement is None  # a failed commit, as SQLAlchemy words one
            assert not conn.in_transaction()
            assert conn.exec_driver_sql("SELECT count(*) FROM ledger_defer").scalar() == 4
            conn.rollback()

            with conn.begin():  # the literals read the same with the server's old string syntax
                conn.exec_driver_sql("SET LOCAL standard_conforming_strings = off")
                assert insert.defer(conn, rows[1])
            assert other.exec_driver_sql(read).all()[-1] == stored[1]
            other.rollback()

            with conn.begin():  # psycopg's pipeline mode takes one statement per query: written at once there
                conn.exec_driver_sql("SELECT 1")
                with conn.connection.dbapi_connection.pipeline():
                    assert not insert.defer(conn, rows[0])

            assert not insert.defer(conn, rows[0])  # no transaction open on the server: the caller runs it
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            assert not insert.defer(auto, rows[0])
            conn.rollback()
    finally:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
        engine.dispose()
    import psycopg.pq

    from schemashift.safety import ledger as ledger_mod

    assert ledger_mod._INTRANS == psycopg.pq.TransactionStatus.INTRANS  # libpq's value, as psycopg names it
    sqlite = sa.create_engine(f"sqlite:///{tmp_path / 'l.db'}")
    with sqlite.begin() as conn:
        table.create(conn)
        conn.exec_driver_sql("SELECT 1")
        assert not RowInsert(table, conn.dialect).defer(conn, rows[0])  # SQLite: written at once, as before
    sqlite.dispose()
