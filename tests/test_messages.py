"""Messages that point at the right thing (issue 15.5): models vs revision file vs env.py,
hints that work when followed, progress lines on stdout."""

from __future__ import annotations

import sqlalchemy as sa

from fixtures_projects import STUDENTS
from schemashift import api


def one_error(result) -> str:
    assert len(result.lines) == 1 and result.lines[0].startswith("error: "), result.stderr
    return result.lines[0]


def test_broken_models_are_named_as_models(school, run_cli):
    # real processes: an in-process run can find an earlier test's ``models`` module on sys.path;
    # a fork finds the project's own first (its directory leads sys.path, as under ``python -m``),
    # so only the check without a models.py needs a new interpreter
    def run_cli(cwd, *args, fresh=False):  # noqa: F811 - shadows the in-process fixture on purpose
        result = school.cli(*args, ok=None, cwd=cwd, fresh=fresh)
        result.lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("note:")]
        return result

    models = school.root / "models.py"
    good = models.read_text()
    for broken, what in (("class Broken(:\n", "SyntaxError"), ("x = undefined_name\n", "NameError")):
        models.write_text(good + broken)
        for args in (("revision", "--autogenerate", "-m", "x"), ("check",), ("upgrade", "head")):
            result = run_cli(school.root, *args)
            line = one_error(result)
            assert result.code == 2, args
            assert f"the models module {models} failed at line" in line and what in line, line
            assert "revision file" not in line and "env.py failed" not in line
    models.unlink()
    line = one_error(run_cli(school.root, "check", fresh=True))  # not even a fork of this process
    assert "env.py cannot import the models: no module named 'models'" in line and "schemashift.metadata" in line
    assert not list(school.versions.glob("*.py"))


def test_check_with_two_heads_says_upgrade_heads(school, run_cli):
    api.revision(school.project(), "students", autogenerate=True, rev_id="h0001")
    api.revision(school.project(), "left", rev_id="h0002")
    api.revision(school.project(), "right", rev_id="h0003", head="h0001", splice=True)
    api.upgrade(school.project(), "h0001")
    result = run_cli(school.root, "check")
    line = one_error(result)
    assert result.code == 2 and "'schemashift upgrade heads'" in line and "upgrade head'" not in line
    assert run_cli(school.root, "upgrade", "heads").code == 0  # the hint works when followed
    result = run_cli(school.root, "check")
    assert result.code == 0, result.stderr
    assert "No differences" in result.stdout


def test_history_relative_range_across_a_merge(school, run_cli):
    for rev, head in (("m0001", None), ("m0002", "m0001"), ("m0003", "m0001")):
        api.revision(school.project(), rev, rev_id=rev, **({"head": head, "splice": True} if head else {}))
    api.merge(school.project(), ["heads"], message="join", rev_id="m0004")
    api.revision(school.project(), "after", rev_id="m0005")
    result = run_cli(school.root, "history", "-r", "-3:")
    line = one_error(result)
    assert result.code == 2 and "merge or branch point" in line and "-r m0004:" in line
    assert "Ambiguous walk" not in line
    result = run_cli(school.root, "history", "-r", "m0004:")  # the suggested range works
    assert result.code == 0 and "m0005" in result.stdout and "m0004" in result.stdout


def test_upgrade_and_now_at_lines_on_stdout(school, run_cli):
    api.revision(school.project(), "students", autogenerate=True, rev_id="s0001")
    result = run_cli(school.root, "upgrade", "head")
    assert result.code == 0
    assert "Upgraded <base> -> s0001" in result.stdout and "Now at s0001." in result.stdout
    assert "Now at" not in result.stderr and "Upgraded" not in result.stderr
    result = run_cli(school.root, "upgrade", "head")
    assert "Nothing to do" in result.stdout and not result.stderr.strip()
    result = run_cli(school.root, "downgrade", "base")
    assert "Downgraded s0001 -> <base>" in result.stdout and "Now at base." in result.stdout


TUPLE_ARGS_MODELS = '''
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "{table}"
    __table_args__ = (UniqueConstraint("name", name="uq_{table}_name"),{info})
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int]
'''


def test_rename_hint_respects_a_tuple_table_args(school, run_cli):
    models = school.root / "models.py"
    models.write_text(TUPLE_ARGS_MODELS.replace("{table}", "students").replace("{info}", ""))
    api.revision(school.project(), "students", autogenerate=True, rev_id="t0001")
    api.upgrade(school.project(), "head")
    school.insert_students()
    models.write_text(TUPLE_ARGS_MODELS.replace("{table}", "scholars").replace("{info}", ""))
    result = run_cli(school.root, "check")
    hint = "\n".join(ln for ln in result.stderr.splitlines() if "renamed" in ln)
    assert "last item of the class's __table_args__ tuple" in hint, result.stderr
    assert "__table_args__ = {" not in hint
    # following the hint: add the dict as the tuple's last item; the constraint stays
    models.write_text(TUPLE_ARGS_MODELS.replace("{table}", "scholars").replace(
        "{info}", ' {"info": {"renamed_from": "students"}}'))
    api.revision(school.project(), "rename", autogenerate=True, rev_id="t0002")
    api.upgrade(school.project(), "head")
    assert school.rows("scholars") == STUDENTS
    engine = school.engine()
    uniques = sa.inspect(engine).get_unique_constraints("scholars")
    engine.dispose()
    assert [u["column_names"] for u in uniques] == [["name"]]
