"""The ledger lives out of plain Alembic's sight, and stays consistent with the version row.

Issue 15.2: after a schemashift upgrade of a project made by ``alembic init``
(its env.py untouched but for ``target_metadata``), plain ``alembic check``
passes and plain ``alembic revision --autogenerate`` proposes no drop of the
ledger; a ledger an older release kept in the default schema is moved, not
lost; a failed migration leaves the version row and the ledger agreeing.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures_projects import STUDENTS, SchoolProject, chain_rev, chain_step, write_chain
from fixtures_stock import alembic


def assert_plain_alembic_sees_no_drift(project: SchoolProject) -> None:
    check = alembic(project, "check", ok=False)
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr, (
        check.stdout + check.stderr
    )
    alembic(project, "revision", "--autogenerate", "-m", "after", "--rev-id", "zz_after")
    written = next(project.versions.glob("zz_after_*.py")).read_text()
    assert "drop_table" not in written and "ledger" not in written, written
    upgrade_body = written.split("def upgrade()", 1)[1].split("def downgrade()", 1)[0]
    assert "op." not in upgrade_body, upgrade_body
    next(project.versions.glob("zz_after_*.py")).unlink()


def test_plain_alembic_check_passes_after_a_schemashift_upgrade(stock):
    stock.cli("revision", "--autogenerate", "-m", "create students", "--rev-id", "s0001")
    stock.cli("upgrade", "head")
    stock.insert_students()
    assert stock.tables() == {"alembic_version", "students"}
    assert stock.ledger_rows() == [("s0001", "up")]
    assert_plain_alembic_sees_no_drift(stock)
    if stock.backend == "postgresql":
        with stock.engine().connect() as conn:
            in_schema = sa.inspect(conn).get_table_names(schema="schemashift")
        assert in_schema == ["schemashift_ledger"]
    else:
        assert Path(stock.url.removeprefix("sqlite:///") + "-schemashift").exists()
    # plain alembic goes on working beside it; schemashift then records what it did not see
    stock.manual_revision("nickname", "op.add_column('students', sa.Column('nick', sa.String(20)))",
                          "op.drop_column('students', 'nick')", rev_id="s0002")
    alembic(stock, "upgrade", "head")
    result = stock.cli("validate")
    assert "s0002: applied, but not in the ledger" in result.stdout
    assert stock.rows("students") == STUDENTS


def older_release_ledger(project: SchoolProject) -> None:
    """Upgrade the way releases before this one did: the ledger in the default schema."""
    text = project.ini.read_text()
    project.ini.write_text(text.replace("[alembic]\n", "[alembic]\nschemashift.ledger_schema =\n", 1))
    project.cli("upgrade", chain_rev(1))
    assert "schemashift_ledger" in project.tables()
    project.ini.write_text(text)


def moved_not_lost(chain: SchoolProject) -> None:
    write_chain(chain.versions, 3)
    older_release_ledger(chain)
    before = chain.ledger_entries()
    assert [(e.revision, e.direction) for e in before] == [(chain_rev(0), "up"), (chain_rev(1), "up")]
    assert "OK: 2 applied" in chain.cli("validate").stdout  # read where the older release left it
    result = chain.cli("upgrade", "head")
    assert "Adopted" not in result.stderr
    assert "schemashift_ledger" not in chain.tables()
    after = chain.ledger_entries()
    assert [(e.revision, e.direction, e.checksum) for e in after[:2]] == [
        (e.revision, e.direction, e.checksum) for e in before
    ]
    assert [(e.revision, e.direction) for e in after[2:]] == [(chain_rev(2), "up")]
    assert "OK: 3 applied" in chain.cli("validate").stdout
    assert_no_ledger_drift(chain)


def assert_no_ledger_drift(project: SchoolProject) -> None:
    """What plain alembic's autogenerate reflects: no ledger among the tables."""
    assert not [t for t in project.tables() if "ledger" in t]


def test_a_ledger_left_by_an_older_release_is_moved_not_lost(chain):
    moved_not_lost(chain)


def test_a_ledger_left_by_an_older_release_is_moved_in_wal_mode_too(tmp_path, sqlite_url):
    from schemashift import api

    root = tmp_path / "chain"
    api.init(root, url=sqlite_url)
    project = SchoolProject(root, sqlite_url, "sqlite")
    with project.engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar() == "wal"
    moved_not_lost(project)
    with project.engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_nothing_to_do_still_moves_an_older_ledger(chain):
    write_chain(chain.versions, 2)
    older_release_ledger(chain)
    chain.cli("upgrade", "head")
    assert "schemashift_ledger" not in chain.tables()
    assert chain.ledger_rows() == [(chain_rev(0), "up"), (chain_rev(1), "up")]


def failing_step(i: int) -> tuple[str, str]:
    if i == 2:  # DDL and rows first, then a statement that fails
        up, down = chain_step(i)
        return up + "\n    op.execute('SELECT * FROM no_such_table')", down
    return chain_step(i)


@pytest.mark.parametrize("atomic", ["step", "run"])
def test_a_failed_migration_leaves_version_and_ledger_agreeing(chain, atomic):
    write_chain(chain.versions, 4, step=failing_step)
    chain.cli("upgrade", chain_rev(0))
    result = chain.cli("upgrade", "head", "--atomic", atomic, ok=False)
    assert result.code == 4 and "rolled back" in result.error_line
    expected = chain_rev(1) if atomic == "step" else chain_rev(0)
    assert chain.version() == {expected}
    applied = int(expected[1:]) + 1
    assert chain.ledger_rows() == [(chain_rev(i), "up") for i in range(applied)]
    assert {t for t in chain.tables() if t.startswith("t_")} == {f"t_{i}" for i in range(applied)}
    with chain.engine().connect() as conn:
        for i in range(applied):
            assert conn.execute(sa.text(f"SELECT count(*) FROM t_{i}")).scalar() == 200


def test_reading_commands_never_create_the_ledger(chain):
    write_chain(chain.versions, 1)
    alembic(chain, "upgrade", "head")
    assert "No ledger yet" in chain.cli("validate").stderr
    chain.cli("history", "--applied")
    if chain.backend == "sqlite":
        assert not Path(chain.url.removeprefix("sqlite:///") + "-schemashift").exists()
    else:
        with chain.engine().connect() as conn:
            assert "schemashift" not in sa.inspect(conn).get_schema_names()


def test_postgresql_without_create_privilege_keeps_the_ledger_in_the_default_schema(pg_server, pg_url, tmp_path):
    from schemashift import api

    role = f"app_{uuid.uuid4().hex[:8]}"
    dbname = pg_url.rsplit("/", 1)[1]
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT ALL ON SCHEMA public TO {role}")
    app_url = pg_url.replace("postgres@", f"{role}@", 1)
    root = tmp_path / "chain"
    api.init(root, url=app_url)
    project = SchoolProject(root, app_url, "postgresql")
    try:
        write_chain(project.versions, 2)
        project.cli("upgrade", chain_rev(0))
        assert "schemashift_ledger" in project.tables()
        assert project.ledger_rows() == [(chain_rev(0), "up")]
        with admin.begin() as conn:  # granted later: the next run moves the ledger to its schema
            conn.exec_driver_sql(f'GRANT CREATE ON DATABASE "{dbname}" TO {role}')
        project.cli("upgrade", "head")
        assert "schemashift_ledger" not in project.tables()
        assert project.ledger_rows() == [(chain_rev(0), "up"), (chain_rev(1), "up")]
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
