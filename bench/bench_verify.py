"""Benchmark: ``verify`` vs pytest-alembic's ``test_up_down_consistency`` on 100 revisions.

Why: the issue's bar is that verify checks strictly more than the up/down
consistency test users already run, in at most the same time.  Both run in
this process on the same generated SQLite project (a realistic mix: tables
with foreign keys and indexes, added/altered/renamed/dropped columns, check
constraints, table renames; every downgrade correct, models matching head).

- pytest-alembic gets its default engine (in-memory SQLite, one connection):
  upgrade through every revision one by one, downgrade one by one, upgrade
  again, each step a separate Alembic command (one env.py run).
- verify gets a temporary SQLite file: per revision seed rows, snapshot,
  upgrade, downgrade, compare schema and rows, upgrade again; then single
  head and models-vs-head.

Then one downgrade is broken three ways (forgotten index, rows deleted,
type not restored) and both are run again, to show what each catches.

Run: ``./dev bench bench_verify`` (needs ``pip install pytest-alembic``;
it is not a dependency of schemashift).  Results: bench/results/verify.txt.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from schemashift import api
from schemashift.config import load_project
from schemashift.safety.verify import CHECKS, verify

REVISIONS = 100
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5  # fewer on a busy machine: bench_verify.py 3
RESULTS = Path(__file__).parent / "results" / "verify.txt"


# ------------------------------------------------------------- the project


@dataclass
class Table:
    name: str
    parent: "Table | None"
    columns: dict[str, tuple[str, bool, str | None]] = field(default_factory=dict)  # name -> (type, nullable, default)
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> column


def _revision(path: Path, rev: str, down: str | None, doc: str, up: str, downgrade: str) -> None:
    body = lambda code: textwrap.indent(textwrap.dedent(code).strip(), "    ")  # noqa: E731
    path.write_text(
        f'"""{doc}\n\nRevision ID: {rev}\nRevises: {down or ""}\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body(up)}\n\n\ndef downgrade() -> None:\n{body(downgrade)}\n"
        # a dropped column's values cannot come back: the revision says it means it
        + ("\n# schemashift: allow SS-V101 -- generated: the column is retired\n" if doc.startswith("drop ") else "")
    )


