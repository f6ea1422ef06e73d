"""--trace on PostgreSQL: what the server really locked and rewrote overrides the static guess."""

from __future__ import annotations

import sqlalchemy as sa

from schemashift import api

from fixtures_lint import Shop


def _project(tmp_path, pg_url) -> Shop:
    root = tmp_path / "traced"
    api.init(root, url=pg_url)
    shop = Shop(root, pg_url, "postgresql")
    shop.revs = []
    shop.write("s0001", "op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), "
               "sa.Column('code', sa.String(20)), sa.Column('qty', sa.Integer))", doc="setup")
    return shop


def test_trace_catches_a_rewrite_no_rule_predicts_and_confirms_a_safe_type_change(tmp_path, pg_url):
    shop = _project(tmp_path, pg_url)
    shop.case("op.alter_column('items', 'code', type_=sa.Text(), existing_type=sa.String(20))\n"
              "op.execute('ALTER TABLE items SET UNLOGGED')", doc="unlogged")
    shop.case("op.alter_column('items', 'qty', type_=sa.BigInteger(), existing_type=sa.Integer())", doc="bigint")
    static = api.lint(shop.project(), rev_range="s0002:")
    assert not [f for f in static.findings if f.rule == "SS-P406" and f.revision == "s0002"]  # no rule predicts it
    assert [f.table for f in static.findings if f.rule == "SS-P406" and f.revision == "s0003"] == ["items"]

    traced = api.lint(shop.project(), rev_range="s0002:", trace=True)
    s2 = [f for f in traced.findings if f.rule == "SS-P406" and f.revision == "s0002"]
    assert len(s2) == 1 and s2[0].source == "trace" and "SET UNLOGGED" in s2[0].message and s2[0].table == "items"
    s2_trace = traced.traces["s0002"]
    varchar_to_text = [st for st in s2_trace.statements if "TYPE TEXT" in st.statement.upper()]
    assert varchar_to_text and varchar_to_text[0].rewritten == []  # confirmed: no rewrite
    assert ("items", "AccessExclusiveLock") in varchar_to_text[0].locks
    s3 = [f for f in traced.findings if f.rule == "SS-P406" and f.revision == "s0003"]
    assert len(s3) == 1 and s3[0].source == "trace"  # the static guess, confirmed by the server
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        assert "items" not in sa.inspect(engine).get_table_names()  # never the user's database
    finally:
        engine.dispose()


def test_trace_on_sqlite_is_a_usage_error(tmp_path, sqlite_url):
    root = tmp_path / "lite"
    api.init(root, url=sqlite_url)
    result = Shop(root, sqlite_url, "sqlite")
    result.revs = []
    result.write("s0001", "pass", doc="empty")
    import pytest

    from schemashift.errors import ConfigError

    with pytest.raises(ConfigError, match="--trace needs PostgreSQL"):
        api.lint(result.project(), trace=True)
