"""Where pictures get their schemas: the models, or a scratch database upgraded to a revision.

The schema at a revision is built exactly as ``verify`` builds its databases:
a scratch database that is never the user's (``safety.scratch``), upgraded by
the same runner as ``upgrade``, then reflected.  Several revisions on one line
of history are read in one walk, so ``erd --diff A:B`` upgrades once.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..config import Project
from ..errors import ConfigError, RevisionError
from ..migrate import migrate, revision_map
from ..runner import REVISION_ERRORS, revision_error, run_env
from ..safety.scratch import scratch_database, scratch_project
from ..schema.bookkeeping import is_bookkeeping

_SYNC_DRIVERS = {"aiosqlite": "pysqlite", "asyncpg": "psycopg", "psycopg_async": "psycopg", "aiomysql": "pymysql",
                 "asyncmy": "pymysql"}


def sync_url(url: str) -> Any:
    """The same database through a synchronous driver (reflection here is synchronous)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    driver = parsed.get_driver_name()
    if driver in _SYNC_DRIVERS:
        parsed = parsed.set(drivername=f"{parsed.get_backend_name()}+{_SYNC_DRIVERS[driver]}")
    return parsed


def reflect(url: str) -> Any:
    """Every table of the database at ``url``, schemashift's and Alembic's own left out."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(sync_url(url))
    try:
        metadata = MetaData()
        with engine.connect() as connection:
            metadata.reflect(connection, only=lambda name, _: not is_bookkeeping(name) and not name.startswith("sqlite_"))
        return metadata
    finally:
        engine.dispose()


def schemas_at(project: Project, revisions: Sequence[str], *, scratch_url: str | None = None) -> list[Any]:
    """The schema (a reflected ``MetaData``) after upgrading a scratch database to each revision in turn.

    ``revisions`` must lie on one line of history, oldest first; ``base`` is
    the empty schema.
    """
    found = []
    with scratch_database(project.url, scratch_url) as scratch:
        target = scratch_project(project, scratch)
        for rev in revisions:
            if rev != "base":
                migrate(target, "up", rev)
            found.append(reflect(scratch.url))
    return found


def models_metadata(project: Project) -> Any:
    """The ``target_metadata`` that env.py gives Alembic (env.py is run as for ``current``)."""
    seen: list[Any] = []

    def read(rev: Any, context: Any) -> list[Any]:
        seen.append(context.opts.get("target_metadata"))
        return []

    run_env(project, read, dont_mutate=True)
    metadata = seen[0] if seen else None
    if isinstance(metadata, (list, tuple)):
        from sqlalchemy import MetaData

        merged = MetaData()
        for md in metadata:
            for table in md.tables.values():
                table.to_metadata(merged)
        metadata = merged
    if metadata is None:
        raise ConfigError(
            "env.py gives Alembic no target_metadata, so there are no models to draw",
            hint="set target_metadata in env.py (or schemashift.metadata = MODULE:ATTR in alembic.ini)",
        )
    return metadata


def revision_files(project: Project, lower: str, upper: str) -> list[str]:
    """The files of the revisions after ``lower`` up to ``upper``, in upgrade order."""
    rmap = revision_map(project)
    try:
        walked = list(rmap.iterate_revisions(upper, lower, inclusive=False, assert_relative_length=False))
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    lower_ids = set() if lower == "base" else {r.revision for r in rmap.get_revisions(lower)}
    return [r.path for r in reversed(walked) if r.revision not in lower_ids and getattr(r, "path", None)]


def resolve(project: Project, rev: str) -> str:
    """A full revision id for ``rev`` (``head`` when it names one head; ``base`` kept)."""
    if rev == "base":
        return rev
    rmap = revision_map(project)
    try:
        found = rmap.get_revisions(rev)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    if len(found) != 1:
        raise RevisionError(f"{rev!r} names {len(found)} revisions", hint="give one revision (merge heads first)")
    return found[0].revision
