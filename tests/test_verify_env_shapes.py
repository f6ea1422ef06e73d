"""verify runs any env.py as upgrade does (issue 12.5, 12.6, 12.7).

An async env.py on PostgreSQL (``postgresql+psycopg_async`` and ``+asyncpg``), a version
table in its own schema, SQLite steps with foreign keys as upgrade sets them,
and histories whose databases start from ``create_all()`` + stamp
(``--baseline``).
"""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from fixtures_runcore import make_env_async
from verify_examples import Rev, make_project, sqlite_foreign_keys_on, table_names

from schemashift import api
from schemashift.safety.verify import verify


INDEX = 'Index("ix_users_name", users.c.name)\n'
BIGINT = Rev(
    "r2",
    'op.alter_column("users", "score", type_=sa.BigInteger(), existing_type=sa.Integer())',
    'op.alter_column("users", "score", type_=sa.Integer(), existing_type=sa.BigInteger())',
)


def make_async(example) -> None:
    make_env_async(example.root / "migrations" / "env.py")


def test_async_env_py_on_postgresql_verifies(tmp_path, pg_url):
    """Issue 12: "greenlet_spawn has not been called" with an async env.py; an
    ALTER ... TYPE BIGINT step (where raw-cursor reads broke on asyncpg)."""
    url = pg_url.replace("postgresql+psycopg://", "postgresql+psycopg_async://")
    example = make_project(
        tmp_path, "async_env",
        [Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', 'op.drop_index("ix_users_name", table_name="users")'), BIGINT],
        url=url, models_extra=INDEX + 'from sqlalchemy import BigInteger\nusers.c.score.type = BigInteger()\n',
    )
    make_async(example)
    report = verify(example.reload())
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "ok"), ("r2", "ok")], report.lines()
    assert report.revisions[0].seeded and report.revisions[2].values_checked > 0
    assert table_names(pg_url) == []


def test_version_table_in_its_own_schema(tmp_path, pg_url):
    """Issue 12: version_table_schema made verify fail, the scratch database lacking the schema."""
    example = make_project(tmp_path, "version_schema", [], url=pg_url)
    env_py = example.root / "migrations" / "env.py"
    text = env_py.read_text()
    text = text.replace("render_as_batch=connection.dialect.name == \"sqlite\",",
                        "render_as_batch=connection.dialect.name == \"sqlite\",\n        version_table_schema=\"meta\",")
    env_py.write_text(text)
    report = verify(example.reload())
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok")], report.lines()


def _fk_on_project(tmp_path, name, up, down):
    """env.py turns SQLite foreign keys on for every connection (common in apps)."""
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    example = make_project(tmp_path, name, [Rev("r1", up, down)], url=url,
                           models_extra='users.append_column(Column("nick", String(20)))\n')
    return sqlite_foreign_keys_on(example)


def _upgrade_with_a_post(example):
    """``schemashift upgrade`` on the project's own database, with one user and one post in it."""
    from schemashift.errors import MigrationFailed

    api.upgrade(example.project, "r0")
    engine = sa.create_engine(example.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id, name, email, score) VALUES (1, 'ann', 'ann@x', 1)")
        conn.exec_driver_sql("INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'hi')")
    engine.dispose()
    try:
        api.upgrade(example.project, "head")
    except MigrationFailed as exc:
        return exc.message
    return None


def test_sqlite_steps_run_with_the_foreign_key_mode_upgrade_uses(tmp_path):
    """Issue 12.7 (one semantics with upgrade): verify ran SQLite steps with
    foreign keys in another mode than upgrade, so a rebuild that upgrade
    performs failed in verify.  Both now run through the same ``Run``, which
    turns enforcement off for a step that rebuilds a table (checking the
    foreign keys before commit): an Alembic batch rebuild of ``users`` while
    posts refer to users (under plain Alembic: "FOREIGN KEY constraint failed"
    at the DROP) and schemashift's own rebuild op pass under both."""
    batch = _fk_on_project(
        tmp_path, "fk_batch",
        'with op.batch_alter_table("users", recreate="always") as b:\n    b.add_column(sa.Column("nick", sa.String(20)))',
        'with op.batch_alter_table("users", recreate="always") as b:\n    b.drop_column("nick")',
    )
    report = verify(batch.project)
    verdicts = [(r.revision, r.status, r.failed_step) for r in report.revisions]
    assert verdicts == [("r0", "ok", None), ("r1", "ok", None)], report.lines()
    assert report.revisions[0].seeded.get("posts")  # rows that refer to users were there
    assert _upgrade_with_a_post(batch) is None
    with sa.create_engine(batch.url, poolclass=sa.pool.NullPool).connect() as conn:
        assert conn.exec_driver_sql("SELECT id, user_id, title FROM posts").all() == [(1, 1, "hi")]

    rebuild = _fk_on_project(
        tmp_path, "fk_rebuild",
        'import schemashift.safety.rebuild  # noqa: F401\nop.rebuild_table("users", add_columns=["nick VARCHAR(20)"])',
        'import schemashift.safety.rebuild  # noqa: F401\nop.rebuild_table("users", drop_columns=["nick"])',
    )
    assert _upgrade_with_a_post(rebuild) is None
    report = verify(rebuild.project)
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "ok")], report.lines()
    assert report.revisions[0].seeded.get("posts")  # rows that refer to users were there


