"""A throwaway MariaDB server for the test suite.

Why: the MySQL/MariaDB code paths (DDL that commits at once, ``GET_LOCK``)
are only trustworthy if a real server runs them.  Like tests/pgserver.py for
PostgreSQL, the suite starts its own server from Debian's ``mariadb-server``
package: a fresh data directory in a temp dir (``mariadb-install-db``), a free
port on 127.0.0.1, the socket beside it, durability off for speed, root with
no password.  mariadbd will not run as root, so as root every server command
runs as the package's ``mysql`` system user through ``runuser``.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MISSING_MESSAGE = (
    "MariaDB server binaries not found: install Debian's mariadb-server package "
    "(apt-get install mariadb-server) — .ci/run does this"
)
DIR_PREFIX = "schemashift-mariadb-"
SUPERUSER = "root"
OS_USER = "mysql"  # who runs the server when we are root
SERVER_NAMES = ("mariadbd", "mysqld")
INSTALL_NAMES = ("mariadb-install-db", "mysql_install_db")
SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
SETTINGS = {
    "bind-address": "127.0.0.1",
    "skip-name-resolve": None,
    "innodb_flush_log_at_trx_commit": "0",
    "innodb_doublewrite": "0",
    "innodb_flush_method": "nosync",
    "innodb_buffer_pool_size": "64M",
    "innodb_log_file_size": "16M",
    "max_connections": "300",
    "character-set-server": "utf8mb4",
    "collation-server": "utf8mb4_unicode_ci",
    "skip-log-bin": None,
}


class MariaDbServerError(RuntimeError):
    """The server could not be found, started or used."""


def _find(names: tuple[str, ...], dirs: list[Path]) -> Path | None:
    for d in dirs:
        for name in names:
            if os.access(d / name, os.X_OK):
                return d / name
    return None


def find_binaries() -> tuple[Path, Path] | None:
    """(server, install-db) executables, or None when either is missing.

    $SCHEMASHIFT_MARIADB_BIN if set (a directory holding both), else PATH plus
    the usual sbin directories (Debian puts mariadbd in /usr/sbin).
    """
    if os.environ.get("SCHEMASHIFT_MARIADB_BIN"):
        dirs = [Path(os.environ["SCHEMASHIFT_MARIADB_BIN"])]
    else:
        dirs = [Path(d) for d in os.get_exec_path()] + [Path(d) for d in SEARCH]
    server, install = _find(SERVER_NAMES, dirs), _find(INSTALL_NAMES, dirs)
    return (server, install) if server and install else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _running(pid: int) -> bool:
    """A thread of ``pid`` is still alive (a zombie leader's other threads may still hold its sockets)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return True
        except OSError:
            continue
    return False


class MariaDbServer:
    """One server: ``start()``, ``url(db)``, ``create_database()``, ``stop()``.

    Also a context manager; ``stop()`` is idempotent and registered with
    atexit; servers orphaned by a killed run are removed by the next start().
    """

    host = "127.0.0.1"
    user = SUPERUSER

    def __init__(self, binaries: tuple[Path, Path] | None = None):
        binaries = binaries or find_binaries()
        if binaries is None:
            raise MariaDbServerError(MISSING_MESSAGE)
        self.server_exe, self.install_exe = binaries
        self.port: int | None = None
        self.base: Path | None = None  # temp dir: data/, my.cnf, server.log, socket, pid
        self.start_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._names = itertools.count(1)

    def __enter__(self) -> MariaDbServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_path(self) -> Path:
        return self.base / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def url(self, dbname: str = "mysql") -> str:
        return f"mysql+pymysql://{self.user}@{self.host}:{self.port}/{dbname}?charset=utf8mb4"

    def start(self) -> MariaDbServer:
        t0 = time.monotonic()
        self._reap_orphans()
        self.base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        atexit.register(self.stop)
        try:
            (self.base / "owner.pid").write_text(str(os.getpid()))
            if os.geteuid() == 0:
                pw = self._os_user()
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._write_config()
            self._run(self.install_exe, f"--defaults-file={self.base / 'my.cnf'}",
                      "--auth-root-authentication-method=normal", "--skip-test-db")
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        base, self.base = self.base, None
        if base is None:
            return
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            server_pids = _children(process.pid)
            self._signal(process.pid, signal.SIGKILL)  # a throwaway server: nothing to flush
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            # runuser is reaped before mariadbd's threads have all died (and closed its port)
            deadline = time.monotonic() + 30
            while any(_running(pid) for pid in server_pids) and time.monotonic() < deadline:
                time.sleep(0.01)
        shutil.rmtree(base, ignore_errors=True)

    def connect(self, dbname: str | None = None):
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user, database=dbname,
                               autocommit=True, charset="utf8mb4")

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (named test_<n> unless given); return its name."""
        name = name or f"test_{next(self._names)}"
        self.execute(f"CREATE DATABASE `{name}`")
        return name

    def drop_database(self, name: str) -> None:
        """Drop it even if a test left connections open (they are killed first)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                            (name,))
                for (pid,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL {int(pid)}")
                    except Exception:  # already gone
                        pass
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()

    def execute(self, statement: str) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()

    # -- internals

    def _write_config(self) -> None:
        settings = {
            **SETTINGS,
            "datadir": str(self.data_dir),
            "socket": str(self.socket_path),
            "pid-file": str(self.base / "mysqld.pid"),
            "log-error": str(self.log_path),
        }
        lines = ["[mysqld]"] + [k if v is None else f"{k} = {v}" for k, v in settings.items()]
        (self.base / "my.cnf").write_text("\n".join(lines) + "\n")

    def _start_on_free_port(self, attempts: int = 5) -> None:
        # another process may take the port between our probe and the bind: try another
        for _ in range(attempts):
            self.port = _free_port()
            self.log_path.unlink(missing_ok=True)
            self._process = subprocess.Popen(
                self._command(self.server_exe, f"--defaults-file={self.base / 'my.cnf'}", f"--port={self.port}"),
                cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self._process.poll() is None:
                if self._accepts():
                    return
                time.sleep(0.05)
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if self._process.poll() is None:
                self._signal(self._process.pid, signal.SIGKILL)
                self._process.wait()
                raise MariaDbServerError(f"mariadbd did not accept connections within 60 s:\n{log}")
            if "already in use" not in log and "Address in use" not in log:
                raise MariaDbServerError(f"mariadbd failed to start:\n{log}")
        raise MariaDbServerError(f"no free port after {attempts} attempts")

    def _accepts(self) -> bool:
        try:
            self.connect().close()
        except Exception:
            return False
        return True

    def _command(self, exe: Path, *args: str) -> list[str]:
        cmd = [str(exe), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", OS_USER, "--", *cmd]
        return cmd

    def _run(self, exe: Path, *args: str) -> None:
        cmd = self._command(exe, *args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL")}
        result = subprocess.run(cmd, cwd="/", env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise MariaDbServerError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        # runuser execs into mariadbd only after forking; signal the whole child tree
        for child in _children(pid):
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    @staticmethod
    def _os_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(OS_USER)
        except KeyError:
            raise MariaDbServerError(
                f"running as root needs a {OS_USER!r} system user to run MariaDB "
                "(Debian's mariadb-server package creates it)"
            ) from None

    def _reap_orphans(self) -> None:
        """Stop and remove servers left by runs that were killed outright."""
        for base in Path(tempfile.gettempdir()).glob(DIR_PREFIX + "*"):
            try:
                owner = int((base / "owner.pid").read_text())
            except (OSError, ValueError):
                continue
            if _alive(owner):
                continue
            try:
                server_pid = int((base / "mysqld.pid").read_text())
                os.kill(server_pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
            shutil.rmtree(base, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """Descendant pids of ``pid`` (from /proc), deepest first."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    parents: dict[int, list[int]] = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found[::-1]
