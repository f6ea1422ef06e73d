"""Changing a table other tables reference, through autogenerate, on SQLite and PostgreSQL.

The foreign keys pointing at the changed table must keep pointing at it and
keep acting, after the upgrade and after the downgrade, with every row kept.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from schemashift.safety.rebuild import ForeignKeysEnforced

MODELS = '''
class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name = mapped_column({name_type}, nullable={nullable})


class Child(Base):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"))
'''

# Registered once per process however often env.py re-imports the models
# (a plain @event.listens_for would add one more listener per import).
FOREIGN_KEYS_ON = '''
import sqlalchemy
from sqlalchemy.engine import Engine

if getattr(sqlalchemy, "_test_foreign_keys_on", None) is None:
    def _foreign_keys_on(dbapi, _record):
        if type(dbapi).__module__.startswith("sqlite3"):
            dbapi.execute("PRAGMA foreign_keys=ON")

    sqlalchemy._test_foreign_keys_on = _foreign_keys_on
    sqlalchemy.event.listen(Engine, "connect", _foreign_keys_on)
'''


def fk_engine(proj, backend):
    engine = proj.engine()
    if backend == "sqlite":
        sa.event.listen(engine, "connect", lambda dbapi, _r: dbapi.execute("PRAGMA foreign_keys=ON"))
    return engine


def check_references(proj, backend) -> None:
    assert proj.sql("SELECT id, name FROM parents ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert proj.sql("SELECT id, parent_id FROM children ORDER BY id") == [(10, 1), (11, 2), (12, 2)]
    fks = proj.inspect(lambda i: i.get_foreign_keys("children"))
    assert [(f["referred_table"], f["referred_columns"], f["options"].get("ondelete")) for f in fks] == [
        ("parents", ["id"], "CASCADE")
    ]
    if backend == "sqlite":
        assert proj.sql("PRAGMA foreign_key_check") == []
    engine = fk_engine(proj, backend)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO children VALUES (99, 42)")
    with engine.connect() as conn:  # the cascade still acts (rolled back afterwards)
        trans = conn.begin()
        conn.exec_driver_sql("DELETE FROM parents WHERE id = 2")
        assert conn.exec_driver_sql("SELECT count(*) FROM children").scalar() == 1
        trans.rollback()


def test_changing_a_referenced_table_keeps_foreign_keys(backend, db_url, schema_project):
    proj = schema_project(db_url)
    proj.models(MODELS.format(name_type="sa.String(20)", nullable=True))
    proj.revision("create")
    proj.upgrade()
    proj.sql("INSERT INTO parents VALUES (1, 'ann'), (2, 'bob')")
    proj.sql("INSERT INTO children VALUES (10, 1), (11, 2), (12, 2)")

    proj.models(MODELS.format(name_type="sa.Text()", nullable=False))
    text = proj.revision("name: text, not null").read_text()
    assert ("op.rebuild_table('parents'" if backend == "sqlite" else "op.convert_column('parents', 'name'") in text
    proj.upgrade()
    check_references(proj, backend)
    assert proj.inspect(lambda i: {c["name"]: c["nullable"] for c in i.get_columns("parents")})["name"] is False
    proj.downgrade("-1")
    check_references(proj, backend)
    assert proj.inspect(lambda i: {c["name"]: c["nullable"] for c in i.get_columns("parents")})["name"] is True


def test_sqlite_rebuild_works_while_the_models_enforce_foreign_keys(sqlite_url, schema_project):
    """Models that switch foreign keys on for every connection (a common recipe): the
    runner turns enforcement off before the migration's BEGIN (SQLite ignores the
    pragma inside a transaction), so rebuilding the referenced table neither refuses
    nor cascade-deletes the children, and foreign_key_check still guards the commit."""
    proj = schema_project(sqlite_url)
    proj.models(MODELS.format(name_type="sa.String(20)", nullable=True) + FOREIGN_KEYS_ON)
    try:
        proj.revision("create")
        proj.upgrade()
        proj.sql("INSERT INTO parents VALUES (1, 'ann'), (2, 'bob')")
        proj.sql("INSERT INTO children VALUES (10, 1), (11, 2), (12, 2)")
        proj.models(MODELS.format(name_type="sa.Text()", nullable=False) + FOREIGN_KEYS_ON)
        proj.revision("name: text, not null")
        proj.upgrade()
        assert proj.sql("SELECT count(*) FROM children") == [(3,)]
        assert proj.sql("PRAGMA foreign_key_check") == []
        proj.downgrade("-1")
        assert proj.sql("SELECT id, parent_id FROM children ORDER BY id") == [(10, 1), (11, 2), (12, 2)]
        assert proj.sql("SELECT id, name FROM parents ORDER BY id") == [(1, "ann"), (2, "bob")]
    finally:
        hook = getattr(sa, "_test_foreign_keys_on", None)
        if hook is not None:
            sa.event.remove(sa.engine.Engine, "connect", hook)
            del sa._test_foreign_keys_on
