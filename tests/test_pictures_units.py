"""Pictures as data and text, with no database: graph layout and formats, ER diagrams and diffs."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import sqlalchemy as sa

from schemashift.pictures import erd, erd_render, graph_render
from schemashift.pictures.graph import build_graph, layout
from schemashift.pictures.renames import renames_in
from schemashift.pictures.report import operations_in, render_report, details_for


def info(rev, down=(), *, head=False, base=False, branch_point=False, deps=(), labels=()):
    return SimpleNamespace(
        revision=rev, doc=f"msg {rev}", down_revisions=tuple(down), dependencies=tuple(deps),
        branch_labels=tuple(labels), is_head=head, is_base=base, is_branch_point=branch_point,
    )


def merged_history(current=("m",)):
    # a <- b <- c, b <- d, m merges c and d; newest first, as history() returns it
    return build_graph(
        [info("m", ("c", "d"), head=True), info("c", ("b",)), info("d", ("b",)),
         info("b", ("a",), branch_point=True), info("a", (), base=True)],
        current=current,
        applied_at={"a": "up 2026-01-01 10:00:00"},
    )


def test_linear_graph_structure_and_text():
    g = build_graph([info("c", ("b",), head=True), info("b", ("a",)), info("a", base=True)], current=("b",))
    assert [n.revision for n in g.nodes] == ["c", "b", "a"]
    assert {(e.parent, e.child) for e in g.edges} == {("a", "b"), ("b", "c")}
    assert g.heads == ["c"] and g.bases == ["a"] and g.merges == []
    assert g.node("b").is_current and not g.node("c").is_current
    assert all(row.column == 0 for row in layout(g))
    assert graph_render.to_text(g) == "* c (head), msg c\n* b (current), msg b\n* a, msg a\n"


def test_merged_graph_lanes_and_text():
    g = merged_history()
    rows = {row.node.revision: row for row in layout(g)}
    assert rows["m"].forked == [1]  # the merge opens a second lane
    assert rows["c"].column == 0 and rows["d"].column == 1
    assert rows["b"].joined == [1]  # the branch point closes it
    assert g.merges == ["m"] and g.node("m").marks == ("head", "current", "merge")
    assert g.node("b").is_branch_point
    assert graph_render.to_text(g) == textwrap.dedent(
        """\
        *   m (head) (current) (merge), msg m
        |\\
        * | c, msg c
        | * d, msg d
        |/
        *   b (branchpoint), msg b
        * a, msg a [applied up 2026-01-01 10:00:00]
        """
    )


def test_two_heads_and_depends_on():
    g = build_graph(
        [info("x", ("a",), head=True, deps=("y",)), info("y", ("a",), head=True, labels=("other",)),
         info("a", base=True, branch_point=True)]
    )
    assert sorted(g.heads) == ["x", "y"]
    kinds = {(e.parent, e.child, e.kind) for e in g.edges}
    assert ("y", "x", "depends_on") in kinds and ("a", "x", "down") in kinds
    rows = {row.node.revision: row for row in layout(g)}
    assert rows["x"].column != rows["y"].column  # two heads side by side
    mermaid = graph_render.to_mermaid(g)
    assert "r_y -.->|depends on| r_x" in mermaid
    assert 'r_y["y (other) (head)<br/>msg y"]' in mermaid
    dot = graph_render.to_dot(g)
    assert '"y" -> "x" [style=dashed, label="depends on"];' in dot
    svg = graph_render.to_svg(g)
    assert 'class="edge depends-on"' in svg and svg.count('<g class="node"') == 3


def test_mermaid_and_dot_escape_odd_messages():
    g = build_graph([info("a1", base=True, head=True)])
    g.nodes[0] = g.nodes[0].__class__(**{**g.nodes[0].__dict__, "doc": 'say "hi" <b> & bye'})
    mermaid = graph_render.to_mermaid(g)
    assert "#quot;hi#quot; #lt;b#gt; #amp; bye" in mermaid and '"hi"' not in mermaid
    assert 'say \\"hi\\"' in graph_render.to_dot(g)
    assert 'say &quot;hi&quot; &lt;b&gt; &amp; bye' in graph_render.to_svg(g)  # quotes too: also safe in attributes


def test_graph_json_round_trip():
    data = json.loads(json.dumps(merged_history().to_dict()))
    assert data["current"] == ["m"]
    assert [n["revision"] for n in data["nodes"]] == ["m", "c", "d", "b", "a"]
    assert {"parent": "b", "child": "d", "kind": "down"} in data["edges"]


def _school(table="students", name="name", extra=()):
    md = sa.MetaData()
    sa.Table(table, md, sa.Column("id", sa.Integer, primary_key=True), sa.Column(name, sa.String(100), nullable=False),
             *extra)
    sa.Table("enrollments", md, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("student_id", sa.ForeignKey(f"{table}.id"), nullable=False),
             sa.Column("course", sa.String(20), unique=True))
    return md


def test_erd_from_metadata():
    d = erd.from_metadata(_school())
    assert [t.name for t in d.tables] == ["enrollments", "students"]
    enr = d.table("enrollments")
    assert enr.column("student_id").references == "students.id" and not enr.column("student_id").nullable
    assert enr.column("course").unique and d.table("students").column("id").primary_key
    assert [(r.table, r.columns, r.ref_table, r.ref_columns) for r in d.relations] == [
        ("enrollments", ("student_id",), "students", ("id",))
    ]
    mermaid = erd_render.to_mermaid(d)
    assert "VARCHAR(100) name" in mermaid and "INTEGER student_id FK" in mermaid
    assert '||--o{ t0_enrollments : "student_id"' in mermaid


def test_erd_diff_marks_renames_additions_removals():
    old = erd.from_metadata(_school(extra=[sa.Column("nickname", sa.String(20))]))
    new = erd.from_metadata(_school("scholars", "full_name", extra=[sa.Column("grade", sa.Integer)]))
    d = erd.diff(old, new, erd.Renames({"students": "scholars"}, {("scholars", "name"): "full_name"}))
    scholars = d.table("scholars")
    assert (scholars.status, scholars.old_name) == ("renamed", "students")
    assert (scholars.column("full_name").status, scholars.column("full_name").old_name) == ("renamed", "name")
    assert scholars.column("grade").status == "added"
    assert scholars.column("nickname").status == "removed"
    assert scholars.column("id").status == ""
    # the foreign key follows the renamed table: not a change
    assert d.table("enrollments").status == "" and d.relations[0].status == ""
    svg = erd_render.to_svg(d)
    assert "scholars (renamed from students)" in svg and "full_name VARCHAR(100) NOT NULL (renamed from name)" in svg
    assert 'text-decoration="line-through"' in svg
    dot = erd_render.to_dot(d)
    assert "<S>nickname VARCHAR(20) (removed)</S>" in dot
    text = erd_render.to_text(d)
    assert "scholars  (renamed from students)\n    id INTEGER PK\n  ~ full_name VARCHAR(100) NOT NULL (renamed from name)\n" in text
    assert "  - nickname VARCHAR(20) (removed)\n" in text and "  + grade INTEGER (added)\n" in text
    assert "  ~ student_id INTEGER NOT NULL FK -> scholars.id" not in text  # follows the rename: unchanged
    assert "    student_id INTEGER NOT NULL FK -> scholars.id\n" in text


def test_erd_diff_without_renames_is_drop_and_add():
    old = erd.from_metadata(_school())
    new = erd.from_metadata(_school("scholars"))
    d = erd.diff(old, new)
    assert d.table("scholars").status == "added" and d.table("students").status == "removed"
    assert {r.status for r in d.relations} == {"added", "removed"}


def test_renames_read_from_revision_files(tmp_path):
    one = tmp_path / "one.py"
    one.write_text(textwrap.dedent('''
        from alembic import op
        def upgrade():
            op.rename_table("students", "pupils")
            op.alter_column("pupils", "name", new_column_name="full_name")
        def downgrade():
            op.rename_table("pupils", "students")
    '''))
    two = tmp_path / "two.py"
    two.write_text(textwrap.dedent('''
        from alembic import op
        def upgrade():
            op.rename_table(old_table_name="pupils", new_table_name="scholars")
            with op.batch_alter_table("scholars") as batch_op:
                batch_op.alter_column("grade", new_column_name="year")
                batch_op.alter_column("id", type_=None)
            name = "dynamic"
            op.rename_table(name, "ignored")
    '''))
    found = renames_in([one, two])
    assert found.tables == {"students": "scholars"}
    assert found.columns == {("scholars", "name"): "full_name", ("scholars", "grade"): "year"}
    assert renames_in([one], direction="downgrade").tables == {"pupils": "students"}


def test_operations_in_lists_op_calls_in_order(tmp_path):
    path = tmp_path / "r.py"
    path.write_text('from alembic import op\nimport sqlalchemy as sa\n\ndef upgrade():\n'
                    '    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))\n'
                    '    with op.batch_alter_table("t") as batch_op:\n        batch_op.add_column(sa.Column("v", sa.Text))\n\n'
                    'def downgrade():\n    op.drop_table("t")\n')
    assert operations_in(str(path)) == [
        'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))',
        'op.batch_alter_table("t")',
        'batch_op.add_column(sa.Column("v", sa.Text))',
    ]
    assert operations_in(str(path), "downgrade") == ['op.drop_table("t")']


def test_report_html_is_self_contained():
    g = merged_history()
    html = render_report(
        title="t", graph=g, details=details_for(g, {}, verdicts={"c": "ok", "d": "failed: lost rows"}),
        schema=erd.from_metadata(_school()), database="sqlite:///x.db", generated="now",
    )
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<link" not in html and "src=" not in html
    assert html.count('<tr class="revision"') == 5
    assert '<span class="fail">failed: lost rows</span>' in html
    assert 'class="revision-graph"' in html and 'class="schema-diagram"' in html
