"""``heads`` and ``history`` from stored answers: no Alembic import, never stale (issue 15.9).

After one normal call, ``schemashift heads``/``history`` answer from what
Alembic's revision map said, without importing Alembic, SQLAlchemy or Rich;
any added, edited or removed revision file (or an edited alembic.ini) sends
them back to the normal path.  Every answer is compared with plain
``alembic``'s.  ``history`` reads the database only with ``-i``.
"""

from __future__ import annotations

import pytest

from fixtures_projects import SchoolProject, alembic_batch, chain_rev, run_probed, write_chain
from schemashift import api


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    api.init(root, url=f"sqlite:///{root / 'app.db'}")
    return SchoolProject(root, f"sqlite:///{root / 'app.db'}", "sqlite")


def probe(project: SchoolProject, *args: str) -> tuple[list[str], str]:
    proc = run_probed(project.root, *args)
    assert proc.returncode == 0, proc.stderr
    imported = proc.stderr.split("IMPORTED", 1)[1].strip()
    return proc.stdout.splitlines(), imported


def agree_with_alembic(project: SchoolProject) -> None:
    theirs = alembic_batch(project.root, [("heads",), ("history",)])  # one process asks both
    for command, plain in zip(("heads", "history"), theirs):
        assert plain.returncode == 0, plain.stderr
        lines = project.cli(command).stdout.splitlines()  # the normal path, or the cache if nothing changed
        assert lines == [ln.strip() for ln in plain.stdout.splitlines() if ln.strip()], command
        again, imported = probe(project, command)
        assert again == lines and imported == "[]", (command, imported)


def test_answers_come_from_the_cache_and_follow_every_change(project):
    write_chain(project.versions, 3)
    first, imported = probe(project, "heads")  # no answer kept yet: worked out from the files' text
    assert first == [f"{chain_rev(2)} (head)"] and imported == "[]"
    agree_with_alembic(project)
    # added: a new head
    write_chain(project.versions, 1, start=3)
    agree_with_alembic(project)
    assert probe(project, "heads")[0] == [f"{chain_rev(3)} (head)"]
    # edited: c0003 now branches off c0001, so two heads
    path = next(project.versions.glob(f"{chain_rev(3)}_*.py"))
    path.write_text(path.read_text().replace(f"down_revision = {chain_rev(2)!r}", f"down_revision = {chain_rev(1)!r}"))
    agree_with_alembic(project)
    assert sorted(probe(project, "heads")[0]) == sorted([f"{chain_rev(2)} (head)", f"{chain_rev(3)} (head)"])
    # removed
    path.unlink()
    agree_with_alembic(project)
    assert probe(project, "heads")[0] == [f"{chain_rev(2)} (head)"]
    # alembic.ini edited: version_locations moved elsewhere, so the answer must change with it
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    write_chain(elsewhere, 1, start=0)
    project.ini.write_text(project.ini.read_text().replace(
        "[alembic]\n", f"[alembic]\nversion_locations = {elsewhere}\n", 1
    ))
    agree_with_alembic(project)
    assert probe(project, "heads") == ([f"{chain_rev(0)} (head)"], "[]")


def test_history_reads_the_database_only_with_indicate_current(project):
    write_chain(project.versions, 2)
    project.cli("upgrade", chain_rev(0))
    plain = project.cli("history").stdout.splitlines()
    assert plain == [f"{chain_rev(0)} -> {chain_rev(1)} (head), step 1", f"<base> -> {chain_rev(0)}, step 0"]
    marked = project.cli("history", "-i").stdout.splitlines()
    assert marked[1] == f"<base> -> {chain_rev(0)} (current), step 0"
    # an unreachable database: plain history still answers; -i says why it cannot mark
    unreachable = ("--url", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert project.cli(*unreachable, "history").stdout.splitlines() == plain
    result = project.cli(*unreachable, "history", "-i")
    assert "current revision not shown" in result.stderr and "(current)" not in result.stdout


def test_a_broken_file_is_reported_even_after_answers_were_stored(project):
    write_chain(project.versions, 2)
    project.cli("heads")
    path = next(project.versions.glob(f"{chain_rev(1)}_*.py"))
    path.write_text(path.read_text().replace("def upgrade() -> None:", "def upgrade() -> None\n"))
    for command in ("heads", "history"):
        result = project.cli(command, ok=False)
        assert result.code == 2 and "SyntaxError" in result.error_line, result.stderr
