"""verify on example projects with deliberately broken downgrades (SQLite and PostgreSQL).

Each broken project must fail naming the right revision and saying what the
downgrade left behind or lost; each correct one must pass with its rows
intact.  Every test also proves the project's own database was not touched.
"""

from __future__ import annotations

import json

import pytest
from verify_examples import Rev, make_project, run_verify as run


# upgrade adds an index on users.name; the models know it
INDEX_ON_NAME = 'op.create_index("ix_users_name", "users", ["name"])'
INDEX_MODELS = 'Index("ix_users_name", users.c.name)\n'


def only_failure(report):
    failed = [r for r in report.revisions if r.status == "failed"]
    assert len(failed) == 1, report.lines()
    return failed[0]


def test_correct_project_passes_with_rows_checked(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "correct_project",
        [
            Rev("r1", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")'),
            Rev(
                "r2",
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("nickname", sa.String(30)))
                """,
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_column("nickname")
                """,
            ),
            Rev("r3", 'op.rename_table("notes", "memos")', 'op.rename_table("memos", "notes")'),
        ],
        url=db_url,
        models_extra=INDEX_MODELS + 'users.append_column(Column("nickname", String(30)))\nnotes.name = "memos"\nmetadata.remove(notes)\nTable("memos", metadata, Column("id", Integer, primary_key=True), Column("body", Text, nullable=False))\n',
    )
    report = run(example)
    assert report.ok, report.lines()
    assert [r.revision for r in report.revisions] == ["r0", "r1", "r2", "r3"]
    assert all(r.status == "ok" for r in report.revisions)
    assert report.drift == []
    assert report.heads == ["r3"]
    # rows were seeded before every upgrade and their values proven after each downgrade
    assert report.revisions[0].seeded == {"users": 3, "posts": 3, "notes": 3}
    assert all(r.values_checked > 0 for r in report.revisions[1:])


def test_forgotten_index_is_caught(tmp_path, db_url):
    example = make_project(tmp_path, "forgotten_index", [Rev("r1", INDEX_ON_NAME, "pass")], url=db_url, models_extra=INDEX_MODELS)
    report = run(example)
    failed = only_failure(report)
    assert failed.revision == "r1"
    assert any(line.startswith("left behind: index ix_users_name on users (name)") for line in failed.problems())
    assert failed.failed_step == "re-upgrade after downgrade"  # and the re-upgrade trips over it
    assert not report.ok


def test_wrong_column_dropped_is_caught(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "wrong_column_dropped",
        [
            Rev(
                "r1",
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("age", sa.Integer))
                """,
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_column("name")
                """,
            )
        ],
        url=db_url,
    )
    failed = only_failure(run(example))
    assert failed.revision == "r1"
    lines = failed.problems()
    assert "lost: column users.name VARCHAR(50) NOT NULL" in lines
    assert "left behind: column users.age INTEGER" in lines
    assert "data: users: column name is gone after the downgrade; its values are lost" in lines


