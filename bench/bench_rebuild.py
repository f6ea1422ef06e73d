"""What a lossless SQLite rebuild costs next to the floor of copying the table once.

A table of N rows (default 1,000,000; an INTEGER PRIMARY KEY, a UNIQUE text
column declared inline, a CHECK, an index) lives in a SQLite file.  Three
rebuilds, each against its floor, alternating so machine drift hits both:

* name the inline UNIQUE (no stored value changes);
* make a column NOT NULL;
* convert a TEXT column of digits to INTEGER with a CAST (plus the data precheck).

The floor of each is the plain copy the change needs and nothing else:
``CREATE TABLE copy (<the new DDL>)`` + one ``INSERT INTO copy SELECT ... FROM t``
(the same expressions) + ``CREATE INDEX``.  The rebuild does, on top: its
prechecks, the copy in rowid ranges with a progress callback, ``DROP TABLE``
of the old table, the rename, the AUTOINCREMENT and foreign-key checks.  A
column rename (``ALTER TABLE t RENAME COLUMN``) is timed too: the table's
root page stays the same, i.e. no row is copied.

Every variant runs in a transaction that is rolled back, so each repetition
starts from the same file.  Target: each rebuild within 1.5x of its floor.
Results go to bench/results/rebuild.txt.

    python bench/bench_rebuild.py [--rows 1000000] [--reps 5]
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from schemashift.safety.casts import plan_cast
from schemashift.safety import rebuild as rb
from schemashift.safety.sqlite_ddl import ConstraintRef

DDL = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
    "grade TEXT CHECK (length(grade) < 10), score REAL, note TEXT)"
)


def engine_for(path: Path) -> sa.Engine:
    """SQLite with real transactions, as schemashift's runner sets it up."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def build(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(DDL)
    conn.execute("CREATE INDEX ix_t_score ON t (score)")
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO t SELECT i, 'user' || i || '@example.com', CAST(i % 1000 AS TEXT), i * 0.5, "
        "CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END FROM n",
        (rows,),
    )
    conn.execute("COMMIT")
    conn.close()


def specs(dialect: Any) -> dict[str, rb.RebuildSpec]:
    cast = plan_cast(dialect, "grade", sa.Text(), sa.Integer())
    return {
        "name the inline UNIQUE": rb.RebuildSpec(
            "t", name_constraints=[(ConstraintRef("unique", columns=("email",)), "uq_t_email")]
        ),
        "column -> NOT NULL": rb.RebuildSpec("t", alter_columns={"grade": rb.ColumnChange(nullable=False)}),
        "TEXT -> INTEGER, CAST + precheck": rb.RebuildSpec(
            "t",
            alter_columns={
                "grade": rb.ColumnChange(type_sql="INTEGER", using=cast.using, checks=cast.loss_checks("t", "grade"))
            },
        ),
    }


def floor_for(name: str) -> Callable[[Any], int]:
    """The plain copy the rebuild ``name`` needs: its new DDL, one INSERT ... SELECT, the index."""

    def body(conn: Any) -> int:
        plan = rb.plan_rebuild(conn, specs(conn.dialect)[name])
        conn.exec_driver_sql(plan.new_sql)
        copied = conn.exec_driver_sql(plan.copy_sql()).rowcount
        conn.exec_driver_sql(f'CREATE INDEX ix_copy_score ON "{plan.temp_name}" (score)')
        return copied

    return body


def rebuild_for(name: str) -> Callable[[Any], int]:
    def body(conn: Any) -> int:
        seen: list[rb.RebuildProgress] = []
        rb.rebuild_table(conn, specs(conn.dialect)[name], progress=seen.append)
        return seen[-1].copied

    return body


def rename(conn: Any) -> tuple[int, int]:
    root = "SELECT rootpage FROM sqlite_master WHERE name = 't'"
    before = conn.exec_driver_sql(root).scalar()
    conn.exec_driver_sql("ALTER TABLE t RENAME COLUMN note TO remark")
    return before, conn.exec_driver_sql(root).scalar()


def timed(engine: sa.Engine, body: Callable[[Any], Any]) -> tuple[float, Any]:
    with engine.connect() as conn:
        trans = conn.begin()
        start = time.perf_counter()
        out = body(conn)
        elapsed = time.perf_counter() - start
        trans.rollback()
    return elapsed, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "rebuild.txt"))
    args = parser.parse_args(argv)

    names = list(specs(sa.create_engine("sqlite://").dialect))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        build(path, args.rows)
        build_s = time.perf_counter() - start
        engine = engine_for(path)
        variants: dict[str, Callable[[Any], Any]] = {}
        for name in names:
            variants[f"floor: {name}"] = floor_for(name)
            variants[f"rebuild: {name}"] = rebuild_for(name)
        variants["rename"] = rename
        times: dict[str, list[float]] = {k: [] for k in variants}
        results: dict[str, Any] = {}
        for _ in range(args.reps):
            for key, body in variants.items():
                elapsed, out = timed(engine, body)
                times[key].append(elapsed)
                results[key] = out
        size_mb = path.stat().st_size / 1e6

    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = {name: best[f"rebuild: {name}"] / best[f"floor: {name}"] for name in names}
    root_before, root_after = results["rename"]
    lines = [
        f"SQLite rebuild of a {args.rows:,}-row table vs the floor of a plain INSERT INTO ... SELECT copy",
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"{platform.machine()}; file {size_mb:.0f} MB, built in {build_s:.1f}s; seconds, best (median) of {args.reps}",
        "",
        f"{'change':34} {'floor':>17} {'rebuild_table':>17} {'ratio':>7}",
    ]
    for name in names:
        f, r = f"floor: {name}", f"rebuild: {name}"
        lines.append(
            f"{name:34} {best[f]:7.3f} ({med[f]:7.3f}) {best[r]:7.3f} ({med[r]:7.3f}) {ratios[name]:6.2f}x"
            f"   {results[r]:,} rows copied"
        )
    unchanged = "unchanged: no row copied" if root_before == root_after else "CHANGED"
    lines += [
        "",
        f"ALTER TABLE t RENAME COLUMN note TO remark: {best['rename'] * 1000:.2f} ms "
        f"(root page {root_before} -> {root_after}, {unchanged})",
        "",
        "target, each rebuild within 1.5x of its floor: " + ("met" if max(ratios.values()) <= 1.5 else "NOT met"),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
