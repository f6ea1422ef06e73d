"""schemashift's commands as Python functions.

Each function takes a located ``Project`` (see ``config.load_project``) and
returns data; the CLI only parses arguments, calls one of these, and prints.
Failures raise ``SchemashiftError`` subclasses that carry what went wrong.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from argparse import Namespace
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from typing import TYPE_CHECKING

from .config import METADATA_OPTION, Project, load_project, redact_url, require_template
from .errors import ConfigError, DatabaseError, Refused, RevisionError, SchemashiftError
from .revisions.display import RevisionInfo, as_tuple
from .revisions.ids import check_new_rev_id, check_reference, docstring_safe
from .revisions.index import RevisionIndex
from .runner import REVISION_ERRORS, alembic_command, revision_error, revision_map, run_env, script_directory

if TYPE_CHECKING:
    from .autogen.drift import CheckResult
    from .runtime.options import RunOptions
    from .runtime.results import MigrateResult, StepEvent
    from .safety.ledger import ValidationReport

# Start-up time: the read commands (current, heads, history, show) import only
# the modules above.  Each command imports its feature (migrate, autogen,
# checks, pictures, fleet, ...) and Alembic's ``command`` module when it runs.

__all__ = [
    "Project",
    "load_project",
    "init",
    "revision",
    "upgrade",
    "downgrade",
    "current",
    "history",
    "heads",
    "show",
    "stamp",
    "merge",
    "check",
    "discard",
    "fleet_upgrade",
    "fleet_downgrade",
    "fleet_current",
    "fleet_plan",
    "fleet_verify_state",
    "StepEvent",
]

TEMPLATES = Path(__file__).parent / "templates" / "project"


# --------------------------------------------------------------------- init


@dataclass
class InitResult:
    directory: Path  # where alembic.ini is
    config_file: Path
    script_location: Path
    env_py: Path
    models_file: Path | None
    url: str
    gitignore: Path | None = None
    existing_models: list[Path] = field(default_factory=list)  # models.py files found (no starter written)


INIT_TEMPLATES = ("generic", "async")  # Alembic's init --template names that schemashift's env.py serves


def init(
    directory: str | os.PathLike[str],
    *,
    metadata: str | None = None,
    url: str | None = None,
    naming_convention: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
    gitignore: bool = True,
    template: str = "generic",
) -> InitResult:
    """Create a project that works with no hand-editing.

    With ``config_dir``, Alembic's layout (``alembic init DIR`` run in
    ``config_dir``): ``alembic.ini`` in ``config_dir``, the scripts in
    ``directory`` (relative to ``config_dir``).  Without it, the project
    folder form: ``directory/alembic.ini`` and ``directory/migrations/``.

    schemashift adds to Alembic's files: ``schemashift.metadata`` (``MODULE:ATTR``
    of the models' MetaData, default ``models:Base.metadata``), the URL
    (default a SQLite file beside alembic.ini), paths relative to alembic.ini,
    an env.py that needs no editing, ``.gitignore`` lines for the revision
    cache and lock file, and a starter ``models.py`` with the default naming
    convention, only when no ``models.py`` exists anywhere in the project (it
    would hide the real one).

    ``template``: Alembic's ``init --template``.  ``generic`` and ``async`` give the same env.py
    (it runs an async driver's URL in an event loop of its own); ``async`` makes the default
    URL ``sqlite+aiosqlite``.  Alembic's other templates are refused with what to do instead.
    """
    if template not in INIT_TEMPLATES:
        raise ConfigError(
            f"schemashift init has no template {template!r} (it has {', '.join(INIT_TEMPLATES)})",
            hint=f"run 'alembic init --template {template} DIR' instead: schemashift works with that project as it is"
            if template in ("pyproject", "pyproject_async", "multidb") else "use --template generic or async",
        )
    if config_dir is None:
        root = Path(directory).absolute()
        migrations = root / "migrations"
    else:
        root = Path(config_dir).absolute()
        migrations = root / directory if not Path(directory).is_absolute() else Path(directory)
        migrations = Path(os.path.normpath(migrations))
    metadata = metadata or "models:Base.metadata"
    if ":" not in metadata or not all(metadata.split(":", 1)):
        raise ConfigError(
            f"--metadata {metadata!r} is not MODULE:ATTR", hint="e.g. --metadata models:Base.metadata"
        )
    ini = root / "alembic.ini"
    if ini.exists():
        raise ConfigError(f"{ini} already exists", hint="this directory already holds a project; use another DIR")
    if migrations.exists() and (not migrations.is_dir() or any(migrations.iterdir())):
        raise ConfigError(f"{migrations} already exists and is not empty", hint="choose another DIR")
    url = url or ("sqlite+aiosqlite" if template == "async" else "sqlite") + ":///%(here)s/app.db"
    existing_models = _models_files(root, metadata)
    root.mkdir(parents=True, exist_ok=True)
    from alembic import command  # start-up time: only init, revision, merge and check need it
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config(str(ini), cmd_opts=Namespace(quiet=True))
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its "Generating ..." lines
            command.init(config, str(migrations), template="generic")
    except CommandError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    text = ini.read_text()
    # paths relative to the ini file, so the project works from any directory
    location = Path(os.path.relpath(migrations, root)).as_posix()
    location = "%(here)s" if location == "." else f"%(here)s/{location}"
    text = re.sub(r"(?m)^script_location = .*$", lambda _: f"script_location = {location}", text, count=1)
    text = re.sub(r"(?m)^prepend_sys_path = .*$", "prepend_sys_path = %(here)s", text, count=1)
    url_lines = (
        f"sqlalchemy.url = {_ini_escape(url)}\n"
        f"# the models' MetaData, imported by env.py (MODULE:ATTR)\n{METADATA_OPTION} = {metadata}"
    )
    text = re.sub(r"(?m)^sqlalchemy\.url = .*$", lambda _: url_lines, text, count=1)
    ini.write_text(text)
    env_py = migrations / "env.py"
    env_py.write_text((TEMPLATES / "env.py").read_text())
    models_file = None
    module, attribute = metadata.split(":", 1)
    if not existing_models and attribute == "Base.metadata" and "." not in module:
        template = (TEMPLATES / "models.py").read_text()
        if not naming_convention:
            template = template.replace(
                "    metadata = MetaData(naming_convention=NAMING_CONVENTION)\n", "    pass\n"
            )
        models_file = root / f"{module}.py"
        models_file.write_text(template)
    ignore = write_gitignore(root) if gitignore else None
    shown_url = redact_url(url.replace("%(here)s", str(root)))
    return InitResult(root, ini, migrations, env_py, models_file, shown_url, ignore, existing_models)


_SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "venv", "env", "build", "dist"}


def _models_files(root: Path, metadata: str, depth: int = 4) -> list[Path]:
    """The module ``metadata`` names, if it exists, else every ``models.py`` in the project (bounded walk)."""
    module = metadata.split(":", 1)[0].replace(".", "/")
    for candidate in (root / f"{module}.py", root / module / "__init__.py"):
        if candidate.exists():
            return [candidate]
    found: list[Path] = []
    if not root.is_dir():
        return found
    stack = [(root, 0)]
    while stack and len(found) < 5:
        folder, level = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if level < depth and not entry.name.startswith(".") and entry.name not in _SKIP_DIRS:
                    stack.append((Path(entry.path), level + 1))
            elif entry.name in ("models.py",) or (entry.name == "__init__.py" and Path(entry.path).parent.name == "models"):
                found.append(Path(entry.path))
    return sorted(found)


GITIGNORE_LINES = (
    "# schemashift: the revision cache and the SQLite migration lock are not for version control",
    "__pycache__/",
    "*-schemashift.lock",
)


def write_gitignore(root: Path) -> Path | None:
    """Add schemashift's ``.gitignore`` lines beside alembic.ini (only those missing); the file, or None."""
    path = root / ".gitignore"
    existing = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in GITIGNORE_LINES[1:] if line not in existing]
    if not missing:
        return None
    text = "\n".join(existing)
    if text and not text.endswith("\n"):
        text += "\n"
    if text:
        text += "\n"
    text += "\n".join([GITIGNORE_LINES[0], *missing]) + "\n"
    path.write_text(text)
    return path


