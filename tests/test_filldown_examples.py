"""--fill-downgrade on manual migrations: the written downgrade must pass verify.

Every scenario writes an empty downgrade(), fills it, and proves it with
verify on SQLite and PostgreSQL (schema equal, seeded rows back).
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from verify_examples import Rev, make_project, table_names

from schemashift.errors import Refused
from schemashift.safety.filldown import fill_downgrade


def fill(tmp_path, db_url, name, up, before=()):
    example = make_project(tmp_path, name, [*before, Rev("r1", up, "pass")], url=db_url)
    result = fill_downgrade(example.project, "r1")
    assert table_names(db_url) == [], "fill-downgrade must never migrate the project's own database"
    text = example.revision_path("r1").read_text()
    assert result.code in text
    return result, text


def proven(result):
    outcome = result.verify.revisions[0]
    assert outcome.revision == "r1"
    assert outcome.downgrade_proven, outcome.problems()
    assert result.verified
    return outcome


def test_dropped_table_comes_back_with_columns_keys_and_indexes(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_dropped_table", """
        op.drop_index("ix_posts_user_id", table_name="posts")
        op.drop_table("posts")
    """)
    outcome = proven(result)
    assert [(loss.rule, loss.table, loss.count) for loss in outcome.losses] == [("SS-V101", "posts", 3)]
    assert "op.create_table('posts'" in text
    for piece in ("sa.Column('title', sa.VARCHAR(length=200), nullable=False)", "'fk_posts_user_id'",
                  "create_index('ix_posts_user_id', "):
        assert piece in text
    assert "# table posts: upgrade() dropped its rows; they are not restored" in text
    # what Alembic's own reverse() would have written: a table with no columns
    alembic_guess = render_python_code(ops.DowngradeOps(ops=[ops.DropTableOp("posts").reverse()]))
    assert "sa.Column" not in alembic_guess


def test_dropped_not_null_column_comes_back(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_dropped_column", """
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_column("name")
    """)
    outcome = proven(result)
    assert "batch_op.add_column(sa.Column('name', sa.VARCHAR(length=50)" in text
    assert "users.name is NOT NULL: existing rows get ''" in text
    assert [(loss.rule, loss.table, loss.count) for loss in outcome.losses] == [("SS-V101", "users", 3)]
    assert outcome.failed_step == "data lost"  # named until the revision acknowledges it
    assert outcome.values_checked > 0  # the other columns' values came back


def test_altered_column_goes_back_to_its_type_nullability_and_default(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_altered_column", """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column("name", type_=sa.Text(), nullable=True, existing_type=sa.String(50))
            batch_op.alter_column("score", server_default="5", existing_type=sa.Integer)
    """)
    outcome = proven(result)
    assert "type_=sa.VARCHAR(length=50)" in text and "nullable=False" in text
    assert outcome.values_checked > 0


def test_type_change_needing_a_cast_is_reversed(tmp_path, db_url, backend):
    add_code = Rev("r_code", """
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("code", sa.Integer))
    """, """
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_column("code")
    """)
    result, text = fill(tmp_path, db_url, "fill_cast", """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column("code", type_=sa.String(20), existing_type=sa.Integer)
    """, before=[add_code])
    proven(result)
    if backend == "postgresql":
        assert "postgresql_using='\"code\"::INTEGER'" in text


def test_renames_are_undone(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_renames", """
        op.rename_table("notes", "memos")
        with op.batch_alter_table("posts") as batch_op:
            batch_op.alter_column("title", new_column_name="headline", existing_type=sa.String(200))
    """)
    proven(result)
    assert "op.rename_table('memos', 'notes')" in text
    assert "new_column_name='title'" in text


def test_created_things_are_dropped(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_created", """
        op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True), sa.Column("label", sa.String(20)))
        op.bulk_insert(sa.table("tags", sa.column("id"), sa.column("label")), [{"id": 1, "label": "red"}])
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("nickname", sa.String(30)))
            batch_op.create_unique_constraint("uq_users_name", ["name"])
        op.create_index("ix_posts_title", "posts", ["title"])
    """)
    proven(result)
    assert "op.drop_table('tags')" in text
    assert "rows inserted into tags go with the table" in text
    assert "drop_column('nickname')" in text and "drop_constraint('uq_users_name'" in text


def test_dropped_constraints_come_back(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_constraints", """
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_constraint("uq_users_email", type_="unique")
            batch_op.drop_constraint("ck_users_score", type_="check")
        with op.batch_alter_table("posts") as batch_op:
            batch_op.drop_constraint("fk_posts_user_id", type_="foreignkey")
    """)
    proven(result)
    assert "create_unique_constraint('uq_users_email'" in text
    assert "create_check_constraint('ck_users_score'" in text
    assert "create_foreign_key('fk_posts_user_id', 'users', ['user_id'], ['id'])" in text


def test_raw_sql_gives_a_downgrade_that_raises_and_explains(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_raw_sql", """
        op.create_index("ix_users_name", "users", ["name"])
        op.execute("UPDATE users SET name = upper(name)")
    """)
    assert result.irreversible == ["op.execute('UPDATE users SET name = upper(name)'): raw SQL; its effect is unknown"]
    assert "raise NotImplementedError(" in text
    assert "#   - op.execute('UPDATE users SET name = upper(name)'): raw SQL" in text
    assert "    # op.drop_index('ix_users_name'" in text or "    #     batch_op.drop_index('ix_users_name')" in text
    outcome = result.verify.revisions[0]
    assert outcome.status == "irreversible" and "must be written by hand" in outcome.error


def test_sql_through_the_connection_is_noticed(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_connection_sql", """
        op.get_bind().execute(sa.text("DELETE FROM notes"))
    """)
    assert result.irreversible and "DELETE FROM notes" in result.irreversible[0]
    assert "raise NotImplementedError(" in text


def test_bulk_insert_into_an_existing_table_is_a_data_change(tmp_path, db_url):
    result, text = fill(tmp_path, db_url, "fill_bulk_insert", """
        op.bulk_insert(sa.table("notes", sa.column("id"), sa.column("body")), [{"id": 100, "body": "hello"}])
    """)
    assert result.irreversible == ["op.bulk_insert into notes: a data change"]


def test_a_written_downgrade_is_never_overwritten(tmp_path, sqlite_url):
    example = make_project(tmp_path, "fill_refused", [Rev("r1", 'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("t")')], url=sqlite_url)
    before = example.revision_path("r1").read_text()
    with pytest.raises(Refused, match="downgrade\\(\\) of r1 is not empty"):
        fill_downgrade(example.project, "r1")
    assert example.revision_path("r1").read_text() == before


def test_filled_project_passes_a_full_verify(tmp_path, db_url):
    """Fill two manual revisions in a row, then verify the whole history."""
    example = make_project(
        tmp_path,
        "fill_then_verify",
        [
            Rev("r1", 'op.rename_table("notes", "memos")'),
            Rev("r2", """
                with op.batch_alter_table("posts") as batch_op:
                    batch_op.drop_column("body")
            """),
        ],
        url=db_url,
        models_extra='metadata.remove(notes)\nTable("memos", metadata, Column("id", Integer, primary_key=True), Column("body", Text, nullable=False))\n',
    )
    for rev in ("r1", "r2"):
        assert fill_downgrade(example.project, rev).verified
    from schemashift.safety.verify import verify

    report = verify(example.reload())
    assert [r.status for r in report.revisions] == ["ok", "ok", "failed"], report.lines()
    assert report.revisions[2].failed_step == "data lost"  # posts.body: the upgrade drops it
    path = example.revision_path("r2")
    path.write_text(path.read_text() + "\n# schemashift: allow SS-V101 -- body moved to the documents service\n")
    report = verify(example.reload())
    assert [r.status for r in report.revisions] == ["ok", "ok", "ok"], report.lines()
    assert report.revisions[2].notes()[0].startswith("acknowledged loss: [SS-V101] column posts.body")


def test_table_with_an_enum_type_is_dropped_with_its_type(tmp_path, db_url, backend):
    result, text = fill(tmp_path, db_url, "fill_enum", """
        op.create_table("moods", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("mood", sa.Enum("sad", "ok", "happy", name="mood"), nullable=False))
        op.execute("SELECT 1")
    """)
    proven(result)
    assert result.irreversible == []  # a SELECT only reads
    if backend == "postgresql":
        assert "op.execute('DROP TYPE \"mood\"')" in text


def test_first_revision_of_a_project_is_filled_from_an_empty_database(tmp_path, db_url):
    example = make_project(tmp_path, "fill_first", [Rev("r1", 'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))')], url=db_url, base=False)
    result = fill_downgrade(example.project, "r1")
    assert result.verified and "op.drop_table('t')" in result.code
