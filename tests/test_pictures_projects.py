"""graph, erd and report on real projects (SQLite and PostgreSQL), through the CLI and the API.

The history: r1 creates students; r2 renames it to scholars (and name to
full_name); r3 branches off r2 (label ``reports``, depending on r1), r4 adds a
column on the main line, and r5 merges r3 and r4.  Pictures of the schema are
built on scratch databases: the project's database, with its rows, must be
exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from schemashift import api

R1_UP = """
op.create_table('students', sa.Column('id', sa.Integer, primary_key=True),
                sa.Column('name', sa.String(100), nullable=False), sa.Column('grade', sa.Integer, nullable=False))
"""
R1_DOWN = "op.drop_table('students')"
R2_UP = """
op.rename_table('students', 'scholars')
op.alter_column('scholars', 'name', new_column_name='full_name', existing_type=sa.String(100), existing_nullable=False)
"""
R2_DOWN = """
op.alter_column('scholars', 'full_name', new_column_name='name', existing_type=sa.String(100), existing_nullable=False)
op.rename_table('scholars', 'students')
"""
R3_UP = """
op.create_table('reports', sa.Column('id', sa.Integer, primary_key=True),
                sa.Column('scholar_id', sa.Integer, sa.ForeignKey('scholars.id'), nullable=False))
"""
R3_DOWN = "op.drop_table('reports')"
R4_UP = "op.add_column('scholars', sa.Column('email', sa.String(200)))"
R4_DOWN = "op.drop_column('scholars', 'email')"


@pytest.fixture
def history(school):
    school.manual_revision("create students", R1_UP, R1_DOWN, rev_id="r1")
    school.manual_revision("rename to scholars", R2_UP, R2_DOWN, rev_id="r2")
    school.manual_revision("reports", R3_UP, R3_DOWN, rev_id="r3", head="r2", branch_label="reports", depends_on="r1")
    school.manual_revision("email", R4_UP, R4_DOWN, rev_id="r4", head="r2", splice=True)
    api.merge(school.project(), ["r3", "r4"], message="merge", rev_id="r5")
    return school


def test_graph_marks_structure_current_and_applied(history):
    history.cli("upgrade", "r2")
    with history.engine().begin() as conn:
        conn.exec_driver_sql("INSERT INTO scholars (id, full_name, grade) VALUES (1, 'Ada Lovelace', 4)")
    before = history.state()
    data = json.loads(history.cli("graph", "--format", "json").stdout)
    nodes = {n["revision"]: n for n in data["nodes"]}
    assert [n["revision"] for n in data["nodes"]][0] == "r5" and data["nodes"][-1]["revision"] == "r1"
    assert data["current"] == ["r2"]
    assert nodes["r2"]["marks"] == ["current", "branchpoint"]
    assert nodes["r5"]["marks"] == ["head", "merge"] and sorted(nodes["r5"]["parents"]) == ["r3", "r4"]
    assert nodes["r3"]["branch_labels"] == ["reports"]
    assert {"parent": "r1", "child": "r3", "kind": "depends_on"} in data["edges"]
    assert nodes["r1"]["applied_at"].startswith("up ") and nodes["r2"]["applied_at"].startswith("up ")
    assert nodes["r3"]["applied_at"] is None
    text = history.cli("history", "--graph").stdout
    assert "r2 (current) (branchpoint), rename to scholars" in text and "|\\" in text and "|/" in text
    mermaid = history.cli("graph", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart TD") and "r_r3 --> r_r5" in mermaid and "r_r1 -.->|depends on| r_r3" in mermaid
    assert history.state() == before
    assert history.rows("scholars", "id, full_name, grade") == [(1, "Ada Lovelace", 4)]


def test_graph_without_database_and_with_an_unreachable_one(history):
    first = history.cli("graph", "--format", "json", "--no-db").stdout
    data = json.loads(first)
    assert data["current"] is None and len(data["nodes"]) == 5
    # the second call draws from the history Alembic answered the first time: the same picture
    assert history.cli("graph", "--format", "json", "--no-db").stdout == first
    result = history.cli("--url", "postgresql+psycopg://u:pw@127.0.0.1:9/nope", "graph", ok=True)
    assert "current revision not shown" in result.stderr and "pw" not in result.stderr
    assert "r5 (reports) (head) (merge), merge" in result.stdout  # Alembic gives a merge its parents' labels


def _graph_in_a_process(project, *args):
    """``graph`` in a fresh process; also says whether Alembic was imported (env.py ran)."""
    code = (
        "import sys, runpy; sys.argv = ['schemashift', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('schemashift', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write('ALEMBIC ' + str('alembic.runtime.migration' in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code, "graph", "--format", "json", *args], cwd=project.root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr.endswith("ALEMBIC True")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # sqlite3 reads SQLite only
@pytest.mark.parametrize("state", ["no tables", "at r2", "at both heads, after a downgrade", "ledger left in main"])
def test_graph_reads_a_sqlite_database_without_env_py_exactly_as_env_py_would(history, state):
    """init's own env.py on SQLite: graph reads version table and ledger with sqlite3; same picture."""
    if state == "no tables":
        history.engine().dispose()  # the file exists, nothing in it yet
        import sqlite3
        sqlite3.connect(history.url.split("///", 1)[1]).close()
    if state in ("at r2", "ledger left in main"):
        history.cli("upgrade", "r2")
    if state == "at both heads, after a downgrade":
        history.cli("upgrade", "heads")
        history.cli("downgrade", "r4")
    if state == "ledger left in main":  # as an older release kept it: read where it is, as Ledger does
        with history.engine().begin() as conn:
            conn.exec_driver_sql("ATTACH DATABASE ? AS side", (history.url.split("///", 1)[1] + "-schemashift",))
            conn.exec_driver_sql("CREATE TABLE main.schemashift_ledger AS SELECT * FROM side.schemashift_ledger")
            conn.exec_driver_sql("DELETE FROM side.schemashift_ledger WHERE revision = 'r2'")
    before = history.state()
    _graph_in_a_process(history)  # computes and keeps Alembic's history answer
    fast, imported = _graph_in_a_process(history)
    assert not imported  # the cached answer and sqlite3 were enough
    env_py = history.root / "migrations" / "env.py"
    env_py.write_text(env_py.read_text() + "# edited: graph must run env.py now\n")
    slow, imported = _graph_in_a_process(history)
    assert imported
    assert fast == slow
    if state != "no tables":
        assert fast["current"] and all(n["applied_at"] for n in fast["nodes"] if n["revision"] in ("r1", "r2"))
    assert history.state() == before


