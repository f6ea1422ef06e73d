"""Each rule fires where it should and stays quiet where it should not, on live rows.

Every case is one revision on the ``shop`` database holding a positive line
(``# POS``: the rule must fire there) and a negative one (``# NEG``: it must
not, or only at info level when nothing is at stake).  The plan is checked,
then the revision is run with the rule allowed and the rows are read back,
value by value: planning changed nothing, and running did what it says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from schemashift import api
from schemashift.checks.findings import RULES
from schemashift.errors import MigrationFailed

from fixtures_lint import TEAMS, USERS, by_line, line_of

BOTH = ("sqlite", "postgresql")
PG = ("postgresql",)
LITE = ("sqlite",)
USERS4 = [(i, e, n, t) for i, e, n, t, _ in USERS]
USERS_ALL = [(i, e, n, t) for i, e, n, t, _ in USERS]

# rule, databases, upgrade code, outcome of the run: "ok" (rows as given after), "fails" (migration refused by the database)
CASES = [
    ("SS-D101", BOTH, "op.drop_table('users')  # POS\nop.drop_table('empty')  # NEG", "ok"),
    ("SS-D102", BOTH, "op.drop_column('users', 'name')  # POS\nop.drop_column('users', 'note')  # NEG", "ok"),
    ("SS-D103", PG, "op.execute('CREATE SCHEMA arch')  # NEG\nop.execute('DROP SCHEMA arch')  # POS", "ok"),
    ("SS-D104", BOTH, "op.execute('DELETE FROM users WHERE id = 99')  # NEG\nop.execute('DELETE FROM teams')  # POS", "ok"),
    ("SS-D104", PG, "op.execute('TRUNCATE empty')  # NEG\nop.execute('TRUNCATE teams')  # POS", "ok"),
    ("SS-D105", PG, "op.alter_column('users', 'email', type_=sa.String(100), existing_type=sa.String(50))  # NEG\n"
                    "op.alter_column('users', 'name', type_=sa.String(3), existing_type=sa.String(100))  # POS", "fails"),
    ("SS-D106", PG, "op.create_foreign_key('fk_x', 'empty', 'teams', ['v'], ['id'])  # NEG\n"
                    "op.drop_constraint('fk_x', 'empty', type_='foreignkey')  # POS", "ok"),
    ("SS-N201", BOTH, "op.create_index('ix_id2', 'users', ['name'], unique=True)  # NEG\n"
                      "op.create_index('ix_email', 'users', ['email'], unique=True)  # POS", "fails"),
    ("SS-N202", PG, "op.alter_column('users', 'team_id', nullable=False, existing_type=sa.Integer())  # NEG\n"
                    "op.alter_column('users', 'email', nullable=False, existing_type=sa.String(50))  # POS", "fails"),
    ("SS-N203", BOTH, "op.add_column('users', sa.Column('age', sa.Integer, nullable=False, server_default='0'))  # NEG\n"
                      "op.add_column('users', sa.Column('score', sa.Integer, nullable=False))  # POS", "fails"),
    ("SS-N204", PG, "op.create_check_constraint('ck_ok', 'users', 'team_id < 1000')  # NEG\n"
                    "op.create_check_constraint('ck_bad', 'users', 'team_id < 10')  # POS", "fails"),
    ("SS-N205", PG, "op.create_foreign_key('fk_ok', 'empty', 'teams', ['v'], ['id'])  # NEG\n"
                    "op.create_foreign_key('fk_bad', 'users', 'teams', ['team_id'], ['id'])  # POS", "fails"),
    ("SS-B301", BOTH, "op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))  # NEG\n"
                      "op.rename_table('teams', 'squads')  # POS", "ok"),
    ("SS-B302", BOTH, "op.add_column('users', sa.Column('age', sa.Integer))  # NEG\n"
                      "op.alter_column('users', 'note', new_column_name='remark')  # POS", "ok"),
    ("SS-P401", PG, "op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.Integer))\n"
                    "op.create_index('ix_t2', 't2', ['v'])  # NEG\nop.create_index('ix_users_name', 'users', ['name'])  # POS", "ok"),
    ("SS-P402", PG, "op.create_index('ix_users_name', 'users', ['name'])\n"
                    "with op.get_context().autocommit_block():\n"
                    "    op.drop_index('ix_users_name', table_name='users', postgresql_concurrently=True)  # NEG\n"
                    "op.create_index('ix_users_name2', 'users', ['name'])\n"
                    "op.drop_index('ix_users_name2', table_name='users')  # POS", "ok"),
    ("SS-P403", PG, "op.execute('ALTER TABLE empty ADD CONSTRAINT fk_nv FOREIGN KEY (v) REFERENCES teams (id) NOT VALID')  # NEG\n"
                    "op.create_foreign_key('fk_t', 'teams', 'users', ['id'], ['id'])  # POS", "ok"),
    ("SS-P404", PG, "op.execute('ALTER TABLE users ADD CONSTRAINT ck_nv CHECK (id > 0) NOT VALID')  # NEG\n"
                    "op.create_check_constraint('ck_id', 'users', 'id > 0')  # POS", "ok"),
    ("SS-P405", PG, "op.execute('ALTER TABLE users ADD CONSTRAINT ck_tnn CHECK (team_id IS NOT NULL)')\n"
                    "op.alter_column('users', 'note', nullable=True, existing_type=sa.Text())\n"
                    "op.alter_column('users', 'name', nullable=False, existing_nullable=False, existing_type=sa.String(100))  # NEG\n"
                    "op.alter_column('teams', 'name', nullable=False, existing_type=sa.String(40))  # POS", "ok"),
    ("SS-P406", PG, "op.alter_column('users', 'email', type_=sa.String(80), existing_type=sa.String(50))  # NEG\n"
                    "op.alter_column('users', 'id', type_=sa.BigInteger(), existing_type=sa.Integer())  # POS", "ok"),
    ("SS-P407", PG, "op.add_column('users', sa.Column('age', sa.Integer, server_default='0'))  # NEG\n"
                    "op.add_column('users', sa.Column('token', sa.Float, server_default=sa.text('random()')))  # POS", "ok"),
    ("SS-P408", PG, "op.create_unique_constraint('uq_empty_v', 'empty', ['v'])  # NEG\n"
                    "op.create_unique_constraint('uq_users_name', 'users', ['name'])  # POS", "ok"),
    ("SS-S501", LITE, "with op.batch_alter_table('empty') as b:\n    b.alter_column('v', nullable=False)  # NEG\n"
                      "with op.batch_alter_table('teams') as b:\n    b.alter_column('name', type_=sa.String(80))  # POS", "ok"),
    ("SS-S503", LITE, "with op.batch_alter_table('teams') as b:\n    b.alter_column('name', type_=sa.String(80))  # NEG\n"
                      "with op.batch_alter_table('users') as b:\n    b.alter_column('note', type_=sa.String(200))  # POS", "ok"),
    # recreate="always" written by the user (it was taken for a part of op.rebuild_table, and nothing was said)
    ("SS-S503", LITE, "with op.batch_alter_table('teams', recreate='always') as b:\n"
                      "    b.alter_column('name', type_=sa.String(80))  # NEG\n"
                      "with op.batch_alter_table('users', recreate='always') as b:\n"
                      "    b.alter_column('note', type_=sa.String(200))  # POS", "ok"),
    ("SS-S502", LITE, "op.add_column('users', sa.Column('age', sa.Integer, server_default='0'))  # NEG\n"
                      "op.alter_column('users', 'email', nullable=False)  # POS", "fails"),
    ("SS-X601", PG, "op.execute('UPDATE teams SET name = name')  # NEG\nop.execute('REINDEX TABLE teams')  # POS", "ok"),
    ("SS-X601", LITE, "op.execute('UPDATE teams SET name = name')  # NEG\n"
                      "op.execute('CREATE TRIGGER trg AFTER INSERT ON teams BEGIN SELECT 1; END')  # POS", "ok"),
]


def _ids():
    return [f"{rule}-{i}" for i, (rule, *_rest) in enumerate(CASES)]


@pytest.mark.parametrize("case", range(len(CASES)), ids=_ids())
def test_rule_positive_and_negative(shop, backend, case):
    rule, databases, code, outcome = CASES[case]
    if backend not in databases:
        # the rule is about the other database: on this one it must stay silent
        path = shop.case(code.replace("op.execute('TRUNCATE", "op.execute('DELETE FROM").replace("op.execute('REINDEX TABLE teams')", "pass"))
        found = {r for lines in by_line(shop.plan(), path).values() for r, _ in lines}
        assert rule not in found or RULES[rule].family not in ("postgresql", "sqlite")
        return
    path = shop.case(code)
    before = shop.state()
    plan = shop.plan()
    assert shop.state() == before, "planning changed the database"
    found = by_line(plan, path)
    pos = line_of(path, "# POS")
    neg = line_of(path, "# NEG")
    assert rule in {r for r, _ in found.get(pos, set())}, f"{rule} not found at line {pos}: {found}"
    assert not {(r, lv) for r, lv in found.get(neg, set()) if r == rule and lv != "info"}, f"{rule} fired at {neg}: {found}"
    allow = sorted({r for lines in found.values() for r, lv in lines if lv == "error"})
    if outcome == "fails":
        with pytest.raises(MigrationFailed):
            api.upgrade(shop.project(), allow=allow)
        assert shop.state() == before  # rolled back, every value
        return
    api.upgrade(shop.project(), allow=allow)
    _check_rows(shop, rule)


def _check_rows(shop, rule):
    tables = shop.tables()
    if rule == "SS-D101":
        assert "users" not in tables and "empty" not in tables
        assert shop.rows("teams", "id, name") == TEAMS
        return
    if rule == "SS-D104":
        assert shop.rows("teams", "id, name") == []
        assert shop.users() == USERS4
        return
    if rule == "SS-B301":
        assert shop.rows("squads", "id, name") == TEAMS
        return
    if rule == "SS-S503":  # allowed, the batch rebuild did lose what the finding named
        with shop.engine().connect() as conn:
            assert conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() == []
    if rule == "SS-D102":
        assert shop.rows("users", "id, email, team_id") == [(i, e, t) for i, e, _n, t in USERS4]
        return
    assert shop.rows("teams", "id, name") == TEAMS
    assert shop.users() == USERS4


def test_every_rule_has_a_case():
    # these three: tests below; SS-M701 (MariaDB only): tests/test_mariadb.py
    covered = {rule for rule, *_ in CASES} | {"SS-D107", "SS-B303", "SS-P409", "SS-M701"}
    assert covered == set(RULES)


def test_downgrade_dropping_rows_is_D107_and_empty_is_info(shop):
    plan = shop.plan(revision="base", direction="down")
    by_table = {f.table: f for f in plan.findings if f.rule == "SS-D107"}
    assert by_table["users"].level == "error" and by_table["users"].rows == 4
    assert by_table["teams"].rows == 2
    assert by_table["empty"].level == "info"


def test_drop_of_a_column_the_models_map_is_B303(school):
    school.manual_revision("create", "op.create_table('students', sa.Column('id', sa.Integer, primary_key=True), "
                           "sa.Column('name', sa.String(100)), sa.Column('grade', sa.Integer), sa.Column('old', sa.Integer))",
                           "op.drop_table('students')")
    api.upgrade(school.project())
    school.insert_students()
    school.manual_revision("drop", "op.drop_column('students', 'name')  # POS\nop.drop_column('students', 'old')  # NEG", "pass")
    plan = api.plan(school.project())
    b303 = [f for f in plan.findings if f.rule == "SS-B303"]
    assert [f.message for f in b303] == ["drops column students.name, which the models still map"]


def test_lock_timeout_P409_unless_set_in_the_revision(shop, backend):
    shop.case("op.add_column('users', sa.Column('age', sa.Integer))")
    assert ("SS-P409" in {f.rule for f in shop.plan().findings}) == (backend == "postgresql")
    if backend != "postgresql":
        return
    (shop.versions / "s0002_case.py").unlink()
    shop.revs.pop()
    shop.case("op.execute(\"SET LOCAL lock_timeout = '2s'\")\nop.add_column('users', sa.Column('age', sa.Integer))")
    assert "SS-P409" not in {f.rule for f in shop.plan().findings}
    api.upgrade(shop.project())
    assert shop.users() == USERS4


def test_target_version_changes_the_judgement(shop, backend):
    shop.case("op.add_column('users', sa.Column('age', sa.Integer, server_default='0'))")
    assert "SS-P407" not in {f.rule for f in shop.plan().findings}
    on_10 = {f.rule for f in shop.plan(target_version="10").findings}
    assert ("SS-P407" in on_10) == (backend == "postgresql")  # a PostgreSQL version says nothing about SQLite


def test_readme_rule_table_lists_every_rule_with_its_level():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for rule in RULES.values():
        assert f"| {rule.id} | {rule.level} | {rule.title} |" in readme, rule.id


LOSSY_TABLE = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT COLLATE NOCASE, "
    "qty INTEGER CHECK (qty >= 0), team_id INTEGER REFERENCES teams (id) ON DELETE CASCADE "
    "DEFERRABLE INITIALLY DEFERRED, CONSTRAINT ck_orders_code CHECK (code <> ''))"
)
BATCH_ORDERS = "with op.batch_alter_table('orders') as b:\n    b.alter_column('qty', nullable=False, existing_type=sa.Integer())"


def test_ss_s503_names_the_clauses_a_batch_rebuild_drops(shop, backend):
    """Alembic's batch mode rebuilds from reflection: AUTOINCREMENT, a column's COLLATE, an
    unnamed CHECK, ON DELETE CASCADE and DEFERRABLE are not carried over. The plan names
    each; allowed, the run shows the claim was true, and every row is kept."""
    create = LOSSY_TABLE if backend == "sqlite" else LOSSY_TABLE.replace(" AUTOINCREMENT", "").replace(" COLLATE NOCASE", "")
    with shop.engine().begin() as conn:
        conn.exec_driver_sql(create)
        conn.exec_driver_sql("INSERT INTO orders (id, code, qty, team_id) VALUES (1, 'a', 2, 1), (2, 'B', 0, 2)")
    path = shop.case(BATCH_ORDERS + "  # POS")
    found = [f for rev in shop.plan().revisions if rev.path and Path(rev.path) == path for op in rev.operations
             for f in op.findings if f.rule == "SS-S503"]
    if backend != "sqlite":
        assert found == []  # PostgreSQL alters in place
        return
    assert len(found) == 1 and found[0].level == "error", found
    for clause in ("AUTOINCREMENT", "COLLATE NOCASE", "CHECK (qty >= 0)", "ON DELETE CASCADE",
                   "DEFERRABLE INITIALLY DEFERRED"):
        assert clause in found[0].message, found[0].message
    assert "ck_orders_code" not in found[0].message and "CHECK (code" not in found[0].message  # a named CHECK is kept
    api.upgrade(shop.project(), allow=["SS-S503"])
    with shop.engine().connect() as conn:
        after = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'orders'").scalar()
        assert conn.exec_driver_sql("SELECT id, code, qty, team_id FROM orders ORDER BY id").all() == [
            (1, "a", 2, 1), (2, "B", 0, 2)]
    for clause in ("AUTOINCREMENT", "NOCASE", "qty >= 0", "CASCADE", "DEFERRABLE"):
        assert clause not in after, after  # what the finding said was lost, was
    assert "ck_orders_code" in after


def test_schemashift_ops_are_told_apart_without_importing_their_modules_first():
    """``from_op`` looks schemashift's own op classes up only among imported modules (a plan of
    plain ops imports neither the rebuild nor the conversions); an op of those classes, which can
    only exist once its module is imported, is still read as the slow, importing lookup read it."""
    import subprocess
    import sys

    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite

    from schemashift.autogen.type_ops import ConvertColumnOp
    from schemashift.checks.actions import from_op
    from schemashift.safety.rebuild import RebuildTableOp

    convert = from_op(ConvertColumnOp("t", "c", sa.Integer(), sa.String()), sqlite.dialect())
    assert [(a.kind, a.column, a.extra.get("convert")) for a in convert] == [("alter_type", "c", True)]
    rebuild = from_op(RebuildTableOp("t", drop_columns=["old"]), sqlite.dialect())
    assert [(a.kind, a.column) for a in rebuild] == [("rebuild", None), ("drop_column", "old")]
    code = (
        "import sys, sqlalchemy as sa\n"
        "from alembic.operations import ops\n"
        "from sqlalchemy.dialects import sqlite\n"
        "from schemashift.checks.actions import from_op\n"
        "kinds = [a.kind for op in (ops.AddColumnOp('t', sa.Column('c', sa.Integer)), ops.DropTableOp('t'))"
        " for a in from_op(op, sqlite.dialect())]\n"
        "print(kinds, 'schemashift.safety.rebuild' in sys.modules, 'schemashift.autogen.type_ops' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['add_column', 'drop_table'] False False"


def test_expression_indexes_read_without_sqlalchemys_skip_warning(tmp_path, sqlite_url):
    """SQLite's reflection warns "Skipped unsupported reflection of expression-based index" while
    schemashift reads those indexes from sqlite_master itself: SS-S503 names them, rebuild_table keeps
    them. The warning was printed by every plan of Prefect's history; now only the finding is."""
    from fixtures_projects import SchoolProject

    root = tmp_path / "exprs"
    api.init(root, url=sqlite_url)
    project = SchoolProject(root, sqlite_url, "sqlite")
    project.write_models()
    project.manual_revision(
        "emails", "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), sa.Column('email', sa.String(50)))\n"
        "op.execute('CREATE INDEX ix_t_lower ON t (lower(email))')", "op.drop_table('t')", rev_id="e1")
    project.cli("upgrade", "head")
    with project.engine().begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (id, email) VALUES (1, 'A@x'), (2, 'b@y')")
    project.manual_revision(
        "wider", "import schemashift.safety.rebuild  # noqa: F401  (op.rebuild_table)\n"
        "op.rebuild_table('t', alter_columns={'email': {'type_': sa.String(80)}})", "pass", rev_id="e2")
    rebuilt = project.cli("upgrade", "head", fresh=True)  # a fork would keep pytest's capture of warnings
    assert "Skipped unsupported reflection" not in rebuilt.stderr, rebuilt.stderr
    assert project.rows("t", "id, email") == [(1, "A@x"), (2, "b@y")]
    project.manual_revision(
        "batch", "with op.batch_alter_table('t') as b:\n    b.alter_column('email', type_=sa.String(90))", "pass",
        rev_id="e3")
    refused = project.cli("upgrade", "head", ok=False, fresh=True)
    assert refused.code == 5 and "SS-S503" in refused.stderr and "ix_t_lower" in refused.stderr
    assert "Skipped unsupported reflection" not in refused.stderr, refused.stderr
    # --allow-destructive covers the destructive rules only, so it is not offered for SS-S503 (it was)
    assert "--allow SS-S503," in refused.error_line and "--allow-destructive" not in refused.error_line
    assert project.cli("upgrade", "head", "--allow-destructive", ok=False).code == 5
    planned = project.cli("plan", "head").stdout  # the plan's summary offers what would be enough, too
    assert "will refuse unless --allow SS-S503" in planned and "--allow-destructive" not in planned
    with project.engine().connect() as conn:
        assert "lower(email)" in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_t_lower'").scalar()
    assert project.rows("t", "id, email") == [(1, "A@x"), (2, "b@y")]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite's rename check; PostgreSQL alters in place
