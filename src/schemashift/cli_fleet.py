"""``schemashift fleet ...``: parse the targets, call one ``api.fleet_*`` function, draw and print.

The live display (one line per running target plus totals) is drawn on
stderr only when stderr is a terminal; the final matrix (target x revision
reached x time x error) goes to stdout, as a table or as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .cli_output import Globals, err, note, out, say

OUTPUT_FORMATS = ("table", "json")


def _targets_options(fn: Any) -> Any:
    options = [
        click.option("--target", "-t", "targets", multiple=True, metavar="URL",
                     help="A target: a database URL, URL#schema=NAME (one PostgreSQL schema), or a SQLite "
                          "glob like sqlite:///tenants/*.db (repeatable)"),
        click.option("--targets", "targets_files", multiple=True, metavar="FILE",
                     help="A file of targets: one per line, # comments, $VARS expanded, [group] lines (repeatable)"),
        click.option("--canary", "canaries", multiple=True, metavar="URL",
                     help="A target run first, alone in its group, before all others (repeatable)"),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True,
                     help="How many targets run at once (each in its own process)"),
        click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True,
                     help="The final matrix as a table or as JSON"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_options(fn: Any) -> Any:
    options = [
        click.option("--on-error", type=click.Choice(["stop", "continue"]), default="stop", show_default=True,
                     help="stop: hand out no more targets after a failure; continue: run every target"),
        click.option("--journal", metavar="PATH",
                     help="Where to record finished targets (default: .schemashift-fleet.journal in the project)"),
        click.option("--resume", is_flag=True,
                     help="Skip the targets the journal says an interrupted run already finished"),
        click.option("--atomic", type=click.Choice(["step", "run"]), default="step", show_default=True,
                     help="step: each migration in its own transaction; run: each target's run in one"),
        click.option("--lock-timeout", type=float, metavar="SECONDS",
                     help="How long each target waits for another migration's lock (default 300)"),
        click.option("--allow", "allow", multiple=True, metavar="RULE[,RULE]",
                     help="Run although the plan finds these rules on a target (as upgrade --allow; repeatable)"),
        click.option("--allow-destructive", is_flag=True,
                     help="Run although the plan finds destructive operations (SS-D rules)"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group()
def fleet() -> None:
    """Run one migration history over many databases (or PostgreSQL schemas) at once.

    Targets: --target URL (repeatable), --targets FILE, --canary URL; with none, the lines
    of schemashift.fleet_targets in alembic.ini (same form as a targets file). A PostgreSQL
    schema of a database is 'URL#schema=NAME': the run sees only that schema, so the
    version table, the ledger and the tables live there. Each target runs under its
    own lock, ledger and transactions; exit code: the first failed target's code,
    130 after Ctrl-C (finished targets are journaled: rerun with --resume).
    """


def _parse(targets: tuple[str, ...], files: tuple[str, ...], canaries: tuple[str, ...]) -> list[Any]:
    from .fleet.targets import parse_targets

    return parse_targets(targets, files, canaries)


@fleet.command("upgrade")
@click.argument("revision", default="head")
@_targets_options
@_run_options
@click.option("--ignore-checksums", is_flag=True, help="Run even though applied files changed since they ran")
@click.pass_context
def fleet_upgrade(ctx: click.Context, revision: str, targets: tuple[str, ...], targets_files: tuple[str, ...],
                  canaries: tuple[str, ...], jobs: int, fmt: str, on_error: str, journal: str | None, resume: bool,
                  atomic: str, lock_timeout: float | None, allow: tuple[str, ...], allow_destructive: bool,
                  ignore_checksums: bool) -> None:
    """Upgrade every target to REVISION (default head)."""
    from . import api

    g = ctx.find_object(Globals)
    project = g.project()
    with _Display(fmt) as display:
        result = api.fleet_upgrade(
            project, _parse(targets, targets_files, canaries), revision, jobs=jobs, on_error=on_error,
            journal=journal or project.root / _journal_name(), resume=resume, listener=display.event,
            atomic=atomic, lock_timeout=lock_timeout, ignore_checksums=ignore_checksums, allow=allow,
            allow_destructive=allow_destructive,
        )
    _finish(result, fmt)


@fleet.command("downgrade")
@click.argument("revision")
@_targets_options
@_run_options
@click.pass_context
def fleet_downgrade(ctx: click.Context, revision: str, targets: tuple[str, ...], targets_files: tuple[str, ...],
                    canaries: tuple[str, ...], jobs: int, fmt: str, on_error: str, journal: str | None,
                    resume: bool, atomic: str, lock_timeout: float | None, allow: tuple[str, ...],
                    allow_destructive: bool) -> None:
    """Downgrade every target to REVISION."""
    from . import api

    g = ctx.find_object(Globals)
    project = g.project()
    with _Display(fmt) as display:
        result = api.fleet_downgrade(
            project, _parse(targets, targets_files, canaries), revision, jobs=jobs, on_error=on_error,
            journal=journal or project.root / _journal_name(), resume=resume, listener=display.event,
            atomic=atomic, lock_timeout=lock_timeout, allow=allow, allow_destructive=allow_destructive,
        )
    _finish(result, fmt)


@fleet.command("current")
@click.argument("revision", default="heads")
@_targets_options
@click.pass_context
def fleet_current(ctx: click.Context, revision: str, targets: tuple[str, ...], targets_files: tuple[str, ...],
                  canaries: tuple[str, ...], jobs: int, fmt: str) -> None:
    """Each target's revision and its drift from REVISION (default heads): behind, ahead, other branch."""
    from . import api

    g = ctx.find_object(Globals)
    with _Display(fmt) as display:
        result = api.fleet_current(g.project(), _parse(targets, targets_files, canaries), revision, jobs=jobs,
                                   listener=display.event)
    _finish(result, fmt)


