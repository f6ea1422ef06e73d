"""What the read commands can answer without Alembic, SQLAlchemy or env.py.

``heads``, ``history``, ``current`` and ``graph`` ask here first: Alembic's last
answers, kept by ``revisions.answers`` while no revision file changed, or else
the same answers worked out from the files' text (``revisions.fresh``), and, when
env.py is the one ``init`` writes and the URL a SQLite file, the database's
position read with ``sqlite3`` (``safety.sqlite_position``).  Each function
answers only when it can be sure, and returns None otherwise; the command then
takes the normal path through ``api``, which reports anything unusual properly.
Nothing here imports ``api``: that import (Alembic, SQLAlchemy) is the start-up
cost these answers save.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any


def plain_ini(config: str | Path | None, cwd: Path) -> Path | None:
    """The project's alembic.ini when it alone configures the project (no pyproject.toml), else None."""
    try:
        from .config import pick_files

        ini, toml = pick_files(config, cwd)
    except Exception:  # anything unusual: the normal path reports it properly
        return None
    return ini if toml is None else None


def cached_answer(ini: Path | None, section: str, name: str) -> list[Any] | None:
    """``heads``/``history`` as Alembic last answered them if no file changed since, else worked out from
    the files' text (``revisions.fresh``) when that is certain."""
    if ini is None:
        return None
    try:
        from .revisions.answers import Answers, script_location

        location = script_location(ini, section)
        if location is None:
            return None
        found = Answers(location, ini, section).lookup(name)
        if found is None:
            from .revisions.fresh import fresh_answers

            found = (fresh_answers(ini, section, (name,)) or {}).get(name)
        return found
    except Exception:  # anything unusual: the normal path reports it properly
        return None


def position(ini: Path | None, section: str, *, overridden: bool) -> Any:
    """The database's position without running env.py (``safety.sqlite_position``), or None.

    ``overridden``: a ``--url``, ``$SCHEMASHIFT_URL``, ``-x`` or ``--verbose``
    (env.py's run prints Alembic's INFO lines) that env.py must see.
    """
    if ini is None or overridden:
        return None
    try:
        from .safety.sqlite_position import sqlite_position

        return sqlite_position(ini, section)
    except Exception:  # anything unusual: the normal path reports it properly
        return None


def current(ini: Path | None, section: str, where: Any) -> tuple[list[Any], str] | None:
    """``current``'s revisions and the redacted URL, from ``where`` (a ``position``) and
    Alembic's last ``history`` answer; None unless it holds every revision the database is at,
    and none of its revisions depends on another (``depends_on``)."""
    ids = where.heads
    try:
        from .redact import redact_url

        history = cached_answer(ini, section, "history")
        if history is None:
            return None
        known = {info.revision: info for info in history}
        if not all(rev in known for rev in ids):
            return None
        ids = _all_current(known, ids)
        if ids is None:
            return None
        return [replace(known[rev], is_current=True) for rev in ids], redact_url(where.url)
    except Exception:  # anything unusual: the normal path reports it properly
        return None


def _all_current(known: dict[str, Any], ids: Any) -> list[str] | None:
    """``revisions.lineage.all_current`` over the stored history; None when a depends_on names a
    branch label (resolved only by Alembic's map)."""
    if not any(info.dependencies for info in known.values()):
        return list(ids)
    if any(name not in known for info in known.values() for name in info.dependencies):
        return None
    from .revisions.lineage import all_current

    children: dict[str, set[str]] = {}
    for info in known.values():
        for down in info.down_revisions:
            children.setdefault(down, set()).add(info.revision)
    return all_current(ids, lambda rev: known[rev].down_revisions + known[rev].dependencies,
                       lambda rev: children.get(rev, set()))
