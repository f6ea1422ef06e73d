"""Every input checked at the door: revision ids and references, messages, duplicate ids.

Bad input is one line on stderr, exit 2, no file written anywhere (no
``merge --rev-id ../../evil`` outside versions/), and the database as it was.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from fixtures_projects import STUDENTS
from schemashift import api
from schemashift.errors import RevisionError
from schemashift.revisions.ids import check_new_rev_id, check_reference, docstring_safe


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (caches aside) with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".lock") and p.suffix != ".db"
    }


@pytest.fixture
def two_heads_migrated(school):
    """The school at head: create students (a1), then two heads (b1, b2) with rows in between."""
    api.revision(school.project(), "Create students", autogenerate=True, rev_id="a1aaaaaaaaaa")
    api.upgrade(school.project(), "head")
    school.insert_students()
    api.revision(school.project(), "left", rev_id="b1bbbbbbbbbb")
    api.revision(school.project(), "right", rev_id="b2bbbbbbbbbb", head="a1aaaaaaaaaa", splice=True)
    api.upgrade(school.project(), "heads")
    return school


BAD_NEW_IDS = [
    ("merge", "--rev-id", "../../evil", "-m", "m"),
    ("merge", "--rev-id", "..", "-m", "m"),
    ("revision", "--rev-id", "../../evil", "-m", "x"),
    ("revision", "--rev-id", "a/b", "-m", "x"),
    ("revision", "--rev-id", "a\\b", "-m", "x"),
    ("revision", "--rev-id", "/tmp/abs", "-m", "x"),
    ("revision", "--rev-id", "with space", "-m", "x"),
    ("revision", "--rev-id", "dot.ted", "-m", "x"),
    ("revision", "--rev-id", "ünï", "-m", "x"),
    ("revision", "--rev-id", "x" * 33, "-m", "x"),
    ("revision", "--rev-id", "heads", "-m", "x"),
    ("revision", "--rev-id", "fix-2", "-m", "x"),
    ("revision", "--rev-id=-x", "-m", "x"),
    ("revision", "--rev-id", "a1aaaaaaaaaa", "-m", "x"),  # exists already
    ("name-constraints", "--rev-id", "../x"),
]

ODD_REFERENCES = [
    ("upgrade", ""), ("upgrade", "@"), ("upgrade", "a1aa@"), ("upgrade", "a b"), ("upgrade", "../../evil"),
    ("upgrade", "--sql", "@:head"), ("downgrade", "\n"), ("stamp", "@"), ("stamp", "../x"),
    ("show", ""), ("show", "@"), ("show", "../../x"), ("discard", "@"), ("discard", "../x"),
    ("history", "-r", "@:"), ("history", "-r", "::"), ("history", "-r", "x:y"),
    ("revision", "--head", "@", "-m", "x"), ("revision", "--depends-on", "@", "-m", "x"),
    ("revision", "--head", "../x", "-m", "x"), ("merge", "@", "b1bbbbbbbbbb"), ("merge", "../../evil"),
    ("verify", "--range", "@:"), ("revision", "--fill-downgrade", "@"),
]


@pytest.mark.parametrize("cases", [BAD_NEW_IDS, ODD_REFERENCES], ids=["new-ids", "references"])
def test_bad_ids_and_references(two_heads_migrated, run_cli, cases):
    school = two_heads_migrated
    outside = school.root.parent
    files_before = tree(outside)
    state = school.state()
    for args in cases:
        result = run_cli(school.root, *args)
        assert result.code == 2, (args, result.stdout, result.stderr)
        assert len(result.lines) == 1 and result.lines[0].startswith("error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, args
    assert tree(outside) == files_before
    assert not list(outside.parent.glob("evil*")) and not Path("/tmp/abs.py").exists()
    assert school.state() == state
    assert school.rows("students") == STUDENTS


@pytest.mark.parametrize(
    "rev_id", ["abc123", "20260101_add_users", "A-b_c", "x" * 32, "head2", "v1-2a", "heads_up"]
)
def test_good_rev_ids_pass(rev_id):
    check_new_rev_id(rev_id)


@pytest.mark.parametrize("ref", ["head", "heads", "base", "+1", "-2", "abc", "abc+1", "branch@head", "br@+1", "a:b"])
def test_good_references_pass(ref):
    check_reference(ref)


MESSAGES = [
    'say """hi"""',
    "C:\\new\\path",
    "ends with a backslash\\",
    '\\N{bad escape} \\x \\u12',
    '""""four quotes',
    "quote at end\"",
    "multi\nline \"\"\" message",
    "'''single''' and {braces} and ${mako} and %(here)s",
]


