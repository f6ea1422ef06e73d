"""A revision that decides from the database is judged again just before it runs.

The plan judges every revision on the database as the run found it.  A
revision that reads the database to choose what to do (``if has_table(...)``,
reflecting columns) may do something else once the steps before it have
changed the database: planned alone it drops nothing, run after its
predecessors it drops a column holding values.  Before, such a drop ran
unrefused in ``upgrade head`` although ``upgrade`` one step at a time refused
it.  Now its operations are captured again in the step's transaction, with
live rows, and a finding the plan did not show refuses the step.
"""

from __future__ import annotations

import pytest

from schemashift import api
from schemashift.checks.refusal import UnsafeOperations, UnsafeWhenRun
from schemashift.errors import Refused

PEOPLE = [(1, "ann", "a"), (2, "bob", None), (3, "cyd", "c")]

RENAME = "op.rename_table('users_old', 'users')"
RENAME_BACK = "op.rename_table('users', 'users_old')"

# drops users.nickname only if the table (and the column) is there: a reflecting revision
DROP_IF_THERE = """
insp = sa.inspect(op.get_bind())
if insp.has_table('users') and 'nickname' in [c['name'] for c in insp.get_columns('users')]:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('nickname')
"""
ADD_BACK = "op.add_column('users', sa.Column('nickname', sa.String(20)))"


def seeded(p) -> None:
    p.run_sql(
        "CREATE TABLE users_old (id INTEGER PRIMARY KEY, name VARCHAR(20), nickname VARCHAR(20))",
        *(f"INSERT INTO users_old VALUES ({i}, '{n}', {repr(k) if k else 'NULL'})" for i, n, k in PEOPLE),
    )


def rename_then_drop_if_there(p) -> None:
    """users_old with rows; a1 renames it to users; b2 drops users.nickname if it finds it."""
    seeded(p)
    p.rev("a1", None, RENAME, RENAME_BACK)
    p.rev("b2", "a1", DROP_IF_THERE, ADD_BACK)


@pytest.mark.also_mariadb
def test_a_drop_the_plan_could_not_see_is_refused_when_it_runs(runcore, backend):
    p = runcore
    rename_then_drop_if_there(p)
    with pytest.raises(UnsafeWhenRun) as refused:
        p.upgrade(allow_destructive=False)
    exc = refused.value
    assert exc.exit_code == Refused.exit_code == 5
    assert [f.rule for f in exc.findings] == ["SS-D102"]
    assert "users.nickname holding 2 values" in exc.findings[0].message  # live, after a1 ran: 2 of 3 set
    assert exc.message.startswith("migration b2 refused: 1 unsafe operation that the plan before the run could not see")
    if backend == "mariadb":  # judged before b2's first statement: nothing of it ran
        assert "stayed applied: none" in exc.hint
    else:
        assert "rolled back: the database is as it was before migration b2" in exc.hint
    # a1 committed (a transaction per migration), b2 did not run: every value still there
    assert p.version() == {"a1"}
    assert p.rows("users", "id, name, nickname") == PEOPLE
    assert [r for r in p.ledger() if r[0] in ("a1", "b2")] == [("a1", "up")]
    # now b2 is the first step: the plan sees it, and refuses before anything runs
    with pytest.raises(UnsafeOperations) as planned:
        p.upgrade(allow_destructive=False)
    assert not isinstance(planned.value, UnsafeWhenRun) and [f.rule for f in planned.value.findings] == ["SS-D102"]
    assert p.rows("users", "id, name, nickname") == PEOPLE


def test_a_whole_run_refused_at_a_later_step_is_rolled_back_entirely(runcore):
    p = runcore
    rename_then_drop_if_there(p)
    with pytest.raises(UnsafeWhenRun) as refused:
        p.upgrade(allow_destructive=False, atomic="run")
    assert "rolled back: the database is as it was before the run" in refused.value.hint
    assert p.version() == set()
    assert "users" not in p.tables()
    assert p.rows("users_old", "id, name, nickname") == PEOPLE


def test_allowed_it_runs_and_the_result_keeps_what_was_judged_when_it_ran(runcore):
    p = runcore
    rename_then_drop_if_there(p)
    result = p.upgrade(allow_destructive=False, allow=["SS-D102"])
    assert [s.revision for s in result.steps] == ["a1", "b2"]
    planned = {r.revision: r for r in result.plan.revisions}
    assert planned["b2"].operations == [] and planned["b2"].depends_on_state  # alone it did nothing
    assert not planned["a1"].depends_on_state
    [when_run] = result.plan.when_run
    assert when_run.revision == "b2"
    [drop] = [f for f in when_run.all_findings() if f.level == "error"]
    assert (drop.rule, drop.allowed_by) == ("SS-D102", "--allow")
    assert p.version() == {"b2"}
    assert p.rows("users", "id, name") == [(i, n) for i, n, _ in PEOPLE]


def test_a_revision_that_failed_to_plan_is_judged_when_it_runs(runcore):
    """Reflecting a table an earlier step creates fails at plan time (the capture stops); at its step it is
    followed to its end, and its drop is judged with live rows."""
    p = runcore
    seeded(p)
    p.rev("a1", None, RENAME, RENAME_BACK)
    p.rev(
        "b2", "a1",
        "cols = [c['name'] for c in sa.inspect(op.get_bind()).get_columns('users')]\n"
        "if 'nickname' in cols:\n"
        "    op.drop_column('users', 'nickname')",
        ADD_BACK,
    )
    with pytest.raises(UnsafeWhenRun) as refused:
        p.upgrade(allow_destructive=False)
    assert [f.rule for f in refused.value.findings] == ["SS-D102"]
    assert p.version() == {"a1"} and p.rows("users", "id, name, nickname") == PEOPLE


