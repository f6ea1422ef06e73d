"""The ``schemashift`` command line: parse, call one API function, print.

Global options come before the command, as with ``alembic -c``:
``schemashift --config PATH --url URL COMMAND ...``.  Every failure is one
line on stderr and a non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import quick
from .cli_output import Globals, err, note, out, pass_globals, say
from .runtime import heap

__all__ = ["Globals", "app", "err", "main", "note", "out", "pass_globals", "say"]


class _Commands(click.Group):
    """The top-level group, whose ``fleet`` group (``cli_fleet``) is imported only when it is listed or run.

    Start-up time: building fleet's options costs every other command a few
    milliseconds.  Click reads ``commands`` to list them (``--help``, the
    reference in docs/cli.md) and ``get_command`` to run one.
    """

    _loaded = False  # set once every command of this module is registered

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        if self._loaded and "fleet" not in self._own:
            from .cli_fleet import fleet

            self._own["fleet"] = fleet
        return self._own

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._own = value

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return (self.commands if cmd_name == "fleet" else self._own).get(cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", metavar="PATH",
              help="alembic.ini or pyproject.toml of the project (default: found in this directory or the nearest above)")
@click.option("--url", metavar="URL", help="Database URL, overriding sqlalchemy.url (also $SCHEMASHIFT_URL)")
@click.option("--name", "-n", default="alembic", show_default=True, help="Section of alembic.ini to use")
@click.option("-x", "x", multiple=True, help="Extra -x arguments for env.py, as with alembic")
@click.option("--debug", is_flag=True, help="Show tracebacks")
@click.option("--verbose", "-v", "verbose", is_flag=True, help="Also show Alembic's own INFO log lines")
@click.version_option(package_name="schemashift")
@click.pass_context
def app(ctx: click.Context, config: str | None, url: str | None, name: str, x: tuple[str, ...], debug: bool,
        verbose: bool) -> None:
    """Schema migrations for SQLAlchemy that never lose data (on Alembic)."""
    from .redact import remember

    remember(url)
    remember(os.environ.get("SCHEMASHIFT_URL"))
    ctx.obj = Globals(config=config, url=url, name=name, x=list(x), debug=debug, verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


# ------------------------------------------------------------------ init


@app.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--project", "project_folder", is_flag=True,
              help="DIRECTORY is a new project folder: DIRECTORY/alembic.ini and DIRECTORY/migrations/")
@click.option("--metadata", default="models:Base.metadata", show_default=True, help="MODULE:ATTR of the models' MetaData")
@click.option("--url", "db_url", metavar="URL", help="Database URL (default: app.db, a SQLite file beside alembic.ini)")
@click.option("--naming-convention/--no-naming-convention", default=True, help="Give a starter models.py a naming convention")
@click.option("-t", "--template", default="generic", show_default=True, metavar="NAME",
              help="Alembic's template name: generic, or async (the default URL then uses aiosqlite); "
                   "one env.py serves both, running an async driver's URL in an event loop")
def init(directory: Path, project_folder: bool, metadata: str, db_url: str | None, naming_convention: bool,
         template: str) -> None:
    """Create alembic.ini here and the scripts in DIRECTORY, as 'alembic init DIRECTORY' does.

    schemashift adds the models' MetaData (schemashift.metadata), the URL, an
    env.py that needs no editing, .gitignore lines for its cache and lock
    files, and a starter models.py with a naming convention when the project
    has no models.py yet.
    """
    from . import api

    result = api.init(directory, metadata=metadata, url=db_url, naming_convention=naming_convention,
                      config_dir=None if project_folder else Path.cwd(), template=template)
    say(f"Created {result.config_file}")
    say(f"Created {result.script_location}/ (env.py, script.py.mako, README, versions/)")
    if result.models_file:
        say(f"Created {result.models_file} (Base with a naming convention)")
    module = metadata.split(":")[0]
    found = [p for p in result.existing_models if p.name != f"{module.rsplit('.', 1)[-1]}.py" or
             p.parent != result.directory / Path(*module.split(".")[:-1])]
    for path in found:
        note(f"Found {path}: if these are your models, set schemashift.metadata in {result.config_file.name} "
             "to their MetaData (e.g. app.models:Base.metadata)", style="yellow")
    if result.gitignore:
        say(f"Updated {result.gitignore} (cache and lock files)")
    say(f"Database: {result.url}")
    where = f" in {directory}" if project_folder else ""
    if found and not result.models_file:
        say(f"Next: point schemashift.metadata at your models, then{where} run")
    else:
        say(f"Next: describe your models in {module.replace('.', '/')}.py, then{where} run")
    say('  schemashift revision --autogenerate -m "create tables"')


# -------------------------------------------------------------- revision


@app.command()
@click.option("--message", "-m", help="Message of the revision")
@click.option("--autogenerate", is_flag=True, help="Fill it from the models compared with the database")
@click.option("--rev-id", help="Use this revision id instead of a random one")
@click.option("--head", default="head", show_default=True, help="Head to base the revision on")
@click.option("--splice", is_flag=True, help="Allow a --head that is not a head")
@click.option("--branch-label", help="Branch label to apply")
@click.option("--version-path", help="Directory to write the file in")
@click.option("--depends-on", help="Revisions this one depends on")
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="A rename autogenerate cannot know: students=scholars or scholars.name=full_name (repeatable)")
@click.option("--not-renamed", "not_renamed", multiple=True, metavar="NAME",
              help="An added table or TABLE.COLUMN that is new, not a rename (repeatable)")
@click.option("--accept-renames", is_flag=True, help="Accept every clear rename candidate without asking")
@click.option("--strict", is_flag=True, help="Write nothing while a possible rename is undecided")
@click.option("--default", "defaults", multiple=True, metavar="TABLE.COLUMN=VALUE",
              help="Value for the existing rows of an added NOT NULL column (repeatable)")
@click.option("--allow-empty", is_flag=True, help="With --autogenerate: write a file even when nothing changed")
@click.option("--fill-downgrade", "fill_rev", metavar="REV",
              help="Instead of a new file: write REV's empty downgrade() from what its upgrade removes")
@click.option("--scratch-url", metavar="URL", help="With --fill-downgrade: the server for the scratch database")
@click.option("--no-check", is_flag=True, help="With --fill-downgrade: do not verify the written downgrade")
@pass_globals
def revision(g: Globals, message: str | None, autogenerate: bool, rev_id: str | None, head: str, splice: bool,
             branch_label: str | None, version_path: str | None, depends_on: str | None,
             renames: tuple[str, ...], not_renamed: tuple[str, ...], accept_renames: bool, strict: bool,
             defaults: tuple[str, ...], allow_empty: bool, fill_rev: str | None,
             scratch_url: str | None, no_check: bool) -> None:
    """Create a new revision file (manual, or --autogenerate from the models).

    Autogenerate recognises renamed tables and columns: declared in the models
    with info={"renamed_from": "old"}, given with --rename, or detected and
    asked about on a terminal ("Was table students renamed to scholars? [y/N]").
    """
    from . import api

    if fill_rev:
        result = api.fill_downgrade(g.project(), fill_rev, scratch_url=scratch_url, check=not no_check)
        for line in result.lines():
            say(line)
        if result.verified is False:
            raise click.exceptions.Exit(1)
        return
    created = api.revision(
        g.project(),
        message,
        autogenerate=autogenerate,
        rev_id=rev_id,
        head=head,
        splice=splice,
        branch_label=branch_label,
        version_path=version_path,
        depends_on=depends_on,
        renames=renames,
        not_renamed=not_renamed,
        accept_renames=accept_renames,
        strict=strict,
        defaults=defaults,
        allow_empty=allow_empty,
    )
    if created.renames is not None:
        for line in created.renames.lines():
            note(line, style="yellow" if line.startswith("warning") else "cyan")
    if created.unchanged:
        say("No changes detected: no revision file written (--allow-empty writes one anyway).")
    for info in created:
        say(f"Generating {info.path} ... done")
    for line in created.risks:
        note(f"note: {line}", style="yellow")


# ------------------------------------------------------- upgrade/downgrade


def _print_step(event: Any) -> None:
    say(event.one_line())


def _run_migration(g: Globals, direction: str, revision: str, sql: bool, tag: str | None,
                   allow_loss: bool = False, **kw: Any) -> None:
    from . import api

    project = g.project()
    fn = api.upgrade if direction == "up" else api.downgrade
    from .checks.refusal import UnsafeOperations

    try:
        result = fn(
            project, revision, sql=sql, tag=tag, progress=None if sql else _print_step,
            output=out.file if sql else None, notice=lambda text: note(f"note: {text}", style="yellow"),
            confirm=_confirm_unsafe if sys.stdin.isatty() and err.is_terminal else None,
            allow_loss=allow_loss, rebuild_progress=_rebuild_progress, **kw,
        )
    except UnsafeOperations as exc:
        for line in exc.lines():
            note(line, style="red")
        raise
    if sql:
        return
    _report_bookkeeping(result)
    if not result.steps:
        say(f"Nothing to do: the database is already at {', '.join(result.after) or 'base'}.")
    else:
        say(f"Now at {', '.join(result.after) or 'base'}.", style="green")


def _confirm_unsafe(plan: Any, findings: list[Any]) -> bool:
    """On a terminal: show what is at stake and ask."""
    note("These operations lose data or are unsafe:", style="red")
    for f in findings:
        where = f" ({f.path}:{f.line})" if f.path and f.line else ""
        note(f"  {f.one_line()}{where}", style="red")
    return click.confirm("Run anyway?", default=False, err=True)


def _rebuild_progress(event: Any) -> None:
    """Rows copied by a SQLite table rebuild; shown for large tables only."""
    if event.total and event.total >= 100_000:
        note(f"  rebuilding {event.table}: {event.copied:,}/{event.total:,} rows ({event.seconds:.1f} s)")


def _report_bookkeeping(result: Any) -> None:
    if result.adopted:
        note(f"Adopted {result.adopted} revision(s) applied before schemashift into the ledger.")
    for warning in result.warnings:
        note(f"warning: {warning}", style="yellow")


_sql = click.option("--sql", is_flag=True, help="Print the SQL instead of running it")
_allow_loss = click.option(
    "--allow-loss", is_flag=True,
    help="Run type conversions even where some values cannot convert (they become NULL or are cut)",
)
_lock_timeout = click.option(
    "--lock-timeout", type=float, metavar="SECONDS",
    help="How long to wait for another migration's lock (default 300, or schemashift.lock_timeout)",
)
_tag = click.option("--tag", help="Tag passed to env.py")
_allow = click.option(
    "--allow", "allow", multiple=True, metavar="RULE[,RULE]",
    help="Run although the plan finds these rules (ids as in 'schemashift plan'; repeatable)",
)
_allow_destructive = click.option(
    "--allow-destructive", is_flag=True, help="Run although the plan finds destructive operations (SS-D rules)",
)
_atomic = click.option(
    "--atomic", type=click.Choice(["step", "run"]), default="step", show_default=True,
    help="step: each migration in its own transaction; run: the whole run in one",
)


@app.command(context_settings={"ignore_unknown_options": True})
@click.argument("revision", default="head")
@_sql
@_tag
@_atomic
@_lock_timeout
@click.option("--ignore-checksums", is_flag=True, help="Run even though applied files changed since they ran")
@_allow_loss
@_allow
@_allow_destructive
@pass_globals
def upgrade(g: Globals, revision: str, sql: bool, tag: str | None, atomic: str, lock_timeout: float | None,
            ignore_checksums: bool, allow_loss: bool, allow: tuple[str, ...], allow_destructive: bool) -> None:
    """Upgrade the database to REVISION (id, partial id, head, heads, +N, rev+N).

    The plan runs first: operations that lose data (error-level findings)
    are refused (exit 5) unless allowed or confirmed on a terminal.
    """
    _run_migration(g, "up", revision, sql, tag, allow_loss, atomic=atomic, lock_timeout=lock_timeout,
                   ignore_checksums=ignore_checksums, allow=allow, allow_destructive=allow_destructive)


@app.command(context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@_sql
@_tag
@_atomic
@_lock_timeout
@_allow_loss
@_allow
@_allow_destructive
@pass_globals
def downgrade(g: Globals, revision: str, sql: bool, tag: str | None, atomic: str, lock_timeout: float | None,
              allow_loss: bool, allow: tuple[str, ...], allow_destructive: bool) -> None:
    """Revert the database to REVISION (id, partial id, base, -N, rev-N).

    Planned and refused like upgrade: a downgrade dropping tables or columns
    that hold rows needs --allow SS-D107 or --allow-destructive.
    """
    _run_migration(g, "down", revision, sql, tag, allow_loss, atomic=atomic, lock_timeout=lock_timeout,
                   allow=allow, allow_destructive=allow_destructive)


@app.command()
@click.argument("revision", default="head")
@click.option("--down", "down", is_flag=True, help="Plan the downgrade to REVISION instead of the upgrade")
@click.option("--exact", is_flag=True, help="Count rows exactly on PostgreSQL (default: the planner's estimate)")
@click.option("--target-version", metavar="VERSION", help="Judge PostgreSQL locks for this server version (e.g. 11)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for tools")
@pass_globals
def plan(g: Globals, revision: str, down: bool, exact: bool, target_version: str | None, fmt: str) -> None:
    """Show what upgrade (or --down, downgrade) to REVISION will do, running nothing.

    Per revision and operation: what it does, the tables and rows it touches,
    on PostgreSQL the lock it takes and whether it rewrites the table, and
    every finding with its rule id.  Error-level findings are what upgrade
    refuses until allowed.
    """
    from . import api
    from .checks.render import plan_text

    result = api.plan(g.project(), revision, direction="down" if down else "up", exact=exact,
                      target_version=target_version)
    if fmt == "json":
        out.file.write(result.to_json() + "\n")
        return
    for line, style in plan_text(result):
        out.print(line, style=style, markup=False)


@app.command()
@click.option("--range", "rev_range", metavar="A:B", help="Only these revisions (inclusive; either end may be empty)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text", show_default=True,
              help="text, json, github (workflow annotations) or sarif (code scanning)")
@click.option("--scratch-url", metavar="URL",
              help="Server for the scratch database (default: a temporary SQLite file, or the project's server)")
@click.option("--target-version", metavar="VERSION", help="Judge PostgreSQL locks for this server version (e.g. 11)")
@click.option("--allow", "allow", multiple=True, metavar="RULE[,RULE]", help="Do not fail on these rules")
@click.option("--trace", is_flag=True,
              help="PostgreSQL: run on seeded rows and record the locks and table rewrites each statement causes")
@pass_globals
def lint(g: Globals, rev_range: str | None, fmt: str, scratch_url: str | None, target_version: str | None,
         allow: tuple[str, ...], trace: bool) -> None:
    """Check revision files against every rule, on a scratch database (never yours).

    Exit 0 when no error-level finding remains, 1 when one does, 2 on a usage
    or configuration problem.  --format github prints workflow annotations
    (::error file=...,line=...), sarif a SARIF 2.1.0 log for code scanning.
    """
    from importlib.metadata import version

    from . import api
    from .checks import render

    project = g.project()
    report = api.lint(project, rev_range=rev_range, scratch_url=scratch_url, target_version=target_version, allow=allow,
                      trace=trace)
    root = str(project.root)
    if fmt == "json":
        out.file.write(render.findings_json(report.findings, revisions=report.revisions, ok=report.ok) + "\n")
    elif fmt == "github":
        out.file.write(render.github(report.findings, root))
    elif fmt == "sarif":
        out.file.write(render.sarif(report.findings, root, version("schemashift")) + "\n")
    else:
        for rev, traced in report.traces.items():
            for st in traced.statements:
                locks = ", ".join(f"{m} on {t}" for t, m in st.locks) or "no new table lock"
                rewrote = f"; rewrote {', '.join(st.rewritten)}" if st.rewritten else ""
                note(f"trace {rev}: {st.statement[:100]}: {locks}{rewrote}")
        for f in report.findings:
            where = f"{render.relative_path(f.path, root)}:{f.line or 0}: " if f.path else ""
            out.print(f"{where}{render.finding_line(f)}", style=render.LEVEL_STYLE.get(f.level), markup=False)
        errors = len(report.errors())
        summary = f"{len(report.revisions)} revision(s) linted: {len(report.findings)} finding(s), {errors} error(s)"
        note(summary, style="red" if errors else "green")
    if not report.ok:
        raise click.exceptions.Exit(1)


@app.command()
@click.argument("revisions", nargs=-1, required=True)
@_sql
@click.option("--purge", is_flag=True, help="Empty the version table first")
@_tag
@_lock_timeout
@pass_globals
def stamp(g: Globals, revisions: tuple[str, ...], sql: bool, purge: bool, tag: str | None,
          lock_timeout: float | None) -> None:
    """Record REVISIONS in the database without running migrations."""
    from . import api

    result = api.stamp(g.project(), list(revisions), sql=sql, purge=purge, tag=tag,
                       output=out.file if sql else None, lock_timeout=lock_timeout)
    if not sql:
        _report_bookkeeping(result)
        say(f"Stamped {', '.join(result.after) or 'base'}.")


# ---------------------------------------------------------- read commands

_verbose = click.option("--verbose", "-v", is_flag=True, help="Show details")


@app.command()
@_verbose
@pass_globals
def current(g: Globals, verbose: bool) -> None:
    """Show the revision the database is at."""
    _no_collector_while_reading()
    ini = quick.plain_ini(g.config, Path.cwd())
    position = quick.position(ini, g.name, overridden=_overridden(g))
    known = quick.current(ini, g.name, position) if position is not None else None
    if known is not None:
        heads, url = known
    else:
        from . import api

        # the database was read without env.py, but the scripts' answers were missing: keep them for next time
        state = api.current(g.project(), keep_heads=position is not None)
        heads, url = state.heads, state.url
    if not heads:
        note(f"The database ({url}) is at base: no revision applied.")
        return
    if verbose:  # as Alembic's current -v: the URL, then each revision without a "(current)" mark
        from dataclasses import replace

        say(f"Current revision(s) for {url}:")
        heads = [replace(info, is_current=False) for info in heads]
    for info in heads:
        say(info.details() if verbose else info.head_only())


def _overridden(g: Globals) -> bool:
    """Options env.py must see, so the read commands cannot answer without running it."""
    return bool(g.url or g.x or g.verbose or os.environ.get("SCHEMASHIFT_URL"))


def _no_collector_while_reading() -> None:
    """Start-up time of the read commands: Python's cyclic garbage collector is off while they run.

    Importing Alembic and SQLAlchemy (what env.py and a revision map need)
    creates some hundred thousand long-lived objects, and the collector scans
    them again and again while they load: about a seventh of the import's
    CPU time.  A command that only reads and prints ends its process soon
    after, which frees everything.  Commands that migrate keep the collector
    on.  A caller running the CLI inside its own process (``main(argv)``, as
    the tests do) gets its collector back when the command returns.
    """
    import gc

    if gc.isenabled():
        gc.disable()
        if not _WHOLE_PROCESS:
            click.get_current_context().call_on_close(gc.enable)


_WHOLE_PROCESS = False  # main() without argv: the console script, this process ends with the command


def _table(title: str, rows: list[Any]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in ("revision", "parent", "", "message"):
        table.add_column(col)
    for info in rows:
        flags = " ".join(
            w for f, w in ((info.is_head, "head"), (info.is_current, "current"), (info.is_merge_point, "merge")) if f
        )
        table.add_row(
            info.revision,
            ", ".join(info.down_revisions) or "<base>",
            flags,
            info.doc + (f"  [{info.applied_at}]" if info.applied_at else ""),
            style="bold green" if info.is_current else None,
        )
    return table


@app.command()
@click.option("--rev-range", "-r", help="[start]:[end], e.g. base:head, -3:, ae10:current")
@click.option("--indicate-current", "-i", is_flag=True, help="Mark the database's current revision (reads the database)")
@click.option("--applied", is_flag=True, help="Show when each revision was applied (from the ledger; implies -i)")
@click.option("--graph", "as_graph", is_flag=True, help="Draw the revisions as a graph (as 'schemashift graph')")
@_verbose
@pass_globals
def history(g: Globals, rev_range: str | None, indicate_current: bool, applied: bool, as_graph: bool,
            verbose: bool) -> None:
    """List revisions, newest first, marking the head (and with -i the database's current one)."""
    _no_collector_while_reading()
    marked = indicate_current or applied
    entries = (
        quick.cached_answer(quick.plain_ini(g.config, Path.cwd()), g.name, "history")
        if rev_range is None and not marked and not as_graph else None
    )
    if entries is None:
        from . import api

        project = g.project()
        if as_graph:
            if rev_range:
                raise click.UsageError("--graph draws the whole history; leave out -r")
            picture = api.graph(project)
            if picture.current_error:
                note(f"(current revision not shown: {picture.current_error})", style="yellow")
            sys.stdout.write(api.render_picture(picture, "text"))
            return
        result = api.history(project, rev_range, indicate_current=marked,
                             applied_at=api.applied_times(project) if applied else None)
        if result.current_error:
            note(f"(current revision not shown: {result.current_error})", style="yellow")
        entries = result.entries
    if out.is_terminal and not verbose:
        out.print(_table("history", entries))
        return
    out.lines([info.details() if verbose else info.one_line() for info in entries])


@app.command()
@_verbose
@click.option("--resolve-dependencies", is_flag=True,
              help="Treat dependency versions as down revisions (a revision others depend on is no head)")
@pass_globals
def heads(g: Globals, verbose: bool, resolve_dependencies: bool) -> None:
    """Show the head revision(s) of the migration scripts."""
    _no_collector_while_reading()
    infos = None if resolve_dependencies else quick.cached_answer(quick.plain_ini(g.config, Path.cwd()), g.name, "heads")
    if infos is None:
        from . import api

        infos = api.heads(g.project(), resolve_dependencies=resolve_dependencies)
    if out.is_terminal and not verbose:
        out.print(_table("heads", infos))
        return
    out.lines([info.details() if verbose else info.one_line(parents=False, doc=False, tree=False) for info in infos])


@app.command()
@_verbose
@pass_globals
def branches(g: Globals, verbose: bool) -> None:
    """Show the branch points of the migration scripts, and the revisions each branches into."""
    _no_collector_while_reading()
    from . import api

    for point in api.branches(g.project()):
        indent = " " * len(point.revision.revision)
        head = point.revision.details() if verbose else point.revision.one_line(parents=False, doc=False)
        into = "\n".join(f"{indent} -> {info.one_line(parents=False, doc=verbose)}" for info in point.into)
        say(f"{head}\n{into}\n")


@app.command()
@click.argument("rev")
@pass_globals
def show(g: Globals, rev: str) -> None:
    """Show one revision."""
    _no_collector_while_reading()
    from . import api

    say(api.show(g.project(), rev).details())


@app.command()
@click.argument("revisions", nargs=-1)
@click.option("--message", "-m", help="Message of the merge")
@click.option("--rev-id", help="Use this revision id")
@click.option("--branch-label", help="Branch label")
@pass_globals
def merge(g: Globals, revisions: tuple[str, ...], message: str | None, rev_id: str | None, branch_label: str | None) -> None:
    """Create a revision that merges two or more heads (default: all heads)."""
    from . import api

    info = api.merge(g.project(), list(revisions) or ["heads"], message=message, rev_id=rev_id, branch_label=branch_label)
    say(f"Generating {info.path} ... done")


@app.command()
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW", help="A rename to take as known")
@click.option("--not-renamed", "not_renamed", multiple=True, metavar="NAME",
              help="An added table or TABLE.COLUMN that is new, not a rename (repeatable)")
@click.option("--accept-renames", is_flag=True, help="Read every clear rename candidate as a rename")
@click.option("--default", "defaults", multiple=True, metavar="TABLE.COLUMN=VALUE",
              help="Value for the existing rows of an added NOT NULL column, as for revision (repeatable)")
@pass_globals
def check(g: Globals, renames: tuple[str, ...], not_renamed: tuple[str, ...], accept_renames: bool,
          defaults: tuple[str, ...]) -> None:
    """Compare the models with the database; exit 1 when they differ.

    Lists every operation 'revision --autogenerate' would write with the same options,
    the data it would delete, and what it would refuse to write.
    """
    from . import api

    result = api.check(g.project(), renames=renames, not_renamed=not_renamed, accept_renames=accept_renames,
                       defaults=defaults)
    for warning in result.warnings:
        note(f"warning: {warning}", style="yellow")
    if not result.drift:
        say("No differences: the database matches the models.")
        return
    say(f"{len(result.differences)} difference(s) between the models and the database:")
    for line in result.differences:
        say(f"  - {line}")
    for line in result.risks:
        note(f"note: {line}", style="yellow")
    for line in result.refusals:
        note(f"revision would refuse: {line}", style="red")
    note('Run \'schemashift revision --autogenerate -m "..."\' to create a migration for them.')
    raise click.exceptions.Exit(1)


@app.command()
@click.option("--range", "rev_range", metavar="A:B", help="Only these revisions (inclusive; either end may be empty)")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing revision")
@click.option("--scratch-url", metavar="URL",
              help="Server for the scratch database (default: a temporary SQLite file, or the project's server)")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for CI), also when verify cannot run")
