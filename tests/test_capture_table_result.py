"""The capture skips building ``op.create_table()``'s ``Table`` only where nobody can tell (``checks.table_result``).

Each revision body is captured twice, with the fast path on and off, and
what the plan reads (the operations' actions, their SQL, where the capture
stopped) must be the same; a revision that uses the returned table, keeps a
column, or could not build its table must build it exactly as before.
"""

from __future__ import annotations

import textwrap
import types

import pytest
import sqlalchemy as sa
from alembic.operations import ops as alembic_ops
from alembic.runtime.migration import MigrationContext

from schemashift.checks import table_result
from schemashift.checks.actions import from_op
from schemashift.checks.capture import capture_function

PLAIN = "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), sa.Column('x', sa.String(20)))"

# (name, upgrade body, naming convention of target_metadata, whether the fast path may skip the build)
CASES = [
    ("plain statement", PLAIN, None, True),
    ("plain, template convention", PLAIN, {"pk": "pk_%(table_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s"}, True),
    ("no primary key", "op.create_table('t', sa.Column('x', sa.Integer))", None, True),
    ("from a helper of the revision", f"def make():\n    {PLAIN}\nmake()", None, True),
    ("result used by bulk_insert",
     "t = op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))\nop.bulk_insert(t, [{'id': 1}])",
     None, False),
    ("result returned", f"return {PLAIN}", None, False),
    ("result in an expression", f"tables = [{PLAIN}]\nop.bulk_insert(tables[0], [])", None, False),
    ("column kept and read afterwards",
     "c = sa.Column('id', sa.Integer, primary_key=True)\nop.create_table('t', c)\nop.bulk_insert(c.table, [{'id': 1}])",
     None, False),
    ("column in a list", "cols = [sa.Column('id', sa.Integer)]\nop.create_table('t', *cols)\nop.bulk_insert(cols[0].table, [])",
     None, False),
    ("same column twice", "c = sa.Column('id', sa.Integer)\nop.create_table('a', c)\nop.create_table('b', c)", None, False),
    ("duplicate names", "op.create_table('t', sa.Column('x', sa.Integer), sa.Column('x', sa.String(3)))", None, False),
    ("convention that cannot name the key", PLAIN, {"pk": "%(constraint_name)s"}, False),
    ("convention with an unknown token", PLAIN, {"pk": "pk_%(nope)s"}, False),
    ("unique under a convention that cannot name it",
     "op.create_table('t', sa.Column('x', sa.Integer, unique=True))", {"uq": "%(constraint_name)s"}, False),
    ("check of a boolean under a convention",
     "op.create_table('t', sa.Column('b', sa.Boolean(create_constraint=True)))", {"ck": "%(constraint_name)s"}, False),
    ("foreign key", "op.create_table('t', sa.Column('u', sa.Integer, sa.ForeignKey('users.id')))", None, False),
    ("constraint argument", "op.create_table('t', sa.Column('x', sa.Integer), sa.PrimaryKeyConstraint('nope'))", None, False),
    ("dialect keyword", "op.create_table('t', sa.Column('x', sa.Integer), sqlite_autoincrement=True)", None, False),
    ("bad keyword", "op.create_table('t', sa.Column('x', sa.Integer), nonsense=1)", None, False),
    ("index flag", "op.create_table('t', sa.Column('x', sa.Integer, index=True))", None, False),
]


def _module(body: str) -> types.ModuleType:
    source = "import sqlalchemy as sa\nfrom alembic import op\n\ndef upgrade():\n" + textwrap.indent(body, "    ") + "\n"
    module = types.ModuleType("revision_under_test")
    module.__file__ = "/nonexistent/revision_under_test.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def _context(convention):
    connection = sa.create_engine("sqlite://").connect()
    opts = {}
    if convention is not None:
        opts["target_metadata"] = sa.MetaData(naming_convention=convention)
    return connection, MigrationContext.configure(connection, opts=opts)


def _view(capture, dialect):
    """What the plan reads of a capture: each operation's actions, plus where it stopped."""
    ops = []
    for item in capture.ops:
        actions = from_op(item.op, dialect)
        table = getattr(item.op, "table", None)
        ops.append((type(item.op).__name__, item.line, actions, getattr(table, "name", table),
                    getattr(item.op, "multiinsert", None), getattr(item.op, "rows", None)))
    return ops, capture.direct_sql, capture.stopped


def _capture(body, convention, fast, monkeypatch):
    built = []
    real = alembic_ops.CreateTableOp.to_table

    def counting(self, migration_context=None):
        built.append(self.table_name)
        return real(self, migration_context)

    table_result.calibrate(_context(None)[1])
    with monkeypatch.context() as m:
        m.setattr(alembic_ops.CreateTableOp, "to_table", counting)
        if not fast:
            m.setattr(table_result, "_inline_refs", 0)  # the slow path: every table built
        connection, ctx = _context(convention)
        try:
            capture = capture_function(_module(body), "upgrade", ctx)
        finally:
            connection.close()
    return _view(capture, ctx.dialect), built


@pytest.mark.parametrize("name,body,convention,skips", CASES, ids=[c[0] for c in CASES])
def test_fast_capture_reads_as_the_slow_one(name, body, convention, skips, monkeypatch):
    fast, fast_built = _capture(body, convention, True, monkeypatch)
    slow, slow_built = _capture(body, convention, False, monkeypatch)
    assert fast == slow
    assert len(slow_built) == body.count("op.create_table(")  # the slow path builds every table it reaches
    if skips:
        assert fast_built == [], "the fast path should not have built the table"
        assert slow[2] is None
    else:
        assert fast_built == slow_built


def test_the_fast_path_is_on_in_this_python():
    """The calibration saw a discarded call and an inline column (else every case above is the slow path)."""
    table_result.calibrate(_context(None)[1])
    assert table_result._inline_refs, "calibration turned the fast path off"


def test_a_used_result_is_the_real_table(monkeypatch):
    """If the fast path took a used result for a discarded one, the revision would get None: it gets a Table."""
    body = "t = op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))\nop.bulk_insert(t, [{'id': 1}])"
    (ops, _, stopped), built = _capture(body, None, True, monkeypatch)
    assert stopped is None and built == ["t"]
    assert ops[1][0] == "BulkInsertOp" and ops[1][3] == "t"
