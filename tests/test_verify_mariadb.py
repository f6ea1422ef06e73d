"""verify on MariaDB: the scratch database is one of its own on the project's server.

It was refused before ("scratch databases on mysql are not supported"), so a
MariaDB project could prove its downgrades only on another engine, which proves
little: DDL there commits at once and types differ.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from verify_examples import Rev, make_project, run_verify, table_names, verdict

from schemashift.errors import Refused
from schemashift.safety.verify import verify

ADD_AGE = Rev(
    "r1",
    'op.add_column("users", sa.Column("age", sa.Integer))\nop.create_index("ix_users_name", "users", ["name"])',
    'op.drop_index("ix_users_name", table_name="users")\nop.drop_column("users", "age")',
)
FORGETS_COLUMN = Rev(
    "r1",
    'op.add_column("users", sa.Column("age", sa.Integer))\nop.create_index("ix_users_name", "users", ["name"])',
    'op.drop_index("ix_users_name", table_name="users")',
)
MODELS_AGE = 'users.append_column(Column("age", Integer))\nIndex("ix_users_name", users.c.name)\n'


def _project(tmp_path, name, url, revision):
    """verify_examples' base has a downgrade MariaDB refuses (it drops the index a foreign key
    needs before the table: error 1553, which verify reports): this one drops tables only."""
    from verify_examples import BASE_MODELS, BASE_UP

    base = Rev("r0", BASE_UP, 'op.drop_table("notes")\nop.drop_table("posts")\nop.drop_table("users")', "create tables")
    return make_project(tmp_path, name, [base, revision], url=url, models=BASE_MODELS + MODELS_AGE, base=False)


def _scratch_databases(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SHOW DATABASES LIKE 'schemashift_scratch%%'")]
    finally:
        engine.dispose()


def test_a_sound_history_verifies_on_its_own_scratch_database(tmp_path, mariadb_url):
    example = _project(tmp_path, "maria_ok", mariadb_url, ADD_AGE)
    report = run_verify(example)  # also: the project's own database holds no table afterwards
    assert verdict(report) == {"r0": ("ok", None), "r1": ("ok", None)}, report.lines()
    assert report.ok and report.dialect in ("mysql", "mariadb")
    assert report.revisions[0].seeded and report.revisions[1].values_checked > 0
    assert _scratch_databases(mariadb_url) == []


def test_the_examples_base_downgrade_is_refused_by_mariadb_and_verify_says_so(tmp_path, mariadb_url):
    example = make_project(tmp_path, "maria_1553", [], url=mariadb_url)
    report = run_verify(example)
    assert verdict(report) == {"r0": ("failed", "downgrade")}
    assert "needed in a foreign key constraint" in "\n".join(report.lines())
    assert _scratch_databases(mariadb_url) == []


def test_a_downgrade_that_leaves_a_column_fails_on_mariadb(tmp_path, mariadb_url):
    example = _project(tmp_path, "maria_bad", mariadb_url, FORGETS_COLUMN)
    report = run_verify(example)
    assert verdict(report)["r1"][0] == "failed"
    text = "\n".join(report.lines())
    assert "left behind: column users.age" in text
    assert _scratch_databases(mariadb_url) == []


def test_the_projects_own_database_is_refused_as_scratch(tmp_path, mariadb_url):
    example = _project(tmp_path, "maria_own", mariadb_url, ADD_AGE)
    for spelled in (mariadb_url, mariadb_url.replace("127.0.0.1", "localhost")):
        with pytest.raises(Refused, match="is the project's own database"):
            verify(example.reload(), scratch_url=spelled)


def test_lint_and_erd_build_their_schema_on_a_mariadb_scratch(tmp_path, mariadb_url):
    """lint and erd run the revisions on the same kind of scratch database as verify."""
    from schemashift import api

    example = _project(tmp_path, "maria_pictures", mariadb_url, ADD_AGE)
    report = api.lint(example.reload())
    assert report.revisions == ["r0", "r1"] and report.dialect in ("mysql", "mariadb")
    diagram = api.erd(example.reload(), "head")
    users = next(t for t in diagram.tables if t.name == "users")
    assert "age" in [c.name for c in users.columns]
    assert _scratch_databases(mariadb_url) == []
    assert table_names(mariadb_url) == []  # the project's own database: untouched


@pytest.mark.parametrize("downgrade, status", [('op.execute("DROP TRIGGER users_audit")', "ok"), ("pass", "failed")])
def test_a_trigger_the_downgrade_leaves_fails_on_mariadb(tmp_path, mariadb_url, downgrade, status):
    """pytest-mrt's MRT502 on MariaDB: information_schema.TRIGGERS is compared too (IF NOT EXISTS
    lets the upgrade run again, so only that comparison can see the trigger left behind)."""
    trigger = Rev("r1", 'op.execute("CREATE TRIGGER IF NOT EXISTS users_audit AFTER INSERT ON users '
                        'FOR EACH ROW SET @seen = 1")', downgrade)
    report = run_verify(_project(tmp_path, f"maria_trigger_{status}", mariadb_url, trigger))
    assert verdict(report)["r1"][0] == status, report.lines()
    if status == "failed":
        assert "left behind: trigger users.users_audit" in "\n".join(report.lines())
    assert _scratch_databases(mariadb_url) == []
