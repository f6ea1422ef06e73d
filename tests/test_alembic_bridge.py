"""The Alembic bridge fails loudly, never silently, when Alembic changes under it.

Every private Alembic name schemashift uses lives in ``alembic_bridge``; this
file checks each still exists and behaves, that the installed Alembic is in
the supported range, and that the canary stops a run whose interception of
``context.configure`` did not take.
"""

from __future__ import annotations

import inspect

import alembic
import pytest
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from schemashift.alembic_bridge import LOWEST_ALEMBIC, SUPPORTED_ALEMBIC
from schemashift.alembic_bridge.environment import AttachError
from schemashift.alembic_bridge.steps import downgrade_steps, stamp_steps, upgrade_steps
from schemashift.errors import MigrationFailed


def test_installed_alembic_is_in_the_supported_range():
    assert Version(alembic.__version__) in SpecifierSet(SUPPORTED_ALEMBIC)
    assert Version(LOWEST_ALEMBIC) in SpecifierSet(SUPPORTED_ALEMBIC)
    pyproject = (__import__("pathlib").Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert f'"alembic{SUPPORTED_ALEMBIC}"' in pyproject


def test_private_names_the_bridge_uses_still_exist():
    for name in ("_upgrade_revs", "_downgrade_revs", "_stamp_revs"):
        assert callable(getattr(ScriptDirectory, name)), name
    # configure forwards unknown keywords to MigrationContext.opts (how ops reach RunOptions)
    assert inspect.getfullargspec(EnvironmentContext.configure).varkw
    assert "opts" in inspect.signature(MigrationContext.__init__).parameters
    # on_version_apply callbacks get these keywords
    source = inspect.getsource(MigrationContext.run_migrations)
    for word in ("on_version_apply_callbacks", "ctx=self", "step=step.info", "heads=", "run_args="):
        assert word in source, word


def test_steps_are_planned_as_alembic_plans_them(sqlite_runcore):
    p = sqlite_runcore
    p.rev("aaa", None, "pass")
    p.rev("bbb", "aaa", "pass")
    script = ScriptDirectory.from_config(p.project().config)
    assert [s.revision.revision for s in upgrade_steps(script, "head", ())] == ["aaa", "bbb"]
    assert [s.revision.revision for s in downgrade_steps(script, "base", ("bbb",))] == ["bbb", "aaa"]
    assert [s.to_revisions for s in stamp_steps(script, ["head"], ())] == [("bbb",)]


def test_canary_stops_a_run_the_interception_missed(sqlite_runcore):
    """env.py reaching Alembic's configure around schemashift (as a changed proxy would) stops the run."""
    p = sqlite_runcore
    p.edit_env(
        "    context.configure(\n        connection=connection,",
        "    from alembic.runtime.environment import EnvironmentContext\n"
        "    EnvironmentContext.configure(context._proxy,\n        connection=connection,",
    )
    p.rev("aaa", None, "op.create_table('x', sa.Column('id', sa.Integer, primary_key=True))")
    with pytest.raises(AttachError, match="schemashift could not attach to env.py") as failed:
        p.upgrade()
    assert failed.value.exit_code == 70
    assert "x" not in p.tables() and p.version() == set()  # no migration ran


def test_run_options_reach_the_migration_context(sqlite_runcore):
    p = sqlite_runcore
    p.rev(
        "aaa", None,
        "from schemashift.runtime.options import options_of\n"
        "opts = options_of(op.get_context())\n"
        "assert opts is not None and opts.allow_loss and opts.atomic == 'run', opts",
    )
    from schemashift import api

    api.upgrade(p.project(), "head", allow_loss=True, atomic="run")
    assert p.version() == {"aaa"}
    p.rev("bbb", "aaa", "from schemashift.runtime.options import options_of\nassert options_of(op.get_context()).allow_loss")
    with pytest.raises(MigrationFailed, match="migration bbb failed: AssertionError"):
        api.upgrade(p.project(), "head")


def test_a_prelude_runs_inside_the_step_before_its_function(sqlite_runcore):
    """``run_first`` wraps the ``migration_fn`` attribute ``MigrationContext.run_migrations`` calls: the
    prelude sees the step's transaction open and the revision's function not yet run."""
    from alembic.runtime.migration import RevisionStep

    from schemashift.alembic_bridge.steps import run_first

    assert "self.migration_fn = revision.module.upgrade" in inspect.getsource(RevisionStep.__init__)
    assert "step.migration_fn(**kw)" in inspect.getsource(MigrationContext.run_migrations)
    p = sqlite_runcore
    p.rev("aaa", None, "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))")
    script = ScriptDirectory.from_config(p.project().config)
    [step] = upgrade_steps(script, "head", ())
    seen = []
    original = step.migration_fn
    run_first(step, lambda: seen.append("prelude"))
    assert step.migration_fn is not original and step.migration_fn.__name__ == "upgrade"
    import sqlalchemy as sa

    engine = sa.create_engine(p.url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        from alembic.operations import Operations

        with Operations.context(ctx):
            step.migration_fn()
    engine.dispose()
    assert seen == ["prelude"]
    assert "t" in p.tables()


def test_serving_answers_context_get_bind_while_configure_has_not_returned():
    """``serving`` sets the attribute ``EnvironmentContext.get_context()`` reads, and only when unset."""
    from alembic.script import ScriptDirectory as SD  # noqa: F401 - the same module Alembic uses

    from schemashift.alembic_bridge.environment import serving

    assert "self._migration_context" in inspect.getsource(EnvironmentContext.get_context)
    assert "self._migration_context = MigrationContext.configure(" in inspect.getsource(EnvironmentContext.configure)
    env = EnvironmentContext.__new__(EnvironmentContext)
    env._migration_context = None
    marker = object()
    with serving(env, marker):
        assert env.get_context() is marker
    assert env._migration_context is None
    other = object()
    env._migration_context = other
    with serving(env, marker):
        assert env.get_context() is other
