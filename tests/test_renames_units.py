"""Each step of the rename pipeline on its own: ops in, ops out, no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from schemashift.autogen.renames import (
    compare,
    derived,
    errors,
    facts,
    maps,
    oldworld,
    plan,
    rewrite,
    scoring,
    survey,
)
from schemashift.autogen.renames import ops as rename_ops
from schemashift.autogen.renames.declared import (
    SOURCE_CLI,
    DeclaredRenames,
    DeclaredColumnRename,
    DeclaredTableRename,
    RenameSpecError,
    collect_declared,
    declare,
    parse_rename_spec,
    with_cli_renames,
)
from schemashift.autogen.describe import describe_ops
from schemashift.schema.sql import default_value
from schemashift.schema.types import describe_type
from schemashift.autogen.questioner import (
    Answer,
    InteractiveQuestioner,
    NonInteractiveQuestioner,
    ScriptedQuestioner,
    default_questioner,
)
from schemashift.errors import SchemashiftError

# every step of the renames package under one name (the units tested here are its internals)
rn = SimpleNamespace(
    **{
        k: v
        for m in (compare, derived, errors, facts, maps, oldworld, plan, rewrite, scoring, survey, rename_ops)
        for k, v in vars(m).items()
        if not k.startswith("_")
    }
)

PG = postgresql.dialect()
LITE = sqlite.dialect()
NC = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# ---------------------------------------------------------------- helpers


def students(md: sa.MetaData, name: str = "students", *, col: str = "name", **info) -> sa.Table:
    return sa.Table(
        name,
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(col, sa.String(50), nullable=False, index=True),
        sa.Column("email", sa.String(80)),
        **info,
    )


def db_table(build) -> sa.Table:
    """A table as the database has it (a separate MetaData, like reflection)."""
    md = sa.MetaData(naming_convention=NC)
    return build(md)


def drop_table_ops(table: sa.Table) -> list:
    out = []
    idx = [ops.DropIndexOp.from_index(i) for i in table.indexes]
    if idx:
        out.append(ops.ModifyTableOps(table.name, idx, schema=table.schema))
    out.append(ops.DropTableOp.from_table(table))
    return out


def create_table_ops(table: sa.Table) -> list:
    out = [ops.CreateTableOp.from_table(table)]
    idx = [ops.CreateIndexOp.from_index(i) for i in table.indexes]
    if idx:
        out.append(ops.ModifyTableOps(table.name, idx, schema=table.schema))
    return out


def model_of(md: sa.MetaData) -> dict:
    return rn.model_tables(md)


def cand(kind="table", old="students", new="scholars", table=None, ambiguous=False, alts=()):
    return rn.RenameCandidate(kind, None, table, old, new, 0.9, ambiguous, tuple(alts))


# ---------------------------------------------------------------- declared


def test_collect_declared_tables_columns_and_lists() -> None:
    md = sa.MetaData()
    sa.Table(
        "scholars",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("full_name", sa.String, info={"renamed_from": "name"}),
        info={"renamed_from": ["pupils", "students"]},
    )
    d = collect_declared(md)
    assert d.tables[(None, "scholars")].olds == ("pupils", "students")
    assert d.columns[(None, "scholars", "full_name")].olds == ("name",)
    assert collect_declared(None) == DeclaredRenames()
    assert collect_declared([md]).tables == d.tables


@pytest.mark.parametrize("value", [3, [], [""], {"a": 1}])
def test_collect_declared_rejects_bad_values(value) -> None:
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": value})
    with pytest.raises(RenameSpecError) as err:
        collect_declared(md)
    assert isinstance(err.value, SchemashiftError) and "renamed_from" in err.value.one_line()


def test_declared_self_name_is_ignored() -> None:
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "t"})
    assert not collect_declared(md)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("students=scholars", DeclaredTableRename(None, "scholars", ("students",), SOURCE_CLI)),
        (" students = scholars ", DeclaredTableRename(None, "scholars", ("students",), SOURCE_CLI)),
        ("app.students=app.scholars", DeclaredTableRename("app", "scholars", ("students",), SOURCE_CLI)),
        ("scholars.name=full_name", DeclaredColumnRename(None, "scholars", "full_name", ("name",), SOURCE_CLI)),
        ("app.scholars.name=full_name", DeclaredColumnRename("app", "scholars", "full_name", ("name",), SOURCE_CLI)),
    ],
)
def test_parse_rename_spec(spec, expected) -> None:
    assert parse_rename_spec(spec) == expected


@pytest.mark.parametrize("spec", ["students", "a=b=c", "=b", "a.b.c.d=e", "app.a=other.b", "a.b=c.d.e", "a=", "a b=c"])
def test_parse_rename_spec_errors(spec) -> None:
    with pytest.raises(RenameSpecError) as err:
        parse_rename_spec(spec)
    assert err.value.exit_code == 2 and "--rename" in err.value.message


def test_cli_wins_over_model_and_conflicting_cli_is_refused() -> None:
    md = sa.MetaData()
    sa.Table("scholars", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "pupils"})
    d = declare(md, ["students=scholars"])
    assert d.tables[(None, "scholars")].olds == ("students",)
    assert d.tables[(None, "scholars")].source == SOURCE_CLI
    with pytest.raises(RenameSpecError):
        with_cli_renames(DeclaredRenames(), ["a=x", "b=x"])


@given(
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
    st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)),
    st.booleans(),
)
def test_candidate_spec_parses_back(old: str, new: str, table: str | None, column: bool) -> None:
    kind = "column" if column else "table"
    c = rn.RenameCandidate(kind, None, (table or "t") if column else None, old, new, 0.9)
    parsed = parse_rename_spec(c.spec)
    assert parsed.olds == (old,) and parsed.new == new
    assert isinstance(parsed, DeclaredColumnRename if column else DeclaredTableRename)


# ---------------------------------------------------------------- questioner


def test_interactive_prompt_text_and_answers() -> None:
    prompts, printed = [], []
    answers = iter(["maybe", "Y"])
    q = InteractiveQuestioner(input_fn=lambda p: (prompts.append(p), next(answers))[1], print_fn=printed.append)
    assert q.ask_rename(cand()) is Answer.RENAMED
    assert prompts == ["Was table students renamed to scholars? [y/N] "] * 2
    assert printed == ["Please answer y or n."]
    q2 = InteractiveQuestioner(input_fn=lambda p: (prompts.append(p), "")[1], print_fn=printed.append)
    assert q2.ask_rename(cand("column", "name", "full_name", table="scholars")) is Answer.NOT_RENAMED
    assert prompts[-1] == "Was column scholars.name renamed to full_name? [y/N] "


def test_interactive_eof_leaves_undecided_and_ambiguous_shows_rivals() -> None:
    def eof(_):
        raise EOFError

    printed = []
    q = InteractiveQuestioner(input_fn=eof, print_fn=printed.append)
    assert q.ask_rename(cand(ambiguous=True, alts=("pupils",))) is Answer.UNDECIDED
    assert "pupils" in printed[0]


def test_non_interactive_and_scripted() -> None:
    assert NonInteractiveQuestioner().ask_rename(cand()) is Answer.UNDECIDED
    assert NonInteractiveQuestioner(accept_unambiguous=True).ask_rename(cand()) is Answer.RENAMED
    assert NonInteractiveQuestioner(accept_unambiguous=True).ask_rename(cand(ambiguous=True)) is Answer.UNDECIDED
    assert NonInteractiveQuestioner.decides is False
    s = ScriptedQuestioner({"students=scholars": True, "Was column t.a renamed to b?": True})
    assert s.ask_rename(cand()) is True
    assert s.ask_rename(cand("column", "a", "b", table="t")) is True
    assert s.ask_rename(cand(old="x")) is False
    assert s.asked[0] == "Was table students renamed to scholars?"


def test_default_questioner_follows_the_terminal() -> None:
    class Tty:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    assert isinstance(default_questioner(stdin=Tty(True)), InteractiveQuestioner)
    q = default_questioner(stdin=Tty(False), accept_unambiguous=True)
    assert isinstance(q, NonInteractiveQuestioner) and q.accept_unambiguous


# ---------------------------------------------------------------- facts and scores


def storage(type_, dialect=None) -> str:
    return describe_type(type_, dialect).storage


def test_rename_evidence_compares_types_by_storage_family() -> None:
    assert storage(sa.Integer()) == storage(sa.BigInteger()) == "integer"
    assert storage(postgresql.JSONB()) == storage(sa.JSON()) == "json"
    assert storage(sa.Enum("a", "b")) == "string"
    assert storage(sa.Text()) == storage(sa.VARCHAR(3)) == "string"
    assert storage(sa.Boolean()) == "boolean"
    assert storage(sqlite.DATETIME()) == "datetime"
    assert storage(sa.Float()) == storage(sa.Numeric(10, 2)) == "numeric"
    assert storage(postgresql.INTERVAL(), PG) == "interval"
    assert storage(postgresql.ARRAY(sa.Integer)) == "array"
    assert storage(sa.types.NullType()) == "null"
    # two types this vocabulary does not know are only like themselves
    assert storage(postgresql.TSVECTOR()) != storage(postgresql.INET())

    class Upper(sa.types.TypeDecorator):
        impl = sa.String
        cache_ok = True

    assert storage(Upper()) == "string"
    assert rn.column_facts(sa.Column("x", Upper()), 0).affinity == "string"


def test_default_value_normalises() -> None:
    assert default_value(sa.DefaultClause("x")) == default_value(sa.DefaultClause(sa.text("'x'"))) == "x"
    assert default_value(sa.DefaultClause(sa.text("('x'::character varying)"))) == "x"
    assert default_value(sa.DefaultClause(sa.text("'It''s'::text"))) == "it's"
    assert default_value(sa.DefaultClause(sa.text("(now() AT TIME ZONE 'utc'::text)"))) == "now() at time zone 'utc'"
    assert default_value(sa.DefaultClause(sa.text("nextval('s'::regclass)"))) == "nextval('s'::regclass)"
    assert default_value(sa.DefaultClause(sa.text("(ARRAY['a'::text])::text[]"))) == "array['a'::text]"
    assert default_value(None) is None


def facts(table: sa.Table) -> rn.TableFacts:
    return rn.table_facts(table, LITE)


def test_score_tables_similar_and_unrelated() -> None:
    a = facts(students(sa.MetaData()))
    b = facts(students(sa.MetaData(), "scholars", col="full_name"))
    md = sa.MetaData()
    logs = facts(
        sa.Table(
            "logs",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("message", sa.Text),
            sa.Column("at", sa.DateTime),
        )
    )
    assert rn.score_tables(a, b) >= rn.TABLE_MIN_SCORE
    assert rn.shared_column_fraction(a, b) >= rn.TABLE_MIN_SHARED_COLUMNS
    assert rn.shared_column_fraction(a, logs) < rn.TABLE_MIN_SHARED_COLUMNS
    assert rn.score_tables(a, a) == pytest.approx(1.0)


def test_score_columns() -> None:
    t = students(sa.MetaData())
    t2 = students(sa.MetaData(), col="full_name")
    name = rn.column_facts(t.c.name, 1, LITE)
    full = rn.column_facts(t2.c.full_name, 1, LITE)
    email = rn.column_facts(t.c.email, 2, LITE)
    ident = rn.column_facts(t.c.id, 0, LITE)
    assert rn.score_columns(name, full) >= rn.COLUMN_MIN_SCORE
    assert rn.score_columns(name, email) < rn.score_columns(name, full)
    assert rn.score_columns(ident, full) == 0.0  # integer vs string


def test_pick_marks_close_rivals_ambiguous_and_drops_dominated() -> None:
    picked = rn.pick({("a", "x"): 0.9, ("a", "y"): 0.85, ("b", "z"): 0.9, ("b", "w"): 0.7})
    by = {(o, n): (amb, alts) for o, n, _s, amb, alts in picked}
    assert by[("a", "x")] == (True, ("y",))
    assert by[("a", "y")] == (True, ("x",))
    assert by[("b", "z")] == (False, ())
    assert ("b", "w") not in by


# ---------------------------------------------------------------- survey, plan, candidates


def scenario_ops(old_tables, new_md):
    up = ops.UpgradeOps([])
    for t in new_md.sorted_tables:
        if all(t.name != o.name for o in old_tables):
            up.ops.extend(create_table_ops(t))
    for o in old_tables:
        if o.name not in new_md.tables:
            up.ops.extend(drop_table_ops(o))
    return up


def test_survey_and_detected_table_rename() -> None:
    old = db_table(students)
    new_md = sa.MetaData(naming_convention=NC)
    students(new_md, "scholars", col="full_name")
    sv = rn.survey(scenario_ops([old], new_md), model_of(new_md), LITE)
    assert set(sv.dropped) == {(None, "students")} and set(sv.created) == {(None, "scholars")}
    assert sv.dropped[(None, "students")].indexes[0].columns == ("name",)
    cands = rn.table_candidates(sv)
    assert [(c.old, c.new, c.ambiguous) for c in cands] == [("students", "scholars", False)]
    assert cands[0].suggestion == '__table_args__ = {"info": {"renamed_from": "students"}}'
    res = rn.resolve(cands, ScriptedQuestioner({"students=scholars": True}))
    assert res.accepted == cands
    renames = [rn.TableRename(None, "students", "scholars", "confirmed")]
    scopes = rn.column_scopes(sv, renames, dialect=LITE)
    ccands = rn.column_candidates(scopes)
    assert [(c.table, c.old, c.new) for c in ccands] == [("scholars", "name", "full_name")]
    assert ccands[0].suggestion == 'full_name = mapped_column(..., info={"renamed_from": "name"})'


def test_ambiguous_tables_are_never_accepted_without_a_person() -> None:
    old = db_table(students)
    new_md = sa.MetaData(naming_convention=NC)
    students(new_md, "scholars")
    students(new_md, "pupils")
    sv = rn.survey(scenario_ops([old], new_md), model_of(new_md), LITE)
    cands = rn.table_candidates(sv)
    assert len(cands) == 2 and all(c.ambiguous for c in cands)
    res = rn.resolve(cands, NonInteractiveQuestioner(accept_unambiguous=True))
    assert not res.accepted and len(res.unresolved) == 2
    res = rn.resolve(cands, ScriptedQuestioner({"students=pupils": True}))
    assert [c.new for c in res.accepted] == ["pupils"]


def _survey_for(db_names_and_ops, model_md, changed=()):
    """A survey of an autogenerate run where the db has ``db`` tables (name -> Table)."""
    up = ops.UpgradeOps(list(db_names_and_ops))
    sv = rn.survey(up, model_of(model_md), LITE)
    for key in changed:
        sv.changed.setdefault(key, rn.ChangedTable(key, has_ops=True)).has_ops = True
    return sv


def test_plan_declared_simple_and_list_first_match() -> None:
    old = db_table(students)
    md = sa.MetaData(naming_convention=NC)
    students(md, "scholars", info={"renamed_from": ["pupils", "students"]})
    sv = _survey_for(scenario_ops([old], md).ops, md)
    renames, notes = rn.plan_table_renames(sv, collect_declared(md))
    assert [(r.old, r.new, r.source) for r in renames] == [("students", "scholars", "declared")]


def test_plan_declared_already_applied_is_silent_cli_reports() -> None:
    md = sa.MetaData()
    students(md, "scholars", info={"renamed_from": "students"})
    sv = _survey_for([], md)  # database already has scholars, no students
    assert rn.plan_table_renames(sv, collect_declared(md)) == ([], [])
    renames, notes = rn.plan_table_renames(sv, declare(md, ["students=scholars"]))
    assert renames == [] and "did not apply" in notes[0]


def test_plan_cli_target_exists_is_a_conflict() -> None:
    md = sa.MetaData()
    students(md, "scholars")
    old = db_table(students)
    sv = _survey_for(drop_table_ops(old), md)  # db: students + scholars
    with pytest.raises(rn.RenameConflict) as err:
        rn.plan_table_renames(sv, declare(md, ["students=scholars"]))
    assert err.value.old == "students" and err.value.new == "scholars" and err.value.exit_code == 5
    with pytest.raises(rn.RenameConflict):
        rn.plan_table_renames(sv, declare(md, ["students=nowhere"]))


def test_plan_declared_while_both_exist_refuses_to_drop_the_old() -> None:
    md = sa.MetaData()
    students(md, "scholars", info={"renamed_from": "students"})
    sv = _survey_for(drop_table_ops(db_table(students)), md)  # db: students + scholars; students dropped
    with pytest.raises(rn.RenameConflict) as err:
        rn.plan_table_renames(sv, collect_declared(md))
    assert "would drop students" in err.value.one_line()


def test_plan_chain_and_swap() -> None:
    md = sa.MetaData()
    sa.Table("b", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "a"})
    sa.Table("c", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "b"})
    a = sa.Table("a", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    create_c = create_table_ops(md.tables["c"])
    sv = _survey_for([*create_c, *drop_table_ops(a)], md)
    renames, _ = rn.plan_table_renames(sv, collect_declared(md))
    assert sorted((r.old, r.new) for r in renames) == [("a", "b"), ("b", "c")]
    assert rn.order_renames([(r.old, r.new) for r in renames]) == [("b", "c"), ("a", "b")]

    md2 = sa.MetaData()
    sa.Table("a", md2, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "b"})
    sa.Table("b", md2, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "a"})
    # no differences seen: a declared swap is already done, ignored with a note
    renames, notes = rn.plan_table_renames(_survey_for([], md2), collect_declared(md2))
    assert renames == [] and "swap" in notes[0]
    sv = _survey_for([], md2, changed=[(None, "a")])
    renames, _ = rn.plan_table_renames(sv, collect_declared(md2))
    assert sorted((r.old, r.new) for r in renames) == [("a", "b"), ("b", "a")]


def test_plan_two_tables_from_one_is_a_conflict() -> None:
    md = sa.MetaData()
    students(md, "scholars", info={"renamed_from": "students"})
    students(md, "pupils", info={"renamed_from": "students"})
    old = db_table(students)
    sv = _survey_for(scenario_ops([old], md).ops, md)
    with pytest.raises(rn.RenameConflict) as err:
        rn.plan_table_renames(sv, collect_declared(md))
    assert "pupils and scholars" in err.value.message


def test_plan_columns_declared_chain() -> None:
    md = sa.MetaData()
    t = sa.Table(
        "t",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("b", sa.Integer, info={"renamed_from": "a"}),
        sa.Column("c", sa.String(5), info={"renamed_from": "b"}),
    )
    dbt = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("a", sa.Integer), sa.Column("b", sa.String(5)))
    up = ops.UpgradeOps(
        [
            ops.ModifyTableOps(
                "t",
                [
                    ops.AddColumnOp.from_column_and_tablename(None, "t", t.c.c),
                    ops.DropColumnOp.from_column_and_tablename(None, "t", dbt.c.a),
                ],
            )
        ]
    )
    sv = rn.survey(up, model_of(md), LITE)
    scopes = rn.column_scopes(sv, [], dialect=LITE, only={(None, "t")})
    reflected = rn.table_facts(dbt, LITE)
    cols, notes = rn.plan_column_renames(scopes, collect_declared(md), sv, reflect=lambda k: reflected, dialect=LITE)
    assert sorted((c.old, c.new) for c in cols) == [("a", "b"), ("b", "c")]
    assert all(c.existing is not None for c in cols)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefg"), st.sampled_from("abcdefgh"), max_size=7).filter(
    lambda m: len(set(m.values())) == len(m)
))
def test_order_renames_carries_out_parallel_renames(mapping) -> None:
    """Applied in order, the steps rename every object to its target, never onto a taken name."""
    current = {n: n for n in mapping}  # identity -> current name
    present = set(mapping)
    for old, new in rn.order_renames(list(mapping.items())):
        assert old in present and new not in present
        present.remove(old)
        present.add(new)
        ident = next(i for i, c in current.items() if c == old)
        current[ident] = new
    assert current == mapping


def _case_blind_mapping(m: dict[str, str]) -> bool:
    return len({k.lower() for k in m}) == len(m) and len({v.lower() for v in m.values()}) == len(m)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdAB"), st.sampled_from("abcdeABCE"), max_size=5).filter(_case_blind_mapping))
def test_order_renames_on_a_case_blind_database(mapping) -> None:
    """SQLite's table names: no step renames onto a name taken in any letter case, the
    table itself included ("Users" -> "users" goes through a temporary name)."""
    current = {n: n for n in mapping}
    present = set(mapping)
    for old, new in rn.order_renames(list(mapping.items()), case_blind=True):
        assert old in present and new.lower() not in {p.lower() for p in present}, (old, new, present)
        present.remove(old)
        present.add(new)
        ident = next(i for i, c in current.items() if c == old)
        current[ident] = new
    assert current == mapping


# ---------------------------------------------------------------- old world and rewrite


def rename_fixture():
    """DB: students(id, name ix, email) + enrollments -> models: scholars(id, full_name ix, email)."""
    db_md = sa.MetaData(naming_convention=NC)
    old = students(db_md)
    enroll_db = sa.Table(
        "enrollments", db_md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("student_id", sa.ForeignKey("students.id"))
    )
    md = sa.MetaData(naming_convention=NC)
    students(md, "scholars", col="full_name")
    enroll = sa.Table(
        "enrollments", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("student_id", sa.ForeignKey("scholars.id"))
    )
    fk_old = next(iter(enroll_db.foreign_key_constraints))
    fk_new = next(iter(enroll.foreign_key_constraints))
    up = ops.UpgradeOps(
        [
            *create_table_ops(md.tables["scholars"]),
            *drop_table_ops(old),
            ops.ModifyTableOps(
                "enrollments",
                [ops.DropConstraintOp.from_constraint(fk_old), ops.CreateForeignKeyOp.from_constraint(fk_new)],
            ),
        ]
    )
    plan = rn.RenamePlan(
        (rn.TableRename(None, "students", "scholars", "declared"),),
        (rn.ColumnRename(None, "scholars", "name", "full_name", "declared", existing=rn.column_facts(old.c.name, 1, LITE)),),
    )
    return db_md, md, up, plan


def test_old_world_copies_carry_old_names_and_model_details() -> None:
    _db, md, _up, plan = rename_fixture()
    world = rn.old_world_metadata(plan, model_of(md))
    copy = world.copies[(None, "scholars")]
    assert copy.name == "students" and [c.name for c in copy.columns] == ["id", "name", "email"]
    assert {str(i.name) for i in copy.indexes} == {"ix_scholars_full_name"}  # the model's name, kept
    assert copy.primary_key.name == "pk_scholars"
    assert world.by_copy == {(None, "students"): (None, "scholars")}
    assert md.tables["scholars"].c.full_name.name == "full_name"  # the models are untouched


def test_old_world_fk_targets_and_stubs() -> None:
    md = sa.MetaData()
    sa.Table("courses", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("classes", md, sa.Column("id", sa.Integer, primary_key=True), info={"renamed_from": "courses_old"})
    sa.Table(
        "scholars",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("course_id", sa.ForeignKey("courses.id")),
        sa.Column("class_id", sa.ForeignKey("classes.id")),
        sa.Column("mentor_id", sa.ForeignKey("scholars.id")),
    )
    plan = rn.RenamePlan(
        (rn.TableRename(None, "students", "scholars", "x"), rn.TableRename(None, "courses_old", "classes", "x"))
    )
    world = rn.old_world_metadata(plan, model_of(md))
    copy = world.copies[(None, "scholars")]
    targets = {fk.parent.name: fk.column.table.name for fk in copy.foreign_keys}
    assert targets == {"course_id": "courses", "class_id": "courses_old", "mentor_id": "students"}
    stub = copy.metadata.tables["courses"]
    assert id(stub) in world.stubs
    include = world.include_object(None)
    assert include(stub, "courses", "table", False, None) is False
    assert include(copy, "students", "table", False, None) is True
    name_ok = world.include_name(None)
    assert name_ok("students", "table", {"schema_name": None}) and not name_ok("courses", "table", {"schema_name": None})


def fake_diff_ops():
    """What Alembic reports for the old-world copy against the database: the index name differs."""
    return [
        ops.ModifyTableOps(
            "students",
            [
                ops.DropIndexOp.from_index(
                    sa.Index("ix_students_name", sa.Table("students", sa.MetaData(), sa.Column("name", sa.String)).c.name)
                ),
                ops.CreateIndexOp("ix_scholars_full_name", "students", ["name"]),
                ops.AddColumnOp("students", sa.Column("year", sa.Integer)),
            ],
        )
    ]


@pytest.mark.parametrize("dialect", [PG, LITE], ids=["postgresql", "sqlite"])
def test_rewrite_orders_renames_first_and_reverses(dialect) -> None:
    db_md, md, up, plan = rename_fixture()
    sa.Table("scholars", md, sa.Column("year", sa.Integer), extend_existing=True)
    world = rn.old_world_metadata(plan, model_of(md))
    result = rn.rewrite(up, plan, model_of(md), dialect=dialect, world=world, diff_ops=fake_diff_ops())
    lines = describe_ops(result.upgrade_ops)
    assert lines[:2] == ["rename table students to scholars", "rename column scholars.name to full_name"]
    if dialect is PG:
        assert "rename index ix_students_name to ix_scholars_full_name (table scholars)" in lines
        assert (
            "rename foreign key fk_enrollments_student_id_students to fk_enrollments_student_id_scholars "
            "(table enrollments)" in lines
        )
    else:
        assert "drop index ix_students_name on scholars" in lines
        assert "add index ix_scholars_full_name on scholars (full_name)" in lines
        assert any("cannot rename foreign key" in n for n in result.notes)
    assert "add column scholars.year INTEGER" in lines
    assert not [ln for ln in lines if ln.startswith(("drop table", "add table", "drop column", "add foreign key"))]
    down = describe_ops(result.upgrade_ops.reverse())
    assert down[-2:] == ["rename column scholars.full_name to name", "rename table scholars to students"]
    assert down[0] == "drop column scholars.year"
    if dialect is LITE:
        assert "add index ix_students_name on scholars (full_name)" in down  # recreated on the new column name


def test_rewrite_without_plan_is_identity() -> None:
    _db, md, up, _plan = rename_fixture()
    result = rn.rewrite(up, rn.RenamePlan(), model_of(md), dialect=PG)
    assert result.upgrade_ops is up


def test_rename_ops_render_outside_batch() -> None:
    up = ops.UpgradeOps(
        [
            rn.RenameTable("students", "scholars"),
            rn.RenameColumn("scholars", "name", "full_name", existing_type=sa.String(50), existing_nullable=False),
            ops.ModifyTableOps("scholars", [ops.AddColumnOp("scholars", sa.Column("year", sa.Integer))]),
        ]
    )
    text = render_python_code(up, render_as_batch=True)
    assert "op.rename_table('students', 'scholars')" in text
    assert "op.alter_column('scholars', 'name'" in text and "new_column_name='full_name'" in text
    assert "batch_op.add_column" in text  # other changes keep the user's batch mode
    down = render_python_code(up.reverse(), render_as_batch=True)
    assert "op.rename_table('scholars', 'students')" in down and "new_column_name='name'" in down


def test_rename_ops_diff_tuples_for_alembic_check() -> None:
    up = ops.UpgradeOps([rn.RenameTable("a", "b"), ops.ModifyTableOps("b", [rn.RenameColumn("b", "x", "y")])])
    assert up.as_diffs() == [("rename_table", None, "a", "b"), [("rename_column", None, "b", "x", "y")]]


def test_rename_object_sql_quotes() -> None:
    op = rn.RenameObjectSQL("index", "App", "order", "ix_order_user", "Ix New", dialect=PG)
    assert op.sqltext == 'ALTER INDEX "App".ix_order_user RENAME TO "Ix New"'
    op = rn.RenameObjectSQL("foreign", None, "order", "fk_a", "fk_b", dialect=PG)
    assert op.sqltext == 'ALTER TABLE "order" RENAME CONSTRAINT fk_a TO fk_b'
    assert op.reverse().sqltext == 'ALTER TABLE "order" RENAME CONSTRAINT fk_b TO fk_a'
    seq = rn.RenameObjectSQL("sequence", None, "t", "t_id_seq", "u_id_seq", dialect=PG)
    assert seq.sqltext == "ALTER SEQUENCE t_id_seq RENAME TO u_id_seq"
    assert seq.to_diff_tuple() == ("rename_sequence", None, "t", "t_id_seq", "u_id_seq")


def test_derived_names_follow_postgresql_defaults() -> None:
    md = sa.MetaData()
    t = sa.Table(
        "scholars",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String, unique=True),
        sa.Column("course_id", sa.ForeignKey("courses.id")),
    )
    sa.Table("courses", md, sa.Column("id", sa.Integer, primary_key=True))
    plan = rn.RenamePlan((rn.TableRename(None, "students", "scholars", "x"),))
    db = rn.DbNames(
        "students_pkey",
        ("id",),
        (rn.IndexFacts("students_email_key", ("email",), True),),
        (rn.ForeignKeyFacts("students_course_id_fkey", ("course_id",), None, "courses", ("id",)),),
        ("students_custom_check",),
        (("id", "students_id_seq"),),
    )
    got = {(d.kind, d.old, d.new) for d in rn.derived_from_names((None, "scholars"), "students", db, t, rn.NameMaps(plan, None))}
    assert got == {
        ("primary", "students_pkey", "scholars_pkey"),
        ("unique", "students_email_key", "scholars_email_key"),
        ("foreign", "students_course_id_fkey", "scholars_course_id_fkey"),
        ("sequence", "students_id_seq", "scholars_id_seq"),
    }


def test_derived_ops_on_sqlite_recreate_indexes_and_note_constraints() -> None:
    derived = [
        rn.DerivedRename("index", None, "t", "ix_a", "ix_b", ("c",)),
        rn.DerivedRename("unique", None, "t", "uq_a", "uq_b"),
    ]
    out, notes, done = rn.derived_ops(derived, LITE)
    assert describe_ops(out) == ["drop index ix_a on t", "add index ix_b on t (c)"]
    assert len(notes) == 1 and "uq_a" in notes[0] and [d.old for d in done] == ["ix_a"]


# ---------------------------------------------------------------- describe


def test_describe_every_op_kind() -> None:
    md = sa.MetaData()
    t = sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("a", sa.String(5), nullable=False))
    r = sa.Table("r", md, sa.Column("id", sa.Integer, primary_key=True))
    fk = sa.ForeignKeyConstraint(["a"], ["r.id"], name="fk_t_a")
    t.append_constraint(fk)
    up = ops.UpgradeOps(
        [
            ops.CreateTableOp.from_table(r),
            ops.DropTableOp.from_table(t),
            rn.RenameTable("t", "u", schema="s"),
            ops.ModifyTableOps(
                "t",
                [
                    ops.AddColumnOp.from_column_and_tablename(None, "t", t.c.a),
                    ops.DropColumnOp("t", "b"),
                    ops.AlterColumnOp("t", "a", existing_type=sa.String(5), modify_type=sa.String(9)),
                    ops.AlterColumnOp("t", "a", existing_nullable=True, modify_nullable=False),
                    ops.AlterColumnOp("t", "a", existing_server_default=None, modify_server_default="x"),
                    rn.RenameColumn("t", "a", "b"),
                    ops.CreateIndexOp("ix", "t", ["a", "id"], unique=True),
                    ops.DropIndexOp("ix", table_name="t"),
                    ops.CreateForeignKeyOp.from_constraint(fk),
                    ops.CreateUniqueConstraintOp("uq", "t", ["a"]),
                    ops.DropConstraintOp("fk_t_a", "t", type_="foreignkey"),
                    ops.CreateTableCommentOp("t", "hello"),
                ],
            ),
            rn.RenameObjectSQL("index", None, "t", "ix", "ix2", dialect=PG),
            ops.ExecuteSQLOp("SELECT\n 1"),
        ]
    )
    assert describe_ops(up, LITE) == [
        "add table r (1 column)",
        "drop table t",
        "rename table s.t to u",
        "add column t.a VARCHAR(5) NOT NULL",
        "drop column t.b",
        "alter column t.a type VARCHAR(5) -> VARCHAR(9)",
        "alter column t.a NULL -> NOT NULL",
        "alter column t.a server default none -> 'x'",
        "rename column t.a to b",
        "add unique index ix on t (a, id)",
        "drop index ix on t",
        "add foreign key fk_t_a on t (a) -> r (id)",
        "add unique constraint uq on t (a)",
        "drop foreign key fk_t_a on t",
        "set comment on table t: 'hello'",
        "rename index ix to ix2 (table t)",
        "execute SQL: SELECT 1",
    ]


# ---------------------------------------------------------------- names and types as evidence (issue 10)


@pytest.mark.parametrize(
    "old, new, related",
    [
        ("name", "full_name", True),
        ("id", "renamed_id", True),
        ("pw", "password", True),
        ("adress", "address", True),
        ("first", "first_renamed", True),
        ("email_addr", "contact_email", True),
        ("pw", "street", False),
        ("body", "slug", False),
        ("author_id", "writer_id", False),  # only a generic word in common
        ("first", "second_renamed", False),
    ],
)
def test_names_related(old: str, new: str, related: bool) -> None:
    assert rn.names_related(old, new) is related


def _col(name: str, type_: sa.types.TypeEngine, nullable: bool = True) -> rn.ColumnFacts:
    return rn.column_facts(sa.Column(name, type_, nullable=nullable), 1, PG)


def test_lossless_pairs() -> None:
    assert rn.lossless(_col("a", sa.String(50)), _col("b", sa.String(80))) is None
    assert rn.lossless(_col("a", sa.String(50)), _col("b", sa.Text())) is None
    assert rn.lossless(_col("a", sa.Integer()), _col("b", sa.BigInteger())) is None
    assert "narrower" in rn.lossless(_col("a", sa.Text()), _col("b", sa.String(100)))
    assert "narrower" in rn.lossless(_col("a", sa.String(200)), _col("b", sa.String(100)))
    assert "narrower" in rn.lossless(_col("a", sa.Numeric(10, 2)), _col("b", sa.Numeric(8, 2)))
    assert "NOT NULL" in rn.lossless(_col("a", sa.Text()), _col("b", sa.Text(), nullable=False))


def test_related_names_outrank_closer_scores() -> None:
    picked = rn.pick(
        {("first", "first_renamed"): 0.95, ("first", "second_renamed"): 0.9, ("second", "second_renamed"): 0.95,
         ("second", "first_renamed"): 0.9},
        tier=lambda o, n: int(rn.names_related(o, n)),
    )
    assert [(o, n, amb) for o, n, _s, amb, _a in picked] == [
        ("first", "first_renamed", False),
        ("second", "second_renamed", False),
    ]


def test_key_only_tables_are_asked_never_accepted() -> None:
    md_old, md_new = sa.MetaData(), sa.MetaData()
    old = sa.Table("b2", md_old, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("c2", md_new, sa.Column("id", sa.Integer, primary_key=True))
    sv = rn.survey(scenario_ops([old], md_new), model_of(md_new), LITE)
    cands = rn.table_candidates(sv)
    assert [(c.old, c.new, c.clear) for c in cands] == [("b2", "c2", False)]
    assert "only its primary key" in cands[0].doubt
    res = rn.resolve(cands, NonInteractiveQuestioner(accept_unambiguous=True))
    assert not res.accepted and res.unresolved == cands
    assert rn.table_candidates(sv, is_new=lambda key, column=None: key == (None, "c2")) == []
