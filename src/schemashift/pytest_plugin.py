"""pytest plugin: prove every downgrade inside a project's own test suite.

Why: ``schemashift verify`` in CI is one command; teams that already gate on
pytest want the same checks as tests, one per revision, named by revision id,
with the fixtures pytest-alembic users know.  Not auto-loaded: enable it with
``pytest -p schemashift.pytest_plugin`` or, in ``conftest.py``::

    pytest_plugins = ["schemashift.pytest_plugin"]

then collect the built-in tests in any test module::

    # tests/test_migrations.py
    from schemashift.pytest_plugin import (  # noqa: F401
        test_schemashift_revision,          # one test per revision: test_schemashift_revision[<rev>]
        test_schemashift_single_head,
        test_schemashift_upgrade,           # base to head upgrades
        test_schemashift_up_down_consistency,
        test_schemashift_models_match_head,
        test_schemashift_models_registered,  # every model module is imported into the metadata
    )

These are pytest-alembic's built-in tests (``test_single_head_revision``,
``test_upgrade``, ``test_up_down_consistency``,
``test_model_definitions_match_ddl``, ``test_all_models_register_on_metadata``),
each decided from one verify run, plus one test per revision.

Fixtures (override any of them in ``conftest.py``):

- ``schemashift_project``: a ``Project``, or the path of ``alembic.ini`` /
  ``pyproject.toml``.  Default: ``--schemashift-config``, the
  ``schemashift_config`` ini option, or ``alembic.ini`` in the rootdir.
- ``schemashift_scratch_url``: the database server scratch databases are
  created on (``postgresql://...``; ``sqlite://`` for temporary files).
  Default: ``--schemashift-scratch-url``, ``$SCHEMASHIFT_SCRATCH_URL``, else
  decided by the project's URL.  The database in the URL is never migrated.
- ``schemashift_verify``: the ``VerifyReport`` of the whole project, computed
  once per session and shared by every test.

Revision ids are listed when tests are collected, from the same config path
as the default ``schemashift_project``; a project fixture that points
elsewhere should be matched by ``--schemashift-config``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

SCRATCH_ENV = "SCHEMASHIFT_SCRATCH_URL"
_REPORTS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("schemashift", "schemashift migration checks")
    group.addoption("--schemashift-config", metavar="PATH", help="alembic.ini or pyproject.toml of the project to verify")
    group.addoption(
        "--schemashift-scratch-url", metavar="URL",
        help="server for scratch databases (postgresql://...; default: from the project's URL)",
    )
    parser.addini("schemashift_config", "alembic.ini or pyproject.toml of the project to verify", default="")


def _config_path(config: pytest.Config) -> Path:
    value = config.getoption("schemashift_config") or config.getini("schemashift_config") or "alembic.ini"
    path = Path(value)
    return path if path.is_absolute() else Path(config.rootpath) / path


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORTS] = {}
    config.addinivalue_line("markers", "schemashift: a schemashift migration check")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per revision (base first), with the revision id as the test id."""
    if "schemashift_revision" not in metafunc.fixturenames:
        return
    from .config import load_project
    from .safety.verify import plan_revisions

    project = load_project(_config_path(metafunc.config))
    setup, revisions, _ = plan_revisions(project, None)
    metafunc.parametrize("schemashift_revision", revisions, ids=revisions)


@pytest.fixture
def schemashift_project(request: pytest.FixtureRequest) -> Any:
    """The project to verify (override to return a Project or a config path)."""
    from .config import load_project

    return load_project(_config_path(request.config))


@pytest.fixture
def schemashift_scratch_url(request: pytest.FixtureRequest) -> str | None:
    """Where scratch databases are created (override to return a URL)."""
    return request.config.getoption("schemashift_scratch_url") or os.environ.get(SCRATCH_ENV) or None


@pytest.fixture
def schemashift_verify(request: pytest.FixtureRequest, schemashift_project: Any, schemashift_scratch_url: str | None) -> Any:
    """The project's ``VerifyReport``, run once per session for each project and URL."""
    from .config import Project, load_project
    from .safety.verify import verify

    project = schemashift_project if isinstance(schemashift_project, Project) else load_project(schemashift_project)
    key = (project.describe(), project.url, schemashift_scratch_url)
    reports = request.config.stash[_REPORTS]
    if key not in reports:
        reports[key] = verify(project, scratch_url=schemashift_scratch_url)
    return reports[key]


def _context(title: str, lines: list[str]) -> str:
    return f"{title}\n" + "\n".join(f"    {line}" for line in lines)