def test_a_batch_rebuild_of_a_table_a_view_names_is_refused_and_rebuild_table_keeps_it(shop, backend):
    """Batch mode drops the table and renames its copy; SQLite then re-reads every view and every other
    table's trigger, and fails on one naming the table (plain Alembic leaves ``_alembic_tmp_teams``
    behind).  The plan says so (SS-S502); a view that only holds the name in a string is not named;
    ``op.rebuild_table`` keeps the view and the trigger working, every row kept."""
    with shop.engine().begin() as conn:
        conn.exec_driver_sql("CREATE VIEW team_names AS SELECT name FROM \"teams\" WHERE id < 10")
        conn.exec_driver_sql("CREATE VIEW words AS SELECT 'empty' AS w FROM users")
        conn.exec_driver_sql("CREATE TRIGGER users_touch AFTER INSERT ON users BEGIN UPDATE teams SET name = name; END")
    path = shop.case("with op.batch_alter_table('empty') as b:\n    b.alter_column('v', type_=sa.BigInteger())  # NEG\n"
                     "with op.batch_alter_table('teams') as b:\n    b.alter_column('name', type_=sa.String(80))  # POS")
    before = shop.state()
    found = by_line(shop.plan(), path)
    assert ("SS-S502", "error") in found[line_of(path, "# POS")]
    assert "SS-S502" not in {r for r, _ in found.get(line_of(path, "# NEG"), set())}
    [message] = [f.message for rev in shop.plan().revisions for op in rev.operations for f in op.findings
                 if f.rule == "SS-S502"]
    assert message.startswith("batch rebuild of teams fails: view team_names, trigger users_touch name it")
    with pytest.raises(MigrationFailed) as failed:
        api.upgrade(shop.project(), allow=["SS-S502", "SS-S503"])
    assert "team_names" in str(failed.value) or "users_touch" in str(failed.value)
    assert shop.state() == before
    text = path.read_text()
    batch = "    with op.batch_alter_table('teams') as b:\n        b.alter_column('name', type_=sa.String(80))  # POS"
    assert batch in text
    path.write_text(text.replace(batch, "    import schemashift.safety.rebuild  # noqa: F401\n"
                                        "    op.rebuild_table('teams', alter_columns={'name': {'type_': sa.String(80)}})"))
    plan = shop.plan()
    assert not [f for rev in plan.revisions for op in rev.operations for f in op.findings if f.rule == "SS-S502"]
    api.upgrade(shop.project())
    assert shop.rows("teams", "id, name") == TEAMS and shop.users() == USERS4
    with shop.engine().begin() as conn:
        assert conn.exec_driver_sql("SELECT name FROM team_names ORDER BY name").all() == [("blue",), ("red",)]
        conn.exec_driver_sql("INSERT INTO users (id, email, name, team_id) VALUES (5, 'e@x', 'Eve', 1)")  # the trigger runs
        assert "VARCHAR(80)" in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'teams'").scalar()


