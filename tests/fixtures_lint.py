"""A small shop database with rows that trip every data-dependent rule, for plan/lint tests.

``shop`` is a project (no models) whose first revision ``s0001`` creates
``teams`` and ``users`` and fills them: duplicate emails, a NULL email, a
user pointing at a team that does not exist.  ``shop.case(upgrade, downgrade)``
adds a revision on top; ``shop.plan()`` plans the upgrade to head.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemashift import api

from fixtures_projects import SchoolProject, forget_project_modules

SETUP = """
op.create_table('teams', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(40)))
op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), sa.Column('email', sa.String(50)),
                sa.Column('name', sa.String(100), nullable=False), sa.Column('team_id', sa.Integer),
                sa.Column('note', sa.Text))
op.create_table('empty', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.Integer))
if op.get_bind().dialect.name == 'sqlite':  # what a batch rebuild of users would lose (SS-S503)
    op.execute('CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN SELECT 1; END')
"""

USERS = [(1, "a@x", "Ada", 1, None), (2, "a@x", "Alan", 2, None), (3, None, "Grace", 99, None), (4, "d@x", "Dijkstra", 1, None)]
TEAMS = [(1, "red"), (2, "blue")]

REVISION = '''"""{doc}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa
{imports}
revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


class Shop(SchoolProject):
    revs: list[str]

    def write(self, rev: str, upgrade: str, downgrade: str = "pass", doc: str = "case", imports: str = "") -> Path:
        down = self.revs[-1] if self.revs else None
        body = lambda code: textwrap.indent(textwrap.dedent(code).strip() or "pass", "    ")  # noqa: E731
        path = self.versions / f"{rev}_{doc.replace(' ', '_')}.py"
        path.write_text(REVISION.format(doc=doc, rev=rev, down=down or "", down_repr=repr(down), imports=imports,
                                        upgrade=body(upgrade), downgrade=body(downgrade)))
        self.revs.append(rev)
        return path

    def case(self, upgrade: str, downgrade: str = "pass", **kw) -> Path:
        return self.write(f"s{len(self.revs) + 1:04d}", upgrade, downgrade, **kw)

    def plan(self, **kw):
        return api.plan(self.project(), **kw)

    def users(self) -> list[tuple]:
        return self.rows("users", "id, email, name, team_id")


@pytest.fixture
def shop(tmp_path, db_url, backend) -> Shop:
    root = tmp_path / "shop"
    api.init(root, url=db_url)
    project = Shop(root, db_url, backend)
    project.revs = []
    project.write("s0001", SETUP, "op.drop_table('empty')\nop.drop_table('users')\nop.drop_table('teams')", doc="setup")
    api.upgrade(project.project())
    with project.engine().begin() as conn:
        conn.execute(sa.text("INSERT INTO teams (id, name) VALUES (:i, :n)"), [{"i": i, "n": n} for i, n in TEAMS])
        conn.execute(
            sa.text("INSERT INTO users (id, email, name, team_id, note) VALUES (:i, :e, :n, :t, :o)"),
            [{"i": i, "e": e, "n": n, "t": t, "o": o} for i, e, n, t, o in USERS],
        )
    yield project
    forget_project_modules()


def by_line(plan, path: Path) -> dict[int, set[tuple[str, str]]]:
    """(rule, level) of the findings of the plan's revision in ``path``, keyed by source line."""
    out: dict[int, set[tuple[str, str]]] = {}
    for rev in plan.revisions:
        if rev.path and Path(rev.path) == path:
            for op in rev.operations:
                for f in op.findings:
                    out.setdefault(f.line or 0, set()).add((f.rule, f.level))
    return out


def line_of(path: Path, marker: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")