def generate(root: Path, count: int = REVISIONS) -> list[tuple[str, str]]:
    """Write a ``count``-revision project (and models matching its head) to ``root``."""
    module = f"bench_models_{root.name}"
    api.init(root, metadata=f"{module}:metadata", url=f"sqlite:///{root / 'app.db'}")
    versions = root / "migrations" / "versions"
    tables: list[Table] = []
    ids: list[str] = []
    docs: list[str] = []
    serial = 0
    for i in range(count):
        rev = f"r{i:04d}"
        down = ids[-1] if ids else None
        kind = i % 10
        if kind in (0, 4) or len(tables) < 2:
            serial += 1
            parent = tables[-1] if tables else None
            t = Table(f"t{serial}", parent)
            t.columns = {"id": ("Integer", False, None), "name": ("String(50)", False, None), "created_at": ("DateTime", True, None)}
            fk = f", sa.Column('parent_id', sa.Integer, sa.ForeignKey('{parent.name}.id'))" if parent else ""
            if parent:
                t.columns["parent_id"] = ("Integer", True, None)
            t.indexes[f"ix_{t.name}_name"] = "name"
            up = f"""
                op.create_table('{t.name}', sa.Column('id', sa.Integer, primary_key=True),
                    sa.Column('name', sa.String(50), nullable=False), sa.Column('created_at', sa.DateTime){fk})
                op.create_index('ix_{t.name}_name', '{t.name}', ['name'])
            """
            downgrade = f"op.drop_index('ix_{t.name}_name', table_name='{t.name}')\nop.drop_table('{t.name}')"
            tables.append(t)
            doc = f"create table {t.name}"
        else:
            t = tables[(i * 7) % len(tables)]
            col = f"c{i}"
            batch = f"with op.batch_alter_table('{t.name}') as batch_op:\n    "
            added = [c for c, (typ, _, _) in t.columns.items() if c.startswith("c") and c[1:].isdigit() and typ == "String(30)"]
            if kind == 1 or (kind in (2, 3, 5) and not added):
                t.columns[col] = ("String(30)", True, None)
                up = batch + f"batch_op.add_column(sa.Column('{col}', sa.String(30)))"
                downgrade = batch + f"batch_op.drop_column('{col}')"
                doc = f"add {t.name}.{col}"
            elif kind == 2:
                target = added[-1]
                t.indexes[f"ix_{t.name}_{target}_{i}"] = target
                up = f"op.create_index('ix_{t.name}_{target}_{i}', '{t.name}', ['{target}'])"
                downgrade = f"op.drop_index('ix_{t.name}_{target}_{i}', table_name='{t.name}')"
                doc = f"index {t.name}.{target}"
            elif kind == 3:
                target = added[0]
                t.columns[target] = ("String(60)", True, None)
                up = batch + f"batch_op.alter_column('{target}', type_=sa.String(60), existing_type=sa.String(30))"
                downgrade = batch + f"batch_op.alter_column('{target}', type_=sa.String(30), existing_type=sa.String(60))"
                doc = f"widen {t.name}.{target}"
            elif kind == 5:
                target = added[-1]
                new = f"{target}_r"
                t.columns = {(new if c == target else c): v for c, v in t.columns.items()}
                t.indexes = {ix: (new if c == target else c) for ix, c in t.indexes.items()}
                up = batch + f"batch_op.alter_column('{target}', new_column_name='{new}', existing_type=sa.String(30))"
                downgrade = batch + f"batch_op.alter_column('{new}', new_column_name='{target}', existing_type=sa.String(30))"
                doc = f"rename {t.name}.{target}"
            elif kind == 6:
                t.columns[col] = ("Integer", False, "0")
                up = batch + f"batch_op.add_column(sa.Column('{col}', sa.Integer, nullable=False, server_default='0'))"
                downgrade = batch + f"batch_op.drop_column('{col}')"
                doc = f"add {t.name}.{col} NOT NULL DEFAULT 0"
            elif kind == 7:
                ints = [c for c, (typ, n, d) in t.columns.items() if typ == "Integer" and d == "0"]
                if ints:
                    name = f"ck_{t.name}_{ints[-1]}_{i}"
                    up = batch + f"batch_op.create_check_constraint('{name}', sa.text('{ints[-1]} >= 0'))"
                    downgrade = batch + f"batch_op.drop_constraint('{name}', type_='check')"
                    doc = f"check {t.name}.{ints[-1]}"
                else:
                    t.columns[col] = ("Text", True, None)
                    up = batch + f"batch_op.add_column(sa.Column('{col}', sa.Text))"
                    downgrade = batch + f"batch_op.drop_column('{col}')"
                    doc = f"add {t.name}.{col} text"
            elif kind == 8:
                t.columns[col] = ("Text", True, None)
                up = batch + f"batch_op.add_column(sa.Column('{col}', sa.Text))"
                downgrade = batch + f"batch_op.drop_column('{col}')"
                doc = f"add {t.name}.{col} text"
            else:  # 9: rename a table every other time, else drop a text column
                texts = [c for c, (typ, _, _) in t.columns.items() if typ == "Text"]
                if i % 20 == 9 or not texts:
                    old, new = t.name, f"{t.name}x"
                    t.name = new
                    t.indexes = {ix: c for ix, c in t.indexes.items()}
                    up = f"op.rename_table('{old}', '{new}')"
                    downgrade = f"op.rename_table('{new}', '{old}')"
                    doc = f"rename table {old} to {new}"
                else:
                    target = texts[-1]
                    del t.columns[target]
                    up = batch + f"batch_op.drop_column('{target}')"
                    downgrade = batch + f"batch_op.add_column(sa.Column('{target}', sa.Text))"
                    doc = f"drop {t.name}.{target}"
        _revision(versions / f"{rev}.py", rev, down, doc, up, downgrade)
        ids.append(rev)
        docs.append(doc)
    lines = ["from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text, text", "",
             "metadata = MetaData()"]
    for t in tables:
        cols = []
        for name, (typ, nullable, default) in t.columns.items():
            extra = ", primary_key=True" if name == "id" else ""
            if name == "parent_id" and t.parent is not None:
                extra += f", ForeignKey('{t.parent.name}.id')"
            if default is not None:
                extra += f", server_default=text({default!r})"
            cols.append(f"    Column({name!r}, {typ}{extra}, nullable={nullable}),")
        lines += [f"{t.name} = Table({t.name!r}, metadata,", *cols, ")"]
        lines += [f"Index({ix!r}, {t.name}.c[{c!r}])" for ix, c in t.indexes.items()]
    (root / f"{module}.py").write_text("\n".join(lines) + "\n")
    return list(zip(ids, docs))


# ------------------------------------------------------------------ runners


def run_pytest_alembic(root: Path) -> tuple[float, str]:
    """pytest-alembic's test_up_down_consistency with its default engine; (seconds, outcome)."""
    from pytest_alembic import runner
    from pytest_alembic.config import Config
    from pytest_alembic.tests.default import test_up_down_consistency

    engine = sa.create_engine("sqlite:///")  # pytest-alembic's default alembic_engine
    started = time.perf_counter()
    outcome = "passed"
    with engine.connect() as connection:
        with runner(config=Config(config_options={"file": str(root / "alembic.ini")}), engine=connection) as alembic_runner:
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    test_up_down_consistency(alembic_runner)
            except Exception as exc:  # AlembicTestFailure
                outcome = f"FAILED: {' '.join(str(exc).split())[:160]}"
    engine.dispose()
    return time.perf_counter() - started, outcome


def run_verify(root: Path) -> tuple[float, object]:
    project = load_project(root / "alembic.ini")
    started = time.perf_counter()
    report = verify(project)
    return time.perf_counter() - started, report


