"""Run the ``schemashift`` command in a forked copy of the test process.

Why: most CLI tests start ``python -m schemashift`` many times, and each start
pays for importing SQLAlchemy and Alembic again (most of a second), which made
those imports the largest cost of the suite.  A fork is still a real, separate
process (its own file descriptors, environment, working directory, exit code,
signals; nothing it does reaches the test process), but it starts with those
modules already imported.  Before its first fork the test process imports
the rest of what a command imports on its way (every schemashift module, the
ORM the projects' models use, the three backends' dialects and drivers), so no
child pays for those imports again; a project's own modules are never among
them.  That halved the CPU time of the CLI tests.

The child is made to look like a fresh interpreter where it matters: the
project's own modules (``models``) are forgotten, schemashift's caches are
cleared, logging has no handlers and no disabled loggers (Python's last-resort
handler prints warnings to stderr, as in a new process), warnings use the
interpreter's filters and print to stderr, stdin is /dev/null, and it ends
with ``os._exit`` so no atexit handler of the test process (which stops the
database servers) runs there.  The garbage collector is frozen across the
fork so the child never finalises the parent's connections.

``SCHEMASHIFT_TEST_SUBPROCESS=1`` runs every call in a new interpreter
instead (``python -m schemashift``), as before.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

# What the command imports on its way (the whole package, the ORM the projects' models use,
# the dialects and drivers of the three test backends): imported once in the test process
# before its first fork, so that a child does not import them again on every call.
WARM_MODULES = (
    "sqlalchemy.orm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.mysql", "psycopg", "pymysql", "alembic.command", "alembic.autogenerate",
    "click", "logging.config", "logging.handlers",
)
_warm = False
_START_FILTERS = list(warnings.filters)  # as the interpreter set them, before any test changed them
_SHOW_WARNING = warnings.showwarning


def use_subprocess() -> bool:
    return os.environ.get("SCHEMASHIFT_TEST_SUBPROCESS") == "1" or not hasattr(os, "fork")


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float,
        fresh: bool = False) -> subprocess.CompletedProcess:
    """``schemashift ARGS`` in ``cwd`` with exactly ``env``; like ``subprocess.run(..., capture_output=True, text=True)``.

    ``fresh``: a new interpreter for this call.
    """
    if fresh or use_subprocess():
        return subprocess.run([sys.executable, "-m", "schemashift", *args], cwd=cwd, capture_output=True,
                              text=True, env=env, timeout=timeout)
    proc = start(args, cwd=cwd, env=env)
    stdout, stderr = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(["schemashift", *args], proc.returncode, stdout, stderr)


def start(args: list[str], *, cwd: Path, env: dict[str, str]) -> Forked:
    """``schemashift ARGS`` started in a forked child, not waited for (like ``subprocess.Popen`` with
    stdout and stderr piped, text mode): for tests of several processes at once or of a killed one."""
    if not _warm:
        _import_warm_modules()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if pid == 0:  # the child: never returns
        _child(args, cwd, env, out_r, out_w, err_r, err_w)
    gc.unfreeze()
    os.close(out_w)
    os.close(err_w)
    return Forked(["schemashift", *args], pid, out_r, err_r)


class Forked:
    """A started child: ``poll``, ``wait``, ``send_signal``, ``communicate``, ``returncode`` as Popen has them."""

    def __init__(self, args: list[str], pid: int, out_r: int, err_r: int):
        self.args, self.pid = args, pid
        self._out_r, self._err_r = out_r, err_r
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.005)
        self._close_pipes()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def communicate(self, timeout: float) -> tuple[str, str]:
        """Read stdout and stderr to the end and reap the child; on timeout kill it and raise."""
        stdout, stderr, timed_out = _collect(self._out_r, self._err_r, timeout)
        self._out_r = self._err_r = None
        if timed_out:
            os.kill(self.pid, signal.SIGKILL)
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        if timed_out:
            raise subprocess.TimeoutExpired(self.args, timeout, stdout, stderr)
        return stdout, stderr

    def _close_pipes(self) -> None:
        for fd in (self._out_r, self._err_r):
            if fd is not None:
                os.close(fd)
        self._out_r = self._err_r = None


def _import_warm_modules() -> None:
    """Import once what every command would import again (nothing of a project's own)."""
    global _warm
    import importlib
    import pkgutil

    import schemashift

    names = [m.name for m in pkgutil.walk_packages(schemashift.__path__, "schemashift.")]
    for name in (*WARM_MODULES, *names):
        if name not in ("schemashift.__main__", "schemashift.pytest_plugin"):  # a script; pytest's own
            importlib.import_module(name)
    _warm = True


def _collect(out_r: int, err_r: int, timeout: float) -> tuple[str, str, bool]:
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    selector = selectors.DefaultSelector()
    for fd in chunks:
        selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_fds = set(chunks)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in selector.select(left):
            data = os.read(key.fd, 65536)
            if data:
                chunks[key.fd].append(data)
            else:
                selector.unregister(key.fd)
                open_fds.discard(key.fd)
    selector.close()
    for fd in chunks:
        os.close(fd)
    text = {fd: b"".join(parts).decode("utf-8", errors="replace") for fd, parts in chunks.items()}
    return text[out_r], text[err_r], bool(open_fds)


def _child(args: list[str], cwd: Path, env: dict[str, str], out_r: int, out_w: int, err_r: int, err_w: int) -> None:
    code = 70
    try:
        os.close(out_r)
        os.close(err_r)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_w, err_w):
            os.close(fd)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=False)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True)
        sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["schemashift", *args]
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [os.getcwd(), *extra]  # as `python -m` starts: the working directory first
        _fresh_interpreter_state()
        from schemashift import cli

        try:
            cli.main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, (int, type(None))):
                sys.stderr.write(f"{exc.code}\n")
    except BaseException:  # as an uncaught exception in a new interpreter: traceback, exit 1
        try:
            traceback.print_exc()
        except BaseException:
            pass
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


def _fresh_interpreter_state() -> None:
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        del sys.modules[name]
    for name, module in list(sys.modules.items()):
        if name.startswith("schemashift"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                    value.cache_clear()
    cli = sys.modules.get("schemashift.cli")
    if cli is not None:
        for output in (cli.out, cli.err):
            output._console = None
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.handlers.clear()
            logger.disabled = False
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
            for f in list(logger.filters):
                logger.removeFilter(f)
    for f in list(root.filters):
        root.removeFilter(f)
    warnings.filters[:] = _START_FILTERS
    warnings.showwarning = _SHOW_WARNING
    warnings._filters_mutated()  # type: ignore[attr-defined]
