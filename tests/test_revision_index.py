"""The cached revision index agrees with Alembic, and sees every change to the files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemashift.revisions.index import RevisionIndex, parse_header

HEADER = '''"""{message}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = {rev!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def write_rev(versions: Path, rev: str, down, labels=None, depends=None, message: str = "msg") -> Path:
    path = versions / f"{rev}_m.py"
    path.write_text(HEADER.format(rev=rev, down=down, labels=labels, depends=depends, message=message))
    return path


def make_script_dir(tmp_path: Path) -> tuple[ScriptDirectory, Path]:
    root = tmp_path / "migrations"
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text("")
    (root / "script.py.mako").write_text("")
    cfg = Config()
    cfg.set_main_option("script_location", str(root))
    return ScriptDirectory.from_config(cfg), versions


def alembic_view(script_dir: ScriptDirectory):
    fresh = ScriptDirectory(script_dir.dir)
    rmap = fresh.revision_map
    order = [r.revision for r in fresh.walk_revisions()]
    return set(rmap.heads), order


def our_view(script_dir: ScriptDirectory):
    rmap = RevisionIndex(script_dir).revision_map()
    order = [r.revision for r in rmap.iterate_revisions("heads", "base", inclusive=True, assert_relative_length=False)]
    return set(rmap.heads), order


@pytest.mark.parametrize(
    "source, expected",
    [
        ("revision = 'abc'\ndown_revision = None\n", ("abc", None)),
        ("revision: str = \"abc\"\ndown_revision: Union[str, None] = 'x1'  # parent\n", ("abc", "x1")),
        ("revision = 'm'\ndown_revision = (\n    'a',\n    'b',\n)\n", ("m", ("a", "b"))),
        ("revision = 'm'\ndown_revision = ['a', 'b']\n", ("m", ["a", "b"])),
    ],
)
def test_parse_header_literals(source, expected):
    header = parse_header(Path("x.py"), '"""doc line\n\nmore"""\n' + source)
    assert (header.revision, header.down_revision) == expected
    assert header.doc == "doc line"


def test_parse_header_gives_up_on_non_literals():
    assert parse_header(Path("x.py"), "revision = make_id()\ndown_revision = None\n") is None
    assert parse_header(Path("x.py"), "revision = 'a'\nrevision = 'b'\ndown_revision = None\n") is None


def test_dynamic_header_is_imported(tmp_path):
    script, versions = make_script_dir(tmp_path)
    write_rev(versions, "aaa1", None)
    (versions / "bbb2_dyn.py").write_text("PARENT = 'aaa1'\nrevision = 'bb' + 'b2'\ndown_revision = PARENT\n")
    assert our_view(script) == alembic_view(script)


def test_cache_sees_added_edited_and_removed_files(tmp_path):
    script, versions = make_script_dir(tmp_path)
    for i in range(20):
        write_rev(versions, f"r{i:03d}", f"r{i-1:03d}" if i else None)
    index = RevisionIndex(script)
    assert set(index.revision_map().heads) == {"r019"}
    assert index.files_read == 20

    warm = RevisionIndex(script)
    warm.revision_map()
    assert warm.files_read == 0  # nothing changed: nothing read

    write_rev(versions, "r020", "r019")  # added
    index = RevisionIndex(script)
    assert set(index.revision_map().heads) == {"r020"} and index.files_read == 1

    path = versions / "r020_m.py"
    st_before = path.stat()
    write_rev(versions, "r020", "r010")  # edited: now a branch off r010
    os.utime(path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))  # same mtime: ctime still differs
    index = RevisionIndex(script)
    assert set(index.revision_map().heads) == {"r019", "r020"} and index.files_read == 1

    (versions / "r019_m.py").unlink()  # removed
    index = RevisionIndex(script)
    assert set(index.revision_map().heads) == {"r018", "r020"}
    assert our_view(script) == alembic_view(script)


def test_corrupt_cache_is_ignored(tmp_path):
    script, versions = make_script_dir(tmp_path)
    write_rev(versions, "a1", None)
    RevisionIndex(script).revision_map()
    cache = Path(script.dir) / "__pycache__" / "schemashift-revisions.json"
    cache.write_text("{not json")
    assert set(RevisionIndex(script).revision_map().heads) == {"a1"}


