"""Database fixtures for the whole suite.

- ``pg_server`` (session): the throwaway PostgreSQL cluster (tests/pgserver.py),
  started on first use, one per xdist worker. Has ``host``, ``port``, ``user``
  (superuser), ``url(dbname)`` -> ``postgresql+psycopg://postgres@127.0.0.1:PORT/dbname``,
  ``create_database(name=None) -> name`` and ``drop_database(name)``.
- ``pg_url``: str, URL of a fresh empty PostgreSQL database, dropped after the test.
- ``sqlite_url``: str, ``sqlite:///<tmp_path>/test.db`` (the file appears on first connect).
- ``backend``: ``"sqlite"`` or ``"postgresql"``; parametrizes the test over both.
- ``db_url``: str, a fresh database URL of the current ``backend``: a test taking it
  runs as ``test_x[sqlite]`` and ``test_x[postgresql]``. Take ``backend`` as well
  to branch on the dialect.

Tests using PostgreSQL get the ``postgres`` marker (``-m "not postgres"`` skips them).
Without the server binaries they fail, loudly, never skip.

More fixtures: put them in ``tests/fixtures_<topic>.py``; every such module is
loaded as a plugin here, no edit of this file needed.
"""

from pathlib import Path

import pytest

from pgserver import MISSING_MESSAGE, PgServer, find_bindir

pytest_plugins = sorted(p.stem for p in Path(__file__).parent.glob("fixtures_*.py"))

BACKENDS = ["sqlite", "postgresql"]
PG_FIXTURES = {"pg_server", "pg_url"}


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


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def db_url(backend, request):
    return request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")


def pytest_collection_modifyitems(items):
    """Mark every test that will touch the PostgreSQL cluster."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "postgresql"
        if on_pg or PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
