"""The autogenerate pipeline: ``check`` sees what ``revision`` writes, nothing-changed
writes nothing, and a NOT NULL column added to a table with rows gets a value or a
refusal, on SQLite and PostgreSQL with rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import ops

from schemashift import api
from schemashift.autogen.describe import describe_ops
from schemashift.autogen.not_null import NotNullWithoutDefault
from schemashift.autogen.pipeline import build_downgrade
from schemashift.autogen.questioner import ScriptedQuestioner

BASE = """
class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
{extra}
"""
ROWS = [(1, "hello"), (2, "world")]


@dataclass
class Change:
    id: str
    before: str
    after: str
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    #: options given alike to ``check`` and ``revision --autogenerate``
    options: dict = field(default_factory=dict)
    #: the risk notes both must report
    risks: tuple[str, ...] = ()


STATUS = 'sa.Enum("draft", "published", name="status")'
TAGS = """

class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(sa.String(30))
"""
AUTHORS = """

class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
"""
CHANGES = [
    Change("add-nullable-column", "", "    body: Mapped[str | None] = mapped_column(sa.Text)"),
    Change("drop-column", "    body: Mapped[str | None] = mapped_column(sa.Text)", "",
           risks=("drop column posts.body: its data is deleted",)),
    Change("widen-type", "    code: Mapped[str | None] = mapped_column(sa.String(10))",
           "    code: Mapped[str | None] = mapped_column(sa.String(40))"),
    Change("index", "    code: Mapped[str | None] = mapped_column(sa.String(10))",
           "    code: Mapped[str | None] = mapped_column(sa.String(10), index=True)"),
    Change("unique", "    code: Mapped[str | None] = mapped_column(sa.String(10))",
           "    code: Mapped[str | None] = mapped_column(sa.String(10), unique=True)"),
    Change("declared-column-rename", "    body: Mapped[str | None] = mapped_column(sa.Text)",
           '    content: Mapped[str | None] = mapped_column(sa.Text, info={"renamed_from": "body"})'),
    Change("not-null-with-server-default", "",
           '    views: Mapped[int] = mapped_column(sa.Integer, server_default="0")'),
    # issue 10: `check` said "No differences" while revision wrote op.alter_enum(...)
    Change("enum-value-added", f"    status: Mapped[str | None] = mapped_column({STATUS})",
           '    status: Mapped[str | None] = mapped_column(sa.Enum("draft", "review", "published", name="status"))',
           backends=("postgresql",)),
    Change("text-to-integer", "    rank: Mapped[str | None] = mapped_column(sa.String(10))",
           "    rank: Mapped[int | None] = mapped_column(sa.Integer)", backends=("postgresql",)),
    Change("narrow-type", "    code: Mapped[str | None] = mapped_column(sa.String(40))",
           "    code: Mapped[str | None] = mapped_column(sa.String(10))"),
    # the one-off default for the rows: added with the column, dropped right after
    Change("not-null-one-off-default", "", "    slug: Mapped[str] = mapped_column(sa.String(40))",
           options={"defaults": ["posts.slug=untitled"]}),
    Change("add-table", "", TAGS),
    Change("drop-table", TAGS, "", risks=("drop table tags: its data is deleted",)),
    Change("foreign-key-to-new-table", "",
           '    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authors.id"))\n' + AUTHORS),
    Change("declared-column-rename-and-drop",
           "    body: Mapped[str | None] = mapped_column(sa.Text)\n    code: Mapped[str | None] = mapped_column(sa.String(10))",
           '    content: Mapped[str | None] = mapped_column(sa.Text, info={"renamed_from": "body"})',
           risks=("drop column posts.code: its data is deleted",)),
    Change("column-rename-option", "    body: Mapped[str | None] = mapped_column(sa.Text)",
           "    content: Mapped[str | None] = mapped_column(sa.Text)", options={"renames": ["posts.body=content"]}),
]


def start(schema_project, url: str, extra: str = ""):
    proj = schema_project(url)
    proj.models(BASE.format(extra=extra))
    proj.revision("initial")
    proj.upgrade()
    with proj.engine().begin() as conn:
        for row in ROWS:
            conn.execute(sa.text("INSERT INTO posts (id, title) VALUES (:id, :title)"), {"id": row[0], "title": row[1]})
    return proj


def revision_lines(proj, message: str = "change", **kw) -> tuple[list[str], Path | None, list[str]]:
    """What ``revision --autogenerate`` writes: its upgrade described line by line, the file,
    and the risk notes it reports."""
    seen: list[str] = []

    def capture(context, rev, directives):
        for script in directives:
            for up in script.upgrade_ops_list:
                seen.extend(describe_ops(up))

    infos = api.revision(proj.project, message, autogenerate=True, directives_hooks=[capture], **kw)
    return seen, (Path(infos[0].path) if infos else None), infos.risks


@pytest.mark.parametrize(
    "change, backend", [pytest.param(c, b, id=f"{c.id}-{b}") for c in CHANGES for b in c.backends]
)
def test_check_reports_what_revision_writes(change: Change, backend: str, db_url: str, schema_project) -> None:
    """The scenario corpus: for each change, the ops ``check`` lists are the ops ``revision
    --autogenerate`` writes (one-off defaults included), with the same risk notes."""
    proj = start(schema_project, db_url, change.before)
    proj.models(BASE.format(extra=change.after))
    found = api.check(proj.project, **change.options)
    written, path, risks = revision_lines(proj, **change.options)
    assert written and path is not None
    assert found.differences == written
    assert found.risks == risks == list(change.risks)
    assert found.refusals == []
    api.upgrade(proj.project, "head", allow_destructive=True)  # drop-column drops on purpose
    assert proj.sql("SELECT id, title FROM posts ORDER BY id") == ROWS
    assert api.check(proj.project).differences == []
    api.downgrade(proj.project, "-1", allow_destructive=True)  # some downgrades drop what the change added
    assert proj.sql("SELECT id, title FROM posts ORDER BY id") == ROWS


def test_enum_value_added_is_drift(schema_project, pg_url) -> None:
    proj = start(schema_project, pg_url, f"    status: Mapped[str | None] = mapped_column({STATUS})")
    proj.models(BASE.format(extra=CHANGES[7].after))
    assert any(line.startswith("AlterEnumOp") or "enum" in line.lower() for line in api.check(proj.project).differences)


def test_nothing_changed_writes_no_file_unless_allowed(schema_project, db_url) -> None:
    proj = start(schema_project, db_url)
    before = sorted((proj.root / "migrations" / "versions").glob("*.py"))
    created = api.revision(proj.project, "nothing", autogenerate=True)
    assert created.unchanged and list(created) == []
    assert sorted((proj.root / "migrations" / "versions").glob("*.py")) == before
    created = api.revision(proj.project, "nothing", autogenerate=True, allow_empty=True)
    assert not created.unchanged and len(created) == 1


NOT_NULL = "    slug: Mapped[str] = mapped_column(sa.String(40))"


def test_not_null_on_rows_without_a_value_is_refused(schema_project, db_url) -> None:
    proj = start(schema_project, db_url)
    proj.models(BASE.format(extra=NOT_NULL))
    before = sorted((proj.root / "migrations" / "versions").glob("*.py"))
    seen = api.check(proj.project)  # check reports the column, and the refusal revision will give
    assert seen.differences == ["add column posts.slug VARCHAR(40) NOT NULL"]
    with pytest.raises(NotNullWithoutDefault) as err:
        api.revision(proj.project, "slug", autogenerate=True)
    assert seen.refusals == [err.value.one_line()]
    assert err.value.exit_code == 2
    assert "--default posts.slug=VALUE" in err.value.one_line()
    assert "\n" not in err.value.one_line()
    assert sorted((proj.root / "migrations" / "versions").glob("*.py")) == before


@pytest.mark.parametrize("new_name, clear", [("title_text", True), ("headline", False)])
def test_not_null_refusal_names_the_rename_it_may_be(schema_project, db_url, new_name: str, clear: bool) -> None:
    """A NOT NULL column that looks like a renamed one (title -> title_text) must not be
    refused with only "--default": that advice would drop the old column's values. The
    refusal names the rename first (``--accept-renames`` only where it would accept it:
    not for unrelated names); applying the rename keeps every title."""
    proj = start(schema_project, db_url)
    proj.models(BASE.replace("title: Mapped[str]", f"{new_name}: Mapped[str]").format(extra=""))
    before = sorted((proj.root / "migrations" / "versions").glob("*.py"))
    with pytest.raises(NotNullWithoutDefault) as err:
        api.revision(proj.project, new_name, autogenerate=True)
    line = err.value.one_line()
    assert "\n" not in line
    assert f"if it is column posts.title renamed, say so: --rename posts.title={new_name}" in line
    assert ("--accept-renames" in line) is clear
    assert f"if it is new, give the rows a value: --default posts.{new_name}=VALUE" in line
    assert sorted((proj.root / "migrations" / "versions").glob("*.py")) == before
    api.revision(proj.project, new_name, autogenerate=True, renames=[f"posts.title={new_name}"])
    proj.upgrade()
    assert proj.sql(f"SELECT id, {new_name} FROM posts ORDER BY id") == ROWS


@pytest.mark.parametrize("how", ["--default", "terminal"])
def test_not_null_on_rows_gets_a_one_off_default(schema_project, db_url, how: str) -> None:
    proj = start(schema_project, db_url)
    proj.models(BASE.format(extra=NOT_NULL))
    if how == "--default":
        api.revision(proj.project, "slug", autogenerate=True, defaults=["posts.slug=untitled"])
    else:
        q = ScriptedQuestioner({"default posts.slug": "untitled"})
        api.revision(proj.project, "slug", autogenerate=True, questioner=q)
        assert q.asked == ["default posts.slug"]
    proj.upgrade()
    assert proj.sql("SELECT id, title, slug FROM posts ORDER BY id") == [(1, "hello", "untitled"), (2, "world", "untitled")]
    default = proj.inspect(lambda insp: next(c for c in insp.get_columns("posts") if c["name"] == "slug")["default"])
    assert default is None  # the one-off default is gone: the database is as the models say
    assert api.check(proj.project).differences == []
    api.downgrade(proj.project, "-1", allow_destructive=True)  # drops the filled column, on purpose
    assert proj.sql("SELECT id, title FROM posts ORDER BY id") == ROWS


def test_not_null_on_an_empty_table_needs_no_value(schema_project, db_url) -> None:
    proj = start(schema_project, db_url)
    proj.sql("DELETE FROM posts")
    proj.models(BASE.format(extra=NOT_NULL))
    created = api.revision(proj.project, "slug", autogenerate=True)
    assert len(created) == 1
    proj.upgrade()
    assert "slug" in proj.inspect(lambda insp: [c["name"] for c in insp.get_columns("posts")])


def test_downgrade_is_the_reverse_of_the_upgrade_plus_its_tail() -> None:
    col = sa.Column("slug", sa.String(40))
    up = ops.UpgradeOps(ops=[ops.ModifyTableOps("posts", [ops.AddColumnOp("posts", col)]), ops.CreateIndexOp("ix", "posts", ["slug"])])
    tail = [ops.ExecuteSQLOp("SELECT 1")]
    down = build_downgrade(up, tail)
    assert describe_ops(down) == ["drop index ix on posts", "drop column posts.slug", "execute SQL: SELECT 1"]


def test_bookkeeping_tables_have_one_definition() -> None:
    """The pipeline's first step and the snapshots leave out the same tables."""
    from schemashift.autogen.bookkeeping import drop_bookkeeping
    from schemashift.schema.bookkeeping import is_bookkeeping

    names = ["alembic_version", "schemashift_ledger", "my_ledger", "posts", "schemashiftless"]
    up = ops.UpgradeOps(ops=[ops.DropTableOp(name) for name in names] + [ops.ExecuteSQLOp("SELECT 1")])
    kept = drop_bookkeeping(up, {"my_ledger"})
    assert describe_ops(kept) == ["drop table posts", "drop table schemashiftless", "execute SQL: SELECT 1"]
    assert [n for n in names if not is_bookkeeping(n, {"my_ledger"})] == ["posts", "schemashiftless"]
