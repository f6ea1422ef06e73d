"""``heads`` and ``history`` on a cold cache, from the files' text: Alembic's answers, or none (issue 15.9).

``revisions.fresh`` answers without Alembic when no stored answer fits.  On
random revision graphs (branches, merges, depends_on by id and by label,
branch labels, several bases, files listed in any order) its answers must
be Alembic's own, field by field and line by line (``RevisionMap`` of a real
``ScriptDirectory``, which imports every file), and the normal path's.  Every
reason to give up is tried: it must give up (the command then takes the
normal path), never guess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fixtures_projects import alembic_lines, run_probed
from schemashift import api
from schemashift.config import load_project
from schemashift.revisions import fresh
from schemashift.revisions.display import RevisionInfo
from schemashift.revisions.answers import Answers
from schemashift.revisions.headers import Uncertain, certain_header, certain_headers, decode_source, decode_sources
from schemashift.revisions.syntax import compiled_before, compiled_before_all

INI = "[alembic]\nscript_location = %(here)s/migrations\n{extra}"

FILE = '''"""{message}

Revision ID: {rev}
Revises: {down_text}
Create Date: 2026-01-0{day} 00:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
{header}


def upgrade() -> None:
    op.execute("SELECT 1")  # revision = 'not this one'


def downgrade() -> None:
    pass
