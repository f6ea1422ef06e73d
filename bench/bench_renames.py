"""What schemashift's autogenerate costs: plain Alembic vs Alembic + schemashift's pipeline.

A 1,000-table schema is created in a database: every table shares its column
names with the others but one of its own (``k{i}``, the shape of issue 10); the
models then rename 20 tables and, in 20 other tables, ``email`` to
``email_address``, and nothing else.  In one process, each repetition times

* plain: ``alembic.autogenerate.produce_migrations`` (what ``alembic revision
  --autogenerate`` computes), and
* hooked: the same, followed by schemashift's pipeline (``autogen/pipeline.py``:
  bookkeeping, renames with detection and the questioner, NOT NULL defaults,
  conversions, the downgrade, SQLite folding, unnamed constraints, imports).

The two runs alternate so drift in the machine affects both; as ``timeit`` does,
the garbage collector is run before and paused during each timed run (otherwise
a collection of the 1,000 reflected tables lands on whichever code runs next).  Modes:
``detected`` (no declarations: every rename is found by scoring and accepted as
with ``--accept-renames``) and ``declared`` (``renamed_from`` in the models).
The overhead is the hook's own time relative to the autogenerate it ran after
(median over the repetitions: robust when the machine is busy); the ratio of
the fastest hooked run to the fastest plain run is printed too.

    python bench/bench_renames.py [--url URL] [--tables 1000] [--renames 20] [--reps 7]

Target: overhead <= 5 %.  Results go to bench/results/renames.txt.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext

from schemashift.autogen.describe import describe_ops
from schemashift.autogen.pipeline import Options, Pipeline
from schemashift.autogen.questioner import NonInteractiveQuestioner

NC = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def build(n_tables: int, n_renames: int, *, new: bool, declared: bool) -> sa.MetaData:
    """Tables t0..tN sharing every column name but ``k{i}``, each with a foreign key to the
    previous table and an index.  ``new``: tables 0..R-1 renamed to r0..rR-1, and in
    tables R..2R-1 column ``email`` renamed ``email_address``."""
    md = sa.MetaData(naming_convention=NC)
    for i in range(n_tables):
        renamed_table = new and i < n_renames
        renamed_col = new and n_renames <= i < 2 * n_renames
        name = f"r{i}" if renamed_table else f"t{i}"
        ref = None
        if i > 0:
            prev_renamed = new and (i - 1) < n_renames
            ref = f"r{i - 1}.id" if prev_renamed else f"t{i - 1}.id"
        info = {"renamed_from": f"t{i}"} if (renamed_table and declared) else {}
        col_info = {"renamed_from": "email"} if (renamed_col and declared) else {}
        sa.Table(
            name,
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False, index=True),
            sa.Column("email_address" if renamed_col else "email", sa.String(80), info=col_info),
            sa.Column(f"k{i}", sa.Integer),
            sa.Column("note", sa.Text),
            sa.Column("at", sa.DateTime),
            sa.Column("parent_id", sa.ForeignKey(ref) if ref else sa.Integer),
            info=info,
        )
    return md


def setup(url: str, n_tables: int, n_renames: int) -> None:
    """The database at the old schema, built in chunks (PostgreSQL's lock table is finite)."""
    engine = sa.create_engine(url)
    old = build(n_tables, n_renames, new=False, declared=False)
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
    for md in (build(n_tables, n_renames, new=True, declared=False), old):
        tables = [t for t in reversed(md.sorted_tables) if t.name in existing]
        for i in range(0, len(tables), 100):
            with engine.begin() as conn:
                md.drop_all(conn, tables=tables[i : i + 100])
        existing -= {t.name for t in tables}
    tables = old.sorted_tables
    for i in range(0, len(tables), 100):
        with engine.begin() as conn:
            old.create_all(conn, tables=tables[i : i + 100])
    engine.dispose()


def run(url: str, n_tables: int, n_renames: int, reps: int, mode: str, full_compare: bool = False) -> dict:
    engine = sa.create_engine(url)
    new = build(n_tables, n_renames, new=True, declared=mode == "declared")
    plain, hooked, hook_only, paired, produce_in_hooked = [], [], [], [], []
    check_lines: list[str] = []
    with engine.connect() as conn:
        opts = {"target_metadata": new, "render_as_batch": url.startswith("sqlite")}
        # warm-up (imports, first reflection of the catalog)
        produce_migrations(MigrationContext.configure(conn, opts=opts), new)
        for rep in range(reps):
            for order in ((0, 1) if rep % 2 == 0 else (1, 0)):
                ctx = MigrationContext.configure(conn, opts=opts)
                gc.collect()
                gc.disable()
                try:
                    t0 = time.perf_counter()
                    script = produce_migrations(ctx, new)
                    t1 = time.perf_counter()
                    if order == 1:
                        hook = Pipeline(
                            Options(
                                questioner=NonInteractiveQuestioner(accept_unambiguous=True),
                                full_compare=full_compare,
                            )
                        )
                        report = hook.renames
                        t2 = time.perf_counter()
                        hook(ctx, None, [script])
                        t3 = time.perf_counter()
                finally:
                    gc.enable()
                if order == 0:
                    plain.append(t1 - t0)
                    continue
                hooked.append(t3 - t0)
                produce_in_hooked.append(t1 - t0)
                hook_only.append(t3 - t2)
                paired.append((t3 - t2) / (t1 - t0))
                if not check_lines:
                    check_lines = describe_ops(script.upgrade_ops)
                    renames = [ln for ln in check_lines if ln.startswith("rename table") or ln.startswith("rename column")]
                    assert len([ln for ln in renames if ln.startswith("rename table")]) == n_renames, check_lines
                    assert len([ln for ln in renames if ln.startswith("rename column")]) == n_renames, check_lines
                    assert not [ln for ln in check_lines if ln.startswith(("drop table", "drop column", "add table"))]
                    assert not report.unresolved, report.warnings()
    engine.dispose()
    if "-v" in sys.argv:
        print("plain  ", " ".join(f"{t:.3f}" for t in plain))
        print("hooked ", " ".join(f"{t:.3f}" for t in produce_in_hooked), "(autogenerate part)")
    med_plain = statistics.median(plain)
    med_hook = statistics.median(hook_only)
    return {
        "mode": mode,
        "plain_median": med_plain,
        "plain_min": min(plain),
        "hooked_median": statistics.median(hooked),
        "hook_median": med_hook,
        "hook_min": min(hook_only),
        "overhead": statistics.median(paired),
        "min_ratio": min(hooked) / min(plain),
        "ops": len(check_lines),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="database URL (default: a SQLite file in a temp dir)")
    ap.add_argument("--tables", type=int, default=1000)
    ap.add_argument("--renames", type=int, default=20)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "renames.txt"))
    ap.add_argument("--append", action="store_true", help="append to the results file instead of replacing it")
    ap.add_argument("-v", action="store_true", help="print every timing")
    ap.add_argument(
        "--full-compare",
        action="store_true",
        help="time the fallback path: Alembic diffs the renamed tables again (Options(full_compare=True))",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        backend = sa.engine.make_url(url).get_backend_name()
        lines = [
            f"bench_renames: {args.tables} tables, {args.renames} renamed tables + {args.renames} renamed columns, "
            f"{args.reps} repetitions, {backend}" + (", fallback path (full_compare)" if args.full_compare else ""),
            f"python {platform.python_version()}, sqlalchemy {sa.__version__}, "
            f"alembic {__import__('alembic').__version__}, {platform.machine()}",
        ]
        ok = True
        setup(url, args.tables, args.renames)
        for mode in ("detected", "declared"):
            r = run(url, args.tables, args.renames, args.reps, mode, args.full_compare)
            ok = ok and r["overhead"] <= 0.05
            lines.append(
                f"  {mode:<9} plain autogenerate: median {r['plain_median']:.3f}s, min {r['plain_min']:.3f}s; "
                f"pipeline: median {r['hook_median'] * 1000:.1f}ms, min {r['hook_min'] * 1000:.1f}ms"
            )
            lines.append(
                f"  {'':<9} overhead {r['overhead'] * 100:.2f}% (pipeline / the autogenerate it ran after, median of "
                f"{args.reps} runs); min(autogenerate+pipeline) / min(plain) = {r['min_ratio']:.3f}; "
                f"{r['ops']} ops generated, no drop/add left"
            )
        lines.append(f"  target <= 5.00% overhead: {'met' if ok else 'NOT met'}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and out.exists():
        text = out.read_text() + text
    out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
