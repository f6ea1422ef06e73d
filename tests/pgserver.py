"""A throwaway PostgreSQL cluster for the test suite.

Why: tests need a real server but no setup on the machine beyond Debian's
``postgresql`` package, so the suite starts its own cluster from the installed
binaries (temp dir, free port, trust auth, durability off for speed) and
removes it afterwards. PostgreSQL refuses to run as root, so as root every
server command runs as the ``postgres`` system user through ``runuser``.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

MISSING_MESSAGE = (
    "PostgreSQL server binaries not found: install Debian's postgresql package "
    "(apt-get install postgresql) — .ci/run does this"
)
PG_LIB = Path("/usr/lib/postgresql")
DIR_PREFIX = "schemashift-pg-"
SUPERUSER = "postgres"
OS_USER = "postgres"  # who runs the server when we are root
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


class PgServerError(RuntimeError):
    """The cluster could not be found, started or used."""


def find_bindir() -> Path | None:
    """Directory holding both initdb and pg_ctl.

    $SCHEMASHIFT_PG_BIN if set, else the first on PATH, else the newest
    /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH).
    """
    if os.environ.get("SCHEMASHIFT_PG_BIN"):
        candidates = [Path(os.environ["SCHEMASHIFT_PG_BIN"])]
    else:
        by_version = lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)]  # noqa: E731
        candidates = [Path(d) for d in os.get_exec_path()]
        candidates += sorted(PG_LIB.glob("*/bin"), key=by_version, reverse=True)
    for d in candidates:
        if all(os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl")):
            return d
    return None


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


class PgServer:
    """One cluster: ``start()``, ``url(db)``, ``create_database()``, ``stop()``.

    Also a context manager. ``stop()`` is idempotent and registered with atexit,
    so an interrupted run still removes the cluster; clusters orphaned by a
    killed run (owner pid gone) are removed by the next ``start()``.
    """

    host = "127.0.0.1"
    user = SUPERUSER

    def __init__(self, bindir: Path | None = None):
        bindir = bindir or find_bindir()
        if bindir is None:
            raise PgServerError(MISSING_MESSAGE)
        self.bindir = bindir
        self.port: int | None = None
        self.base: Path | None = None  # temp dir: data/, server.log, socket
        self.start_seconds: float | None = None
        self._admin: psycopg.Connection | None = None
        self._names = itertools.count(1)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def start(self) -> PgServer:
        t0 = time.monotonic()
        self._reap_orphans()
        self.base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        atexit.register(self.stop)
        try:
            (self.base / "owner.pid").write_text(str(os.getpid()))
            if os.geteuid() == 0:
                pw = self._os_user()
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._pg("initdb", "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust",
                     "-E", "UTF8", "--locale=C", "--no-sync")
            settings = {**SETTINGS, "unix_socket_directories": f"'{self.base}'"}
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
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
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if (base / "data" / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", base / "data", "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (named test_<n> unless given); return its name."""
        name = name or f"test_{next(self._names)}"
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop it even if a test left connections open (WITH FORCE)."""
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- internals

    def _execute(self, statement: sql.Composable) -> None:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(host=self.host, port=self.port, user=self.user,
                                          dbname="postgres", autocommit=True)
        self._admin.execute(statement)

    def _start_on_free_port(self, attempts: int = 5) -> None:
        # Another process (e.g. an xdist worker) may grab the port between our
        # probe and the server's bind: then try another one.
        for _ in range(attempts):
            self.port = _free_port()
            self.log_path.unlink(missing_ok=True)
            result = self._pg("pg_ctl", "-D", self.data_dir, "-l", self.log_path, "-w",
                              "-t", "60", "-o", f"-p {self.port}", "start", check=False)
            if result.returncode == 0:
                return
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if "already in use" not in log:
                raise PgServerError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{log}")
        raise PgServerError(f"no free port after {attempts} attempts")

    def _pg(self, exe: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        """Run a server binary, as the postgres OS user when we are root."""
        cmd = [str(self.bindir / exe), *map(str, args)]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", OS_USER, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(cmd, cwd="/", env=env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise PgServerError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")
        return result

    @staticmethod
    def _os_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(OS_USER)
        except KeyError:
            raise PgServerError(
                f"running as root needs a {OS_USER!r} system user to run PostgreSQL "
                "(Debian's postgresql package creates it)"
            ) from None

    def _reap_orphans(self) -> None:
        """Stop and remove clusters left by runs that were killed outright."""
        for base in Path(tempfile.gettempdir()).glob(DIR_PREFIX + "*"):
            try:
                owner = int((base / "owner.pid").read_text())
            except (OSError, ValueError):
                continue
            if _alive(owner):
                continue
            if (base / "data" / "postmaster.pid").exists():
                self._pg("pg_ctl", "-D", base / "data", "-m", "immediate", "-w", "stop", check=False)
            shutil.rmtree(base, ignore_errors=True)