'''


def literal(value, style: int) -> str:
    """A header value written in one of the ways people (and Alembic's templates) write them."""
    if isinstance(value, tuple):
        if style == 1:
            return "[" + ", ".join(f'"{v}"' for v in value) + "]"
        if style == 2:
            return "(\n" + "".join(f"    {v!r},  # one\n" for v in value) + ")"
        return repr(value)
    return f'"{value}"' if style == 1 and value is not None else repr(value)


def header_lines(rev: str, down, labels, depends, style: int) -> str:
    names = (("revision", rev), ("down_revision", down), ("branch_labels", labels), ("depends_on", depends))
    if style == 1:  # Alembic's current template: annotated
        return "\n".join(
            f"{n}: {'str' if n == 'revision' else 'Union[str, Sequence[str], None]'} = {literal(v, style)}"
            for n, v in names
        )
    return "\n".join(f"{n} = {literal(v, style)}" for n, v in names)


def make_project(root: Path, extra: str = "") -> Path:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("")  # never run here: the normal path's config check wants it
    ini = root / "alembic.ini"
    ini.write_text(INI.format(extra=extra))
    return ini


def write(versions: Path, name: str, rev: str, down=None, labels=None, depends=None, style: int = 0,
          message: str = "a message") -> Path:
    path = versions / f"{name}.py"
    down_text = ", ".join(down) if isinstance(down, tuple) else (down or "")
    path.write_text(FILE.format(message=message, rev=rev, down_text=down_text, day=1 + style,
                                header=header_lines(rev, down, labels, depends, style)))
    return path


def alembic_answers(ini: Path) -> dict[str, list[RevisionInfo]]:
    """What Alembic's own map says, through a real ScriptDirectory (every file imported)."""
    rmap = ScriptDirectory.from_config(Config(str(ini))).revision_map
    def info(rev):  # Alembic's own "effective head" test is is_head and not _is_real_head (_all_nextrev)
        dependents = tuple(sorted(rev._all_nextrev - rev.nextrev)) if rev.is_head else ()
        return RevisionInfo.from_revision(rev, dependents=dependents)

    heads = [info(rmap.get_revision(h)) for h in rmap.heads]
    walked = rmap.iterate_revisions("heads", "base", inclusive=True, assert_relative_length=False)
    return {"heads": heads, "history": [info(r) for r in walked]}


def without_date(infos: list[RevisionInfo]) -> list[RevisionInfo]:
    return [replace(info, create_date=None) for info in infos]  # Alembic's Script has no create_date


def fast(ini: Path) -> dict[str, list[RevisionInfo]]:
    return fresh.compute(ini, "alembic")[0]


def assert_same(ours: dict[str, list[RevisionInfo]], theirs: dict[str, list[RevisionInfo]]) -> None:
    for name in ("heads", "history"):
        assert without_date(ours[name]) == without_date(theirs[name]), name
        assert [i.one_line() for i in ours[name]] == [i.one_line() for i in theirs[name]], name
        assert [i.details() for i in ours[name]] == [i.details() for i in theirs[name]], name


@st.composite
def revision_graphs(draw, labels_anywhere: bool):
    """Revisions in creation order (parents and dependencies always older), with file names in any order."""
    count = draw(st.integers(min_value=1, max_value=12))
    revs: list[dict] = []
    order = draw(st.permutations(range(count)))
    for i in range(count):
        rev = f"r{i:02d}a"
        older = [r["rev"] for r in revs]
        base = not older or draw(st.integers(0, 5)) == 0
        down = () if base else tuple(draw(st.lists(st.sampled_from(older), min_size=1, max_size=3, unique=True)))
        depends = tuple(draw(st.lists(st.sampled_from(older), max_size=2, unique=True))) if older else ()
        labelled = {r["rev"]: r["labels"][0] for r in revs if r["labels"]}
        # a dependency may name its revision by branch label, as Alembic allows
        depends = tuple(labelled[d] if d in labelled and draw(st.booleans()) else d for d in depends)
        if labels_anywhere or base:
            labels = (f"lab{i}",) if draw(st.integers(0, 2)) == 0 else ()
        else:
            labels = ()
        revs.append({
            "rev": rev, "name": f"f{order[i]:02d}_{rev}",
            "down": down[0] if len(down) == 1 else (down or None),
            "labels": labels, "depends": depends or None, "style": draw(st.integers(0, 2)),
        })
    return revs


def write_graph(tmp_path_factory, graph: list[dict]) -> Path:
    ini = make_project(tmp_path_factory.mktemp("graph"))
    versions = ini.parent / "migrations" / "versions"
    for r in graph:
        labels = r["labels"][0] if len(r["labels"]) == 1 and r["style"] == 0 else (r["labels"] or None)
        write(versions, r["name"], r["rev"], r["down"], labels, r["depends"], r["style"], message=f"make {r['rev']}")
    return ini


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=revision_graphs(labels_anywhere=False))
def test_fresh_answers_are_alembics_on_random_graphs(tmp_path_factory, graph):
    """Labels on bases (Alembic's multiple-bases recipe): always answered, always as Alembic answers."""
    ini = write_graph(tmp_path_factory, graph)
    theirs = alembic_answers(ini)
    ours = fast(ini)
    assert_same(ours, theirs)
    # and the normal path's answers (the header index and Alembic's RevisionMap), dates included
    project = load_project(ini)
    assert ours["heads"] == api.heads(project)
    assert ours["history"] == api.history(project, indicate_current=False).entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=revision_graphs(labels_anywhere=True))
def test_labels_anywhere_answered_as_alembic_or_not_at_all(tmp_path_factory, graph):
    """A label inside another label's branch is spread by Alembic in an order of objects in memory:
    the only case given up on a sound graph."""
    ini = write_graph(tmp_path_factory, graph)
    theirs = alembic_answers(ini)
    try:
        ours = fast(ini)
    except Uncertain as exc:
        assert str(exc) == "a branch label inside another label's branch"
        return
    assert_same(ours, theirs)


def test_a_usual_project_is_answered_and_stored(tmp_path):
    ini = make_project(tmp_path)
    versions = ini.parent / "migrations" / "versions"
    write(versions, "a_base", "aaa1", style=1)
    write(versions, "b_next", "bbb2", "aaa1")
    write(versions, "c_side", "ccc3", "aaa1", labels="side", style=2)
    write(versions, "d_merge", "ddd4", ("bbb2", "ccc3"), depends="side", style=2)
    answers = fresh.fresh_answers(ini, "alembic")
    assert answers is not None
    assert_same(answers, alembic_answers(ini))
    assert [i.one_line() for i in answers["history"]] == [
        "bbb2, ccc3 (side) -> ddd4 (side) (head) (mergepoint), a message",  # the label spreads down to ddd4
        "aaa1 -> bbb2, a message",
        "aaa1 -> ccc3 (side), a message",
        "<base> -> aaa1 (branchpoint), a message",
    ]
    stored = json.loads((ini.parent / "migrations" / "__pycache__" / "schemashift-answers.json").read_text())
    assert set(stored["answers"]) == {"heads", "history"}
    for name in ("heads", "history"):  # the stored rows replay as the very answers given
        assert Answers(ini.parent / "migrations", ini, "alembic").lookup(name) == answers[name]


def test_only_the_wanted_answer_is_worked_out_and_stored(tmp_path):
    ini = make_project(tmp_path)
    chain(ini)
    stored = Answers(ini.parent / "migrations", ini, "alembic")
    answers = fresh.fresh_answers(ini, "alembic", ("heads",))
    assert answers is not None and set(answers) == {"heads"}
    assert [i.revision for i in answers["heads"]] == ["bbb2"]
    assert stored.lookup("heads") == answers["heads"] and stored.lookup("history") is None
    history = fresh.fresh_answers(ini, "alembic", ("history",))
    assert history is not None and set(history) == {"history"}
    project = load_project(ini)
    assert history["history"] == api.history(project, indicate_current=False).entries
    assert stored.lookup("history") == history["history"]
    assert stored.lookup("heads") == answers["heads"]  # kept: the files did not change


# ---------------------------------------------------------------- reasons to give up

PLAIN = "revision = 'aaa1'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("revision = 'aa' + 'a1'\ndown_revision = None\n", "not a literal"),
        ("PARENT = None\nrevision = 'aaa1'\ndown_revision = PARENT\n", "not a literal"),
        (PLAIN + "revision = 'bbb2'\n", "named twice"),
        (PLAIN + "if True:\n    revision = 'bbb2'\n", "named inside a statement"),
        (PLAIN + "def f():\n    global revision\n    revision = 'x'\n", "indirectly"),
        (PLAIN + "globals()['revision'] = 'bbb2'\n", "indirectly"),
        (PLAIN + "from os.path import *\n", "indirectly"),
        (PLAIN + "import sys\nsetattr(sys.modules[__name__], 'revision', 'x')\n", "indirectly"),
        (PLAIN + "def __getattr__(name):\n    return 'x'\n", "indirectly"),
        (PLAIN + "x = [(y := 1)]\n", "assignment expression"),
        (PLAIN + "def upgrade():\n    op.f(revision='x')\n", "named inside a statement"),
        ("revision = 'aaa1'\nx = 1; down_revision = None\n", "inside a statement"),
        ("revision = 'aaa1'\nif True: \\\ndown_revision = None\n", "continued line"),
        ("revision = 'aaa1'\nf(1,\ndown_revision=None)\n", "inside brackets"),
        ("revision = 'aaa1'\ndown_revision = None; x = 1\n", "shares its line"),
        ("revision = 'aaa1'\ndown_revision = 'a' if True else 'b'\n", "not a literal"),
        ("revision = 'aaa1'\ndown_revision: str\n", "not plainly assigned"),
        ("revision, down_revision = 'aaa1', None\n", "not plainly assigned"),
        ("revision = 'aaa1'\n", "no revision or down_revision"),
        ('"""revision = \'aaa1\'"""\ndown_revision = None\n', "no revision or down_revision"),
        ("revision = 'a-b'\ndown_revision = None\n", "revision is"),
        ("revision = ''\ndown_revision = None\n", "revision is"),
        ("revision = 5\ndown_revision = None\n", "revision is"),
        ("revision = 'aaa1'\ndown_revision = ('x', 'x')\n", "repeats"),
        ("revision = 'aaa1'\ndown_revision = ['x', 7]\n", "down_revision is"),
        ("revision = 'aaa1'\ndown_revision = ''\n", "down_revision is"),
        ("revision = 'aaa1'\ndown_revision = {'x'}\n", "down_revision is"),
        ('("""doc""")\n' + PLAIN, "starts with a bracket"),
        ('"""doc""" + "more"\n' + PLAIN, "longer statement"),
        # the annotation's call takes the first value as an argument: Python binds 'bbb2'
        ("revision: f(x = 'aaa1'\n) = 'bbb2'\ndown_revision = None\n", "annotation leaves a bracket open"),
        (PLAIN + "from os.path import \\\n*\n", "indirectly"),
        (PLAIN + "f'{globals().update(revision=1)}'\n", "indirectly|f-string"),
        (PLAIN + "x = '''\n''' \"\"\"\n\"\"\"\nexec('revision = 1')\n", "indirectly"),
    ],
)
def test_the_certain_reader_gives_up(text, reason):
    compile(text, "x.py", "exec")  # each is valid Python: only what it binds is in doubt
    with pytest.raises(Uncertain, match=reason):
        certain_header(text)
    with pytest.raises(Uncertain):  # read with others, it still sends the whole command the normal way
        certain_headers([USUAL[0], text, USUAL[1]])


def test_the_certain_reader_reads_what_python_binds():
    text = (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
        'r"""Add \\n things\n\nrevision = \'fake\'\nRevision ID: aaa1\nCreate Date: 2026-02-03 04:05:06\n"""\n'
        "# revision = 'commented'\n"
        "revision: str = \"aaa1\"  # the id\n"
        "down_revision = (\n    'x',  # first\n    \"y\",\n)\n"
        "branch_labels = ['lab']\n"
        "x = '''\ndepends_on = 'fake'\n'''\n"
        "def upgrade():\n    context.revision\n    print('revision = 1')\n"
    )
    namespace: dict = {}
    exec(compile(text, "x.py", "exec"), namespace)
    header = certain_header(text)
    assert [header[k] for k in ("revision", "branch_labels")] == [namespace[k] for k in ("revision", "branch_labels")]
    assert header["down_revision"] == namespace["down_revision"] and "depends_on" not in namespace
    assert header["longdoc"] == namespace["__doc__"].strip()
    assert header == {
        "revision": "aaa1", "down_revision": ("x", "y"), "branch_labels": ["lab"], "depends_on": None,
        "longdoc": "Add \\n things\n\nrevision = 'fake'\nRevision ID: aaa1\nCreate Date: 2026-02-03 04:05:06",
        "create_date": "2026-02-03 04:05:06",
    }


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\xef\xbb\xbf" + PLAIN.encode(), "byte-order mark"),
        (b"# -*- coding: latin-1 -*-\n" + PLAIN.encode() + b"# caf\xe9\n", "latin-1"),
        (PLAIN.encode() + b"# caf\xe9\n", "not UTF-8"),
    ],
)
def test_an_encoding_other_than_plain_utf8_gives_up(tmp_path, data, reason):
    ini = make_project(tmp_path)
    (ini.parent / "migrations" / "versions" / "aaa1_x.py").write_bytes(data)
    with pytest.raises(Uncertain, match=reason):
        fast(ini)
    assert fresh.fresh_answers(ini, "alembic") is None


def chain(ini: Path) -> Path:
    versions = ini.parent / "migrations" / "versions"
    write(versions, "a", "aaa1")
    write(versions, "b", "bbb2", "aaa1")
    return versions


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (lambda v: write(v, "c", "aaa1", "bbb2"), "declared twice"),
        (lambda v: write(v, "c", "ccc3", "zzz9"), "no revision declares"),
        (lambda v: write(v, "c", "ccc3", "bbb2", depends="nolabel"), "no revision declares"),
        (lambda v: write(v, "c", "ccc3", "bbb2", labels="aaa1"), "is taken"),
        (lambda v: (write(v, "a", "aaa1", labels="lab"), write(v, "c", "ccc3", "bbb2", labels="lab")), "is taken"),
        (lambda v: (write(v, "a", "aaa1", labels="lab"), write(v, "c", "ccc3", "lab")), "no revision declares"),
        (lambda v: write(v, "a", "aaa1", "bbb2"), "a cycle"),
        (lambda v: write(v, "c", "ccc3", "ccc3"), "names itself"),
        (lambda v: (write(v, "a", "aaa1", labels="one"), write(v, "c", "ccc3", "bbb2", labels="two")),
         "inside another label's branch"),
        (lambda v: (v / "b.py").write_text((v / "b.py").read_text().replace("def upgrade() -> None:",
                                                                             "def upgrade() -> None\n")),
         "does not compile"),
        (lambda v: (v / "b.py").write_text((v / "b.py").read_text().replace('op.execute("SELECT 1")',
                                                                             "op.execute(a=1, a=2)")),
         "does not compile"),  # found by the compiler, not the parser
        (lambda v: (v / "link.py").symlink_to(v / "b.py"), "symlinked"),
        (lambda v: (v / "d.py").mkdir(), "not a regular file"),  # Alembic skips it; here, no guess
        (lambda v: os.mkfifo(v / "f.py"), "not a regular file"),  # and reading it does not block
    ],
)
def test_a_graph_or_file_alembic_would_refuse_gives_up(tmp_path, spoil, reason):
    ini = make_project(tmp_path)
    spoil(chain(ini))
    with pytest.raises(Uncertain, match=reason):
        fast(ini)


@pytest.mark.parametrize(
    "extra, reason",
    [
        ("version_locations = %(here)s/migrations/versions\n", "version_locations is set"),
        ("sourceless = true\n", "sourceless is set"),
        ("recursive_version_locations = yes\n", "neither true nor false"),
    ],
)
def test_a_config_this_does_not_read_gives_up(tmp_path, extra, reason):
    ini = make_project(tmp_path, extra)
    chain(ini)
    with pytest.raises(Uncertain, match=reason):
        fast(ini)


def test_a_package_location_or_no_versions_directory_gives_up(tmp_path):
    ini = make_project(tmp_path)
    ini.write_text("[alembic]\nscript_location = mypackage:migrations\n")
    with pytest.raises(Uncertain, match="script_location"):
        fast(ini)
    ini.write_text(INI.format(extra=""))
    (ini.parent / "migrations" / "versions").rmdir()
    with pytest.raises(Uncertain, match="no versions directory"):
        fast(ini)


def test_recursive_versions_are_listed_as_alembic_lists_them(tmp_path):
    ini = make_project(tmp_path, "recursive_version_locations = true\n")
    versions = ini.parent / "migrations" / "versions"
    (versions / "2026" / "b").mkdir(parents=True)
    (versions / "2025").mkdir()
    write(versions / "2025", "x", "aaa1")
    write(versions / "2026" / "b", "y", "bbb2", "aaa1")
    write(versions, "z", "ccc3", "aaa1")
    assert_same(fast(ini), alembic_answers(ini))


# ---------------------------------------------------------------- the whole command


def run_cold(root: Path, *args: str) -> tuple[int, str, str]:
    for cache in (root / "migrations").rglob("__pycache__"):
        for f in cache.iterdir():
            f.unlink()
    proc = run_probed(root, *args)
    return proc.returncode, proc.stdout, proc.stderr


def test_cold_commands_import_neither_alembic_nor_sqlalchemy(tmp_path):
    root = tmp_path / "proj"
    api.init(root, url=f"sqlite:///{root / 'app.db'}")
    versions = root / "migrations" / "versions"
    write(versions, "a", "aaa1")
    write(versions, "b", "bbb2", "aaa1", labels="main", style=1)
    write(versions, "c", "ccc3", None, depends="aaa1", style=2)  # a second base, depending on the first
    subprocess.run([sys.executable, "-m", "alembic", "stamp", "heads"], cwd=root, check=True, capture_output=True)
    for args in (["heads"], ["history"], ["heads", "-v"], ["history", "-v"], ["current"]):
        code, out, err = run_cold(root, *args)
        assert code == 0 and err.strip().endswith("IMPORTED []"), (args, err)
        if args[0] != "current" and "-v" not in args:
            assert [ln.strip() for ln in out.splitlines() if ln.strip()] == alembic_lines(root, *args), args
        if args == ["current"]:
            assert sorted(out.splitlines()) == ["bbb2 (head)", "ccc3 (head)"]


def _second_revision_edited(tmp_path: Path, old: str, new: str) -> Path:
    """An init project with revisions aaa1 <- bbb2, ``old`` replaced by ``new`` in bbb2's file."""
    root = tmp_path / "proj"
    api.init(root, url=f"sqlite:///{root / 'app.db'}")
    versions = root / "migrations" / "versions"
    write(versions, "a", "aaa1")
    path = write(versions, "b", "bbb2", "aaa1")
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return root


def test_a_file_in_doubt_takes_the_normal_path_with_the_same_answer(tmp_path):
    root = _second_revision_edited(tmp_path, "down_revision = 'aaa1'", "PARENT = 'aaa1'\ndown_revision = PARENT")
    for command in ("heads", "history"):
        code, out, err = run_cold(root, command)
        assert code == 0 and "'alembic'" in err, err  # Alembic's way
        assert [ln.strip() for ln in out.splitlines() if ln.strip()] == alembic_lines(root, command)


def test_a_file_that_does_not_compile_is_reported_on_a_cold_cache(tmp_path):
    root = _second_revision_edited(tmp_path, 'op.execute("SELECT 1")', "op.execute(a=1, a=2)")
    for command in ("heads", "history"):
        code, out, err = run_cold(root, command)
        assert code == 2 and "SyntaxError" in err and "keyword argument repeated" in err, err
        assert out == ""


PIECES = ["'''it's'''", "''''a'''", '"a\\"b"', "r'\\''", "''", '""', "'''a\\'''b'''", '"""x\n"y"\n"""', "b'x'",
          "# 'x", "# \"\"\"", "x = 1", "f'{a}'", "rb'\\\\'", "'\\\\'", '"#"', "'''\n#'''", "u'''''' ", "(", ")", "[", "]"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12), st.lists(st.sampled_from(["\n", "\n", " + "]),
                                                                             min_size=12, max_size=12))