@click.option("--no-seed", is_flag=True, help="Check schemas only: seed no rows (rows from verify_data/ still go in)")
@click.option("--baseline", metavar="REV",
              help="Start from the models' create_all() stamped at REV, then check the revisions above it")
@pass_globals
def verify(g: Globals, rev_range: str | None, fail_fast: bool, scratch_url: str | None, as_json: bool,
           no_seed: bool, baseline: str | None) -> None:
    """Prove every downgrade on a scratch database: schema and seeded rows must come back.

    Fails on data an upgrade destroys that its downgrade cannot bring back, unless the
    revision acknowledges it with '# schemashift: allow SS-V101 -- <reason>'.
    """
    from . import api
    from .errors import SchemashiftError

    try:
        report = api.verify(
            g.project(), scratch_url=scratch_url, rev_range=rev_range, fail_fast=fail_fast,
            progress=None if as_json else (lambda r: say(r.one_line())), seed=not no_seed, baseline=baseline,
        )
    except SchemashiftError as exc:
        if as_json:
            from .safety.verify import error_document

            out.file.write(error_document(exc) + "\n")
        raise
    if as_json:
        out.file.write(report.to_json() + "\n")
    else:
        for line in report.lines():
            say(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


@app.command("name-constraints")
@click.option("--message", "-m", help="Message of the revision")
@click.option("--rev-id", help="Use this revision id")
@click.option("--convention", metavar="MODULE:ATTR",
              help="Naming convention to use (a dict, or a MetaData with one) instead of the models'")
@pass_globals
def name_constraints(g: Globals, message: str | None, rev_id: str | None, convention: str | None) -> None:
    """Write a migration giving every unnamed constraint its naming-convention name.

    Without a convention in the models (and no --convention), schemashift's
    default is used: the one 'schemashift init' writes in models.py.
    """
    from . import api

    result = api.name_constraints(g.project(), message, rev_id=rev_id, convention=convention)
    if result.convention_source == "default":
        say("The models' MetaData has no naming convention for constraints: using schemashift's default "
            "(pk_%(table_name)s, uq_..., ck_..., fk_...; --convention MODULE:ATTR for another).")
    for naming in result.named:
        old = naming.constraint.name or "(unnamed)"
        say(f"{naming.constraint.describe()}: {old} -> {naming.new_name}")
    for constraint, why in result.skipped:
        note(f"skipped {constraint.describe()}: {why}", style="yellow")
    if result.revision is None and result.skipped:
        say(f"Nothing named: {len(result.skipped)} unnamed constraint(s) skipped (see above).")
    elif result.revision is None:
        say("Nothing to name: every constraint already has its convention name.")
    else:
        say(f"Generating {result.revision.path} ... done")


@app.command()
@click.option("--accept", "accept", multiple=True, metavar="REV",
              help="Take REV's edited file as reviewed: record its new checksum (who, when) in the ledger")
@click.option("--by", "who", metavar="NAME", help="With --accept: who reviewed it (default: USER@HOST)")
@pass_globals
def validate(g: Globals, accept: tuple[str, ...], who: str | None) -> None:
    """Check applied migrations against their files (checksums); exit 1 if any changed."""
    from . import api

    project = g.project()
    if accept:
        for accepted in api.accept_checksums(project, list(accept), who=who):
            say(accepted.one_line())
    report = api.validate(project)
    if not report.ledger_exists:
        note("No ledger yet: the next 'schemashift upgrade' creates it and adopts the applied revisions.")
    for finding in report.findings:
        style = "red" if finding in report.failed else "yellow"
        out.print(f"{'FAIL' if finding in report.failed else 'warn'} {finding.one_line()}", style=style, markup=False)
    if report.ok:
        say(f"OK: {len(report.applied)} applied revision(s), no file changed since it ran.")
        return
    note("Restore the changed files, or accept reviewed edits with 'schemashift validate --accept REV'.")
    raise click.exceptions.Exit(1)


@app.command()
@click.argument("rev")
@pass_globals
def discard(g: Globals, rev: str) -> None:
    """Delete an unused head's file; refused if it is applied or has descendants."""
    from . import api

    path = api.discard(g.project(), rev)
    say(f"Removed {path}")


# ---------------------------------------------------------------- pictures

_PICTURE_FORMATS = ("text", "mermaid", "dot", "svg", "json")


def _write_picture(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    note(f"Wrote {output}")


@app.command()
@click.option("--format", "fmt", type=click.Choice(_PICTURE_FORMATS), default="text", show_default=True,
              help="text (like git log --graph), mermaid, dot, svg (needs Graphviz) or json")
@click.option("--no-db", is_flag=True, help="Do not read the database (no current revision, no applied times)")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout")
@pass_globals
def graph(g: Globals, fmt: str, no_db: bool, output: Path | None) -> None:
    """Draw the revision graph: branches, merges, labels, depends_on, heads and the current revision."""
    ini = quick.plain_ini(g.config, Path.cwd())
    entries = quick.cached_answer(ini, g.name, "history")  # Alembic's last answer, if no file changed since
    if entries is not None:  # no Alembic import, unless the database needs env.py to be read
        from .pictures.formats import render
        from .pictures.graph import build_graph

        position = None if no_db else quick.position(ini, g.name, overridden=_overridden(g))
        if no_db or position is not None:
            current, applied = (position.heads, position.applied) if position else (None, {})
            _write_picture(render(build_graph(entries, current=current, applied_at=applied), fmt), output)
            return
    from . import api

    picture = api.graph(g.project(), database=not no_db, entries=entries)
    if picture.current_error and fmt != "json":
        note(f"(current revision not shown: {picture.current_error})", style="yellow")
    _write_picture(api.render_picture(picture, fmt), output)


@app.command()
@click.argument("rev", default="head")
@click.option("--models", is_flag=True, help="Draw the models (target_metadata) instead of a revision")
@click.option("--diff", "diff", metavar="A:B", help="One diagram marking what B adds, removes, renames and changes")
@click.option("--format", "fmt", type=click.Choice(_PICTURE_FORMATS), default="mermaid", show_default=True,
              help="text, mermaid, dot, svg (needs Graphviz) or json")
@click.option("--scratch-url", metavar="URL", help="Server for the scratch database the schema is built on")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout")
@pass_globals
def erd(g: Globals, rev: str, models: bool, diff: str | None, fmt: str, scratch_url: str | None,
        output: Path | None) -> None:
    """Draw the schema at REV (built on a scratch database, never yours) as an ER diagram."""
    from . import api

    picture = api.erd(g.project(), rev, models=models, diff=diff, scratch_url=scratch_url)
    _write_picture(api.render_picture(picture, fmt), output)


@app.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True,
              help="The HTML file to write")
@click.option("--verify", "run_verify", is_flag=True, help="Also run verify (on a scratch database) and show verdicts")
@click.option("--no-lint", is_flag=True, help="Leave out lint's findings (lint runs the revisions on a scratch database)")
@click.option("--no-db", is_flag=True, help="Do not read the database")
@click.option("--scratch-url", metavar="URL", help="Server for scratch databases")
@pass_globals
def report(g: Globals, output: Path, run_verify: bool, no_lint: bool, no_db: bool, scratch_url: str | None) -> None:
    """Write one self-contained HTML report (works offline): graph, revisions, findings, schema at head."""
    from . import api

    result = api.report(g.project(), output, database=not no_db, run_verify=run_verify, run_lint=not no_lint,
                        scratch_url=scratch_url)
    say(f"Wrote {result.path} ({result.revisions} revisions, {result.findings} findings, {result.tables} tables)")


@app.command()
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the tour's project in this directory")
def tour(keep: Path | None) -> None:
    """Play the lesson on manual migrations and downgrades, end to end."""
    from .tour.play import play

    if not play(keep=keep, console=out.console):
        raise click.exceptions.Exit(1)


app._loaded = True  # type: ignore[attr-defined]  (from here on, listing the commands imports fleet's)


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into one line on stderr."""
    global _WHOLE_PROCESS
    _WHOLE_PROCESS = argv is None
    try:
        _main(sys.argv[1:] if argv is None else argv)
    finally:
        if _WHOLE_PROCESS:  # the process exits next: its connections closed, then its objects frozen
            runner = sys.modules.get(f"{__package__}.runner")  # not imported: no env.py ran, nothing to close
            if runner is not None:
                runner.close_env_engines()
            heap.before_exit()


def _main(args: list[str]) -> None:
    from .errors import SchemashiftError

    from .redact import scrub

    debug = "--debug" in args
    _redact_log_records()
    try:
        code = app.main(args=args, prog_name="schemashift", standalone_mode=False)
    except SchemashiftError as exc:
        if debug:
            _print_traceback(exc)
        err.print(f"error: {scrub(exc.one_line())}", style="red", markup=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted", style="red", markup=False)
        sys.exit(130)
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        err.print(f"error: {scrub(' '.join(exc.format_message().split()))}{hint}", style="red", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", style="red", markup=False)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen failure: still one line
        from .errors import missing_driver

        if debug:
            _print_traceback(exc)
        no_driver = missing_driver(exc)
        if no_driver is not None:
            err.print(f"error: {scrub(no_driver.one_line())}", style="red", markup=False)
            sys.exit(no_driver.exit_code)
        err.print(
            f"error: unexpected {type(exc).__name__}: {scrub(' '.join(str(exc).split()))[:500]} "
            "(run with --debug for the traceback, and please report it)",
            style="red",
            markup=False,
        )
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)


def _print_traceback(exc: BaseException) -> None:
    """--debug: the whole traceback, with every URL password and known secret hidden."""
    import traceback

    from .redact import scrub

    sys.stderr.write(scrub("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
    sys.stderr.flush()


def _redact_log_records() -> None:
    """Every log line of this process (Alembic's, SQLAlchemy's, env.py's) passes the redaction."""
    import logging

    from .redact import scrub

    make = logging.getLogRecordFactory()
    if getattr(make, "schemashift_redacts", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging to report
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    redacting.schemashift_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)