@pytest.mark.schemashift
def test_schemashift_revision(schemashift_revision: str, schemashift_verify: Any) -> None:
    """This revision's downgrade restores the schema and the rows its upgrade kept."""
    found = {r.revision: r for r in schemashift_verify.revisions}
    result = found.get(schemashift_revision)
    if result is None:
        pytest.fail(
            f"revision {schemashift_revision} is not in the verified project "
            f"({schemashift_verify.project}); point --schemashift-config at it",
            pytrace=False,
        )
    if result.status == "irreversible":
        warnings.warn(f"revision {result.revision}: downgrade is declared irreversible ({result.error})", stacklevel=1)
        return
    if result.status == "not checked":
        reason = schemashift_verify.error or "an earlier revision failed, so this one could not be reached"
        pytest.fail(f"revision {result.revision} was not checked: {reason}", pytrace=False)
    if not result.ok:
        pytest.fail(
            f"Failing Revision: {result.revision} {result.doc}".rstrip()
            + (f" ({result.path})" if result.path else "")
            + "\n" + _context("Problems:", result.problems()),
            pytrace=False,
        )


@pytest.mark.schemashift
def test_schemashift_single_head(schemashift_verify: Any) -> None:
    """The migration scripts have one head."""
    if not schemashift_verify.heads_ok:
        pytest.fail(
            f"{len(schemashift_verify.heads)} heads: {', '.join(schemashift_verify.heads)} "
            "(merge them: schemashift merge heads)",
            pytrace=False,
        )


@pytest.mark.schemashift
def test_schemashift_models_match_head(schemashift_verify: Any) -> None:
    """The models describe the schema the migrations build."""
    if schemashift_verify.drift:
        pytest.fail(_context("The models differ from the database at head:", schemashift_verify.drift), pytrace=False)
    if schemashift_verify.drift is None:
        pytest.skip(f"models vs head {schemashift_verify.drift_note or 'not checked'}")


@pytest.mark.schemashift
def test_schemashift_lint(schemashift_project: Any, schemashift_scratch_url: str | None) -> None:
    """No revision file has an error-level finding (``schemashift lint``; a reviewed
    ``# schemashift: allow RULE -- reason`` in a revision allows one)."""
    from .checks.lint import lint
    from .config import Project, load_project

    project = schemashift_project if isinstance(schemashift_project, Project) else load_project(schemashift_project)
    report = lint(project, scratch_url=schemashift_scratch_url)
    if not report.ok:
        lines = [f"{f.path}:{f.line or 0}: {f.one_line()}" for f in report.errors()]
        pytest.fail(_context("Unsafe operations in revision files:", lines), pytrace=False)


def _revisions_failing(report: Any, steps: tuple[str, ...]) -> list[str]:
    return [
        f"{r.revision} {r.doc}: {r.failed_step} failed: {r.error}".rstrip()
        for r in report.revisions if r.status == "failed" and (r.failed_step or "").startswith(steps)
    ]


@pytest.mark.schemashift
def test_schemashift_upgrade(schemashift_verify: Any) -> None:
    """Every upgrade runs, base to head (pytest-alembic's ``test_upgrade``)."""
    failing = _revisions_failing(schemashift_verify, ("upgrade",))
    if failing or schemashift_verify.error:
        pytest.fail(_context("Upgrades that fail:", failing + [schemashift_verify.error or ""]), pytrace=False)


@pytest.mark.schemashift
def test_schemashift_up_down_consistency(schemashift_verify: Any) -> None:
    """Every downgrade runs and the re-upgrade after it too (pytest-alembic's ``test_up_down_consistency``)."""
    failing = _revisions_failing(schemashift_verify, ("downgrade", "re-upgrade", "upgrade"))
    failing += [f"{r.revision}: not checked: {r.error}" for r in schemashift_verify.revisions if r.status == "not checked"]
    if failing:
        pytest.fail(_context("Revisions that do not go up and down:", failing), pytrace=False)


@pytest.mark.schemashift
def test_schemashift_models_registered(schemashift_project: Any, schemashift_scratch_url: str | None) -> None:
    """Every model module is imported into the metadata env.py uses
    (pytest-alembic's ``test_all_models_register_on_metadata``)."""
    from .config import Project, load_project
    from .safety.model_modules import target_metadata, unregistered_tables

    project = schemashift_project if isinstance(schemashift_project, Project) else load_project(schemashift_project)
    metadata = target_metadata(project, schemashift_scratch_url)
    if metadata is None:
        pytest.skip("env.py passes no target_metadata")
    missing = unregistered_tables(metadata)
    if missing:
        pytest.fail(
            _context("Tables defined in modules env.py does not import (import them where the metadata is built):", missing),
            pytrace=False,
        )