def test_strings_and_comments_are_found_as_python_tokenizes_them(pieces, seps):
    """The reader's string/comment finder agrees with Python's own tokenizer on every text that compiles."""
    import io
    import tokenize

    from schemashift.revisions.headers import _NOT_CODE

    text = "".join(p + s for p, s in zip(pieces, seps)) + "\n"
    try:
        compile(text, "x.py", "exec")
    except SyntaxError:
        assume(False)
    theirs = [t.string.lstrip("rRbBuUfF") for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type in (tokenize.STRING, tokenize.COMMENT)]
    assert [m.group() for m in _NOT_CODE.finditer(text)] == theirs


# ---------------------------------------------------------------- many files at once, as one by one

USUAL = [
    FILE.format(message="usual", rev=rev, down_text="", day=1 + style,
                header=header_lines(rev, down, labels, deps, style))
    for rev, down, labels, deps, style in [
        ("aaa1", None, None, None, 0), ("bbb2", "aaa1", "lab", None, 1), ("ccc3", ("aaa1", "bbb2"), None, "lab", 2),
        ("ddd4", "ccc3", ("x", "y"), None, 0), ("eee5", "ddd4", None, ("aaa1", "bbb2"), 1),
    ]
]
# what a file may hold that could mislead a scan of all files joined: strings that look unterminated or hold a
# bracket, a NUL escape, a refusal word in a string or comment or in code, header names in strings, brackets
# across lines, continued lines, a second assignment of a header name
MISLEADING = [
    "x = \"'''\"\n", "y = '\"\"\"'\n", "z = '('\n", "w = ')]}'\n", "# (((\n", "s = '\\x00'\n", "# eval(x) modules\n",
    "'''global revision'''\n", "t = [\n    1,\n]\n", "u = ('a'\n     'b')\n", "def upgrade():\n    exec('x = 1')\n",
    "v = r'\\'\n", "q = '''\nrevision = 'fake'\n'''\n", "p = f'{1}'\n", "import os\n", "o = b'x'\n",
    "op.execute('revision')\n", "n = \"revision = 'x'\"\n", "m = {'k': (1, [2])}\n", "l = 'a' \\\n    'b'\n",
    "down_revision = 'fff6'\n", "k = \"\"\"\n\"\"\"\n", "j = '''it's'''\n", "i = '#'\n", "h = 'a' '''\n'''\n",
    "from os.path import *\n", "from os import \\\n*\n", "f'{globals()}'\n", "g = rf'{1}'\n",
]