def test_baseline_starts_from_create_all_stamped(tmp_path, db_url):
    """Issue 12.6: a history whose first revisions no longer run from an empty
    database (its databases are made by create_all() + stamp).  The models
    describe the baseline (r1); r2 is checked from there."""
    example = make_project(
        tmp_path, "baseline",
        [
            Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', 'op.drop_index("ix_users_name", table_name="users")'),
            Rev("r2", 'op.add_column("notes", sa.Column("pinned", sa.Boolean))', 'op.drop_column("notes", "pinned")'),
        ],
        url=db_url, models_extra=INDEX,
    )
    first = example.revision_path("r0")
    first.write_text(re.sub(r"def upgrade\(\) -> None:\n", "def upgrade() -> None:\n    raise RuntimeError('history starts at a baseline')\n", first.read_text(), count=1))
    plain = verify(example.reload())
    assert [(r.revision, r.status) for r in plain.revisions] == [("r0", "failed"), ("r1", "not checked"), ("r2", "not checked")]
    report = verify(example.project, baseline="r1")
    assert [(r.revision, r.status) for r in report.revisions] == [("r2", "ok")], report.lines()
    assert report.revisions[0].seeded and report.revisions[0].values_checked > 0  # rows seeded into the baseline
    assert table_names(example.url) == []


def test_baseline_must_be_in_the_history(tmp_path, sqlite_url):
    from schemashift.errors import RevisionError

    example = make_project(tmp_path, "baseline_bad", [], url=sqlite_url)
    with pytest.raises(RevisionError):
        verify(example.project, baseline="nope")


ALTER_TEXT = Rev(
    "r3",
    # plain SQL: SQLAlchemy does not see DDL here, so nothing drops asyncpg's statement cache for us
    'op.execute("ALTER TABLE posts ALTER COLUMN user_id TYPE BIGINT")',
    'op.execute("ALTER TABLE posts ALTER COLUMN user_id TYPE INTEGER")',
)


ENUM = Rev(
    "r4",
    # a type dropped by the downgrade and made again (a new oid) by the re-upgrade
    'sa.Enum("draft", "live", name="post_state").create(op.get_bind())\n'
    'op.add_column("posts", sa.Column("state", sa.Enum("draft", "live", name="post_state", create_type=False)))',
    'op.drop_column("posts", "state")\nop.execute("DROP TYPE post_state")',
)


def _asyncpg_project(tmp_path, pg_url, name):
    url = pg_url.replace("postgresql+psycopg://", "postgresql+asyncpg://")
    example = make_project(
        tmp_path, name, [BIGINT, ALTER_TEXT, ENUM], url=url,
        models_extra="from sqlalchemy import BigInteger, Enum\nusers.c.score.type = BigInteger()\nposts.c.user_id.type = BigInteger()\n"
        "posts.append_column(Column('state', Enum('draft', 'live', name='post_state')))\n",
    )
    make_async(example)
    example.reload()
    return example


def test_asyncpg_env_py_verifies_an_alter_to_bigint(tmp_path, pg_url):
    """Issue 12: "On PostgreSQL with asyncpg, verify dies with 'unexpected
    InvalidCachedStatementError' after an alter_column(type_=BigInteger)".
    An async env.py on ``postgresql+asyncpg://``; r2 alters users.score to
    BIGINT with Alembic's op, r3 posts.user_id with plain SQL, r4 adds an enum
    column (its type dropped and made again), rows present in both tables:
    every revision passes, every seeded value is proven back and nothing is
    named as lost or changed."""
    example = _asyncpg_project(tmp_path, pg_url, "asyncpg_env")
    report = verify(example.project)
    assert report.dialect == "postgresql"
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r2", "ok"), ("r3", "ok"), ("r4", "ok")], "\n".join(report.lines())
    assert report.ok and report.drift == [], report.lines()
    for result in report.revisions:
        assert result.problems() == [] and result.losses == [] and result.notes() == [], result.to_dict()
    assert report.revisions[0].seeded.get("users") and report.revisions[0].seeded.get("posts")
    # the seeded users and posts went through both type changes and came back value by value
    assert all(r.values_checked >= 3 * 4 for r in report.revisions[1:])
    assert table_names(pg_url) == []


