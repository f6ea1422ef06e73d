"""Revisions that ask ``alembic.context`` for the connection are planned as they run.

The run's plan is taken inside env.py's ``context.configure()``, before
Alembic has set the migration context that ``context.get_bind()`` returns.
Airflow's revisions import lazy column types (``airflow.migrations.db_types``)
that call ``context.get_bind()`` when first touched: schemashift's plan
touched one while looking for schema objects at module level, and every
Airflow upgrade failed with "revision file db_types.py does not import".  A
revision branching on ``context.get_bind().dialect`` could not be followed by
the plan either, so a drop in that branch ran without being judged.
"""

from __future__ import annotations

import pytest

from schemashift.checks.refusal import UnsafeOperations, UnsafeWhenRun

ROWS = [(1, "ann"), (2, "bob"), (3, None)]
TABLE = """
t = op.create_table('people', sa.Column('id', sa.Integer, primary_key=True), sa.Column('nick', sa.String(20)))
op.bulk_insert(t, [dict(id=i, nick=n) for i, n in %r])
""" % (ROWS,)

# a lazy type as Airflow's db_types makes them: resolved through context.get_bind() on first use
LAZY_TYPE = '''
from alembic import context


class _LazyType:
    def __getattribute__(self, name):
        real = sa.String(40 if context.get_bind().dialect.name == "postgresql" else 30)
        return getattr(real, name)


StringID = _LazyType()
'''


def test_a_lazy_type_at_module_level_does_not_stop_the_run(runcore):
    p = runcore
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    path = p.rev("bbb", "aaa", "op.add_column('people', sa.Column('code', sa.String(30)))",
                 "op.drop_column('people', 'code')")
    path.write_text(path.read_text().replace("depends_on = None\n", "depends_on = None\n" + LAZY_TYPE))
    result = p.upgrade()
    assert [s.revision for s in result.steps] == ["aaa", "bbb"]
    assert p.rows("people", "id, nick, code") == [(i, n, None) for i, n in ROWS]


def test_a_revision_branching_on_context_get_bind_is_judged_before_it_runs(runcore):
    p = runcore
    p.rev("aaa", None, TABLE, "op.drop_table('people')")
    p.upgrade()
    p.rev(
        "bbb", "aaa",
        "from alembic import context\n"
        "if context.get_bind().dialect.name in ('sqlite', 'postgresql'):\n"
        "    op.drop_column('people', 'nick')",
        "op.add_column('people', sa.Column('nick', sa.String(20)))",
    )
    with pytest.raises(UnsafeOperations) as refused:
        p.upgrade(allow_destructive=False)
    assert not isinstance(refused.value, UnsafeWhenRun)  # seen by the plan, before anything ran
    assert [f.message for f in refused.value.findings] == ["drops column people.nick holding 2 values"]
    assert refused.value.plan.revisions[0].stopped is None
    assert p.version() == {"aaa"} and p.rows("people", "id, nick") == ROWS