def outcome(read, texts):
    try:
        return read(texts)
    except Uncertain:
        return "Uncertain"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(USUAL) + 2)),
                          st.lists(st.sampled_from(MISLEADING), max_size=3),
                          st.lists(st.sampled_from(MISLEADING), max_size=2)), min_size=1, max_size=5))
def test_many_files_are_read_as_one_by_one(files):
    """``certain_headers`` answers (or gives up) exactly as ``certain_header`` does file by file."""
    bases = USUAL + [PLAIN, '"""doc"""\n' + PLAIN]
    texts = []
    for base, before, after in files:
        # ``before`` goes after the usual file's docstring (or first of all), ``after`` at the end
        head, sep, rest = bases[base].partition("\n\n\"\"\"\n")
        text = (head + sep + "".join(before) + rest if sep else "".join(before) + bases[base]) + "".join(after)
        try:
            compile(text, "x.py", "exec")
        except SyntaxError:
            assume(False)
        texts.append(text)
    assert outcome(certain_headers, texts) == outcome(lambda ts: [certain_header(t) for t in ts], texts)


@pytest.mark.parametrize(
    "line",
    [
        "revision = 'aaa1' \"\"\"x\"\"\"",  # Python joins the two strings
        "revision = 'aaa1' '''\n'''",
        "if False: \\\nrevision = 'aaa1'",  # not bound at all
        "revision = 'aaa1'  # a comment",
        "revision: \"str\" = 'aaa1'",
        "revision: Dict[str, 'x'] = 'aaa1'",
        "revision: f(x = 'a'\n) = 'aaa1'",
        "revision = 'aaa1'; x = 1",
        "revision = u'aaa1'",
        "revision = b'aaa1'",
        "revision = 'aaa1' \\\n    'b'",
        "revision = None",
        "revision = 'a-1'",
        "revision = 'aaa1'\nrevision = 'bbb2'",
        "revision = 'aaa1'\nx = 1",
        "revision = ('aaa1')",
    ],
)
def test_a_header_line_like_the_usual_one_is_read_as_one_by_one(line):
    assert "\nrevision = 'aaa1'\n" in USUAL[0]
    usual = USUAL[0].replace("revision = 'aaa1'", line)
    compile(usual, "x.py", "exec")
    texts = [USUAL[1], usual, USUAL[3]]
    assert outcome(certain_headers, texts) == outcome(lambda ts: [certain_header(t) for t in ts], texts)


