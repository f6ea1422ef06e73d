"""verify pictures every PostgreSQL schema the migrations use, not only the default one (issue 12.5).

A project whose tables live in a named schema (``audit``): a downgrade that
forgets one of its tables, a schema a migration creates and its downgrade
leaves behind, and rows an upgrade drops there are each caught and named
with the schema; a correct history in that schema passes.
"""

from __future__ import annotations

from verify_examples import Rev, make_project, table_names

from schemashift.safety.verify import verify

AUDIT_MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table
metadata = MetaData()
logs = Table("logs", metadata, Column("id", Integer, primary_key=True), Column("msg", String(80)), schema="audit")
"""

LOGS = ('op.create_table("logs", sa.Column("id", sa.Integer, primary_key=True), sa.Column("msg", sa.String(80)), '
        'schema="audit")')
EVENTS = 'op.create_table("events", sa.Column("id", sa.Integer, primary_key=True), schema="audit")'


def _project(tmp_path, name, revisions, url, models):
    """The example project, its env.py comparing every schema (``include_schemas``), as such projects do."""
    example = make_project(tmp_path, name, revisions, url=url, models=models, base=False)
    env_py = example.root / "migrations" / "env.py"
    text = env_py.read_text()
    hooked = text.replace('render_as_batch=connection.dialect.name == "sqlite",',
                          'render_as_batch=connection.dialect.name == "sqlite",\n        include_schemas=True,')
    assert hooked != text
    env_py.write_text(hooked)
    example.reload()
    return example


def verdict(report):
    return {r.revision: (r.status, r.failed_step) for r in report.revisions}


def test_downgrade_forgetting_a_table_in_a_named_schema_is_caught(tmp_path, pg_url):
    example = _project(
        tmp_path, "schema_forgets",
        [Rev("a001", LOGS, 'op.drop_table("logs", schema="audit")'),
         Rev("a002", EVENTS, "pass")],  # the downgrade forgets audit.events
        pg_url, AUDIT_MODELS + 'events = Table("events", metadata, Column("id", Integer, primary_key=True), schema="audit")\n'
    )
    report = verify(example.project)
    assert verdict(report) == {"a001": ("ok", None), "a002": ("failed", "re-upgrade after downgrade")}, report.lines()
    assert report.revisions[1].problems()[0].startswith("left behind: table audit.events (id INTEGER NOT NULL")
    assert report.revisions[0].seeded == {"audit.logs": 3}  # rows went into the named schema's table too
    assert table_names(pg_url) == []


def test_schema_left_behind_and_rows_dropped_in_a_named_schema_are_named(tmp_path, pg_url):
    example = _project(
        tmp_path, "schema_losses",
        [Rev("a001", LOGS, 'op.drop_table("logs", schema="audit")'),
         Rev("a002", 'op.execute("CREATE SCHEMA archive")', "pass"),  # the downgrade leaves the schema
         Rev("a003", 'op.drop_column("logs", "msg", schema="audit")',
             'op.add_column("logs", sa.Column("msg", sa.String(80)), schema="audit")')],
        pg_url, AUDIT_MODELS.replace(', Column("msg", String(80))', "")
    )
    report = verify(example.project)
    assert verdict(report) == {
        "a001": ("ok", None), "a002": ("failed", "re-upgrade after downgrade"), "a003": ("failed", "data lost"),
    }, report.lines()
    assert "left behind: schema archive" in report.revisions[1].problems()
    (loss,) = report.revisions[2].losses
    assert (loss.rule, loss.table) == ("SS-V101", "audit.logs")
    assert loss.count == 2  # the third seeded msg is NULL


def test_a_correct_history_in_a_named_schema_passes(tmp_path, pg_url):
    example = _project(
        tmp_path, "schema_ok",
        [Rev("a001", LOGS, 'op.drop_table("logs", schema="audit")'),
         Rev("a002", 'op.create_index("ix_logs_msg", "logs", ["msg"], schema="audit")',
             'op.drop_index("ix_logs_msg", table_name="logs", schema="audit")')],
        pg_url, AUDIT_MODELS + 'from sqlalchemy import Index\nIndex("ix_logs_msg", logs.c.msg)\n'
    )
    report = verify(example.project)
    assert verdict(report) == {"a001": ("ok", None), "a002": ("ok", None)}, report.lines()
    assert report.ok, report.lines()