# ----------------------------------------------------------------- helpers


def _ini_escape(value: str) -> str:
    """Escape ``%`` for configparser, keeping Alembic's ``%(here)s`` token."""
    return value.replace("%", "%%").replace("%%(here)s", "%(here)s")


def revision_index(project: Project) -> RevisionIndex:
    return RevisionIndex(script_directory(project))


_revision_map = revision_map


_LAZY_TYPES = {
    "CheckResult": "autogen.drift",
    "MigrateResult": "runtime.results",
    "StepEvent": "runtime.results",
    "RunOptions": "runtime.options",
}


def __getattr__(name: str) -> Any:
    """``api.StepEvent``, ``api.CheckResult``, ...: result types imported when first asked for (start-up time)."""
    if name in _LAZY_TYPES:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_TYPES[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _migrate() -> Any:
    """``schemashift.migrate``, imported by the commands that migrate (start-up time of the read commands)."""
    from . import migrate

    return migrate


def _resolve(rmap: Any, rev: str) -> Any:
    check_reference(rev)
    try:
        found = rmap.get_revision(rev)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    if found is None:
        raise RevisionError(f"{rev!r} is not a single revision", hint="give a revision id")
    return found


def database_heads(project: Project) -> tuple[str, ...]:
    """The revision ids recorded in the database's version table."""
    seen: list[tuple[str, ...]] = []

    def read(rev: Any, context: Any) -> list[Any]:
        seen.append(tuple(context.get_current_heads()))
        return []

    run_env(project, read, dont_mutate=True)
    if not seen:
        raise ConfigError(
            "env.py did not run migrations", hint="env.py must call context.run_migrations()"
        )
    return seen[0]


# ------------------------------------------------------------ read commands


@dataclass
class CurrentState:
    heads: list[RevisionInfo]
    url: str

    @property
    def at_base(self) -> bool:
        return not self.heads

    @property
    def up_to_date(self) -> bool:
        return bool(self.heads) and all(h.is_head for h in self.heads)


def current(project: Project, *, keep_heads: bool = False) -> CurrentState:
    """What the database is at: the applied head revision(s).

    ``keep_heads``: also keep the scripts' heads as ``heads`` would (``revisions.answers``), so the
    CLI's next ``current`` can answer without running env.py.
    """
    ids = database_heads(project)
    keep = _answer_keeper(project) if keep_heads else None
    rmap = _revision_map(project)
    dependents = _dependents_of(rmap)
    if keep is not None:
        keep("heads", _head_infos(rmap, dependents))
        keep("history", [RevisionInfo.from_revision(rev, dependents=dependents(rev)) for rev in
                         rmap.iterate_revisions("heads", "base", inclusive=True, assert_relative_length=False)])
    revs = []
    for rev_id in ids:
        try:
            rev = rmap.get_revision(rev_id)
        except REVISION_ERRORS:
            rev = None
        if rev is None:
            raise RevisionError(
                f"the database is at revision {rev_id}, which no revision file defines",
                hint="restore the missing file, or 'schemashift stamp REV' if you know where it really is",
            )
        revs.append(rev)
    revs = _all_current(rmap, revs)
    marked = {rev.revision for rev in revs}
    infos = [RevisionInfo.from_revision(rev, current=marked, dependents=dependents(rev)) for rev in revs]
    return CurrentState(infos, redact_url(project.url))


def _answer_keeper(project: Project) -> Callable[[str, list[RevisionInfo]], None]:
    """Keeps what Alembic's revision map answered, for the CLI's no-import path (``revisions.answers``)."""
    from .revisions.answers import Answers, fingerprint
    from .revisions.index import version_directories

    if project.ini_path is None or project.toml_path is not None:
        return lambda name, infos: None
    script = script_directory(project)
    dirs = [os.path.realpath(d) for d in version_directories(script)]
    recursive = bool(script.recursive_version_locations)
    section = project.config.config_ini_section
    before = fingerprint(project.ini_path, section, dirs, recursive)
    answers = Answers(Path(script.dir), project.ini_path, section)
    return lambda name, infos: answers.store(name, infos, dirs, recursive, before)


def heads(project: Project, *, resolve_dependencies: bool = False) -> list[RevisionInfo]:
    """The head revisions of the scripts (not of the database).

    ``resolve_dependencies`` (Alembic's ``heads --resolve-dependencies``):
    a revision another one ``depends_on`` is not a head.
    """
    rmap = _revision_map(project)
    if resolve_dependencies:
        dependents = _dependents_of(rmap)
        return [RevisionInfo.from_revision(rev, dependents=dependents(rev)) for rev in rmap.get_revisions("heads")]
    keep = _answer_keeper(project)
    infos = _head_infos(rmap, _dependents_of(rmap))
    keep("heads", infos)
    return infos


def _all_current(rmap: Any, revs: list[Any]) -> list[Any]:
    """``revisions.lineage.all_current`` over Alembic's map (a depends_on may name a branch label)."""
    from .revisions.lineage import all_current

    def parents(rev_id: str) -> list[str]:
        rev = rmap.get_revision(rev_id)
        return [*as_tuple(rev.down_revision), *(rmap.get_revision(n).revision for n in as_tuple(rev.dependencies))]

    return [rmap.get_revision(r) for r in all_current((rev.revision for rev in revs), parents,
                                                       lambda rev_id: rmap.get_revision(rev_id).nextrev)]


def _head_infos(rmap: Any, dependents: Callable[[Any], tuple[str, ...]]) -> list[RevisionInfo]:
    return [RevisionInfo.from_revision(rev, dependents=dependents(rev))
            for rev in (rmap.get_revision(h) for h in rmap.heads)]


def _dependents_of(rmap: Any) -> Callable[[Any], tuple[str, ...]]:
    """``rev -> the revisions naming it in their depends_on`` (by id or branch label, as Alembic
    resolves them), other than through down_revision; asked of heads only, where Alembic prints
    them.  The map is walked once, on the first head asked about."""
    table: dict[str, tuple[str, ...]] | None = None

    def dependents(rev: Any) -> tuple[str, ...]:
        nonlocal table
        if rev.nextrev:  # not a head: Alembic marks nothing
            return ()
        if table is None:
            found: dict[str, list[str]] = {}
            for other in rmap.iterate_revisions("heads", "base", inclusive=True, assert_relative_length=False):
                for name in as_tuple(other.dependencies):
                    target = rmap.get_revision(name)
                    if target is not None and target.revision not in as_tuple(other.down_revision):
                        found.setdefault(target.revision, []).append(other.revision)
            table = {k: tuple(sorted(v)) for k, v in found.items()}
        return table.get(rev.revision, ())

    return dependents


@dataclass
class BranchPoint:
    """A revision more than one revision revises, and those revisions (``branches``)."""

    revision: RevisionInfo
    into: list[RevisionInfo]


def branches(project: Project) -> list[BranchPoint]:
    """The branch points of the scripts, newest first (the order of ``history``), as ``alembic branches``."""
    rmap = _revision_map(project)
    dependents = _dependents_of(rmap)
    points = []
    for rev in rmap.iterate_revisions("heads", "base", inclusive=True, assert_relative_length=False):
        if rev.is_branch_point:
            into = [RevisionInfo.from_revision(r, dependents=dependents(r))
                    for r in (rmap.get_revision(n) for n in sorted(rev.nextrev))]
            points.append(BranchPoint(RevisionInfo.from_revision(rev), into))
    return points


def show(project: Project, rev: str) -> RevisionInfo:
    rmap = _revision_map(project)
    found = _resolve(rmap, rev)
    return RevisionInfo.from_revision(found, dependents=_dependents_of(rmap)(found))


@dataclass
class HistoryResult:
    entries: list[RevisionInfo]
    current: tuple[str, ...] | None
    current_error: str | None = None


def history(
    project: Project,
    rev_range: str | None = None,
    *,
    indicate_current: bool = True,
    applied_at: dict[str, str] | None = None,
) -> HistoryResult:
    """All revisions, newest first; ``rev_range`` is ``[start]:[end]`` as in Alembic."""
    base: str | None = None
    top: str | None = None
    if rev_range is not None:
        if ":" not in rev_range:
            raise RevisionError(
                f"history range {rev_range!r} is not [start]:[end]", hint="e.g. -r base:head, -r -3:, -r ae10:"
            )
        base, top = (part.strip() or None for part in rev_range.split(":", 1))
        for end in (base, top):
            check_reference(end, "history range end")
    currents: tuple[str, ...] | None = None
    error = None
    needs_db = indicate_current or "current" in (base, top)
    if needs_db:
        try:
            currents = database_heads(project)
        except (DatabaseError, ConfigError) as exc:
            if "current" in (base, top):
                raise
            error = exc.one_line()
    keep = _answer_keeper(project) if rev_range is None else None
    rmap = _revision_map(project)

    def endpoint(value: str | None, default: str) -> Any:
        if value == "current":
            return currents or "base"
        return value or default

    try:
        walked = list(
            rmap.iterate_revisions(
                endpoint(top, "heads"), endpoint(base, "base"), inclusive=True, assert_relative_length=False
            )
        )
    except REVISION_ERRORS as exc:
        if "ambiguous walk" in str(exc).lower():
            raise _ambiguous_walk(rmap, rev_range or "") from exc
        raise revision_error(exc) from exc
    marked = set(currents or ())
    dependents = _dependents_of(rmap)
    entries = []
    for rev in walked:
        info = RevisionInfo.from_revision(rev, current=marked, dependents=dependents(rev))
        if applied_at and rev.revision in applied_at:
            info = _with_applied(info, applied_at[rev.revision])
        entries.append(info)
    if keep is not None:
        keep("history", entries)
    return HistoryResult(entries, currents, error)


def _ambiguous_walk(rmap: Any, rev_range: str) -> RevisionError:
    """-N counted across a merge (or branch) point has no single answer: say so, and what to type."""
    joins = [
        r.revision
        for r in rmap.iterate_revisions("heads", "base", assert_relative_length=False)
        if r.is_merge_point or r.is_branch_point
    ]
    example = f"-r {joins[0]}:" if joins else "-r base:"
    return RevisionError(
        f"history range {rev_range!r}: counting revisions back crosses a merge or branch point "
        f"({', '.join(joins[:3]) or 'in the history'}), where -N has more than one answer",
        hint=f"start the range at a revision id instead, e.g. {example}",
    )


def _with_applied(info: RevisionInfo, when: str) -> RevisionInfo:
    from dataclasses import replace

    return replace(info, applied_at=when)


# ---------------------------------------------------------- write commands


def _options(
    atomic: str, lock_timeout: float | None, ignore_checksums: bool, project: Project, notice: Any = None,
    allow_loss: bool = False, rebuild_progress: Any = None,
) -> RunOptions:
    from .runtime.options import RunOptions

    return RunOptions(
        atomic=atomic,
        lock_timeout=_migrate().lock_timeout_for(project, lock_timeout),
        ignore_checksums=ignore_checksums,
        notice=notice,
        allow_loss=allow_loss,
        rebuild_progress=rebuild_progress,
    )


def upgrade(
    project: Project,
    revision: str = "head",
    *,
    sql: bool = False,
    tag: str | None = None,
    progress: Callable[[StepEvent], None] | None = None,
    output: Any = None,
    atomic: str = "step",
    lock_timeout: float | None = None,
    ignore_checksums: bool = False,
    notice: Callable[[str], None] | None = None,
    allow: Sequence[str] = (),
    allow_destructive: bool = False,
    confirm: Callable[[Any, list[Any]], bool] | None = None,
    plan_first: bool = True,
    allow_loss: bool = False,
    rebuild_progress: Callable[[Any], None] | None = None,
) -> MigrateResult:
    """Upgrade to ``revision`` (id, partial id, ``head``, ``heads``, ``+N``, ``rev+N``).

    The run holds the migration lock; each migration runs in its own
    transaction (SQLite included), or the whole run in one with
    ``atomic="run"``.  Refused while an applied file's checksum changed,
    unless ``ignore_checksums``.  The plan runs first (``plan_first``):
    error-level findings refuse the run (``checks.refusal.UnsafeOperations``,
    exit 5) unless ``allow``ed by rule id, ``allow_destructive``, a
    suppression comment in the revision, or ``confirm(plan, findings)``.
    """
    options = _options(atomic, lock_timeout, ignore_checksums, project, notice, allow_loss, rebuild_progress)
    safety = _SafetyGate(project, "up", revision, sql, allow, allow_destructive, confirm, plan_first)
    safety.before(output, options)
    result = _migrate().migrate(
        project, "up", revision, sql=sql, tag=tag, progress=progress, output=output, options=options
    )
    return safety.after(result)


def downgrade(
    project: Project,
    revision: str,
    *,
    sql: bool = False,
    tag: str | None = None,
    progress: Callable[[StepEvent], None] | None = None,
    output: Any = None,
    atomic: str = "step",
    lock_timeout: float | None = None,
    notice: Callable[[str], None] | None = None,
    allow: Sequence[str] = (),
    allow_destructive: bool = False,
    confirm: Callable[[Any, list[Any]], bool] | None = None,
    plan_first: bool = True,
    allow_loss: bool = False,
    rebuild_progress: Callable[[Any], None] | None = None,
) -> MigrateResult:
    """Downgrade to ``revision`` (id, partial id, ``base``, ``-N``, ``rev-N``); planned and gated as ``upgrade``."""
    options = _options(atomic, lock_timeout, False, project, notice, allow_loss, rebuild_progress)
    safety = _SafetyGate(project, "down", revision, sql, allow, allow_destructive, confirm, plan_first)
    safety.before(output, options)
    result = _migrate().migrate(
        project, "down", revision, sql=sql, tag=tag, progress=progress, output=output, options=options
    )
    return safety.after(result)


# ------------------------------------------------------------ plan and lint


def plan(
    project: Project,
    revision: str = "head",
    *,
    direction: str = "up",
    exact: bool = False,
    target_version: str | None = None,
    allow: Sequence[str] = (),
    allow_destructive: bool = False,
) -> Any:
    """What ``upgrade`` (or, ``direction="down"``, ``downgrade``) to ``revision`` would do, run nothing.

    Per revision and operation: words, tables and rows, the PostgreSQL lock
    and rewrite, and every finding (see ``checks.plan``).  ``exact`` counts
    rows on PostgreSQL instead of using the planner's estimate.
    """
    from .checks.plan import Allowances, build_plan, parse_allow
    from .checks.suppress import configured_levels

    if direction not in ("up", "down"):
        raise RevisionError(f"direction must be 'up' or 'down', not {direction!r}")
    allowances = Allowances(parse_allow(allow), allow_destructive, configured_levels(project))
    _migrate().precheck_targets(project, (revision,))
    return build_plan(
        project, direction, revision, exact=exact, target_version=_pg_version(target_version), allowances=allowances
    )


def lint(
    project: Project,
    *,
    rev_range: str | None = None,
    scratch_url: str | None = None,
    target_version: str | None = None,
    allow: Sequence[str] = (),
    trace: bool = False,
) -> Any:
    """Findings of the revision files in ``rev_range`` (``A:B``, default all), never touching the database.

    The revisions run on a scratch database and each operation is recorded
    (see ``checks.lint``); rows are unknown there, so destructive operations
    are errors.  ``report.ok`` is False when an error-level finding remains.
    ``trace`` (PostgreSQL) records the locks and rewrites each statement
    really causes on seeded rows and lets them override the static guesses.
    """
    from .checks.lint import lint as run_lint
    from .checks.plan import Allowances, parse_allow
    from .checks.suppress import configured_levels

    allowances = Allowances(parse_allow(allow), False, configured_levels(project))
    return run_lint(project, rev_range=rev_range, scratch_url=scratch_url,
                    target_version=_pg_version(target_version), allowances=allowances, trace=trace)


def _pg_version(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(part) for part in str(value).split("."))
    except ValueError:
        raise ConfigError(f"--target-version {value!r} is not a version", hint="e.g. --target-version 11 or 15.4") from None


class _SafetyGate:
    """The plan-then-refuse step of ``upgrade``/``downgrade`` (see ``checks.refusal``).

    Online it is a step of the run (``RunOptions.gate``), taken with the lock
    held on exactly the steps that run; offline (``--sql``) the findings
    become SQL comments and nothing is refused.
    """

    def __init__(self, project: Project, direction: str, revision: str, sql: bool, allow: Sequence[str],
                 allow_destructive: bool, confirm: Any, enabled: bool) -> None:
        self.project, self.direction, self.revision, self.sql = project, direction, revision, sql
        self.allow, self.allow_destructive, self.confirm, self.enabled = allow, allow_destructive, confirm, enabled
        self.comments = ""
        self.plan: Any = None
        self._run_gate: Any = None

    def before(self, output: Any, options: RunOptions) -> None:
        if not self.enabled:
            return
        from .checks.plan import Allowances, build_plan, parse_allow
        from .checks.refusal import RunGate, sql_comments
        from .checks.suppress import configured_levels

        allowances = Allowances(parse_allow(self.allow), self.allow_destructive, configured_levels(self.project))
        if not self.sql:
            self._run_gate = RunGate(self.direction, self.revision, allowances, self.confirm,
                                     url=redact_url(self.project.url))
            options.gate = self._run_gate
            return
        start, _, target = self.revision.rpartition(":")
        _migrate().precheck_targets(self.project, (start or None, target))  # bad input: refused before planning
        try:  # offline: nothing refused; the findings become SQL comments
            self.plan = build_plan(self.project, self.direction, target, allowances=allowances, sql=True,
                                   starting_rev=start or None)
        except SchemashiftError as exc:
            self.comments = f"-- schemashift: no plan for this SQL: {exc.one_line()}\n"
        else:
            self.comments = sql_comments(self.plan)
        if output is not None and self.comments:
            output.write(self.comments)
            self.comments = ""

    def after(self, result: MigrateResult) -> MigrateResult:
        if self.comments and result.sql is not None:
            result.sql = self.comments + result.sql
        result.plan = self._run_gate.plan if self._run_gate is not None else self.plan  # type: ignore[attr-defined]
        return result


def stamp(
    project: Project,
    revisions: Sequence[str],
    *,
    sql: bool = False,
    purge: bool = False,
    tag: str | None = None,
    output: Any = None,
    lock_timeout: float | None = None,
) -> MigrateResult:
    """Record ``revisions`` in the version table without running migrations."""
    options = _options("step", lock_timeout, False, project)
    return _migrate().stamp(project, revisions, sql=sql, purge=purge, tag=tag, output=output, options=options)


def validate(project: Project) -> ValidationReport:
    """Applied revisions whose files changed or are missing since they ran."""
    ledger = _migrate().ledger_for(project)
    found: list[ValidationReport] = []

    def read(rev: Any, context: Any) -> list[Any]:
        heads = tuple(context.get_current_heads())
        exists = ledger.exists(context.connection)
        entries = ledger.entries(context.connection) if exists else []
        report = _migrate().check_ledger(project, heads, entries)
        report.ledger_exists = exists
        found.append(report)
        return []

    run_env(project, read, policy=_ledger_reader(ledger), dont_mutate=True)
    return found[0]


def _ledger_reader(ledger: Any) -> Any:
    """A run that may read the ledger: SQLite attaches its sidecar (never creating it)."""
    from .runner import RunPolicy

    return RunPolicy(connection_hooks=[lambda connection, env: ledger.prepare(connection, create=False)])


def accept_checksums(project: Project, revisions: Sequence[str], *, who: str | None = None) -> list[Any]:
    """Take reviewed edits of applied files as their new baseline (an ``accept`` ledger row each,
    with who and when; see ``safety.accept``)."""
    from .safety.accept import accept_edits

    return accept_edits(project, revisions, who=who)


def name_constraints(
    project: Project, message: str | None = None, *, rev_id: str | None = None, convention: str | None = None
) -> Any:
    """Write a migration naming every unnamed constraint in the database (see ``autogen.constraints``).

    ``convention`` is ``MODULE:ATTR`` of another naming convention; without it
    the models' convention, or schemashift's default when the models have none
    (``NamingResult.convention_source`` says which).  The database must be at
    the head revision (as for any autogenerate).  Returns what was named, and
    what was skipped and why; no file is written when nothing needs a name.
    """
    from .autogen.constraints import NamingPlan, NamingResult, naming_directives
    from .naming import load_convention

    rules = load_convention(convention) if convention else None
    plan = NamingPlan()
    infos = revision(
        project,
        message or "name unnamed constraints",
        autogenerate=True,
        rev_id=rev_id,
        directives_hooks=[naming_directives(plan, rules, convention)],
        default_hooks=False,  # this migration is the naming plan alone: no rename questions
    )
    return NamingResult(infos[0] if infos else None, plan.namings, plan.skipped, plan.convention_source)


def applied_times(project: Project) -> dict[str, str]:
    """When each revision was last put in place, from the ledger (empty without one)."""
    return _position(project)[1]


# ----------------------------------------------------- authoring commands


def _as_tuple(down_revision: Any) -> tuple[str, ...]:
    """A script's ``down_revision`` (None, an id or a tuple of ids) as a tuple, as Alembic reads it."""
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)


