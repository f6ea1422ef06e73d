"""current / heads / history on a project of N linear revisions: Alembic vs schemashift.

Both run in this one process on the same generated project (SQLite, stamped
at head).  Alembic's commands print; ours return data that we format the same
way, so both sides do the work a user waits for.  schemashift is timed cold
(first call: its header cache is built) and warm (cache hit), and again after
files are added, edited and removed, checking that its answers still match
Alembic's.

    python bench/bench_revisions.py [N]      # default 5000
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from alembic.config import Config

from schemashift import api
from schemashift.config import load_project

TEMPLATE = '''"""revision {i}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = {rev!r}
down_revision: Union[str, Sequence[str], None] = {down_repr}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("SELECT {i}")


def downgrade() -> None:
    """Downgrade schema."""
    pass
'''


def rev_id(i: int) -> str:
    return f"{i:06d}abcdef"


def write(versions: Path, i: int, down: str | None) -> None:
    rev = rev_id(i)
    (versions / f"{rev}_revision_{i}.py").write_text(
        TEMPLATE.format(i=i, rev=rev, down=down or "", down_repr=repr(down))
    )


def make_project(root: Path, n: int) -> Path:
    api.init(root, url=f"sqlite:///{root / 'bench.db'}", metadata="models:Base.metadata")
    versions = root / "migrations" / "versions"
    for i in range(n):
        write(versions, i, rev_id(i - 1) if i else None)
    return root / "alembic.ini"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def alembic_out(fn, config) -> str:
    buf = io.StringIO()
    config.stdout = buf
    with contextlib.redirect_stdout(buf):
        fn(config)
    return buf.getvalue()


def main(n: int) -> str:
    lines = [f"# current / heads / history on {n} linear revisions (SQLite), median seconds", ""]
    with tempfile.TemporaryDirectory() as tmp:
        ini = make_project(Path(tmp) / "proj", n)
        project = load_project(ini)
        head = rev_id(n - 1)
        api.stamp(project, [head])
        config = Config(str(ini))  # Alembic's own, not quiet, as its CLI would build it

        def ours(name: str):
            if name == "current":
                return "\n".join(h.revision + (" (head)" if h.is_head else "") for h in api.current(project).heads)
            if name == "heads":
                return "\n".join(h.revision for h in api.heads(project))
            return "\n".join(e.one_line() for e in api.history(project).entries)

        def alembic(name: str):
            fn = {"current": command.current, "heads": command.heads, "history": command.history}[name]
            return alembic_out(fn, config)

        cache = Path(tmp) / "proj" / "migrations" / "__pycache__" / "schemashift-revisions.json"
        lines.append(f"{'command':10} {'alembic':>9} {'ours cold':>10} {'ours warm':>10} {'warm ratio':>11} {'cold ratio':>11}")
        for name in ("current", "heads", "history"):
            alembic_s, alembic_result = timed(lambda: alembic(name), repeat=1 if name == "current" else 3)
            cache.unlink(missing_ok=True)
            cold_s, _ = timed(lambda: ours(name))
            warm_s, our_result = timed(lambda: ours(name), repeat=5)
            assert head in str(alembic_result) and head in str(our_result), name
            if name == "history":
                assert str(alembic_result).count("\n") == str(our_result).count("\n") + 1 == n, name
            lines.append(
                f"{name:10} {alembic_s:9.3f} {cold_s:10.3f} {warm_s:10.3f} {warm_s / alembic_s:11.3f} {cold_s / alembic_s:11.3f}"
            )

        # files added, edited and removed between calls: answers still right
        versions = Path(tmp) / "proj" / "migrations" / "versions"
        write(versions, n, head)  # added: new head
        assert [h.revision for h in api.heads(project)] == [rev_id(n)]
        write(versions, n, rev_id(n - 3))  # edited: now branches off n-3
        assert {h.revision for h in api.heads(project)} == {head, rev_id(n)}
        next(versions.glob(f"{rev_id(n)}_*.py")).unlink()  # removed
        start = time.perf_counter()
        assert [h.revision for h in api.heads(project)] == [head]
        after_change = time.perf_counter() - start
        lines.append("")
        lines.append(f"after adding, editing and removing files: answers match; heads re-read in {after_change:.3f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    report = main(count)
    print(report)
    out = Path(__file__).parent / "results" / "revisions.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report + "\n")