@pytest.mark.parametrize(
    "start",
    ['"""usual', '"""a \\"quote\\" \\\\ and \\\\n', '"""x"""  # c\n"""usual', '# c\n\n"""usual', "'''usual",
     '""""usual', 'r"""usual \\n', 'u"""usual', 'b"""usual', '"""usual """ + """', '"""usual"""\n"""'],
)
def test_a_docstring_like_the_usual_one_is_read_as_one_by_one(start):
    assert USUAL[0].startswith('"""usual\n') and USUAL[0].count('"""') == 2
    usual = start + USUAL[0][len('"""usual'):]
    if start.startswith("'''"):
        usual = usual.replace('\n"""\n', "\n'''\n", 1)
    compile(usual, "x.py", "exec")
    texts = [USUAL[1], usual, USUAL[3]]
    assert outcome(certain_headers, texts) == outcome(lambda ts: [certain_header(t) for t in ts], texts)


def test_the_usual_files_are_read_without_certain_header(monkeypatch):
    """The joined reading answers the usual files itself (else it would be no quicker), as certain_header."""
    from schemashift.revisions import headers

    one_by_one = [certain_header(t) for t in USUAL]
    read = []
    monkeypatch.setattr(headers, "certain_header", lambda text: read.append(text) or one_by_one[0])
    assert certain_headers(USUAL) == [one_by_one[0] if t in read else h for t, h in zip(USUAL, one_by_one)]
    assert read == USUAL[2:]  # only those with a tuple or list of ids (certain_header reads any literal)