def _scripts(created: Any) -> list[RevisionInfo]:
    items = created if isinstance(created, list) else [created]
    out = []
    for script in items:
        if script is None:
            continue
        out.append(
            RevisionInfo(
                revision=script.revision,
                down_revisions=_as_tuple(script.down_revision),
                dependencies=(),
                branch_labels=tuple(sorted(script.branch_labels)),
                doc=script.doc,
                longdoc=script.longdoc,
                path=script.path,
                create_date=None,
                is_head=True,
                is_base=not script.down_revision,
                is_branch_point=False,
                is_merge_point=isinstance(script.down_revision, tuple),
            )
        )
    return out


class CreatedRevisions(list):  # list[RevisionInfo], plus what the autogenerate pipeline did
    """The revision files written; ``renames``: the rename report (or None); ``unchanged``:
    autogenerate found nothing to do, so no file was written (unless ``allow_empty``)."""

    renames: Any = None
    unchanged: bool = False
    #: one line per written op that deletes data (the pipeline's risk notes)
    risks: list[str] = []


def revision(
    project: Project,
    message: str | None = None,
    *,
    autogenerate: bool = False,
    rev_id: str | None = None,
    head: str = "head",
    splice: bool = False,
    branch_label: str | None = None,
    version_path: str | None = None,
    depends_on: str | None = None,
    renames: Sequence[str] = (),
    not_renamed: Sequence[str] = (),
    accept_renames: bool = False,
    strict: bool = False,
    defaults: Sequence[str] = (),
    allow_empty: bool = False,
    questioner: Any = None,
    directives_hooks: Sequence[Callable[..., None]] = (),
    default_hooks: bool = True,
) -> CreatedRevisions:
    """Create a revision file (empty, or ``autogenerate``d from the models).

    Autogenerate runs schemashift's pipeline (``autogen/pipeline.py``): renamed
    tables and columns recognised (``renamed_from`` in the models, ``renames``
    such as ``students=scholars``, or detected and confirmed by ``questioner``;
    ``accept_renames`` accepts every clear candidate, ``not_renamed`` names
    added objects that are new, ``strict`` refuses to write while one is
    undecided), a value for the rows of an added NOT NULL column (``defaults``
    such as ``posts.slug=untitled``), data-preserving type conversions, and
    never a drop of the ledger.  When nothing changed no file is written
    unless ``allow_empty``.  ``directives_hooks`` run last;
    ``default_hooks=False`` runs only them.
    """
    from .autogen.expression_indexes import blind_spot_warnings_hidden
    from .autogen.pipeline import Options, Pipeline, is_empty

    _check_new_revision(project, rev_id)
    check_reference(head, "--head")
    for dependency in (depends_on.split(",") if depends_on else ()):
        check_reference(dependency.strip(), "--depends-on")
    for flag, given in (("--rename", renames), ("--not-renamed", not_renamed), ("--default", defaults)):
        if given and not autogenerate:
            raise RevisionError(f"{flag} only applies with --autogenerate", hint="add --autogenerate")
    pipeline = None
    hooks: list[Callable[..., None]] = []
    if autogenerate and default_hooks:
        pipeline = Pipeline(
            Options(
                renames=tuple(renames),
                not_renamed=tuple(not_renamed),
                accept_renames=accept_renames,
                strict=strict,
                questioner=questioner,
                defaults=tuple(defaults),
            )
        )
        hooks.append(pipeline)
    hooks.extend(directives_hooks)
    unchanged = False

    def chained(context: Any, rev: Any, directives: list[Any]) -> None:
        nonlocal unchanged
        for hook in hooks:
            hook(context, rev, directives)
        if autogenerate and not allow_empty and directives and all(is_empty(script) for script in directives):
            unchanged = True
            directives[:] = []  # Alembic then writes no file

    hidden = blind_spot_warnings_hidden() if pipeline is not None else contextlib.nullcontext()
    with _uncompilable_files_removed(project), hidden:
        created = alembic_command(
            project,
            "revision",
            message=docstring_safe(message),
            autogenerate=autogenerate,
            rev_id=rev_id,
            head=head,
            splice=splice,
            branch_label=branch_label,
            version_path=version_path,
            depends_on=depends_on,
            process_revision_directives=chained,
        )
    result = CreatedRevisions(_scripts(created))
    _check_compiles(result)
    result.renames = pipeline.renames if pipeline is not None else None
    result.unchanged = unchanged
    result.risks = [line for run in (pipeline.runs if pipeline is not None else []) for line in run.risks]
    return result