def test_type_not_restored_is_caught(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "type_not_restored",
        [
            Rev(
                "r1",
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("name", type_=sa.Text(), existing_type=sa.String(50), existing_nullable=False)
                """,
                "pass",
            )
        ],
        url=db_url,
    )
    failed = only_failure(run(example))
    assert failed.revision == "r1"
    assert failed.problems() == ["not restored: column users.name: type TEXT (was VARCHAR(50))"]
    assert failed.row_problems == []  # the values survived; only the type is wrong


def test_table_rename_not_undone_is_caught(tmp_path, db_url):
    example = make_project(tmp_path, "table_rename_not_undone", [Rev("r1", 'op.rename_table("notes", "memos")', "pass")], url=db_url)
    failed = only_failure(run(example))
    assert failed.revision == "r1"
    lines = failed.problems()
    assert lines[0] == "not renamed back: table notes is now named memos"
    assert "data: notes: table is gone after the downgrade; 3 row(s) lost" in lines


def test_column_rename_not_undone_is_caught(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "column_rename_not_undone",
        [
            Rev(
                "r1",
                """
                with op.batch_alter_table("posts") as batch_op:
                    batch_op.alter_column("title", new_column_name="headline", existing_type=sa.String(200), existing_nullable=False)
                """,
                "pass",
            )
        ],
        url=db_url,
    )
    failed = only_failure(run(example))
    assert failed.revision == "r1"
    assert "not renamed back: column posts.title is now named headline" in failed.problems()


def test_data_deleted_by_drop_and_recreate_is_caught(tmp_path, db_url):
    """The schema comes back exactly; the rows do not."""
    example = make_project(
        tmp_path,
        "data_deleted",
        [
            Rev(
                "r1",
                """
                with op.batch_alter_table("notes") as batch_op:
                    batch_op.add_column(sa.Column("pinned", sa.Boolean))
                """,
                """
                op.drop_table("notes")
                op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text, nullable=False))
                """,
            )
        ],
        url=db_url,
    )
    failed = only_failure(run(example))
    assert failed.revision == "r1"
    assert failed.schema_diff == []
    assert [p.one_line() for p in failed.row_problems] == [
        "notes row id=9001: row lost", "notes row id=9002: row lost", "notes row id=9003: row lost"
    ]


def test_data_changed_by_downgrade_is_caught(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "data_changed",
        [Rev("r1", INDEX_ON_NAME, """
            op.drop_index("ix_users_name", table_name="users")
            op.execute("UPDATE users SET name = 'x'")
            """)],
        url=db_url,
        models_extra=INDEX_MODELS,
    )
    failed = only_failure(run(example))
    assert failed.row_problems[0].one_line() == "users row id=9001: row changed (name: 'name_1' -> 'x')"


def test_broken_revision_in_the_middle_is_named_and_the_rest_still_checked(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "broken_in_the_middle",
        [
            Rev("r1", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")'),
            Rev("r2", 'op.create_index("ix_posts_title", "posts", ["title"])', "pass"),
            Rev("r3", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("tags")'),
        ],
        url=db_url,
        models_extra=INDEX_MODELS + 'Index("ix_posts_title", posts.c.title)\nTable("tags", metadata, Column("id", Integer, primary_key=True))\n',
    )
    report = run(example)
    assert [(r.revision, r.status) for r in report.revisions] == [
        ("r0", "ok"), ("r1", "ok"), ("r2", "failed"), ("r3", "ok")
    ]
    assert report.drift == []
    text = "\n".join(report.lines())
    assert "FAIL r2" in text and "left behind: index ix_posts_title on posts (title)" in text
    assert text.splitlines()[-1].startswith("FAILED: 4 revision(s)")


def test_fail_fast_stops_at_the_first_failure(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "fail_fast",
        [Rev("r1", INDEX_ON_NAME, "pass"), Rev("r2", 'op.create_table("t2", sa.Column("id", sa.Integer, primary_key=True))', "pass")],
        url=db_url,
    )
    report = run(example, fail_fast=True)
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "failed"), ("r2", "not checked")]
    assert report.drift is None and "--fail-fast" in report.drift_note
    assert report.revisions[2].error == "--fail-fast: stopped after r1 failed"


def test_range_checks_only_its_revisions(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "range",
        [Rev("r1", INDEX_ON_NAME, "pass"), Rev("r2", 'op.create_index("ix_posts_title", "posts", ["title"])', 'op.drop_index("ix_posts_title", table_name="posts")')],
        url=db_url,
    )
    report = run(example, rev_range="r2:")
    assert [(r.revision, r.status) for r in report.revisions] == [("r2", "ok")]
    report = run(example, rev_range=":r1")
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "failed")]
    assert report.drift is None


def test_upgrade_that_fails_with_rows_is_reported_and_the_walk_goes_on(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "upgrade_fails_with_rows",
        [
            Rev(
                "r1",
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("country", sa.String(2), nullable=False))
                """,
                """
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_column("country")
                """,
            ),
            Rev("r2", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")'),
        ],
        url=db_url,
        models_extra=INDEX_MODELS + 'users.append_column(Column("country", String(2), nullable=False))\n',
    )
    report = run(example)
    r1, r2 = report.revisions[1:]
    assert (r1.status, r1.failed_step) == ("failed", "upgrade with rows present")
    assert "NOT NULL" in r1.error.upper() or "null value" in r1.error.lower()
    assert r2.status == "ok"
    assert report.drift == []