def _break(root: Path, rev: str, how: str) -> None:
    path = root / "migrations" / "versions" / f"{rev}.py"
    text = path.read_text()
    head, _, down = text.partition("def downgrade() -> None:\n")
    if how == "forgotten index":
        down = "    pass\n"
    elif how == "rows deleted":
        down = down.rstrip() + "\n" + "    op.execute('DELETE FROM t1')\n"
    elif how == "type not restored":
        down = "    pass\n"
    path.write_text(head + "def downgrade() -> None:\n" + down)


def main() -> int:
    try:
        import pytest_alembic  # noqa: F401
    except ImportError:
        print("bench_verify needs pytest-alembic: .venv/bin/pip install pytest-alembic", file=sys.stderr)
        return 2
    # as on a user's machine: .pyc files written and used (this environment sets
    # PYTHONDONTWRITEBYTECODE; both sides load the generated revision files)
    sys.dont_write_bytecode = False
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    try:
        root = work / "project"
        revisions = generate(root)
        ids = [rev for rev, _ in revisions]
        say(f"project: {len(ids)} revisions on SQLite, generated in {root}")
        pa_times, v_times, pa_cpu, v_cpu = [], [], [], []
        report = None
        for i in range(RUNS):
            order = (run_pytest_alembic, run_verify) if i % 2 == 0 else (run_verify, run_pytest_alembic)
            for fn in order:
                cpu = time.process_time()
                seconds, result = fn(root)
                cpu = time.process_time() - cpu
                if fn is run_pytest_alembic:
                    pa_times.append(seconds)
                    pa_cpu.append(cpu)
                    assert result == "passed", result
                else:
                    v_times.append(seconds)
                    v_cpu.append(cpu)
                    report = result
                    assert report.ok, "\n".join(report.lines())
        pa, v = statistics.median(pa_times), statistics.median(v_times)
        pa_c, v_c = statistics.median(pa_cpu), statistics.median(v_cpu)
        assert report is not None
        seeded = sum(sum(r.seeded.values()) for r in report.revisions)
        values = sum(r.values_checked for r in report.revisions)
        fmt = lambda ts: ", ".join(f"{t:.2f}" for t in ts)  # noqa: E731
        say()
        say(f"median of {RUNS} runs each, alternating    wall s   CPU s   (wall runs; CPU runs)")
        say(f"pytest-alembic test_up_down_consistency  {pa:6.2f}  {pa_c:6.2f}   ({fmt(pa_times)}; {fmt(pa_cpu)})")
        say(f"schemashift verify                       {v:6.2f}  {v_c:6.2f}   ({fmt(v_times)}; {fmt(v_cpu)})")
        say(f"ratio verify / pytest-alembic: wall {v / pa:.2f}, CPU {v_c / pa_c:.2f} (budget 1.00)")
        say("(both run single-threaded in this one process; CPU time is the figure other load on the")
        say(" machine does not move, wall time is what a user waits)")
        say()
        say("pytest-alembic test_up_down_consistency checks:")
        say(f"  - each step runs without error: up through all {len(ids)} revisions one by one, down through")
        say(f"    all, up through all again ({3 * len(ids) - 1} steps, one env.py run each, empty tables)")
        say("schemashift verify checks:")
        for check in CHECKS:
            say(f"  - {check}")
        say(f"  ({3 * len(ids)} steps in one env.py run, {3 * len(ids)} schema snapshots, {seeded} rows seeded, "
            f"{values} seeded values proven after downgrades)")
        say()
        say("one downgrade broken on purpose (a copy of the project each time):")
        first = lambda prefix: next(rev for rev, doc in revisions if doc.startswith(prefix))  # noqa: E731
        for rev, how in ((first("index "), "forgotten index"), (first("add t1."), "rows deleted"),
                         (first("widen "), "type not restored")):
            broken = work / f"broken-{how.replace(' ', '-')}"
            shutil.copytree(root, broken, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
            (broken / f"bench_models_{root.name}.py").rename(broken / f"bench_models_{broken.name}.py")
            ini = broken / "alembic.ini"
            ini.write_text(ini.read_text().replace(f"bench_models_{root.name}", f"bench_models_{broken.name}"))
            _break(broken, rev, how)
            _, pa_outcome = run_pytest_alembic(broken)
            _, broken_report = run_verify(broken)
            failed = [r.revision for r in broken_report.failures]
            problem = broken_report.failures[0].problems()[0] if broken_report.failures else "-"
            say(f"  {how:18} in {rev}: pytest-alembic {pa_outcome.split(':')[0]:6}  verify "
                f"{'FAILED ' + ','.join(failed) if failed else 'passed'}: {problem}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        f"# bench/bench_verify.py, {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}, "
        f"SQLAlchemy {sa.__version__}\n" + "\n".join(out) + "\n"
    )
    print(f"\nwritten to {RESULTS}")
    return 0 if v_c <= pa_c else 1


if __name__ == "__main__":
    sys.exit(main())