def merge(
    project: Project,
    revisions: Sequence[str] = ("heads",),
    *,
    message: str | None = None,
    rev_id: str | None = None,
    branch_label: str | None = None,
) -> RevisionInfo:
    """Create a merge revision joining ``revisions`` (default: all heads)."""
    _check_new_revision(project, rev_id)
    revs = list(revisions)
    for rev in revs:
        check_reference(rev)
    if revs == ["heads"] and len(heads(project)) < 2:
        raise Refused("there is only one head: nothing to merge")
    with _uncompilable_files_removed(project):
        created = alembic_command(
            project, "merge", revs, message=docstring_safe(message), branch_label=branch_label, rev_id=rev_id
        )
    infos = _scripts(created)
    _check_compiles(infos)
    return infos[0]


def _check_new_revision(project: Project, rev_id: str | None) -> None:
    """Before writing: a template to write from, a safe, new id, and a history without duplicate ids."""
    require_template(project)
    check_new_rev_id(rev_id)
    rmap = _revision_map(project)  # raises on duplicate ids in the history
    if rev_id is not None:
        existing = _exists_in(rmap, rev_id)
        if existing is not None:
            raise RevisionError(
                f"revision id {rev_id} already exists ({existing.path})", hint="choose another --rev-id"
            )


def _exists_in(rmap: Any, rev_id: str) -> Any:
    """The revision whose id is exactly ``rev_id`` (not a partial id, not a branch label), or None."""
    try:
        found = rmap.get_revision(rev_id)
    except REVISION_ERRORS:
        return None
    return found if found is not None and found.revision == rev_id else None


