"""Database fixtures for the whole suite.

- ``pg_server`` (session): the throwaway PostgreSQL cluster (tests/pgserver.py),
  started on first use, one per xdist worker. Has ``host``, ``port``, ``user``
  (superuser), ``url(dbname)`` -> ``postgresql+psycopg://postgres@127.0.0.1:PORT/dbname``,
  ``create_database(name=None) -> name`` and ``drop_database(name)``.
- ``pg_url``: str, URL of a fresh empty PostgreSQL database, dropped after the test.
- ``sqlite_url``: str, ``sqlite:///<tmp_path>/test.db`` (the file appears on first connect).
- ``mariadb_server`` (session): the throwaway MariaDB server (tests/mariadbserver.py),
  same shape: ``url(dbname)`` -> ``mysql+pymysql://root@127.0.0.1:PORT/dbname?charset=utf8mb4``.
- ``mariadb_url``: str, URL of a fresh empty MariaDB database, dropped after the test.
- ``backend``: ``"sqlite"`` or ``"postgresql"``; parametrizes the test over both, and
  over ``"mariadb"`` too when the test (or its module) has the ``also_mariadb`` marker.
- ``db_url``: str, a fresh database URL of the current ``backend``: a test taking it
  runs as ``test_x[sqlite]`` and ``test_x[postgresql]`` (and ``test_x[mariadb]``).
  Take ``backend`` as well to branch on the dialect.

Tests using PostgreSQL get the ``postgres`` marker (``-m "not postgres"`` skips them),
tests using MariaDB the ``mariadb`` marker. Without the server binaries they fail,
loudly, never skip.

More fixtures: put them in ``tests/fixtures_<topic>.py``; every such module is
loaded as a plugin here, no edit of this file needed.
"""

import os
import sys
from pathlib import Path

import pytest

from mariadbserver import MISSING_MESSAGE as MARIADB_MISSING
from mariadbserver import MariaDbServer, find_binaries
from pgserver import MISSING_MESSAGE, PgServer, find_bindir

# The tests rewrite models and revision files, often within one second and at the same size; Python
# would then take the .pyc it wrote for the earlier text for the new one (its check is the mtime in
# whole seconds and the size), here and in every schemashift process a test starts.
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.dont_write_bytecode = True

pytest_plugins = sorted(p.stem for p in Path(__file__).parent.glob("fixtures_*.py"))

BACKENDS = ["sqlite", "postgresql"]
PG_FIXTURES = {"pg_server", "pg_url"}
MARIADB_FIXTURES = {"mariadb_server", "mariadb_url"}
URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "pg_url", "mariadb": "mariadb_url"}


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING_MESSAGE, pytrace=False)
    with PgServer(bindir) as server:
        yield server


@pytest.fixture
def pg_url(pg_server):
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def mariadb_server():
    binaries = find_binaries()
    if binaries is None:
        pytest.fail(MARIADB_MISSING, pytrace=False)
    with MariaDbServer(binaries) as server:
        yield server


@pytest.fixture
def mariadb_url(mariadb_server):
    name = mariadb_server.create_database()
    yield mariadb_server.url(name)
    mariadb_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def backend(request):
    return request.param


def pytest_generate_tests(metafunc):
    """``backend``: SQLite and PostgreSQL, plus MariaDB where ``also_mariadb`` asks for it."""
    if "backend" in metafunc.fixturenames and not _parametrizes_backend(metafunc):
        backends = BACKENDS + (["mariadb"] if metafunc.definition.get_closest_marker("also_mariadb") else [])
        metafunc.parametrize("backend", backends, indirect=True)


def _parametrizes_backend(metafunc) -> bool:
    """The test gives its own ``backend`` values (``@pytest.mark.parametrize("backend", ...)``)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if "backend" in names:
            return True
    return False


@pytest.fixture
def db_url(backend, request):
    return request.getfixturevalue(URL_FIXTURES[backend])


def pytest_collection_modifyitems(items):
    """Mark every test that will touch the PostgreSQL cluster or the MariaDB server."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on = callspec.params.get("backend") if callspec is not None else None
        fixtures = set(getattr(item, "fixturenames", ()))
        if on == "postgresql" or PG_FIXTURES & fixtures:
            item.add_marker(pytest.mark.postgres)
        if on == "mariadb" or MARIADB_FIXTURES & fixtures:
            item.add_marker(pytest.mark.mariadb)
