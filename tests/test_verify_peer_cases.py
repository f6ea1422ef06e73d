"""Cases other projects test their migration checkers with, as small example
projects, written anew here (issue 12, "Done when").

Each test names the upstream project and test (or example) it comes from, and
asserts verify's verdict and the revision it names.  The expectations are the
upstream ones where they are about a broken downgrade or lost data; the rest
are issue 12's own reproductions (values verify chose must never fail a
revision that other valid rows would pass).
"""

from __future__ import annotations

import pytest
from verify_examples import Rev, make_project, run_verify as run, verdict


FOO = Rev(
    "aaaa",
    'op.create_table("foo", sa.Column("id", sa.Integer(), autoincrement=True, nullable=False), sa.PrimaryKeyConstraint("id"))',
    'op.drop_table("foo")',
)
FOO_MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table
metadata = MetaData()
foo = Table("foo", metadata, Column("id", Integer, primary_key=True))
"""
USERS = Rev(
    "u001",
    'op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(64), nullable=False), '
    'sa.Column("email", sa.String(128), nullable=True))',
    'op.drop_table("users")',
)


def project(tmp_path, name, revisions, url, models=None):
    return make_project(tmp_path, name, revisions, url=url, models=models or FOO_MODELS, base=False)


# --------------------------------------------------------------- pytest-alembic


def test_pytest_alembic_downgrade_leaves_no_trace_failure(tmp_path, db_url):
    """pytest-alembic examples/test_downgrade_leaves_no_trace_failure: the
    downgrade renames the table it should drop."""
    example = project(tmp_path, "pa_no_trace", [Rev("aaaa", "pass"), Rev("bbbb", FOO.up, 'op.rename_table("foo", "bar")')], db_url)
    report = run(example)
    assert verdict(report)["bbbb"] == ("failed", "downgrade")
    assert verdict(report)["aaaa"] == ("ok", None)
    assert any("bar" in line for line in report.revisions[1].problems())


def test_pytest_alembic_consistency_doesnt_roundtrip(tmp_path, db_url):
    """pytest-alembic examples/test_consistency_doesnt_roundtrip: downgrade() is ``pass``."""
    example = project(tmp_path, "pa_roundtrip", [Rev("aaaa", FOO.up, "pass")], db_url)
    report = run(example)
    assert verdict(report) == {"aaaa": ("failed", "re-upgrade after downgrade")}  # foo is still there
    assert report.revisions[0].problems()[0].startswith("left behind: table foo (id INTEGER NOT NULL")


def test_pytest_alembic_failing_upgrade(tmp_path, db_url):
    """pytest-alembic examples/test_failing_upgrade: the upgrade raises ValueError."""
    example = project(
        tmp_path, "pa_failing_upgrade",
        [FOO, Rev("bbbb", 'msg = "Something went wrong upgrading"\nraise ValueError(msg)')], db_url,
    )
    report = run(example)
    assert verdict(report) == {"aaaa": ("ok", None), "bbbb": ("failed", "upgrade")}
    assert report.revisions[1].error == "ValueError: Something went wrong upgrading"


ASSERT_ONE_ROW = """
from sqlalchemy import text
rows = op.get_bind().execute(text("SELECT * FROM foo")).fetchall()
assert len(rows) == 1
assert rows[0].id == 9, f"{rows[0].id} == 9"
"""


def test_pytest_alembic_basic_revision_upgrade_data(tmp_path, sqlite_url):
    """pytest-alembic examples/test_basic_revision_upgrade_data: the upgrade needs
    the one row the user supplies (``before_revision_data``); here in verify_data/."""
    example = project(tmp_path, "pa_upgrade_data", [FOO, Rev("bbbb", ASSERT_ONE_ROW)], sqlite_url)
    without = run(example)
    assert verdict(without)["bbbb"] == ("failed", "upgrade")
    data = example.root / "migrations" / "verify_data"
    data.mkdir()
    (data / "bbbb.py").write_text('rows = {"foo": [{"id": 9}]}\n')
    report = run(example)
    assert verdict(report) == {"aaaa": ("ok", None), "bbbb": ("ok", None)}, report.lines()
    (data / "bbbb.py").unlink()
    (data / "bbbb.sql").write_text("INSERT INTO foo (id) VALUES (9);\n")
    assert verdict(run(example)) == {"aaaa": ("ok", None), "bbbb": ("ok", None)}


# ------------------------------------------------------------------- pytest-mrt


def test_pytest_mrt_safe_add_column_is_reversible(tmp_path, db_url):
    """pytest-mrt tests/test_integration.py::test_safe_add_column_is_reversible."""
    example = project(
        tmp_path, "mrt_safe_add",
        [USERS, Rev("u002", 'op.add_column("users", sa.Column("nickname", sa.String(64), nullable=True))',
                    'op.drop_column("users", "nickname")')],
        db_url,
    )
    report = run(example)
    assert verdict(report) == {"u001": ("ok", None), "u002": ("ok", None)}


def test_pytest_mrt_drop_column_is_data_loss_unless_acknowledged(tmp_path, db_url):
    """pytest-mrt tests/test_integration.py::test_drop_column_detected_as_data_loss."""
    drop = Rev("u002", 'op.drop_column("users", "email")', 'op.add_column("users", sa.Column("email", sa.String(128), nullable=True))')
    example = project(tmp_path, "mrt_drop_column", [USERS, drop], db_url)
    report = run(example)
    assert verdict(report)["u002"] == ("failed", "data lost")
    (loss,) = report.revisions[1].losses
    assert (loss.rule, loss.table, loss.count) == ("SS-V101", "users", 2)  # the third seeded email is NULL
    path = example.revision_path("u002")
    path.write_text(path.read_text() + "\n# schemashift: allow SS-V101 -- emails moved to the CRM in 2024\n")
    report = run(example)
    assert verdict(report)["u002"] == ("ok", None)
    assert report.revisions[1].notes() == [
        f"acknowledged loss: {loss.one_line()} (emails moved to the CRM in 2024)"
    ]


def test_pytest_mrt_drop_table_fails_verification(tmp_path, db_url):
    """pytest-mrt tests/test_integration.py::test_drop_table_fails_verification."""
    logs = 'op.create_table("logs", sa.Column("id", sa.Integer, primary_key=True), sa.Column("msg", sa.Text, nullable=True))'
    example = project(tmp_path, "mrt_drop_table", [Rev("l001", logs, 'op.drop_table("logs")'), Rev("l002", 'op.drop_table("logs")', logs)], db_url)
    report = run(example)
    assert verdict(report) == {"l001": ("ok", None), "l002": ("failed", "data lost")}
    assert [loss.rule for loss in report.revisions[1].losses] == ["SS-V101"]
    assert "table logs: the upgrade drops it with 3 row(s)" in report.revisions[1].problems()[0]


def test_pytest_mrt_noop_downgrade_fails(tmp_path, db_url):
    """pytest-mrt tests/test_integration.py::test_noop_downgrade_fails."""
    events = 'op.create_table("events", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(64), nullable=False))'
    example = project(tmp_path, "mrt_noop_down", [Rev("e001", events, "pass")], db_url)
    report = run(example)
    assert verdict(report) == {"e001": ("failed", "re-upgrade after downgrade")}
    assert report.revisions[0].problems()[0].startswith("left behind: table events")


def test_pytest_mrt_irreversible_data_migration(tmp_path, db_url):
    """pytest-mrt examples/blog/alembic/versions/005_irreversible_data_migration.py:
    ``UPDATE users SET username = UPPER(username)`` with a ``pass`` downgrade."""
    example = project(tmp_path, "mrt_upper", [USERS, Rev("u005", 'op.execute("UPDATE users SET name = UPPER(name)")')], db_url)
    report = run(example)
    assert verdict(report)["u005"] == ("failed", "data lost")
    (loss,) = report.revisions[1].losses
    assert loss.rule == "SS-V103" and loss.count == 3 and "'name_1' -> 'NAME_1'" in loss.example


def test_pytest_mrt_upgrade_exception_is_recorded_and_the_walk_recovers(tmp_path, db_url):
    """pytest-mrt tests/test_integration.py::test_verifier_check_revision_upgrade_exception."""
    example = project(tmp_path, "mrt_up_exc", [USERS, Rev("u002", 'op.execute("SELECT * FROM no_such_table")')], db_url)
    report = run(example)
    assert verdict(report) == {"u001": ("ok", None), "u002": ("failed", "upgrade")}
    assert "no_such_table" in report.revisions[1].error


# ------------------------------------------- issue 12's own reproductions (seeding)


def test_string_later_converted_to_integer_is_no_false_alarm(tmp_path, db_url, backend):
    """Issue 12: seeded 'qty_1' made a later String -> Integer conversion fail."""
    using = ', postgresql_using="qty::integer"' if backend == "postgresql" else ""
    example = project(
        tmp_path, "seed_string_to_int",
        [
            Rev("o001", 'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True), sa.Column("qty", sa.String(20)))',
                'op.drop_table("orders")'),
            Rev("o002",
                f'with op.batch_alter_table("orders") as b:\n    b.alter_column("qty", type_=sa.Integer(), existing_type=sa.String(20){using})',
                'with op.batch_alter_table("orders") as b:\n    b.alter_column("qty", type_=sa.String(20), existing_type=sa.Integer())'),
        ],
        db_url,
    )
    report = run(example)
    assert verdict(report) == {"o001": ("ok", None), "o002": ("ok", None)}, report.lines()


def test_ids_inserted_by_a_migration_do_not_collide_with_seeded_ids(tmp_path, db_url):
    """Issue 12: seeded ``roles.id = 1`` collided with the row a migration inserts."""
    example = project(
        tmp_path, "seed_ids",
        [
            Rev("g001", 'op.create_table("roles", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20), nullable=False))',
                'op.drop_table("roles")'),
            Rev("g002", "op.execute(\"INSERT INTO roles (id, name) VALUES (1, 'admin')\")", 'op.execute("DELETE FROM roles WHERE id = 1")'),
        ],
        db_url,
    )
    assert verdict(run(example)) == {"g001": ("ok", None), "g002": ("ok", None)}


def test_later_set_not_null_is_no_false_alarm(tmp_path, db_url):
    """Issue 12: a seeded NULL failed a later SET NOT NULL that real data satisfies."""
    example = project(
        tmp_path, "seed_not_null",
        [
            USERS,
            Rev("u002", 'with op.batch_alter_table("users") as b:\n    b.alter_column("email", existing_type=sa.String(128), nullable=False)',
                'with op.batch_alter_table("users") as b:\n    b.alter_column("email", existing_type=sa.String(128), nullable=True)'),
        ],
        db_url,
    )
    assert verdict(run(example)) == {"u001": ("ok", None), "u002": ("ok", None)}


ASSERT_EMPTY = """
from sqlalchemy import text
assert op.get_bind().execute(text("SELECT count(*) FROM users")).scalar() == 0, "users must be empty"
"""


def test_revision_that_cannot_run_with_rows_is_named_and_passes_without_seed(tmp_path, db_url):
    """Issue 12 Done-when: "fails with rows present", naming the seeded table; --no-seed passes."""
    example = project(tmp_path, "seed_needs_empty", [USERS, Rev("u002", ASSERT_EMPTY)], db_url)
    report = run(example)
    assert verdict(report) == {"u001": ("ok", None), "u002": ("failed", "upgrade with rows present")}
    error = report.revisions[1].error
    assert "users must be empty" in error and "users (seeded at u00" in error and "id=9001" in error
    assert verdict(run(example, seed=False)) == {"u001": ("ok", None), "u002": ("ok", None)}


@pytest.mark.parametrize("seed", [True, False])
def test_no_seed_still_checks_schemas(tmp_path, sqlite_url, seed):
    example = project(tmp_path, f"no_seed_{seed}", [Rev("aaaa", FOO.up, "pass")], sqlite_url)
    report = run(example, seed=seed)
    assert verdict(report) == {"aaaa": ("failed", "re-upgrade after downgrade")}
    assert bool(report.revisions[0].seeded) is seed


def test_text_later_cast_to_json_gets_json_rows(tmp_path, pg_url):
    """Issue 12: seeded strings landed where a migration expects a JSON object."""
    example = project(
        tmp_path, "seed_json",
        [
            Rev("j001", 'op.create_table("events", sa.Column("id", sa.Integer, primary_key=True), sa.Column("payload", sa.Text))',
                'op.drop_table("events")'),
            Rev("j002",
                'from sqlalchemy.dialects import postgresql\n'
                'op.alter_column("events", "payload", type_=postgresql.JSONB(), existing_type=sa.Text(), postgresql_using="payload::jsonb")\n'
                "op.execute(\"UPDATE events SET payload = payload || '{}'::jsonb\")",
                'op.alter_column("events", "payload", type_=sa.Text(), existing_type=sa.JSON(), postgresql_using="payload::text")'),
        ],
        pg_url,
    )
    report = run(example)
    assert verdict(report) == {"j001": ("ok", None), "j002": ("ok", None)}, report.lines()


# ------------------------------------------------------------------ pytest-mrt


def _trigger_revisions(backend: str, downgrade_drops: str) -> list[Rev]:
    """A trigger (on PostgreSQL with its function) made with IF NOT EXISTS / OR REPLACE, so that
    upgrading again after a downgrade that left it behind does not fail on its own."""
    if backend == "sqlite":
        up = 'op.execute("CREATE TRIGGER IF NOT EXISTS foo_audit AFTER INSERT ON foo BEGIN SELECT 1; END")'
        down = {"all": 'op.execute("DROP TRIGGER foo_audit")', "some": "pass"}[downgrade_drops]
    else:
        up = ('op.execute("CREATE OR REPLACE FUNCTION foo_audit() RETURNS trigger LANGUAGE plpgsql '
              'AS $$ BEGIN RETURN NEW; END $$")\n'
              'op.execute("CREATE OR REPLACE TRIGGER foo_audit AFTER INSERT ON foo FOR EACH ROW EXECUTE FUNCTION foo_audit()")')
        down = {"all": 'op.execute("DROP TRIGGER foo_audit ON foo")\nop.execute("DROP FUNCTION foo_audit()")',
                "some": 'op.execute("DROP TRIGGER foo_audit ON foo")'}[downgrade_drops]
    return [FOO, Rev("bbbb", up, down)]


def test_pytest_mrt_trigger_left_behind_by_the_downgrade(tmp_path, db_url, backend):
    """pytest-mrt's MRT502/MRT503 (a trigger or type the downgrade does not drop): verify compared
    tables, views, enums and sequences, so a trigger (SQLite) or a trigger's function (PostgreSQL)
    left behind passed whenever the upgrade tolerated it on the way up again."""
    example = project(tmp_path, "mrt_trigger", _trigger_revisions(backend, "some"), db_url)
    report = run(example)
    assert verdict(report) == {"aaaa": ("ok", None), "bbbb": ("failed", "downgrade")}
    left = "trigger foo.foo_audit" if backend == "sqlite" else "function foo_audit()"
    assert report.revisions[1].problems()[0].startswith(f"left behind: {left}"), report.revisions[1].problems()


def test_pytest_mrt_trigger_dropped_by_the_downgrade(tmp_path, db_url, backend):
    """The same history with a downgrade that drops everything it made: no false alarm."""
    example = project(tmp_path, "mrt_trigger_ok", _trigger_revisions(backend, "all"), db_url)
    assert verdict(run(example)) == {"aaaa": ("ok", None), "bbbb": ("ok", None)}