@contextlib.contextmanager
def _uncompilable_files_removed(project: Project) -> Any:
    """A file Alembic just wrote that does not compile is removed, and the error says why."""
    from .revisions.index import version_directories

    dirs = version_directories(script_directory(project))
    before = {p for d in dirs for p in d.rglob("*.py")}
    try:
        yield
    except SchemashiftError:
        for path in sorted({p for d in dirs for p in d.rglob("*.py")} - before):
            try:
                compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                path.unlink(missing_ok=True)
                raise _not_compiled(exc) from exc
        raise


def _not_compiled(exc: SyntaxError) -> RevisionError:
    return RevisionError(
        f"the revision file written from script.py.mako did not compile ({exc.msg}, line {exc.lineno}), "
        "so it was removed",
        hint="check the message and the project's script.py.mako",
    )


def _check_compiles(infos: Sequence[RevisionInfo]) -> None:
    """A written file that does not compile (a custom template, an odd message) is removed, and said."""
    for info in infos:
        if not info.path:
            continue
        try:
            compile(Path(info.path).read_text(encoding="utf-8"), info.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            Path(info.path).unlink(missing_ok=True)
            raise _not_compiled(exc) from exc


def check(
    project: Project,
    *,
    renames: Sequence[str] = (),
    not_renamed: Sequence[str] = (),
    accept_renames: bool = False,
    defaults: Sequence[str] = (),
) -> CheckResult:
    """Compare the models with the database; ``differences`` lists what differs (see ``autogen.drift``)."""
    from .autogen.drift import check as run_check

    return run_check(project, renames=renames, not_renamed=not_renamed, accept_renames=accept_renames,
                     defaults=defaults)


def verify(
    project: Project,
    *,
    scratch_url: str | None = None,
    rev_range: str | None = None,
    fail_fast: bool = False,
    progress: Callable[[Any], None] | None = None,
    seed: bool = True,
    baseline: str | None = None,
) -> Any:
    """Prove every downgrade on a scratch database: schema and seeded rows come back.

    Never touches the project's database (see ``safety.verify``).
    """
    from .safety.verify import verify as run_verify

    if rev_range and ":" in rev_range:
        for end in rev_range.split(":", 1):
            check_reference(end.strip() or None, "--range end")
    return run_verify(
        project, scratch_url=scratch_url, rev_range=rev_range, fail_fast=fail_fast, progress=progress,
        seed=seed, baseline=baseline,
    )


def fill_downgrade(project: Project, rev: str, *, scratch_url: str | None = None, check: bool = True) -> Any:
    """Write the empty ``downgrade()`` of ``rev`` from what its upgrade removes (see ``safety.filldown``)."""
    from .safety.filldown import fill_downgrade as run_fill

    check_reference(rev)

    return run_fill(project, rev, scratch_url=scratch_url, check=check)


def discard(project: Project, rev: str) -> Path:
    """Delete the file of an unused head: not applied anywhere, nothing built on it."""
    rmap = _revision_map(project)
    target = _resolve(rmap, rev)
    children = sorted(getattr(target, "nextrev", ()) or ())
    if children:
        raise Refused(
            f"revision {target.revision} has descendants ({', '.join(children)})",
            hint="only a head with no revisions built on it can be discarded",
        )
    dependents = sorted(
        r.revision
        for r in rmap.iterate_revisions("heads", "base", assert_relative_length=False)
        if r.dependencies and target.revision in {d.revision for d in rmap.get_revisions(r.dependencies)}
    )
    if dependents:
        raise Refused(f"revisions {', '.join(dependents)} depend on {target.revision}")
    applied = database_heads(project)
    for head_id in applied:
        if head_id == target.revision:
            raise Refused(
                f"revision {target.revision} is applied in {redact_url(project.url)}",
                hint=f"downgrade first: schemashift downgrade {target.revision}-1",
            )
        ancestors = {r.revision for r in rmap.iterate_revisions(head_id, "base", assert_relative_length=False)}
        if target.revision in ancestors:
            raise Refused(
                f"revision {target.revision} is applied in {redact_url(project.url)} (below {head_id})",
                hint="downgrade below it first",
            )
    path = Path(target.path)
    path.unlink()
    pycache = path.parent / "__pycache__"
    if pycache.is_dir():
        for compiled in pycache.glob(f"{path.stem}.*.pyc"):
            compiled.unlink(missing_ok=True)
    return path


# ------------------------------------------------------------------ pictures


def graph(project: Project, *, database: bool = True, entries: list[RevisionInfo] | None = None) -> Any:
    """The revision DAG (``pictures.graph.RevisionGraph``): branches, merges, labels, depends_on.

    With ``database``, the configured database's current revision(s) are
    marked and, from the ledger, when each revision was applied; an
    unreachable database leaves ``current`` unknown with the reason, as
    ``history`` does.  ``entries``: the history already known (Alembic's
    answer cached while no file changed), so the revision map is not built
    again.
    """
    from .pictures.graph import build_graph

    if entries is None:
        entries = history(project, indicate_current=False).entries
    current: tuple[str, ...] | None = None
    error = None
    applied: dict[str, str] = {}
    if database:
        try:
            current, applied = _position(project)
        except (DatabaseError, ConfigError) as exc:
            error = exc.one_line()
    return build_graph(entries, current=current, current_error=error, applied_at=applied)


def _position(project: Project) -> tuple[tuple[str, ...], dict[str, str]]:
    """The database's heads and, from the ledger, when each revision was applied: one env.py run."""
    from .safety.ledger import last_applied  # start-up time (see the imports at the top)

    ledger = _migrate().ledger_for(project)
    found: list[tuple[str, ...]] = []
    times: dict[str, str] = {}

    def read(rev: Any, context: Any) -> list[Any]:
        found.append(tuple(context.get_current_heads()))
        if ledger.exists(context.connection):
            for revision_id, entry in last_applied(ledger.entries(context.connection)).items():
                times[revision_id] = f"{entry.direction} {entry.applied_at:%Y-%m-%d %H:%M:%S}"
        return []

    run_env(project, read, policy=_ledger_reader(ledger), dont_mutate=True)
    if not found:
        raise ConfigError("env.py did not run migrations", hint="env.py must call context.run_migrations()")
    return found[0], times


def _dialect_of_project(project: Project) -> Any:
    from sqlalchemy.engine import make_url

    try:
        return make_url(project.url or "sqlite://").get_dialect()()
    except Exception:  # an unknown driver: type names fall back to SQLite's words
        return None


def erd(
    project: Project,
    rev: str = "head",
    *,
    models: bool = False,
    diff: str | None = None,
    scratch_url: str | None = None,
) -> Any:
    """An ER diagram (``pictures.erd.SchemaDiagram``) of the schema at ``rev``, of the models, or of a diff.

    The schema at a revision is built on a scratch database (never the
    project's); ``diff="A:B"`` marks what B adds, removes, renames (as the
    revisions between them say) and changes relative to A.
    """
    from .pictures import erd as erd_mod
    from .pictures import sources
    from .pictures.renames import renames_in

    dialect = _dialect_of_project(project)
    if models:
        return erd_mod.from_metadata(sources.models_metadata(project), dialect=dialect, title="models")
    if diff is not None:
        if ":" not in diff:
            raise RevisionError(f"--diff {diff!r} is not A:B", hint="e.g. --diff base:head or --diff ae10:head")
        lower, upper = (part.strip() for part in diff.split(":", 1))
        lower = sources.resolve(project, lower or "base")
        upper = sources.resolve(project, upper or "head")
        if lower != "base" and lower != upper:
            ancestors = {r.revision for r in _revision_map(project).iterate_revisions(upper, "base", assert_relative_length=False)}
            if lower not in ancestors:
                raise RevisionError(f"{lower} is not below {upper}", hint="give A:B with A an ancestor of B")
        old, new = sources.schemas_at(project, [lower, upper], scratch_url=scratch_url)
        return erd_mod.diff(
            erd_mod.from_metadata(old, dialect=dialect),
            erd_mod.from_metadata(new, dialect=dialect),
            renames_in(sources.revision_files(project, lower, upper)),
            title=f"{lower} -> {upper}",
        )
    rev = sources.resolve(project, rev)
    (metadata,) = sources.schemas_at(project, [rev], scratch_url=scratch_url)
    return erd_mod.from_metadata(metadata, dialect=dialect, title=rev)


def render_picture(picture: Any, fmt: str) -> str:
    """A graph or an ER diagram in ``fmt``: text, mermaid, dot, svg (Graphviz), json (see ``pictures.formats``)."""
    from .pictures.formats import render

    return render(picture, fmt)


@dataclass
class ReportResult:
    path: Path
    revisions: int
    tables: int
    verified: bool
    schema_note: str = ""
    findings: int = 0


def report(
    project: Project,
    output: str | os.PathLike[str] = "report.html",
    *,
    database: bool = True,
    run_verify: bool = False,
    run_lint: bool = True,
    scratch_url: str | None = None,
) -> ReportResult:
    """Write one self-contained HTML file: the graph with the database's position, each revision's
    operations, ``lint`` findings and (with ``run_verify``) verify verdict, and the schema at head with
    the last revision's diff.  Both checks run on scratch databases, never the project's."""
    from datetime import datetime, timezone

    from .pictures.report import details_for, render_report

    picture = graph(project, database=database)
    rmap = _revision_map(project)
    paths = {node.revision: getattr(rmap.get_revision(node.revision), "path", None) for node in picture.nodes}
    verdicts: dict[str, str] = {}
    if run_verify:
        checked = verify(project, scratch_url=scratch_url)
        for result in checked.revisions:
            verdicts[result.revision] = "ok" if result.status == "ok" else f"{result.status}: {result.error or result.failed_step or ''}".strip(": ")
    findings: dict[str, list[str]] = {}
    notes: list[str] = []
    if run_lint:
        from .errors import SchemashiftError

        try:
            linted = lint(project, scratch_url=scratch_url)
        except SchemashiftError as exc:
            notes.append(f"lint could not run: {exc.one_line()}")
        else:
            for finding in linted.findings:
                text = f"{finding.level} {finding.rule}: {finding.message}"
                findings.setdefault(finding.revision or "", []).append(text)
    schema = None
    note = ""
    heads = picture.heads
    if len(heads) == 1:
        head = picture.node(heads[0])
        if len(head.parents) == 1:
            schema = erd(project, diff=f"{head.parents[0]}:{head.revision}", scratch_url=scratch_url)
            note = f"Marked: what the last revision, {head.revision}, changes."
        elif not head.parents:
            schema = erd(project, diff=f"base:{head.revision}", scratch_url=scratch_url)
            note = f"The only revision, {head.revision}, creates everything shown."
        else:
            schema = erd(project, head.revision, scratch_url=scratch_url)
            note = f"{head.revision} merges {', '.join(head.parents)}; no single previous schema to compare with."
    elif heads:
        note = f"{len(heads)} heads ({', '.join(heads)}): merge them to draw the schema at head."
    text = render_report(
        title=f"schemashift report: {project.root.name}",
        graph=picture,
        details=details_for(picture, paths, findings=findings, verdicts=verdicts),
        schema=schema,
        schema_note=" ".join([note, *notes]).strip(),
        database=redact_url(project.url) if database else "",
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(output)
    path.write_text(text, encoding="utf-8")
    return ReportResult(
        path, len(picture.nodes), len(schema.tables) if schema else 0, run_verify, note,
        findings=sum(len(v) for v in findings.values()),
    )


# -------------------------------------------------------------------- fleets


def _fleet(project: Project, targets: Sequence[Any], job: Any, *, command: str, revision: str, jobs: int,
           on_error: str = "stop", journal: str | os.PathLike[str] | None = None, resume: bool = False,
           listener: Callable[[Any], None] | None = None) -> Any:
    from . import fleet

    parsed: list[fleet.Target] = []
    for target in targets:
        parsed.extend([target] if isinstance(target, fleet.Target) else fleet.targets.parse_target(str(target)))
    if not parsed:
        configured = project.config.get_main_option(fleet.targets.CONFIG_OPTION)
        parsed = fleet.targets.parse_lines(configured.splitlines()) if configured else []
    if not parsed:
        raise ConfigError(
            "the fleet has no targets",
            hint=f"give --target URL (repeatable) or --targets FILE, or list them in {fleet.targets.CONFIG_OPTION}",
        )
    _migrate().precheck_targets(project, [revision])  # a bad revision fails once, before any target
    book = None
    if journal is not None or resume:
        book = fleet.Journal(journal or project.root / fleet.journal.DEFAULT_NAME)
    return fleet.run_fleet(fleet.ProjectSpec.of(project), parsed, job, command=command, revision=revision,
                           jobs=jobs, on_error=on_error, journal=book, resume=resume, listener=listener)


def fleet_upgrade(
    project: Project,
    targets: Sequence[Any],
    revision: str = "head",
    *,
    jobs: int = 4,
    on_error: str = "stop",
    journal: str | os.PathLike[str] | None = None,
    resume: bool = False,
    listener: Callable[[Any], None] | None = None,
    atomic: str = "step",
    lock_timeout: float | None = None,
    ignore_checksums: bool = False,
    allow: Sequence[str] = (),
    allow_destructive: bool = False,
    plan_first: bool = True,
) -> Any:
    """Upgrade every target (``fleet.Target`` or target string) to ``revision``; a ``FleetResult``.

    ``jobs`` processes at a time, the canary group first; ``on_error="stop"``
    hands out nothing more after a failure.  Each target is planned first and
    refused (exit 5) as ``upgrade`` would be, unless ``allow``/``allow_destructive``.  ``journal`` (a path) records
    finished targets; ``resume=True`` skips those the journal says are done.
    """
    from .fleet.jobs import Migrate

    from .checks.plan import parse_allow

    job = Migrate("up", revision, atomic, lock_timeout, ignore_checksums, parse_allow(allow), allow_destructive,
                  plan_first)
    return _fleet(project, targets, job, command="upgrade", revision=revision, jobs=jobs, on_error=on_error,
                  journal=journal, resume=resume, listener=listener)


def fleet_downgrade(
    project: Project,
    targets: Sequence[Any],
    revision: str,
    *,
    jobs: int = 4,
    on_error: str = "stop",
    journal: str | os.PathLike[str] | None = None,
    resume: bool = False,
    listener: Callable[[Any], None] | None = None,
    atomic: str = "step",
    lock_timeout: float | None = None,
    allow: Sequence[str] = (),
    allow_destructive: bool = False,
    plan_first: bool = True,
) -> Any:
    """Downgrade every target to ``revision``; as ``fleet_upgrade``."""
    from .checks.plan import parse_allow
    from .fleet.jobs import Migrate

    job = Migrate("down", revision, atomic, lock_timeout, False, parse_allow(allow), allow_destructive, plan_first)
    return _fleet(project, targets, job, command="downgrade", revision=revision, jobs=jobs, on_error=on_error,
                  journal=journal, resume=resume, listener=listener)


def fleet_plan(project: Project, targets: Sequence[Any], revision: str = "head", *, direction: str = "up",
               jobs: int = 4, allow: Sequence[str] = (), allow_destructive: bool = False,
               listener: Callable[[Any], None] | None = None) -> Any:
    """``plan`` on every target (its own rows, server and version): nothing runs; unsafe targets fail (5)."""
    from .checks.plan import parse_allow
    from .fleet.jobs import PlanRun

    job = PlanRun(revision, direction, frozenset(parse_allow(allow)), allow_destructive)
    return _fleet(project, targets, job, command="plan", revision=revision, jobs=jobs, on_error="continue",
                  listener=listener)


def fleet_current(project: Project, targets: Sequence[Any], revision: str = "heads", *, jobs: int = 4,
                  listener: Callable[[Any], None] | None = None) -> Any:
    """Each target's version and its drift from ``revision``: up to date, behind, ahead, other branch."""
    from .fleet.jobs import Current

    return _fleet(project, targets, Current(revision), command="current", revision=revision, jobs=jobs,
                  on_error="continue", listener=listener)


def fleet_verify_state(project: Project, targets: Sequence[Any], revision: str = "heads", *, jobs: int = 4,
                       listener: Callable[[Any], None] | None = None) -> Any:
    """Every target is at ``revision`` and its ledger matches the revision files (failed targets say why)."""
    from .fleet.jobs import VerifyState

    return _fleet(project, targets, VerifyState(revision), command="verify-state", revision=revision, jobs=jobs,
                  on_error="continue", listener=listener)