def test_clauses_that_spell_out_the_default_are_not_counted_as_lost():
    """Airflow's tables say ``ON DELETE NO ACTION``; a batch rebuild that drops those words changes nothing,
    and SS-S503 refused 26 downgrade steps of Airflow's history for it."""
    from schemashift.schema.sqlite_clauses import table_clauses

    plain = "CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p (id))"
    for spelled in ("ON DELETE NO ACTION", "ON UPDATE NO ACTION", "DEFERRABLE INITIALLY IMMEDIATE", "DEFERRABLE",
                    "NOT DEFERRABLE INITIALLY DEFERRED", "ON DELETE NO ACTION ON UPDATE NO ACTION NOT DEFERRABLE"):
        assert table_clauses(plain.replace("(id))", f"(id) {spelled})")) == table_clauses(plain), spelled
    for meaningful, clause in (("ON DELETE CASCADE", "ON DELETE CASCADE"), ("ON UPDATE SET NULL", "ON UPDATE SET NULL"),
                               ("DEFERRABLE INITIALLY DEFERRED", "DEFERRABLE INITIALLY DEFERRED"),
                               ("ON DELETE RESTRICT", "ON DELETE RESTRICT")):
        assert set(table_clauses(plain.replace("(id))", f"(id) {meaningful})"))) == {clause}, meaningful