def test_erd_at_revision_and_diff_on_scratch(history):
    history.cli("upgrade", "r1")
    history.insert_students()
    before = history.state()
    at_r1 = json.loads(history.cli("erd", "r1", "--format", "json").stdout)
    assert [t["name"] for t in at_r1["tables"]] == ["students"]
    assert [c["name"] for c in at_r1["tables"][0]["columns"]] == ["id", "name", "grade"]
    diff = json.loads(history.cli("erd", "--diff", "r1:r4", "--format", "json").stdout)
    tables = {t["name"]: t for t in diff["tables"]}
    assert (tables["scholars"]["status"], tables["scholars"]["old_name"]) == ("renamed", "students")
    cols = {c["name"]: c for c in tables["scholars"]["columns"]}
    assert (cols["full_name"]["status"], cols["full_name"]["old_name"]) == ("renamed", "name")
    assert cols["email"]["status"] == "added" and cols["grade"]["status"] == ""
    merged = history.cli("erd", "head", "--format", "mermaid").stdout
    assert "t0_reports" in merged and "VARCHAR(200) email" in merged
    assert "||--o{ t0_reports" in merged
    # the user's database, its version and rows, untouched
    assert history.state() == before and history.version() == {"r1"}
    assert history.rows("students") == [(1, "Ada Lovelace", 4), (2, "Alan Turing", 4), (3, "Grace Hopper", 3)]


def test_erd_of_models(history):
    models = json.loads(history.cli("erd", "--models", "--format", "json").stdout)
    table = models["tables"][0]
    assert table["name"] == "students" and [c["name"] for c in table["columns"]] == ["id", "name", "grade"]


def test_picture_bad_input_one_line(history):
    before = history.state()
    for args, words in [
        (("erd", "--diff", "r2"), "is not A:B"),
        (("erd", "nosuchrev"), "nosuchrev"),
        (("erd", "--diff", "r3:r4"), "r3 is not below r4"),
        (("erd", "--diff", "r4:r1"), "r4 is not below r1"),
    ]:
        result = history.cli(*args, ok=False)
        assert result.code == 2, (args, result.stderr)
        assert words in result.error_line and "Traceback" not in result.stderr
    assert history.state() == before


def test_svg_through_graphviz_or_one_line_naming_it(history):
    missing = history.cli("graph", "--format", "svg", "--no-db", ok=False, env={"SCHEMASHIFT_DOT": "/nonexistent/dot"})
    assert missing.code == 2 and "apt-get install graphviz" in missing.error_line and "Traceback" not in missing.stderr
    assert shutil.which("dot"), "Graphviz's dot is missing: .ci/run installs Debian's graphviz package"
    svg = history.cli("graph", "--format", "svg", "--no-db").stdout
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for rev in ("r1", "r2", "r3", "r4", "r5"):
        assert f">{rev}" in svg
    erd_svg = history.cli("erd", "--models", "--format", "svg").stdout
    assert "<svg" in erd_svg and "students" in erd_svg
