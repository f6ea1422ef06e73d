"""Small real projects to run schemashift against, on SQLite, PostgreSQL or MariaDB.

``school`` gives a ``SchoolProject``: a project made by ``schemashift init``
in a temporary directory, pointed at the test's database (``db_url``), with
helpers to run the real CLI as a subprocess, rewrite the models, write
migrations by hand, and read the schema and rows back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import forked_cli
import pytest
import sqlalchemy as sa

from schemashift import api
from schemashift.config import load_project

STUDENT_MODELS = '''
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Student(Base):
    __tablename__ = "{table}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int]
{extra}
'''

STUDENTS = [(1, "Ada Lovelace", 4), (2, "Alan Turing", 4), (3, "Grace Hopper", 3)]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


@dataclass
class SchoolProject:
    root: Path
    url: str
    backend: str
    _ledger: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def ini(self) -> Path:
        return self.root / "alembic.ini"

    @property
    def versions(self) -> Path:
        return self.root / "migrations" / "versions"

    def project(self):
        """A freshly loaded Project (models re-imported on the next run)."""
        forget_project_modules()
        return load_project(self.ini)

    def cli(self, *args: str, ok: bool | None = True, env: dict | None = None, cwd: Path | None = None,
            fresh: bool = False) -> CliResult:
        """Run the real ``schemashift`` command in the project directory (``forked_cli``).

        ``fresh``: in a new interpreter, for what a fork cannot show (the import of the
        project's own modules from nothing).
        """
        full_env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
        full_env.update(env or {})
        proc = forked_cli.run(list(args), cwd=cwd or self.root, env=full_env, timeout=300, fresh=fresh)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        if ok is True and proc.returncode != 0:
            raise AssertionError(f"schemashift {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        if ok is False and proc.returncode == 0:
            raise AssertionError(f"schemashift {' '.join(args)} should have failed:\n{proc.stdout}\n{proc.stderr}")
        return result

    def write_models(self, table: str = "students", extra: str = "") -> None:
        (self.root / "models.py").write_text(STUDENT_MODELS.replace("{table}", table).replace("{extra}", extra))
        forget_project_modules()

    def manual_revision(self, message: str, upgrade: str, downgrade: str, **kw) -> str:
        """Create a revision with ``schemashift revision`` and fill in its body."""
        infos = api.revision(self.project(), message, **kw)
        path = Path(infos[0].path)
        text = path.read_text()
        text = text.replace('"""Upgrade schema."""\n    pass', '"""Upgrade schema."""\n' + textwrap.indent(textwrap.dedent(upgrade).strip(), "    "), 1)
        text = text.replace('"""Downgrade schema."""\n    pass', '"""Downgrade schema."""\n' + textwrap.indent(textwrap.dedent(downgrade).strip(), "    "), 1)
        path.write_text(text)
        return infos[0].revision

    # ----------------------------------------------------------- database

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def tables(self) -> set[str]:
        engine = self.engine()
        try:
            return set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def columns(self, table: str) -> list[str]:
        engine = self.engine()
        try:
            return [c["name"] for c in sa.inspect(engine).get_columns(table)]
        finally:
            engine.dispose()

    def insert_students(self, table: str = "students", rows=STUDENTS) -> None:
        with self.engine().begin() as conn:
            for row in rows:
                conn.execute(
                    sa.text(f"INSERT INTO {table} (id, name, grade) VALUES (:id, :name, :grade)"),
                    {"id": row[0], "name": row[1], "grade": row[2]},
                )

    def rows(self, table: str, columns: str = "id, name, grade") -> list[tuple]:
        with self.engine().connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY id"))]

    def version(self) -> set[str]:
        if "alembic_version" not in self.tables():
            return set()
        with self.engine().connect() as conn:
            return {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}

    def state(self) -> dict:
        """Every table's columns and rows: to prove a failed command changed nothing."""
        engine = self.engine()
        try:
            insp = sa.inspect(engine)
            out = {}
            quote = engine.dialect.identifier_preparer.quote
            with engine.connect() as conn:
                for table in sorted(insp.get_table_names()):
                    cols = [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)]
                    rows = sorted(tuple(map(str, r)) for r in conn.execute(sa.text(f"SELECT * FROM {quote(table)}")))
                    out[table] = (cols, rows)
            out["<ledger>"] = sorted(tuple(map(str, e.__dict__.values())) for e in self.ledger_entries())
            return out
        finally:
            engine.dispose()

    def ledger_entries(self) -> list:
        """The ledger's rows, read where schemashift keeps it (own schema, sidecar file)."""
        from schemashift.safety.ledger import Ledger

        if self._ledger is None:  # read once: a test may break alembic.ini after its first look
            self._ledger = load_project(self.ini).config
        ledger = Ledger.for_config(self._ledger)  # anew: the ledger may have moved since the last look
        engine = self.engine()
        try:
            with engine.connect() as conn:
                ledger.prepare(conn, create=False)
                return ledger.entries(conn) if ledger.exists(conn) else []
        finally:
            engine.dispose()

    def ledger_rows(self) -> list[tuple[str, str]]:
        return [(e.revision, e.direction) for e in self.ledger_entries()]


