"""``current`` without env.py: init's own env.py on a SQLite file is read with sqlite3 (issue 15.9).

When env.py is byte for byte the one ``schemashift init`` writes and the URL
is a SQLite file, ``current`` reads the version table with ``sqlite3`` and
takes the revisions' details from Alembic's last answers, importing neither
Alembic nor SQLAlchemy (``safety.sqlite_position``, shared with ``graph``).
Each state of the database is printed both ways (the fast way, then the
same commands after env.py was edited, which must run env.py) and compared
byte for byte, stdout, stderr and exit code, and with plain ``alembic current``.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from schemashift.safety.ledger_place import SIDECAR_SUFFIX

# runs each argument list through the real CLI in one fresh interpreter; reports what was imported
PROBE = """
import contextlib, gc, io, json, sys
from schemashift.cli import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = None
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
    assert gc.isenabled(), args  # a read command turns the collector off only while it runs, inside a caller
loaded = sorted(m for m in ("alembic", "alembic.runtime.migration", "sqlalchemy", "sqlalchemy.engine") if m in sys.modules)
print(json.dumps({"results": results, "imported": loaded}))
"""
COMMANDS = [["current"], ["current", "-v"]]


def probe(root: Path, commands: list[list[str]]) -> tuple[list[list], list[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(commands)], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    return found["results"], found["imported"]


def alembic_current(root: Path) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "alembic", "current"], cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.fixture
def branched(school):
    """r1 -> r2 -> r3, and r4 off r2: two heads (r3, r4)."""
    school.manual_revision("one", "pass", "pass", rev_id="r1")
    school.manual_revision("two", "pass", "pass", rev_id="r2")
    school.manual_revision("three", "pass", "pass", rev_id="r3")
    school.manual_revision("four", "pass", "pass", rev_id="r4", head="r2", splice=True)
    return school


def database_file(project) -> Path:
    return Path(project.url.split("///", 1)[1])


# walked in this order on one project (each state from the one before)
STATES = {
    "no tables": [],
    "stamped at r1": [("stamp", "r1")],
    "at r2, behind the heads": [("upgrade", "r2")],
    "at r3, a head": [("upgrade", "r3")],
    "at both heads": [("upgrade", "heads")],
    "at both heads, ledger sidecar removed": [],
}

EXPECTED = {
    "no tables": [],
    "stamped at r1": ["r1"],
    "at r2, behind the heads": ["r2 (branchpoint)"],
    "at r3, a head": ["r3 (head)"],
    "at both heads": ["r3 (head)", "r4 (head)"],
    "at both heads, ledger sidecar removed": ["r3 (head)", "r4 (head)"],
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # sqlite3 reads SQLite only
def test_current_prints_the_same_with_and_without_env_py(branched):
    database = database_file(branched)
    sidecar = Path(str(database) + SIDECAR_SUFFIX)
    branched.engine().dispose()
    sqlite3.connect(database).close()  # the file exists (with no tables yet)
    env_py = branched.root / "migrations" / "env.py"
    template = env_py.read_bytes()

    probe(branched.root, [["history"]])  # keeps Alembic's history answer: any revision, not only a head
    answers = branched.root / "migrations" / "__pycache__" / "schemashift-answers.json"
    assert answers.is_file()

    for state, steps in STATES.items():
        env_py.write_bytes(template)
        for step in steps:
            branched.cli(*step)
        if "removed" in state:
            sidecar.unlink()
        assert sidecar.is_file() == (state not in ("no tables", "at both heads, ledger sidecar removed")), state
        before = branched.state()

        if state == "at r3, a head":  # no answers kept: they are worked out from the files' text, and kept
            answers.unlink()
            first, imported = probe(branched.root, COMMANDS)
            assert imported == [] and answers.is_file()
        fast, imported = probe(branched.root, COMMANDS)
        assert imported == [], (state, imported)  # neither Alembic nor SQLAlchemy
        if state == "at r3, a head":
            assert fast == first
        env_py.write_bytes(template + b"# edited: current must run env.py now\n")
        slow, imported = probe(branched.root, COMMANDS)
        assert "alembic.runtime.migration" in imported and "sqlalchemy.engine" in imported, state
        assert fast == slow, state  # exit codes, stdout and stderr, byte for byte

        plain, verbose = fast
        assert plain[0] == 0 and verbose[0] == 0, state
        # Alembic's lines, (branchpoint) included; the order of two heads is a set's in both
        assert sorted(plain[1].splitlines()) == sorted(alembic_current(branched.root)), state
        if state == "no tables":
            assert plain[1] == "" and plain[2] == f"The database ({branched.url}) is at base: no revision applied.\n"
        else:
            assert plain[2] == "" and verbose[1].startswith(f"Current revision(s) for {branched.url}:\nRev: "), state
            assert "(current)" not in verbose[1], state  # Alembic's current -v marks nothing current
        assert sorted(plain[1].splitlines()) == EXPECTED[state]
        assert branched.state() == before, state


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("options", [["--url", "{url}"], ["-x", "tenant=a"], ["--verbose"]])
def test_options_that_can_change_the_answer_run_env_py(branched, options):
    branched.cli("upgrade", "r3")
    probe(branched.root, [["current"], ["heads"], ["history"]])  # answers kept
    fast, imported = probe(branched.root, [["current"]])
    assert imported == [] and fast[0][1] == "r3 (head)\n"
    args = [arg.replace("{url}", branched.url) for arg in options]
    slow, imported = probe(branched.root, [[*args, "current"]])
    assert "alembic.runtime.migration" in imported
    assert slow[0][1] == "r3 (head)\n"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_revision_file_changed_since_the_answers_is_read_again(branched):
    """The answers are only used while every revision file is as it was: a changed file is read again
    (from its text, or through Alembic when its text is not plain literals), never replayed."""
    branched.cli("upgrade", "r3")
    probe(branched.root, [["current"], ["history"]])
    path = next(branched.versions.glob("r3_*.py"))
    path.write_text(path.read_text().replace('"""three', '"""three, renamed', 1))
    fast, imported = probe(branched.root, [["current", "-v"]])
    assert imported == [] and "three, renamed" in fast[0][1]
    path.write_text(path.read_text().replace('"""three, renamed', '"""three, renamed again', 1)
                    + "revision = revision  # not a literal: only Alembic can say\n")
    slow, imported = probe(branched.root, [["current", "-v"]])
    assert "alembic.runtime.migration" in imported and "three, renamed again" in slow[0][1]
    again, imported = probe(branched.root, [["current", "-v"]])  # Alembic's answer was kept
    assert imported == [] and again == slow


def _previous_release_env_py(today: str) -> bytes:
    """init's env.py as the release before the async branch wrote it (rebuilt from today's)."""
    text = today.replace("import asyncio\n", "", 1)
    start = text.index("async def _run_async(")
    text = text[:start] + text[text.index("def run_migrations_online()"):]
    text = text.replace("    A URL naming an async driver runs in an event loop of its own.\n", "", 1)
    text = text.replace("    if connectable.dialect.is_async:\n        asyncio.run(_run_async(connectable))\n"
                        "        return\n", "", 1)
    return text.encode()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_earlier_releases_env_py_keeps_the_answer_without_env_py(branched):
    """A project made by the release before still answers ``current`` without running env.py
    after schemashift is upgraded (init's env.py gained an async branch that a SQLite file's
    URL never takes); any other env.py still runs."""
    import hashlib

    from schemashift.safety.sqlite_position import EARLIER_TEMPLATES

    branched.cli("upgrade", "r3")
    env_py = branched.root / "migrations" / "env.py"
    earlier = _previous_release_env_py(env_py.read_text())
    assert hashlib.sha256(earlier).hexdigest() in EARLIER_TEMPLATES  # the rebuild is that release's file
    env_py.write_bytes(earlier)
    probe(branched.root, [["current"], ["heads"], ["history"]])  # answers kept
    fast, imported = probe(branched.root, [["current"]])
    assert imported == [] and fast[0][1] == "r3 (head)\n"
    env_py.write_bytes(earlier + b"# edited\n")
    slow, imported = probe(branched.root, [["current"]])
    assert "alembic.runtime.migration" in imported and slow[0][1] == "r3 (head)\n"
