"""Type conversions end to end, on SQLite and PostgreSQL (safety/casts.py, type_ops.py).

For each listed type pair: a project with the old model is migrated and
filled, the model changes, autogenerate (with the issue-6 hooks) writes the
migration, and the test checks the values after upgrade and again after
downgrade.  Pairs with values that cannot convert check that the migration
refuses (with the count and examples) and leaves the data alone, and that
``allow_loss=True`` converts what it can.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from schemashift.safety.precheck import ConversionWouldLoseData

UID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@dataclass
class Pair:
    old: str  # the model's column type, as source
    new: str
    good: list[Any]  # values stored with the old type
    converted: list[Any]  # the same rows read with the new type
    bad: list[Any] = field(default_factory=list)  # values that cannot convert
    lossy: list[Any] = field(default_factory=list)  # what allow_loss makes of ``bad``
    only: str | None = None  # a backend the pair exists on
    downgraded: list[Any] | None = None  # read with the old type after downgrade (default: good)


PAIRS = {
    "text_to_integer": Pair("sa.Text()", "sa.Integer()", ["1", "42", None], [1, 42, None], ["abc", "1.5"], [None, None]),
    # a zip code's zero (or spaces around a number) is lost: '01234' reads back as '1234'
    "zip_code_to_integer": Pair(
        "sa.String(10)", "sa.Integer()", ["12345", "-7", "0", None], [12345, -7, 0, None], ["01234", " 42"], [1234, 42]
    ),
    "integer_to_text": Pair("sa.Integer()", "sa.Text()", [1, 42], ["1", "42"]),
    "varchar_to_uuid": Pair("sa.String(36)", "sa.Uuid()", [UID], [uuid.UUID(UID)], ["not-a-uuid"], [None]),
    "integer_to_boolean": Pair("sa.Integer()", "sa.Boolean()", [0, 1], [False, True], [2], [True]),
    "text_to_json": Pair("sa.Text()", "sa.JSON()", ['{"a": 1}', "[1, 2]"], [{"a": 1}, [1, 2]], ["{bad"], [None]),
    "text_to_jsonb": Pair(
        "sa.Text()", "postgresql.JSONB()", ['{"a": 1}'], [{"a": 1}], ["{bad"], [None], only="postgresql"
    ),
    "timestamp_to_timestamptz": Pair(
        "sa.DateTime()", "sa.DateTime(timezone=True)", [dt.datetime(2024, 1, 2, 3, 4, 5)],
        [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)], only="postgresql",
    ),
    "timestamptz_to_timestamp": Pair(
        "sa.DateTime(timezone=True)", "sa.DateTime()", [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)],
        [dt.datetime(2024, 1, 2, 3, 4, 5)], only="postgresql",
    ),
    "text_to_enum": Pair(
        "sa.Text()", 'sa.Enum("draft", "published", name="status")', ["draft", "published"], ["draft", "published"],
        ["archived"], [None],
    ),
    "numeric_narrowing": Pair(
        "sa.Numeric(10, 2)", "sa.Numeric(5, 1)", [Decimal("12.5"), Decimal("-3.0")], [Decimal("12.5"), Decimal("-3.0")],
        [Decimal("12.25"), Decimal("123456.5")], [Decimal("12.3"), None],
    ),
    "integer_widening": Pair("sa.Integer()", "sa.BigInteger()", [1, 2**31 - 1], [1, 2**31 - 1]),
    "bigint_narrowing": Pair("sa.BigInteger()", "sa.Integer()", [1, -5], [1, -5], [2**40], [None]),
    "string_widening": Pair("sa.String(5)", "sa.String(50)", ["abc"], ["abc"]),
    "string_narrowing": Pair("sa.String(20)", "sa.String(5)", ["abc"], ["abc"], ["abcdefgh"], ["abcde"]),
    "float_to_integer": Pair("sa.Float()", "sa.Integer()", [2.0, -7.0], [2, -7], [2.7], [3]),
}


def model(type_source: str) -> str:
    return f'''
from sqlalchemy.dialects import postgresql

class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    v = mapped_column({type_source}, nullable=True)
'''


def typed_table(type_source: str) -> sa.Table:
    from sqlalchemy.dialects import postgresql  # noqa: F401 - used by eval

    return sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", eval(type_source)))


def insert(proj, type_source: str, values: list[Any]) -> None:
    table = typed_table(type_source)
    if not values:
        return
    with proj.engine().begin() as conn:
        conn.execute(table.insert(), [{"id": i, "v": v} for i, v in enumerate(values, 1)])


def read(proj, type_source: str) -> list[Any]:
    table = typed_table(type_source)
    with proj.engine().connect() as conn:
        return [row.v for row in conn.execute(sa.select(table.c.v).order_by(table.c.id))]


def prepared(schema_project, url, pair: Pair, values: list[Any]):
    proj = schema_project(url)
    proj.models(model(pair.old))
    proj.revision("create items")
    proj.upgrade()
    insert(proj, pair.old, values)
    proj.models(model(pair.new))
    path = proj.revision("convert v")
    text = path.read_text()
    assert "drop_constraint(None" not in text
    return proj, path, text


def cases(with_bad: bool = False):
    for name, pair in PAIRS.items():
        if with_bad and not pair.bad:
            continue
        for backend in ("sqlite", "postgresql"):
            if pair.only and pair.only != backend:
                continue
            marks = [pytest.mark.postgres] if backend == "postgresql" else []
            yield pytest.param(name, backend, id=f"{name}-{backend}", marks=marks)


def url_for(request, backend: str) -> str:
    return request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")


@pytest.mark.parametrize("name, backend", list(cases()))
def test_conversion_keeps_values_up_and_down(name, backend, schema_project, request):
    pair = PAIRS[name]
    proj, _path, text = prepared(schema_project, url_for(request, backend), pair, pair.good)
    expected_op = "op.convert_column(" if backend == "postgresql" else "op.rebuild_table("
    assert expected_op in text, text
    assert "allow_loss=False" in text
    proj.upgrade()
    assert read(proj, pair.new) == pair.converted
    proj.downgrade("-1")
    assert read(proj, pair.old) == (pair.downgraded if pair.downgraded is not None else pair.good)
    proj.upgrade()  # and again: the downgrade left nothing behind (e.g. an enum type)
    assert read(proj, pair.new) == pair.converted


@pytest.mark.parametrize("name, backend", list(cases(with_bad=True)))
def test_conversion_refuses_values_it_would_lose(name, backend, schema_project, request):
    pair = PAIRS[name]
    proj, path, _text = prepared(schema_project, url_for(request, backend), pair, pair.good + pair.bad)
    with pytest.raises(ConversionWouldLoseData) as err:
        proj.upgrade()
    assert err.value.count == len(pair.bad)
    message = err.value.one_line()
    assert f"conversion would lose data in {len(pair.bad)} row" in message
    assert repr(pair.bad[0]) in message or str(pair.bad[0]) in message
    assert "\n" not in message
    # nothing changed: same revision, same values
    assert read(proj, pair.old) == pair.good + pair.bad
    # allowed explicitly: what converts is converted, the rest becomes NULL (or is truncated)
    path.write_text(path.read_text().replace("allow_loss=False", "allow_loss=True"))
    if pair.lossy:
        proj.upgrade()
        assert read(proj, pair.new) == pair.converted + pair.lossy


def test_postgresql_using_clause_is_rendered_for_each_pair(schema_project, pg_url):
    pair = PAIRS["text_to_integer"]
    _proj, _path, text = prepared(schema_project, pg_url, pair, [])
    assert "postgresql_using='\"v\"::INTEGER'" in text or "postgresql_using='v::INTEGER'" in text, text
    assert "import schemashift.autogen.type_ops" in text


def test_enum_created_before_use_and_dropped_by_downgrade(schema_project, pg_url):
    pair = PAIRS["text_to_enum"]
    proj, _path, text = prepared(schema_project, pg_url, pair, ["draft"])
    assert text.index("op.create_enum('status', ['draft', 'published'])") < text.index("op.convert_column(")
    assert "op.drop_enum('status'" in text
    proj.upgrade()
    assert proj.sql("SELECT count(*) FROM pg_type WHERE typname = 'status'") == [(1,)]
    proj.downgrade("-1")
    assert proj.sql("SELECT count(*) FROM pg_type WHERE typname = 'status'") == [(0,)]


ENUM_MODEL = '''
class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    status = mapped_column(sa.Enum({values}, name="status"), nullable=True)
'''


def test_enum_values_added_and_removed(schema_project, pg_url):
    proj = schema_project(pg_url)
    proj.models(ENUM_MODEL.format(values='"draft", "published"'))
    proj.revision("posts")
    proj.upgrade()
    proj.sql("INSERT INTO posts (id, status) VALUES (1, 'draft'), (2, 'published')")

    proj.models(ENUM_MODEL.format(values='"draft", "review", "published"'))
    text = proj.revision("add review").read_text()
    assert "op.alter_enum('status', ['draft', 'review', 'published'], ['draft', 'published'])" in text
    proj.upgrade()
    enum_values = "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'status' ORDER BY e.enumsortorder"
    assert proj.sql(enum_values) == [("draft",), ("review",), ("published",)]
    proj.sql("INSERT INTO posts (id, status) VALUES (3, 'review')")

    # the downgrade must remove 'review', which row 3 uses: refused with the count
    with pytest.raises(ConversionWouldLoseData, match="1 row of posts.status uses a value status loses"):
        proj.downgrade("-1")
    proj.sql("DELETE FROM posts WHERE id = 3")
    proj.downgrade("-1")
    assert proj.sql(enum_values) == [("draft",), ("published",)]
    assert proj.sql("SELECT id, status::text FROM posts ORDER BY id") == [(1, "draft"), (2, "published")]


TYPEDECORATOR_MODEL = '''
class Email(sa.types.TypeDecorator):
    impl = sa.String(100)
    cache_ok = True

class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    email = mapped_column({type_}, nullable=True)
'''


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_project_type_decorator_renders_with_its_import(backend, schema_project, request):
    proj = schema_project(url_for(request, backend))
    proj.models(TYPEDECORATOR_MODEL.format(type_="sa.String(20)"))
    proj.revision("people")
    proj.upgrade()
    proj.sql("INSERT INTO people (id, email) VALUES (1, 'a@example.com')")
    proj.models(TYPEDECORATOR_MODEL.format(type_="Email()"))
    text = proj.revision("email type").read_text()
    assert f"import {proj.module}\n" in text
    assert f"{proj.module}.Email(" in text
    proj.upgrade()  # the file runs as written
    assert proj.sql("SELECT email FROM people") == [("a@example.com",)]
    proj.downgrade("-1")
    assert proj.sql("SELECT email FROM people") == [("a@example.com",)]


DEFAULT_MODEL = '''
class Counter(Base):
    __tablename__ = "counters"
    id: Mapped[int] = mapped_column(primary_key=True)
    hits = mapped_column({type_}, server_default=sa.text("0"), nullable=True)
'''


def test_postgresql_column_default_is_converted_with_the_column(schema_project, pg_url):
    """ALTER ... TYPE ... USING fails on a default it cannot cast; convert_column drops
    the default, converts, and sets the default again through the same cast."""
    proj = schema_project(pg_url)
    proj.models(DEFAULT_MODEL.format(type_="sa.Integer()"))
    proj.revision("create")
    proj.upgrade()
    proj.sql("INSERT INTO counters (id, hits) VALUES (1, 1)")
    proj.models(DEFAULT_MODEL.format(type_="sa.Boolean()"))
    proj.revision("hits: boolean")
    proj.upgrade()
    proj.sql("INSERT INTO counters (id) VALUES (2)")
    assert proj.sql("SELECT id, hits FROM counters ORDER BY id") == [(1, True), (2, False)]
    proj.downgrade("-1")
    proj.sql("INSERT INTO counters (id) VALUES (3)")
    assert proj.sql("SELECT id, hits FROM counters ORDER BY id") == [(1, 1), (2, 0), (3, 0)]


def test_sqlite_timestamp_timezone_change_needs_no_conversion(schema_project, sqlite_url):
    """SQLite stores both as the same text: autogenerate sees nothing and no rebuild runs."""
    pair = PAIRS["timestamp_to_timestamptz"]
    proj, _path, text = prepared(schema_project, sqlite_url, pair, pair.good)
    assert "rebuild_table" not in text and "convert_column" not in text
    proj.upgrade()
    assert read(proj, pair.old) == pair.good


def test_sqlite_enum_values_change(schema_project, sqlite_url):
    """A non-native enum is a VARCHAR: dropping a value rows use is refused, adding one converts."""
    proj = schema_project(sqlite_url)
    proj.models(ENUM_MODEL.format(values='"draft", "published"'))
    proj.revision("posts")
    proj.upgrade()
    proj.sql("INSERT INTO posts (id, status) VALUES (1, 'draft'), (2, 'published')")
    proj.models(ENUM_MODEL.format(values='"draft", "published", "needs_review"'))
    assert "op.rebuild_table('posts'" in proj.revision("add needs_review").read_text()
    proj.upgrade()
    proj.sql("INSERT INTO posts (id, status) VALUES (3, 'needs_review')")
    proj.models(ENUM_MODEL.format(values='"draft", "published", "x"'))
    proj.revision("drop needs_review")
    with pytest.raises(ConversionWouldLoseData, match="1 row of posts.status is not one of draft, published, x"):
        proj.upgrade()
    # and the downgrade of the first change (VARCHAR(12) -> VARCHAR(9)) would truncate row 3
    with pytest.raises(ConversionWouldLoseData, match="1 row of posts.status is longer than 9 characters"):
        proj.downgrade("-1")
    assert proj.sql("SELECT id, status FROM posts ORDER BY id")[-1] == (3, "needs_review")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_run_wide_allow_loss_override(backend, schema_project, request):
    """``config.attributes['schemashift.allow_loss']`` (for ``upgrade --allow-loss``) overrides the file's False."""
    from schemashift import api
    from schemashift.safety.precheck import ALLOW_LOSS_ATTRIBUTE

    pair = PAIRS["text_to_integer"]
    proj, path, _text = prepared(schema_project, url_for(request, backend), pair, pair.good + pair.bad)
    assert "allow_loss=False" in path.read_text()
    project = proj.project
    project.config.attributes[ALLOW_LOSS_ATTRIBUTE] = True
    api.upgrade(project, "head")
    assert read(proj, pair.new) == pair.converted + pair.lossy
