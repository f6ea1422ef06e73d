"""Rows the user supplies for verify, per revision (pytest-alembic's
``before_revision_data`` idea).

Why: generated rows are generic; a project knows what its real rows look
like (JSON shapes, formats a data migration parses).  Files in
``<script_location>/verify_data/`` named after a revision are applied right
before that revision's upgrade, every time verify applies it:

- ``<rev>.sql``: statements separated by ``;`` lines, run as written;
- ``<rev>.py``: ``rows = {"table": [{"col": value, ...}, ...]}`` and/or a
  function ``before_upgrade(connection)``.

Tables named in these files (``rows`` keys, ``INSERT INTO`` targets) are
never seeded by verify, so the user's rows are the only rows in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Project
from ..errors import ConfigError

FOLDER = "verify_data"


@dataclass
class VerifyData:
    """User rows per revision id (the file to apply before its upgrade)."""

    files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def of(cls, project: Project) -> "VerifyData":
        folder = Path(project.script_location) / FOLDER
        if not folder.is_dir():
            return cls()
        return cls({p.stem: p for p in sorted(folder.iterdir()) if p.suffix in (".sql", ".py")})

    def tables(self) -> set[str]:
        """Tables the files put rows in (``rows`` keys, ``INSERT INTO`` targets): never seeded."""
        import re

        found: set[str] = set()
        for path in self.files.values():
            text = path.read_text(encoding="utf-8", errors="replace")
            found.update(m.lower() for m in re.findall(r'INSERT\s+INTO\s+["`\[]?(\w+)', text, re.IGNORECASE))
            if path.suffix == ".py":
                from .scratch import load_revision_module

                rows = getattr(load_revision_module(path, f"schemashift_verify_data_{path.stem}"), "rows", None) or {}
                found.update(str(t).lower() for t in rows)
        return found

    def insert_before(self, connection: Any, revision: str) -> None:
        path = self.files.get(revision)
        if path is None:
            return
        try:
            if path.suffix == ".sql":
                for statement in _statements(path.read_text(encoding="utf-8")):
                    connection.exec_driver_sql(statement)
            else:
                _run_python(path, connection)
        except Exception as exc:
            raise ConfigError(
                f"verify data {path} failed: {' '.join(str(getattr(exc, 'orig', None) or exc).split())[:300]}",
                hint="fix the rows in that file; they are inserted right before the revision's upgrade",
            ) from exc


def _statements(text: str) -> list[str]:
    """Split on ``;`` at the end of a line (good enough for INSERTs)."""
    out, current = [], []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if "".join(current).strip():
        out.append("\n".join(current))
    return [s for s in out if s.strip()]


def _run_python(path: Path, connection: Any) -> None:
    import sqlalchemy as sa

    from .scratch import load_revision_module

    module = load_revision_module(path, f"schemashift_verify_data_{path.stem}")
    for table, rows in (getattr(module, "rows", None) or {}).items():
        if rows:
            columns = sorted({c for row in rows for c in row})
            connection.execute(sa.table(table, *[sa.column(c) for c in columns]).insert(), list(rows))
    hook = getattr(module, "before_upgrade", None)
    if callable(hook):
        hook(connection)