def test_declared_irreversible_downgrade_is_reported_not_failed(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "declared_irreversible",
        [Rev("r1", INDEX_ON_NAME, 'raise NotImplementedError("cannot go back: data was merged")')],
        url=db_url,
        models_extra=INDEX_MODELS,
    )
    report = run(example)
    assert report.ok, report.lines()
    assert report.revisions[1].status == "irreversible"
    assert "cannot go back" in report.revisions[1].error


def test_json_report_for_ci(tmp_path, db_url):
    example = make_project(tmp_path, "json_report", [Rev("r1", INDEX_ON_NAME, "pass")], url=db_url, models_extra=INDEX_MODELS)
    seen = []
    report = run(example, progress=lambda result: seen.append((result.revision, result.status)))
    assert seen == [("r0", "ok"), ("r1", "failed")]
    assert report.revisions[1].one_line().startswith("FAIL  r1 r1 [re-upgrade after downgrade] (")
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert data["dialect"] == ("postgresql" if "postgresql" in db_url else "sqlite")
    r1 = data["revisions"][1]
    assert r1["revision"] == "r1" and r1["status"] == "failed"
    assert r1["schema_diff"][0] == {
        "action": "added", "kind": "index", "name": "ix_users_name", "table": "users",
        "before": None, "after": "(name)", "details": [],
    }
    assert "left behind: index ix_users_name on users (name)" in r1["problems"]
    assert "models match the database at head" in data["checks"]