def test_messages_write_files_that_compile(tmp_path, run_cli):
    """Every message gives a file Python compiles, whose docstring reads back as the message."""
    root = tmp_path / "p"
    api.init(root, url=f"sqlite:///{tmp_path / 'app.db'}")
    project = api.load_project(root / "alembic.ini")
    rng = random.Random(15)
    alphabet = ['"', "\\", "'", "\n", "{", "}", "$", "%", "a", " ", "N", "x", "u", "#"]
    generated = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(40)]
    for message in MESSAGES + generated:
        if not message.strip():
            continue
        info = api.revision(project, message)[0]
        text = Path(info.path).read_text()
        compile(text, info.path, "exec")
        import ast

        assert ast.get_docstring(ast.parse(text), clean=False).startswith(message), message
        assert api.show(project, info.revision).doc.strip() == message.split("\n\n")[0].strip(), message
    # the same through the CLI, for merge too
    heads = [h.revision for h in api.heads(project)]
    assert len(heads) == 1
    api.revision(project, "side", head=api.history(project, indicate_current=False).entries[-1].revision, splice=True)
    result = run_cli(root, "merge", "-m", 'merge """both""" \\o/')
    assert result.code == 0, result.stderr
    merged = Path(result.stdout.split("Generating ", 1)[1].split(" ... done")[0])
    compile(merged.read_text(), str(merged), "exec")


def test_template_that_does_not_compile_leaves_no_file(tmp_path):
    root = tmp_path / "p"
    api.init(root, url=f"sqlite:///{tmp_path / 'app.db'}")
    mako = root / "migrations" / "script.py.mako"
    mako.write_text(mako.read_text().replace('"""${message}', "'''${message}", 1).replace(
        "${create_date}\n\n\"\"\"", "${create_date}\n\n'''", 1))
    project = api.load_project(root / "alembic.ini")
    with pytest.raises(RevisionError, match="did not compile"):
        api.revision(project, "it's ''' broken")
    assert not list((root / "migrations" / "versions").glob("*.py"))


def test_duplicate_revision_ids_are_refused_naming_both_files(two_heads_migrated, run_cli):
    school = two_heads_migrated
    original = next(school.versions.glob("b1bbbbbbbbbb_*.py"))
    copy = school.versions / "b1_copy_of_left.py"
    shutil.copy(original, copy)
    state, files = school.state(), tree(school.root)
    for args in (("heads",), ("history",), ("current",), ("show", "b1bbbbbbbbbb"), ("upgrade", "head"),
                 ("downgrade", "base"), ("stamp", "a1aaaaaaaaaa"), ("discard", "b1bbbbbbbbbb"),
                 ("revision", "-m", "x"), ("merge", "-m", "m"), ("validate",), ("check",)):
        result = run_cli(school.root, *args)
        assert result.code == 2, (args, result.stderr)
        assert len(result.lines) == 1, result.stderr
        assert "b1bbbbbbbbbb" in result.lines[0] and str(copy) in result.lines[0] and str(original) in result.lines[0]
    assert tree(school.root) == files  # discard deleted neither file
    assert school.state() == state
    copy.unlink()
    assert run_cli(school.root, "heads").code == 0


def test_docstring_safe_round_trips():
    for message in MESSAGES:
        escaped = docstring_safe(message)
        assert eval('"""' + escaped + '\n"""') == message + "\n"  # noqa: S307 - our own literal