# the real CLI in a fresh interpreter; its last stderr line says which heavy modules it imported
IMPORT_PROBE = """
import sys
from schemashift.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("IMPORTED", sorted(m for m in ("alembic", "sqlalchemy", "rich") if m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def run_probed(root: Path, *args: str) -> subprocess.CompletedProcess:
    """``schemashift ARGS`` in ``root`` through ``IMPORT_PROBE``."""
    return subprocess.run([sys.executable, "-c", IMPORT_PROBE, *args], cwd=root, capture_output=True, text=True)


def alembic_lines(root: Path, *args: str) -> list[str]:
    """The non-blank lines plain ``alembic ARGS`` prints in ``root``, stripped."""
    (proc,) = alembic_batch(root, [args])
    assert proc.returncode == 0, proc.stderr
    return [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]


# plain Alembic's console entry point (what ``python -m alembic`` runs) once per argument list, in order,
# each command's stdout and stderr caught at the file descriptors (Alembic's Config binds sys.stdout early)
ALEMBIC_BATCH = r"""
import json, logging, os, sys, tempfile, traceback
from alembic.config import main
results = []
for args in json.loads(sys.argv[1]):
    root = logging.getLogger()  # logging as a new process finds it (env.py's fileConfig set it up)
    for logger in [root, *[l for l in logging.Logger.manager.loggerDict.values() if isinstance(l, logging.Logger)]]:
        logger.handlers.clear(); logger.disabled = False; logger.propagate = True; logger.setLevel(logging.NOTSET)
    root.setLevel(logging.WARNING)
    sys.stdout.flush(); sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        code = 0
        try:
            main(argv=args, prog="alembic")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
        os.close(saved[0]); os.close(saved[1])
        out.seek(0); err.seek(0)
        results.append([code % 256, out.read().decode(), err.read().decode()])
print(json.dumps(results))
"""


def alembic_batch(root: Path, commands: list[tuple[str, ...]]) -> list[subprocess.CompletedProcess]:
    """Plain ``alembic ARGS`` for each argument list in ``root``, one after another in one new interpreter.

    Why: each ``python -m alembic`` pays its start-up again; a test comparing many answers with
    Alembic's asks them all at once (each command reads its files and database anew, as a process does).
    """
    proc = subprocess.run([sys.executable, "-c", ALEMBIC_BATCH, json.dumps([list(a) for a in commands])],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [subprocess.CompletedProcess(["alembic", *args], code, out, err)
            for args, (code, out, err) in zip(commands, json.loads(proc.stdout))]


def forget_project_modules() -> None:
    """Drop the projects' own modules (``models``) so the next import reads the file again."""
    for name in [n for n, m in sys.modules.items() if n == "models" or n.startswith("models.")]:
        del sys.modules[name]


@pytest.fixture
def school(tmp_path, db_url, backend) -> SchoolProject:
    """A project made by ``schemashift init`` on the test's database, with a Student model."""
    root = tmp_path / "school"
    api.init(root, url=db_url)
    project = SchoolProject(root, db_url, backend)
    project.write_models()
    yield project
    forget_project_modules()


CHAIN_REVISION = '''"""step {i}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def chain_rev(i: int) -> str:
    return f"c{i:04d}"


def chain_step(i: int) -> tuple[str, str]:
    """Migration i: a table t_i with rows and an index, so a kill can land mid-step."""
    up = f"""    t = op.create_table('t_{i}', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.String(40)))
    op.bulk_insert(t, [{{'id': k, 'v': 'row %d' % k}} for k in range(1, 201)])  # no id 0: MySQL's AUTO_INCREMENT turns 0 into a new id
    op.create_index('ix_t_{i}_v', 't_{i}', ['v'])"""
    down = f"""    op.drop_index('ix_t_{i}_v', table_name='t_{i}')
    op.drop_table('t_{i}')"""
    return up, down


def write_chain(versions: Path, count: int, start: int = 0, step=chain_step) -> list[str]:
    """Write revisions start..start+count-1 as a linear chain; return their ids."""
    ids = []
    for i in range(start, start + count):
        up, down = step(i)
        rev = chain_rev(i)
        prev = chain_rev(i - 1) if i else None
        (versions / f"{rev}_step_{i}.py").write_text(
            CHAIN_REVISION.format(i=i, rev=rev, down=prev or "", down_repr=repr(prev), upgrade=up, downgrade=down)
        )
        ids.append(rev)
    return ids


@pytest.fixture
def chain(tmp_path, db_url, backend) -> SchoolProject:
    """A project with no models and an empty versions folder, for generated chains."""
    root = tmp_path / "chain"
    api.init(root, url=db_url)
    project = SchoolProject(root, db_url, backend)
    yield project
    forget_project_modules()