@fleet.command("plan")
@click.argument("revision", default="head")
@_targets_options
@click.option("--down", is_flag=True, help="Plan the downgrade to REVISION instead of the upgrade")
@click.option("--allow", "allow", multiple=True, metavar="RULE",
              help="Accept a rule's findings (as plan --allow; repeatable)")
@click.option("--allow-destructive", is_flag=True, help="Accept operations that delete data")
@click.pass_context
def fleet_plan(ctx: click.Context, revision: str, targets: tuple[str, ...], targets_files: tuple[str, ...],
               canaries: tuple[str, ...], jobs: int, fmt: str, down: bool, allow: tuple[str, ...],
               allow_destructive: bool) -> None:
    """What upgrading every target to REVISION would run and risk, on each target's own rows; runs nothing."""
    from . import api

    g = ctx.find_object(Globals)
    with _Display(fmt) as display:
        result = api.fleet_plan(g.project(), _parse(targets, targets_files, canaries), revision,
                                direction="down" if down else "up", jobs=jobs, allow=allow,
                                allow_destructive=allow_destructive, listener=display.event)
    _finish(result, fmt)


@fleet.command("verify-state")
@click.argument("revision", default="heads")
@_targets_options
@click.pass_context
def fleet_verify_state(ctx: click.Context, revision: str, targets: tuple[str, ...], targets_files: tuple[str, ...],
                       canaries: tuple[str, ...], jobs: int, fmt: str) -> None:
    """Check every target is at REVISION (default heads) with a ledger matching the files (exit 1 if not)."""
    from . import api

    g = ctx.find_object(Globals)
    with _Display(fmt) as display:
        result = api.fleet_verify_state(g.project(), _parse(targets, targets_files, canaries), revision, jobs=jobs,
                                        listener=display.event)
    _finish(result, fmt)


# ------------------------------------------------------------------ rendering


def _journal_name() -> str:
    from .fleet.journal import DEFAULT_NAME

    return DEFAULT_NAME


class _Display:
    """The live view: one line per running target and the totals, redrawn as events arrive."""

    def __init__(self, fmt: str) -> None:
        self.console = err
        self.enabled = fmt == "table" and err.is_terminal
        self.running: dict[str, str] = {}
        self.totals = {"ok": 0, "failed": 0}
        self.live: Any = None
        self.interrupted = False

    def __enter__(self) -> "_Display":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.stop()

    def event(self, event: Any) -> None:
        if event.kind == "start":
            self.running[event.target] = "starting"
        elif event.kind == "step":
            self.running[event.target] = event.text
        elif event.kind == "done":
            self.running.pop(event.target, None)
            self.totals[event.text] = self.totals.get(event.text, 0) + 1
            if not self.enabled and event.result is not None and event.result.status == "failed":
                self.console.print(f"failed: {event.target}: {event.result.error}", style="red", markup=False)
        elif event.kind == "interrupt":
            self.interrupted = True
            self.console.print(
                f"interrupted: no more targets are handed out; waiting for {event.text} to finish or roll back",
                style="yellow", markup=False)
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        from rich.live import Live  # a thread: started only now, after the workers were forked
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for target, text in sorted(self.running.items()):
            table.add_row("[cyan]running[/]", _escape(target), _escape(text))
        totals = ", ".join(f"{n} {name}" for name, n in self.totals.items())
        table.add_row("", f"[bold]{len(self.running)} running, {totals}[/]", "")
        if self.live is None:
            self.live = Live(table, console=self.console, transient=True, refresh_per_second=8)
            self.live.start()
        else:
            self.live.update(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _finish(result: Any, fmt: str) -> None:
    if fmt == "json":
        out.print_json(json.dumps(result.as_dict()))
    elif out.is_terminal:
        out.print(_matrix(result))
    else:
        for r in result.results:
            parts = [r.status, r.target, ",".join(r.after) or "base", f"{r.seconds:.2f}s"]
            if r.steps:
                parts.append(f"{len(r.steps)} step(s)")
            if r.state:
                parts.append(r.state)
            if r.error:
                parts.append(r.error)
            say("  ".join(parts))
    totals = ", ".join(f"{result.count(s)} {s}" for s in ("ok", "failed", "skipped", "not run") if result.count(s))
    note(f"fleet {result.command} {result.revision}: {len(result.results)} target(s): {totals} "
         f"({result.seconds:.1f} s)", style="green" if result.ok else "red")
    if result.interrupted or result.stopped_on_error:
        why = "interrupted" if result.interrupted else "stopped after a failure (--on-error stop)"
        if result.journal:
            note(f"{why}: finish the rest with 'schemashift fleet {result.command} {result.revision} "
                 f"--resume' (same targets); journal: {result.journal}", style="yellow")
        else:
            note(why, style="yellow")
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


def _matrix(result: Any) -> Any:
    from rich.table import Table

    groups = {r.group for r in result.results}
    table = Table(title=f"fleet {result.command} {result.revision}")
    columns = ["target"] + (["group"] if len(groups) > 1 else []) + ["status", "revision", "steps", "time", "state / error"]
    for col in columns:
        table.add_column(col, overflow="fold")  # a target or an error is never cut short
    styles = {"ok": "green", "failed": "red", "skipped": "dim", "not run": "yellow"}
    for r in result.results:
        row = [r.target] + ([r.group] if len(groups) > 1 else [])
        row += [r.status, ", ".join(r.after) or "base", str(len(r.steps)) if r.steps else "", f"{r.seconds:.2f}s",
                r.error or r.state or ""]
        table.add_row(*map(_escape, row), style=styles.get(r.status))
    return table
