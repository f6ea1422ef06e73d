"""Handing a fleet's targets to a pool of processes, group by group.

Why processes: Alembic keeps per-command state in module globals (its
``op`` and ``context`` proxies), so two runs cannot share a process at once.
Each worker runs one target at a time, with the target's own lock, ledger
and transactions, and reports progress lines through a queue.  The parent
decides what is handed out next: the canary group before the others, and
nothing more after a failure under ``on_error="stop"`` or after Ctrl-C
(workers ignore SIGINT, so the targets already running finish or roll back
on their own terms).  Every finished target is journaled at once.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
import signal
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..errors import ConfigError, SchemashiftError
from .journal import Journal
from .targets import ProjectSpec, Target, ordered_groups

OK, FAILED, SKIPPED, NOT_RUN = "ok", "failed", "skipped", "not run"
ON_ERROR = ("stop", "continue")
INTERRUPTED_EXIT = 130


@dataclass
class Outcome:
    """What a job found or did on one target (returned from the worker)."""

    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    state: str | None = None  # e.g. "up to date", "behind 2"
    ok: bool = True
    error: str | None = None
    exit_code: int = 0


@dataclass
class TargetResult:
    """One row of the fleet's matrix: a target, the revision it reached, the time, the error."""

    target: str
    group: str
    status: str  # ok | failed | skipped (done by the run being resumed) | not run
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    state: str | None = None
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FleetResult:
    command: str
    revision: str
    results: list[TargetResult]
    interrupted: bool = False
    stopped_on_error: bool = False
    journal: str | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(r.status in (OK, SKIPPED) for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every target is fine; else the first failure's code; 130 after Ctrl-C."""
        if self.interrupted:
            return INTERRUPTED_EXIT
        for r in self.results:
            if r.status == FAILED:
                return r.exit_code or 1
        return 0 if self.ok else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "revision": self.revision,
            "interrupted": self.interrupted,
            "stopped_on_error": self.stopped_on_error,
            "journal": self.journal,
            "seconds": round(self.seconds, 3),
            "totals": {s: self.count(s) for s in (OK, FAILED, SKIPPED, NOT_RUN)},
            "targets": [r.as_dict() for r in self.results],
        }


@dataclass
class FleetEvent:
    """Progress of the fleet, for a display: a target started, made a step, finished."""

    kind: str  # "start" | "step" | "done" | "interrupt"
    target: str
    text: str = ""
    result: TargetResult | None = None


Job = Callable[[Any, Callable[[str], None]], Outcome]
Listener = Callable[[FleetEvent], None]

# ------------------------------------------------------------------ worker side

_events: Any = None
_busy = threading.Event()


def _init_worker(events: Any) -> None:
    global _events
    _events = events
    # Ctrl-C belongs to the fleet process: it stops handing out targets, and a
    # target already running here finishes (or rolls back) rather than dying half way
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _exit_with_parent(parent: int) -> None:
    """A fleet process killed outright (SIGKILL) leaves its workers waiting for work
    that never comes: leave once it is gone, but never in the middle of a target."""
    while True:
        time.sleep(0.2)
        if _orphaned(parent) and not _busy.is_set():
            os._exit(0)


def _post(kind: str, label: str, text: str = "") -> None:
    if _events is not None:
        try:
            _events.put_nowait((kind, label, text))
        except Exception:  # progress is best effort
            pass


def _run_one(spec: ProjectSpec, target: Target, job: Job) -> TargetResult:
    _busy.set()
    try:
        return _run_job(spec, target, job)
    finally:
        _busy.clear()


def _run_job(spec: ProjectSpec, target: Target, job: Job) -> TargetResult:
    start = time.perf_counter()
    label = target.label
    _post("start", label, f"pid {os.getpid()}")
    result = TargetResult(label, target.group, OK)
    try:
        project = spec.load(target)
        outcome = job(project, lambda text: _post("step", label, target.scrub(text)))
        result.before, result.after, result.steps = outcome.before, outcome.after, outcome.steps
        result.state = outcome.state
        if not outcome.ok:
            result.status, result.exit_code = FAILED, outcome.exit_code or 1
            result.error = target.scrub(outcome.error or "failed")
    except SchemashiftError as exc:
        result.status, result.exit_code, result.error = FAILED, exc.exit_code, target.scrub(exc.one_line())
    except Exception as exc:  # a bug or an unforeseen failure: still one line, never a password
        text = " ".join(str(exc).split())[:300]
        result.status, result.exit_code = FAILED, 70
        result.error = target.scrub(f"unexpected {type(exc).__name__}: {text}")
    result.seconds = time.perf_counter() - start
    return result