def test_two_heads_and_model_drift_are_reported(tmp_path, db_url):
    example = make_project(tmp_path, "two_heads", [Rev("r1", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")')], url=db_url)
    versions = example.root / "migrations" / "versions"
    (versions / "r2.py").write_text((versions / "r1.py").read_text().replace("'r1'", "'r2'").replace("ix_users_name", "ix_users_email").replace('["name"]', '["email"]'))
    report = run(example)
    assert all(r.ok for r in report.revisions), report.lines()
    assert report.heads_ok is False and sorted(report.heads) == ["r1", "r2"]
    assert not report.ok
    assert any("2 heads" in line for line in report.lines())

    single = make_project(tmp_path, "model_drift", [Rev("r1", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")')], url=db_url)
    report = run(single)
    assert report.drift and any("ix_users_name" in line for line in report.drift)
    assert not report.ok


def test_upgrade_that_cannot_run_at_all_stops_the_walk(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "broken_upgrade",
        [
            Rev("r1", 'op.create_index("ix_ghost", "ghosts", ["name"])', 'op.drop_index("ix_ghost", table_name="ghosts")'),
            Rev("r2", INDEX_ON_NAME, 'op.drop_index("ix_users_name", table_name="users")'),
        ],
        url=db_url,
    )
    report = run(example)
    r1, r2 = report.revisions[1:]
    assert (r1.status, r1.failed_step) == ("failed", "upgrade")
    assert "ghosts" in r1.error
    assert r2.status == "not checked"
    assert report.drift is None and not report.ok


# Arize-ai/phoenix issue #15039: a batch-mode rebuild (Alembic reflects the table, then
# recreates it) silently turns a DESC index ascending and drops an index on an
# expression, which SQLite's reflection cannot see; written anew here.
ORDERED_INDEXES_UP = """
op.create_index("ix_users_score_desc", "users", [sa.text("score DESC")])
op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")])
"""
ORDERED_INDEXES_DOWN = """
op.drop_index("ix_users_email_lower", table_name="users")
op.drop_index("ix_users_score_desc", table_name="users")
"""
BATCH_ADD = """
with op.batch_alter_table("users", recreate="always") as batch:
    batch.add_column(sa.Column("flag", sa.Integer))
"""
BATCH_DROP = """
with op.batch_alter_table("users", recreate="always") as batch:
    batch.drop_column("flag")
"""


def test_sqlite_index_order_and_expression_lost_by_a_downgrade_are_caught(tmp_path, sqlite_url):
    example = make_project(
        tmp_path,
        "batch_rebuild_loses_indexes",
        [Rev("r1", ORDERED_INDEXES_UP, ORDERED_INDEXES_DOWN), Rev("r2", BATCH_ADD, BATCH_DROP)],
        url=sqlite_url,
        models_extra=(
            'from sqlalchemy import desc, func\nusers.append_column(Column("flag", Integer))\n'
            'Index("ix_users_score_desc", desc(users.c.score))\nIndex("ix_users_email_lower", func.lower(users.c.email))\n'
        ),
    )
    report = run(example)
    failed = [r for r in report.revisions if r.status == "failed"]
    assert [r.revision for r in failed] == ["r2"], report.lines()
    problems = " | ".join(failed[0].problems())
    assert "index ix_users_email_lower on users (lower(email))" in problems, problems
    assert "ix_users_score_desc" in problems and "score DESC" in problems, problems


# what Alembic's batch mode does not copy from a SQLite table's own SQL (tests/test_plan_rules.py,
# SS-S503): a downgrade through it leaves the table without them, and verify says so
CLAUSED_UP = """
op.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT COLLATE NOCASE, "
           "user_id INTEGER REFERENCES users (id) ON DELETE CASCADE)")
"""
TAGS_BATCH_UP = 'op.add_column("tags", sa.Column("color", sa.String(10)))'
TAGS_BATCH_DOWN = """
with op.batch_alter_table("tags") as batch:
    batch.drop_column("color")
"""


def test_sqlite_table_clauses_a_batch_downgrade_drops_are_caught(tmp_path, sqlite_url):
    example = make_project(
        tmp_path,
        "batch_downgrade_drops_clauses",
        [Rev("r1", CLAUSED_UP, 'op.drop_table("tags")'), Rev("r2", TAGS_BATCH_UP, TAGS_BATCH_DOWN)],
        url=sqlite_url,
        models_extra=(
            'tags = Table("tags", metadata, Column("id", Integer, primary_key=True), Column("label", Text),\n'
            '             Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")), Column("color", String(10)),\n'
            '             sqlite_autoincrement=True)\n'
        ),
    )
    report = run(example)
    failed = [r for r in report.revisions if r.status == "failed"]
    assert [r.revision for r in failed] == ["r2"], report.lines()
    problems = " | ".join(failed[0].problems())
    for clause in ("AUTOINCREMENT", "COLLATE NOCASE", "ON DELETE CASCADE"):
        assert f"clause {clause} on tags" in problems, problems


def test_sqlite_autoincrement_table_is_no_false_alarm(tmp_path, sqlite_url):
    """The first AUTOINCREMENT table makes SQLite's own sqlite_sequence, which stays after the
    table is dropped: it is SQLite's, not the schema's, and a correct downgrade passes."""
    example = make_project(
        tmp_path,
        "autoincrement_table",
        [Rev("r1", CLAUSED_UP, 'op.drop_table("tags")')],
        url=sqlite_url,
        models_extra=(
            'tags = Table("tags", metadata, Column("id", Integer, primary_key=True), Column("label", Text),\n'
            '             Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")), sqlite_autoincrement=True)\n'
        ),
    )
    report = run(example)
    assert [(r.revision, r.status) for r in report.revisions] == [("r0", "ok"), ("r1", "ok")], report.lines()
