"""Cast planning without a database (safety/casts.py): types in, SQL out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from schemashift.safety.casts import PADDED, plan_cast, render_type, same_storage, substitute_column
from schemashift.schema.types import describe_type

PG = postgresql.dialect()
LITE = sqlite.dialect()


@pytest.mark.parametrize(
    "old, new, using",
    [
        (sa.Text(), sa.Integer(), "v::INTEGER"),
        (sa.Integer(), sa.Text(), "v::TEXT"),
        (sa.String(36), sa.Uuid(), "v::UUID"),
        (sa.Integer(), sa.Boolean(), "v <> 0"),
        (sa.Text(), sa.JSON(), "v::JSON"),
        (sa.Text(), postgresql.JSONB(), "v::JSONB"),
        (sa.DateTime(), sa.DateTime(timezone=True), "v AT TIME ZONE 'UTC'"),
        (sa.DateTime(timezone=True), sa.DateTime(), "v AT TIME ZONE 'UTC'"),
        (sa.Enum("a", name="e1"), sa.Enum("a", "b", name="e2"), "v::text::e2"),
        (sa.Text(), sa.Enum("a", "b", name="mood"), "v::mood"),
        (sa.Numeric(10, 2), sa.Numeric(5, 1), "v::NUMERIC(5, 1)"),
        (sa.String(20), sa.String(5), "v::VARCHAR(5)"),
        (sa.Integer(), sa.BigInteger(), None),  # widening: PostgreSQL converts by itself
        (sa.String(5), sa.String(50), None),
    ],
)
def test_postgresql_using_per_pair(old, new, using):
    plan = plan_cast(PG, "v", old, new)
    assert plan.using == using
    if using is not None:
        assert plan.checks and plan.helpers and plan.cleanup  # a data check runs before converting


def test_postgresql_checks_name_what_would_be_lost():
    plan = plan_cast(PG, "v", sa.String(20), sa.String(5))
    reasons = [reason for _pred, reason in plan.checks]
    assert "is longer than 5 characters" in reasons
    assert plan.lossy_using == "left(v::text, 5)::VARCHAR(5)"
    plan = plan_cast(PG, "v", sa.Numeric(10, 2), sa.Numeric(5, 1))
    assert [r for _p, r in plan.checks] == ["cannot be converted to NUMERIC(5, 1)", "has more than 1 decimal places"]
    plan = plan_cast(PG, "v", sa.Enum("a", "b", name="e"), sa.Enum("a", name="e2"))
    assert plan.checks == (("v::text IN ('b')", "is a value e2 no longer has"),)


def test_a_hand_written_using_is_checked_with_its_own_expression():
    plan = plan_cast(PG, "Grade", sa.Text(), sa.Integer(), using='trim("Grade")::integer')
    assert plan.using == 'trim("Grade")::integer'
    assert "RETURN trim(v)::integer;" in plan.helpers[0]
    assert PADDED not in [reason for _pred, reason in plan.checks]  # its own trim() says spaces do not matter
    assert PADDED in [reason for _pred, reason in plan_cast(PG, "Grade", sa.Text(), sa.Integer()).checks]


@pytest.mark.parametrize(
    "old, new, using, reason",
    [
        (sa.Text(), sa.Integer(), 'CAST(v AS INTEGER)', ["is not an integer", PADDED]),
        (sa.Float(), sa.Integer(), 'CAST(v AS INTEGER)', "has a fractional part"),
        (
            sa.Integer(), sa.Text(),
            "CASE WHEN typeof(v) = 'real' AND CAST(CAST(v AS TEXT) AS REAL) <> v THEN printf('%!.17g', v) "
            "ELSE CAST(v AS TEXT) END",
            "cannot be written as text exactly",
        ),
        (sa.String(36), sa.Uuid(), "lower(replace(replace(replace(trim(v), '-', ''), '{', ''), '}', ''))", "is not a UUID"),
        (sa.Integer(), sa.Boolean(), 'CASE WHEN v IS NULL THEN NULL WHEN v = 0 THEN 0 ELSE 1 END', "is not 0 or 1"),
        (sa.Text(), sa.JSON(), None, "is not valid JSON"),
        (sa.Text(), sa.Enum("draft", "done", name="s"), None, "is not one of draft, done"),
        (sa.String(20), sa.String(5), None, "is longer than 5 characters"),
        (sa.BigInteger(), sa.Integer(), None, "is out of range for INTEGER"),
    ],
)
def test_sqlite_cast_and_check_per_pair(old, new, using, reason):
    plan = plan_cast(LITE, "v", old, new)
    assert plan.using == using
    assert [r for _p, r in plan.checks] == (reason if isinstance(reason, list) else [reason])


def test_sqlite_never_casts_text_to_numeric_affinity():
    """CAST('{"a": 1}' AS NUMERIC) is 0: JSON, dates and enums keep the stored text."""
    for new in (sa.JSON(), sa.DateTime(), sa.Enum("a", name="e")):
        plan = plan_cast(LITE, "v", sa.Text(), new)
        assert plan.using is None or "NUMERIC" not in plan.using


def test_same_storage_means_no_conversion():
    assert same_storage(describe_type(sa.Integer(), PG), describe_type(sa.BigInteger(), PG))
    assert not same_storage(describe_type(sa.BigInteger(), PG), describe_type(sa.Integer(), PG))
    assert same_storage(describe_type(sa.Enum("a", name="e"), PG), describe_type(sa.Enum("a", "b", name="e"), PG))


def test_substitute_column_is_token_aware():
    assert substitute_column('"v"::int + vv + v', "v", "x") == "x::int + vv + x"
    assert substitute_column('"V" || v', "V", "x") == "x || x"


class Money(sa.types.TypeDecorator):
    impl = sa.Numeric(12, 2)
    cache_ok = True


class FakeContext:
    def __init__(self) -> None:
        self.imports: set[str] = set()


def test_render_type_adds_the_imports_a_file_needs():
    ctx = FakeContext()
    assert render_type(sa.Integer(), ctx) == "sa.Integer()"
    assert render_type(postgresql.JSONB(), ctx) == "postgresql.JSONB(astext_type=sa.Text())"
    assert render_type(Money(), ctx) == f"{__name__}.Money(precision=12, scale=2)"
    assert ctx.imports == {"from sqlalchemy.dialects import postgresql", f"import {__name__}"}
    assert describe_type(Money(), LITE).family == "numeric"  # a TypeDecorator is planned by what it stores
