"""Issue 15.4: ``upgrade --sql`` with SQLite rebuilds prints SQL that runs (safety/offline_sqlite.py).

The printed script is run with Python's sqlite3 module, and the schema and
rows it leaves are compared with an online upgrade of the same project.
"""

from __future__ import annotations

import io
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

from schemashift import api

V1 = '''
class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name = mapped_column(sa.String(20), nullable=False, unique=True)
    qty = mapped_column(sa.Text(), nullable=True)
'''
V2 = V1.replace("qty = mapped_column(sa.Text(), nullable=True)", "qty = mapped_column(sa.Integer(), nullable=True)")
V3 = V2.replace("name = mapped_column(sa.String(20), nullable=False, unique=True)",
                "name = mapped_column(sa.String(20), nullable=True, unique=True)")
LEDGER = ("schemashift", "alembic_version")


def schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        # whitespace aside: Alembic's offline output writes a tab as four spaces, in any statement
        return [
            (*r[:3], " ".join((r[3] or "").split()))
            for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
            if not any(r[1].startswith(p) for p in LEDGER) and not any(r[2].startswith(p) for p in LEDGER)
        ]


def rows(path, sql="SELECT id, name, qty, typeof(qty) FROM items ORDER BY id") -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def run_script(path, script: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(script)
    finally:
        conn.close()


def _project_at(proj, url):
    from schemashift.config import load_project

    return load_project(proj.root / "alembic.ini", url=url)


class Target:
    """One SQLite database of the project (online or offline)."""

    def __init__(self, proj, path):
        self.path = path
        self.project = _project_at(proj, f"sqlite:///{path}")

    def upgrade(self, rev="head", **kw):
        return api.upgrade(self.project, rev, **kw)

    def downgrade(self, rev, **kw):
        return api.downgrade(self.project, rev, **kw)

    def sql(self, statement):
        with sqlite3.connect(self.path) as conn:
            conn.execute(statement)


@pytest.fixture
def three_revisions(schema_project, tmp_path):
    """Three revisions written by autogenerate (on an authoring database), and an empty online database."""
    proj = schema_project(f"sqlite:///{tmp_path / 'author.db'}")
    proj.models(V1)
    first = proj.revision("items").name.split("_")[0]
    proj.upgrade()
    proj.models(V2)
    assert "op.rebuild_table(" in proj.revision("qty integer").read_text()
    proj.upgrade()
    proj.models(V3)
    proj.revision("name nullable")
    return proj, Target(proj, tmp_path / "online.db"), first


def test_upgrade_sql_from_base_runs_and_matches_an_online_upgrade(three_revisions, tmp_path):
    proj, online, _first = three_revisions
    offline = tmp_path / "offline.db"
    result = api.upgrade(_project_at(proj, f"sqlite:///{offline}"), "head", sql=True)
    assert "CREATE TABLE \"_schemashift_new_items\"" in result.sql
    assert not offline.exists() or schema(offline) == []  # --sql touched nothing
    run_script(offline, result.sql)
    online.upgrade()
    assert schema(offline) == schema(online.path)


def test_upgrade_sql_over_a_range_converts_rows_like_an_online_upgrade(three_revisions, tmp_path):
    proj, online, first = three_revisions
    online.upgrade(first)
    online.sql("INSERT INTO items (id, name, qty) VALUES (1, 'bolt', '3'), (2, 'nut', NULL), (5, 'gear', '-40')")
    offline = tmp_path / "offline.db"
    shutil.copy(online.path, offline)
    result = api.upgrade(_project_at(proj, f"sqlite:///{offline}"), f"{first}:head", sql=True)
    assert rows(offline) == [(1, "bolt", "3", "text"), (2, "nut", None, "null"), (5, "gear", "-40", "text")]
    run_script(offline, result.sql)
    online.upgrade()
    expected = [(1, "bolt", 3, "integer"), (2, "nut", None, "null"), (5, "gear", -40, "integer")]
    assert rows(online.path) == rows(offline) == expected
    assert schema(offline) == schema(online.path)
    versions = "SELECT version_num FROM alembic_version"
    assert rows(offline, versions) == rows(online.path, versions)


def test_upgrade_sql_guard_stops_the_script_before_a_value_is_lost(three_revisions, tmp_path):
    proj, online, first = three_revisions
    online.upgrade(first)
    online.sql("INSERT INTO items (id, name, qty) VALUES (1, 'bolt', '3'), (2, 'nut', 'many')")
    before = schema(online.path)
    result = online.upgrade(f"{first}:head", sql=True)
    with pytest.raises(sqlite3.IntegrityError, match="items.qty: rows that is not an integer"):
        run_script(online.path, result.sql)
    assert rows(online.path) == [(1, "bolt", "3", "text"), (2, "nut", "many", "text")]
    assert schema(online.path) == before


def test_downgrade_sql_renders_rebuilds_too(three_revisions, tmp_path):
    proj, online, first = three_revisions
    online.upgrade()
    online.sql("INSERT INTO items (id, name, qty) VALUES (1, 'bolt', 3)")
    offline = tmp_path / "offline.db"
    shutil.copy(online.path, offline)
    result = api.downgrade(_project_at(proj, f"sqlite:///{offline}"), f"head:{first}", sql=True)
    run_script(offline, result.sql)
    online.downgrade(first)
    assert schema(offline) == schema(online.path)
    assert rows(offline) == rows(online.path) == [(1, "bolt", "3", "text")]


def test_upgrade_sql_that_cannot_render_prints_nothing(three_revisions, tmp_path):
    proj, online, _first = three_revisions
    (proj.root / "migrations" / "versions" / "zz_reads.py").write_text(
        "from alembic import op\n"
        "revision = 'zzreads'\n"
        f"down_revision = {api.heads(proj.project)[0].revision!r}\n"
        "branch_labels = None\ndepends_on = None\n\n"
        "def upgrade():\n    op.get_bind().exec_driver_sql('SELECT 1')\n\n"
        "def downgrade():\n    pass\n"
    )
    out = io.StringIO()
    with pytest.raises(Exception):
        online.upgrade("head", sql=True, output=out)
    printed = [line for line in out.getvalue().splitlines() if line.strip() and not line.startswith("--")]
    assert printed == []  # no SQL (the plan's "-- schemashift info" comments may come first)


def test_upgrade_sql_without_a_rebuild_prints_even_when_the_shadow_cannot_follow(three_revisions, tmp_path):
    """SQL meant for the real database (here a function the shadow lacks) does not stop --sql;
    only a rebuild after it, which needs the shadow, refuses."""
    proj, online, first = three_revisions
    versions = proj.root / "migrations" / "versions"
    (versions / "zz_custom.py").write_text(
        "from alembic import op\n"
        "revision = 'zzcustom'\n"
        f"down_revision = {first!r}\n"
        "branch_labels = ('custom',)\ndepends_on = None\n\n"
        "def upgrade():\n    op.execute('SELECT app_function(1)')\n\n"
        "def downgrade():\n    pass\n"
    )
    result = online.upgrade(f"{first}:zzcustom", sql=True)
    assert "app_function(1)" in result.sql