@st.composite
def revision_graphs(draw):
    """A random revision DAG: each new revision has one parent, or merges two heads."""
    count = draw(st.integers(min_value=1, max_value=25))
    revs: list[tuple[str, object, object]] = []
    for i in range(count):
        rev = f"r{i:03d}"
        if not revs:
            revs.append((rev, None, None))
            continue
        names = [r[0] for r in revs]
        parents = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        labels = f"label{i}" if draw(st.integers(0, 9)) == 0 else None
        revs.append((rev, parents[0] if len(parents) == 1 else tuple(parents), labels))
    return revs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=revision_graphs())
def test_index_agrees_with_alembic_on_random_graphs(tmp_path_factory, graph):
    script, versions = make_script_dir(tmp_path_factory.mktemp("g"))
    for rev, down, labels in graph:
        write_rev(versions, rev, down, labels=labels)
    assert our_view(script) == alembic_view(script)


def test_one_process_reads_each_file_once_and_still_checks_syntax(tmp_path):
    """The scans of one command share what was read: a header left uncached (syntax not yet proven)
    is taken again without reading once Python compiled the file, and still compiled when it was not."""
    import py_compile

    script, versions = make_script_dir(tmp_path)
    paths = [write_rev(versions, f"s{i:03d}", f"s{i-1:03d}" if i else None) for i in range(5)]
    first = RevisionIndex(script, check_syntax=False)  # the target check before a run
    assert set(first.revision_map().heads) == {"s004"} and first.files_read == 5

    for path in paths[:4]:  # Alembic imported these (writing .pyc); s004 not yet
        py_compile.compile(str(path), cfile=importlib_cache(path), doraise=True)
    second = RevisionIndex(script)
    assert second.checksums().keys() == {os.path.realpath(p) for p in paths}
    assert second.files_read == 1  # only s004, to compile it: the syntax of a file is still proven

    third = RevisionIndex(script)
    assert third.marks().keys() == {os.path.realpath(p) for p in paths} and third.files_read == 0

    broken = versions / "s005_m.py"
    broken.write_text(HEADER.format(rev="s005", down="s004", labels=None, depends=None, message="m") + "def (:\n")
    RevisionIndex(script, check_syntax=False).headers()  # read, syntax unproven
    from schemashift.errors import RevisionFileError

    with pytest.raises(RevisionFileError, match="SyntaxError"):
        RevisionIndex(script).headers()


def importlib_cache(path: Path) -> str:
    import importlib.util

    return importlib.util.cache_from_source(str(path))


def test_one_command_scans_the_files_once(tmp_path):
    """Inside ``one_scan()`` (a migration command) the index stats the files once: a later index of the
    same directory answers from that scan, even for a file changed meanwhile; outside it, every scan
    sees the change.  A scan that left a file's syntax unproven is not reused where proof is asked."""
    from schemashift.revisions.index import one_scan

    script, versions = make_script_dir(tmp_path)
    paths = [write_rev(versions, f"o{i:03d}", f"o{i-1:03d}" if i else None) for i in range(3)]
    with one_scan():
        unproven = RevisionIndex(script, check_syntax=False)
        assert len(unproven.headers()) == 3 and unproven.files_read == 3
        proving = RevisionIndex(script)  # asks for proof: scans (and compiles) again
        before = proving.checksums()
        assert proving.files_read == 3
        write_rev(versions, "o002", "o000")  # edited while the command runs
        later = RevisionIndex(script)
        assert later.checksums() == before and later.files_read == 0  # the command's first proven scan
        assert set(later.revision_map().heads) == {"o002"}
    after = RevisionIndex(script)
    assert after.checksums()[os.path.realpath(paths[2])] != before[os.path.realpath(paths[2])]
    assert after.files_read == 1
    assert set(after.revision_map().heads) == {"o001", "o002"}


def test_one_scan_is_per_thread(tmp_path):
    """A scope belongs to the thread that opened it: another thread (a library migrating several
    databases at once) scans for itself and sees the files as they are."""
    import threading

    from schemashift.revisions.index import one_scan

    script, versions = make_script_dir(tmp_path)
    for i in range(2):
        write_rev(versions, f"t{i:03d}", f"t{i-1:03d}" if i else None)
    seen: list[set[str]] = []
    with one_scan():
        assert set(RevisionIndex(script).revision_map().heads) == {"t001"}
        write_rev(versions, "t002", "t001")
        worker = threading.Thread(target=lambda: seen.append(set(RevisionIndex(script).revision_map().heads)))
        worker.start()
        worker.join()
        assert set(RevisionIndex(script).revision_map().heads) == {"t001"}  # this thread: its scope's scan
    assert seen == [{"t002"}]