def test_asyncpg_env_py_upgrade_keeps_rows(tmp_path, pg_url):
    """The same project under ``upgrade`` on its own database: a user and a
    post inserted at r0 are there, value by value, at head, in BIGINT columns."""
    example = _asyncpg_project(tmp_path, pg_url, "asyncpg_up")
    api.upgrade(example.project, "r0")
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO users (id, name, email, score) VALUES (1, 'ann', 'ann@x', 2147483647)")
            conn.exec_driver_sql("INSERT INTO posts (id, user_id, title, body) VALUES (7, 1, 'hi', 'text')")
        api.upgrade(example.project, "head")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT id, name, email, score FROM users").all() == [(1, "ann", "ann@x", 2147483647)]
            assert conn.exec_driver_sql("SELECT id, user_id, title, body, state FROM posts").all() == [(7, 1, "hi", "text", None)]
            types = dict(conn.exec_driver_sql(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                "WHERE (table_name, column_name) IN (('users', 'score'), ('posts', 'user_id'))"
            ).all())
            assert types == {"users.score": "bigint", "posts.user_id": "bigint"}
            conn.exec_driver_sql("UPDATE users SET score = 9000000000")  # only fits a BIGINT
    finally:
        engine.dispose()


@pytest.mark.parametrize("driver", ["psycopg", "psycopg_async"])
def test_plain_sql_alter_type_verifies_on_psycopg(tmp_path, pg_url, driver):
    """The same two type changes on psycopg, sync and async (psycopg prepares a
    statement run often, and PostgreSQL refuses a prepared plan whose result
    type changed)."""
    url = pg_url.replace("postgresql+psycopg://", f"postgresql+{driver}://")
    example = make_project(
        tmp_path, f"alter_{driver}", [BIGINT, ALTER_TEXT], url=url,
        models_extra="from sqlalchemy import BigInteger\nusers.c.score.type = BigInteger()\nposts.c.user_id.type = BigInteger()\n",
    )
    if driver == "psycopg_async":
        make_async(example)
    report = verify(example.reload())
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r2", "ok"), ("r3", "ok")], "\n".join(report.lines())
    assert report.ok and all(r.problems() == [] and r.losses == [] for r in report.revisions)
    assert report.revisions[2].values_checked >= 3 * 4


def test_env_py_taking_its_url_from_the_environment_verifies_with_url_env(tmp_path, monkeypatch):
    """full-stack-fastapi-template's env.py (and ihatemoney's, and Prefect's) takes its URL from the
    app's settings, not sqlalchemy.url, so verify refused ("env.py connected to ..., not to the
    scratch database") and could never prove those downgrades.  With 'schemashift.url_env = VAR'
    the scratch URL is put in VAR for env.py's run; the app's database is never touched and VAR
    is as it was afterwards.  ``upgrade --url`` reaches such an env.py the same way."""
    example = make_project(tmp_path, "url_from_env", [Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])',
                                                          'op.drop_index("ix_users_name", table_name="users")')],
                           url=f"sqlite:///{tmp_path / 'unused.db'}", models_extra=INDEX)
    env_py = example.root / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "\nconfig = context.config\n",
        "\nconfig = context.config\nimport os\nconfig.set_main_option('sqlalchemy.url', os.environ['APP_DATABASE_URL'])\n", 1))
    app_db = tmp_path / "app.db"
    app_url = f"sqlite:///{app_db}"
    monkeypatch.setenv("APP_DATABASE_URL", app_url)

    with pytest.raises(Exception) as refused:
        verify(example.reload())
    assert "not to the scratch database" in str(refused.value) and "schemashift.url_env" in str(refused.value)
    assert table_names(app_url) == []

    ini = example.root / "alembic.ini"
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\nschemashift.url_env = APP_DATABASE_URL\n", 1))
    report = verify(example.reload())
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "ok")], report.lines()
    assert table_names(app_url) == [] and os.environ["APP_DATABASE_URL"] == app_url

    ini.write_text(ini.read_text().replace("url_env = APP_DATABASE_URL", "url_env = APP DATABASE URL"))
    with pytest.raises(Exception, match="is not an environment variable's name"):
        verify(example.reload())
    ini.write_text(ini.read_text().replace("url_env = APP DATABASE URL", "url_env = APP_DATABASE_URL"))
    other = tmp_path / "other.db"
    api.upgrade(api.load_project(ini, url=f"sqlite:///{other}"), "head")
    assert "users" in table_names(f"sqlite:///{other}") and table_names(app_url) == []
    assert os.environ["APP_DATABASE_URL"] == app_url