def test_a_file_that_does_not_compile_misleads_no_other():
    """A broken file (its syntax is refused later anyway) gives up, or leaves the next file read as if alone:
    a triple-quoted string it leaves open runs over the separator, which is then missed."""
    broken = {PLAIN + "x = '''\n": False, USUAL[0] + '"""\n': False, PLAIN + "# '''\nw = '''(\n": False,
              PLAIN + 'y = "\n': True, PLAIN + "z = (\n": True, PLAIN + "v = '\\\n": True, PLAIN + "u = 'a": True}
    for bad, answered in broken.items():
        with pytest.raises(SyntaxError):
            compile(bad, "x.py", "exec")
        texts = [bad, USUAL[1], bad, USUAL[3]]
        if not answered:
            with pytest.raises(Uncertain, match="left open"):
                certain_headers(texts)
            continue
        assert certain_headers(texts) == [certain_header(t) for t in texts]
        assert certain_headers(texts)[1]["revision"] == "bbb2"


def test_a_nul_character_gives_up():
    with pytest.raises(Uncertain, match="NUL"):
        certain_headers([USUAL[0], PLAIN + "x = 1\0\n"])
    with pytest.raises(Uncertain, match="NUL"):
        decode_sources([USUAL[0].encode(), PLAIN.encode() + b"x = 1\0\ny = 2\n"])