def test_nothing_new_when_run_means_no_refusal(runcore):
    """No false alarm: the revision reads, is judged again, finds only safe operations, and runs."""
    p = runcore
    seeded(p)
    p.rev("a1", None, RENAME, RENAME_BACK)
    p.rev(
        "b2", "a1",
        "if sa.inspect(op.get_bind()).has_table('users'):\n"
        "    op.add_column('users', sa.Column('score', sa.Integer, nullable=True))",
        "op.drop_column('users', 'score')",
    )
    result = p.upgrade(allow_destructive=False)
    assert [s.revision for s in result.steps] == ["a1", "b2"]
    [when_run] = result.plan.when_run
    assert when_run.revision == "b2" and not [f for f in when_run.all_findings() if f.level != "info"]
    assert [o.description for o in when_run.operations] == ["add column users.score INTEGER"]
    assert when_run.operations[0].rows == 3  # live: the table a1 renamed, with its rows
    assert p.rows("users", "id, name, nickname, score") == [(i, n, k, None) for i, n, k in PEOPLE]


def test_a_finding_confirmed_at_the_prompt_stays_confirmed_when_judged_again(runcore):
    p = runcore
    seeded(p)
    p.run_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(20))",
              "INSERT INTO notes VALUES (1, 'keep me?')")
    p.rev("a1", None, RENAME, RENAME_BACK)
    p.rev(
        "b2", "a1",
        "op.drop_column('notes', 'body')\n"
        "if sa.inspect(op.get_bind()).has_table('users'):\n"
        "    op.add_column('users', sa.Column('score', sa.Integer, nullable=True))",
        "op.add_column('notes', sa.Column('body', sa.String(20)))",
    )
    asked: list = []

    def confirm(plan, findings):
        asked.append([(f.rule, f.revision) for f in findings])
        return True

    result = p.upgrade(allow_destructive=False, confirm=confirm)
    assert asked == [[("SS-D102", "b2")]]  # once, before the run; not again inside b2's transaction
    [when_run] = result.plan.when_run
    assert [(f.rule, f.allowed_by) for f in when_run.all_findings() if f.level == "error"] == [("SS-D102", "prompt")]
    assert p.version() == {"b2"} and p.rows("notes", "id") == [(1,)]


def test_revisions_that_never_read_are_not_judged_again(runcore):
    """Judging again costs a capture: only revisions that read the database (or raised) pay it, and never
    the first step, which the plan saw on the very database it runs on."""
    p = runcore
    seeded(p)
    p.rev("a1", None, "if sa.inspect(op.get_bind()).has_table('users_old'):\n    " + RENAME, RENAME_BACK)
    p.rev("b2", "a1", "op.add_column('users', sa.Column('score', sa.Integer))", "op.drop_column('users', 'score')")
    result = p.upgrade(allow_destructive=False)
    assert [s.revision for s in result.steps] == ["a1", "b2"]
    assert {r.revision: r.depends_on_state for r in result.plan.revisions} == {"a1": True, "b2": False}
    assert result.plan.when_run == []
    assert p.rows("users", "id, name, nickname, score") == [(i, n, k, None) for i, n, k in PEOPLE]
    api.downgrade(p.project(), "base", allow_destructive=True)
    assert p.rows("users_old", "id, name, nickname") == PEOPLE


def test_the_plan_says_which_revisions_it_will_judge_again(runcore):
    from schemashift.checks.render import plan_text

    p = runcore
    seeded(p)
    p.rev("a1", None, "if sa.inspect(op.get_bind()).has_table('users_old'):\n    " + RENAME, RENAME_BACK)
    p.rev("b2", "a1", DROP_IF_THERE, ADD_BACK)
    lines = [text for text, _ in plan_text(api.plan(p.project(), "head"))]
    note = "  (decides from the database: judged again when it runs, after the steps before it)"
    assert lines.count(note) == 1 and lines[lines.index(note) - 1].startswith("b2  ")  # a1 runs first: as planned
    assert p.version() == set() and p.rows("users_old", "id, name, nickname") == PEOPLE


def test_a_write_the_revision_catches_still_stops_the_plan(runcore):
    """The plan stops a write sent through op.get_bind(); a revision that catches the exception
    (``except Exception``) went on down the path it takes when the write fails, and the plan showed
    that path as if it were the one that runs.  Now the plan says it could not follow the function."""
    p = runcore
    seeded(p)
    p.rev(
        "a1", None,
        "from sqlalchemy import text\n"
        "try:\n"
        "    op.get_bind().execute(text(\"UPDATE users_old SET nickname = 'x' WHERE id = 1\"))\n"
        "except Exception:\n"
        "    op.drop_column('users_old', 'nickname')\n",
        "op.add_column('users_old', sa.Column('nickname', sa.String(20)))",
    )
    plan = api.plan(p.project(), "head")
    [planned] = plan.revisions
    assert planned.stopped == "it writes through op.get_bind(); what follows that write is not planned"
    assert "SS-X601" in {f.rule for f in planned.all_findings()}
    assert p.rows("users_old", "id, name, nickname") == PEOPLE  # planning wrote nothing