# ------------------------------------------------------------------ fleet side


def run_fleet(
    spec: ProjectSpec,
    targets: list[Target],
    job: Job,
    *,
    command: str,
    revision: str,
    jobs: int = 4,
    on_error: str = "stop",
    journal: Journal | None = None,
    resume: bool = False,
    listener: Listener | None = None,
) -> FleetResult:
    """Run ``job`` on every target, ``jobs`` at a time, group after group."""
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be 'stop' or 'continue', not {on_error!r}")
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}")
    started = time.perf_counter()
    done: dict[str, dict[str, Any]] = {}
    if journal is not None and resume:
        done = journal.for_resume(command, revision).done
    if journal is not None:
        journal.start(command, revision, [t.label for t in targets], resume=resume)
    results: dict[str, TargetResult] = {}
    for target in targets:
        if target.label in done:
            record = done[target.label]
            results[target.label] = TargetResult(target.label, target.group, SKIPPED, after=record.get("after") or [],
                                                 state="done by an earlier run")
    fleet = FleetResult(command, revision, [], journal=str(journal.path) if journal else None)
    to_run = [t for t in targets if t.label not in results]
    if to_run:
        _hand_out(spec, to_run, job, jobs, on_error, journal, results, fleet, listener)
    for target in targets:
        if target.label not in results:
            results[target.label] = TargetResult(target.label, target.group, NOT_RUN)
    fleet.results = [results[t.label] for t in targets]
    if journal is not None and (fleet.interrupted or fleet.stopped_on_error):
        journal.stopped("interrupted" if fleet.interrupted else "stopped after a failure")
    fleet.seconds = time.perf_counter() - started
    return fleet


def _hand_out(spec: ProjectSpec, to_run: list[Target], job: Job, jobs: int, on_error: str,
              journal: Journal | None, results: dict[str, TargetResult], fleet: FleetResult,
              listener: Listener | None) -> None:
    # fork: workers start at once, and a script calling the API needs no __main__ guard (spawn
    # re-imports the caller's main module). Fork is safe here because the pool forks all its
    # workers on the first submit, before any thread of ours runs (a display starts on the first event).
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    events = ctx.Queue()
    notify = listener or (lambda event: None)

    def drain() -> None:
        while True:
            try:
                kind, label, text = events.get_nowait()
            except (queue_mod.Empty, EOFError, OSError):
                return
            notify(FleetEvent(kind, label, text))

    def finish(target: Target, future: Future[TargetResult]) -> None:
        try:
            result = future.result()
        except Exception as exc:  # the worker process died (killed, out of memory)
            result = TargetResult(target.label, target.group, FAILED, exit_code=70,
                                  error=f"worker process died: {type(exc).__name__}: {exc}"[:300])
        results[target.label] = result
        if journal is not None:
            journal.finished(result.target, result.status, result.after, result.error, result.seconds)
        drain()
        notify(FleetEvent("done", result.target, result.status, result))
        if result.status == FAILED and on_error == "stop":
            fleet.stopped_on_error = True

    prepare = getattr(job, "prepare", None)
    if prepare is not None:
        prepare(to_run)  # imports done once here are inherited by every forked worker
    workers = max(1, min(jobs, len(to_run)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(events,)) as pool:
        for group in ordered_groups(to_run):
            todo = deque(group)
            running: dict[Future[TargetResult], Target] = {}
            while running or (todo and not _stopping(fleet)):
                try:
                    while todo and not _stopping(fleet) and len(running) < workers:
                        target = todo.popleft()
                        running[pool.submit(_run_one, spec, target, job)] = target
                    finished, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
                    drain()
                    for future in finished:
                        finish(running.pop(future), future)
                except KeyboardInterrupt:
                    fleet.interrupted = True
                    notify(FleetEvent("interrupt", "", f"{len(running)} running"))
            if _stopping(fleet):
                break
    drain()
    events.close()


def _stopping(fleet: FleetResult) -> bool:
    return fleet.interrupted or fleet.stopped_on_error