@pytest.mark.parametrize(
    "datas",
    [
        [USUAL[0].encode(), USUAL[1].replace("\n", "\r\n").encode(), USUAL[2].replace("\n", "\r").encode() + b"\r"],
        [USUAL[0].encode(), b"# -*- coding: utf-8 -*-\n" + PLAIN.encode()],
        [USUAL[0].encode(), "# caf\u00e9\n".encode() + PLAIN.encode()],
        [USUAL[0].encode(), b"# -*- coding: latin-1 -*-\n" + PLAIN.encode()],
        [USUAL[0].encode(), b"\xef\xbb\xbf" + PLAIN.encode()],
        [USUAL[0].encode(), PLAIN.encode() + b"# caf\xe9\n"],
        [USUAL[0].encode()[:-1] + b"\xc3", USUAL[1].encode()],  # a UTF-8 sequence cut at the file's end
    ],
)
def test_files_are_decoded_together_as_one_by_one(datas):
    assert outcome(decode_sources, datas) == outcome(lambda ds: [decode_source(d) for d in ds], datas)


def test_the_pyc_check_of_all_files_is_the_check_of_each(tmp_path):
    import importlib.util
    import os
    import py_compile

    paths = []
    for i, text in enumerate(USUAL):
        path = tmp_path / f"r{i}.py"
        path.write_text(text)
        paths.append(str(path))
    for path in paths[:3]:
        py_compile.compile(path, cfile=importlib.util.cache_from_source(path), doraise=True)
    Path(paths[1]).write_text(USUAL[1] + "# edited\n")  # its .pyc no longer vouches for it
    os.utime(paths[2], (1, 1))  # nor for this one
    stats = [os.stat(p) for p in paths]
    assert compiled_before_all(paths, stats) == [compiled_before(p, st) for p, st in zip(paths, stats)]
    assert compiled_before_all(paths, stats) == [True, False, False, False, False]


def test_an_answer_made_from_a_row_is_the_one_made_by_its_constructor(tmp_path):
    ini = make_project(tmp_path)
    versions = chain(ini)
    write(versions, "c", "ccc3", ("aaa1", "bbb2"), labels="lab", depends="aaa1", style=2)
    rows, *_ = fresh.compute_rows(ini, "alembic")
    assert rows["history"] and rows["heads"]
    for row in rows["history"] + rows["heads"]:
        made, built = RevisionInfo.from_row(row), RevisionInfo(*row)
        assert made == built and vars(made) == vars(built) and hash(made) == hash(built)
        assert made.one_line() == built.one_line() and made.details() == built.details()
        with pytest.raises(AttributeError):  # still frozen
            made.revision = "x"


def test_a_project_with_no_revision_yet_is_answered(tmp_path):
    ini = make_project(tmp_path)
    assert fast(ini) == alembic_answers(ini) == {"heads": [], "history": []}
    assert certain_headers([]) == [] and decode_sources([]) == []
