"""No lock-in: Alembic's own projects run under schemashift, and ours under plain alembic."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from alembic import command
from alembic.config import Config

from fixtures_projects import STUDENTS, CliResult, alembic_batch


def alembic_outputs(root: Path, commands) -> dict[tuple[str, ...], str]:
    """Plain alembic's stdout for each command (run in order, in one process: ``alembic_batch``)."""
    answers = {}
    for args, proc in zip(commands, alembic_batch(root, commands)):
        assert proc.returncode == 0, (args, proc.stderr)
        answers[args] = proc.stdout
    return answers


def alembic_cli(root: Path, *args: str) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_schemashift_project_runs_under_plain_alembic(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "c0ffee000001")
    alembic_cli(school.root, "upgrade", "head")
    school.insert_students()
    assert school.cli("current").stdout.split() == ["c0ffee000001", "(head)"]
    assert "c0ffee000001 (head)" in alembic_cli(school.root, "current").stdout
    school.write_models(extra="    nickname: Mapped[str | None] = mapped_column(String(30))\n")
    alembic_cli(school.root, "revision", "--autogenerate", "-m", "nickname", "--rev-id", "c0ffee000002")
    school.cli("upgrade", "head")
    assert "nickname" in school.columns("students")
    alembic_cli(school.root, "downgrade", "-1")
    assert school.version() == {"c0ffee000001"}
    assert school.rows("students") == STUDENTS


def _alembic_init(root: Path, url: str, template: str = "generic") -> None:
    root.mkdir()
    cfg = Config(str(root / "alembic.ini"), toml_file=str(root / "pyproject.toml"))
    command.init(cfg, str(root / "migrations"), template=template)
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname", url))
    if template == "pyproject":
        toml = root / "pyproject.toml"
        assert "[tool.alembic]" in toml.read_text()


def _manual_revision(root: Path, url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "revision", "-m", "create students", "--rev-id", "a1e0000001"],
        cwd=root, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    path = next((root / "migrations" / "versions").glob("a1e0000001_*.py"))
    body = textwrap.dedent(
        """
        op.create_table('students', sa.Column('id', sa.Integer(), primary_key=True),
                        sa.Column('name', sa.String(100)), sa.Column('grade', sa.Integer()))
        """
    ).strip()
    text = path.read_text()
    text = text.replace('"""Upgrade schema."""\n    pass', '"""Upgrade schema."""\n    ' + body.replace("\n", "\n    "))
    text = text.replace('"""Downgrade schema."""\n    pass', '"""Downgrade schema."""\n    op.drop_table("students")')
    path.write_text(text)


def test_project_made_by_alembic_init_works_unchanged(tmp_path, db_url, backend):
    from fixtures_projects import SchoolProject

    root = tmp_path / "legacy"
    _alembic_init(root, db_url)
    env_before = (root / "migrations" / "env.py").read_text()
    _manual_revision(root, db_url)
    project = SchoolProject(root, db_url, backend)
    project.cli("upgrade", "head")
    project.insert_students()
    assert project.cli("current").stdout.split() == ["a1e0000001", "(head)"]
    assert "a1e0000001 (head)" in alembic_cli(root, "current").stdout
    assert project.cli("history", "-i").stdout.startswith("<base> -> a1e0000001 (head) (current), create students")
    project.cli("downgrade", "base", "--allow-destructive")  # students holds rows: refused unless allowed
    assert "students" not in project.tables()
    project.cli("upgrade", "head")
    assert (root / "migrations" / "env.py").read_text() == env_before


def test_pyproject_toml_config(tmp_path, db_url, backend):
    from fixtures_projects import SchoolProject

    root = tmp_path / "tomlproj"
    _alembic_init(root, db_url, template="pyproject")
    _manual_revision(root, db_url)
    project = SchoolProject(root, db_url, backend)
    project.cli("--config", "pyproject.toml", "upgrade", "head")
    project.insert_students()
    out = project.cli("--config", str(root / "pyproject.toml"), "current", cwd=tmp_path).stdout
    assert out.split() == ["a1e0000001", "(head)"]
    assert project.rows("students") == STUDENTS


def test_reading_commands_need_no_env_py_as_under_alembic(tmp_path, sqlite_url):
    """pytest-alembic's ``test_default_env_script`` shape: the project has no env.py (the
    plugin brings its own).  Alembic's heads, history and show read only the revision
    files; ours did too little: every command stopped with "has no env.py"."""
    from fixtures_projects import SchoolProject

    root = tmp_path / "noenv"
    _alembic_init(root, sqlite_url)
    _manual_revision(root, sqlite_url)
    (root / "migrations" / "env.py").unlink()
    project = SchoolProject(root, sqlite_url, "sqlite")
    reading = (("heads",), ("history",), ("history", "-v"), ("show", "a1e0000001"))
    theirs = alembic_outputs(root, reading)
    for args in reading:
        assert project.cli(*args).stdout == theirs[args], args
    for args in (("upgrade", "head"), ("current",), ("check",), ("revision", "--autogenerate", "-m", "x")):
        failed = project.cli(*args, ok=False)
        assert failed.code == 2, (args, failed.stderr)
        assert failed.stderr.strip().splitlines() == [
            f"error: {root / 'migrations'} has no env.py (restore env.py, or create the project again with 'schemashift init')"
        ], args
    assert project.tables() == set()


HISTORY_FILES = {
    "a1": (None, '"""first\n\nA longer story,\n\nwith a blank line.\n\nRevision ID: a1\n"""'),
    "b2": ("a1", '"""left"""'),
    "c3": ("a1", ""),  # no docstring at all
    "d4": (("b2", "c3"), '"""merge"""'),
    "e5": ("a1", '"""a third branch"""'),
}


def _normalized(text: str) -> list[str]:
    """Alembic lists a branch point's children in set order (arbitrary): compare them sorted."""
    out = []
    for line in text.splitlines():
        if line.startswith("Branches into: "):
            line = "Branches into: " + ", ".join(sorted(line[len("Branches into: "):].split(", ")))
        out.append(line)
    return out


def test_heads_history_branches_print_what_alembic_prints(tmp_path, sqlite_url):
    """Run over pytest-alembic's example histories, four differences showed up:
    - ``heads`` marked a merge head "(mergepoint)" (Alembic's heads shows no tree marks);
    - ``-v`` dropped the "Branches into:" line, the indent of blank docstring lines, and
      the empty line a revision without a docstring ends with;
    - ``branches`` did not exist."""
    from fixtures_projects import SchoolProject

    root = tmp_path / "tree"
    _alembic_init(root, sqlite_url)
    versions = root / "migrations" / "versions"
    for rev, (down, doc) in HISTORY_FILES.items():
        (versions / f"{rev}.py").write_text(
            f"{doc}\nrevision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n"
            "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        )
    project = SchoolProject(root, sqlite_url, "sqlite")
    same = (("heads",), ("heads", "-v"), ("history",), ("history", "-v"), ("show", "a1"), ("show", "c3"))
    answers = alembic_outputs(root, (*same, ("branches",), ("branches", "-v")))
    for args in same:
        assert _normalized(project.cli(*args).stdout) == _normalized(answers[args]), args
    for args in (("branches",), ("branches", "-v")):
        ours, theirs = project.cli(*args).stdout, answers[args]
        assert sorted(_normalized(ours)) == sorted(_normalized(theirs)), args
        assert ours.splitlines()[0] == theirs.splitlines()[0] == ("a1 (branchpoint)" if args == ("branches",) else "Rev: a1 (branchpoint)")


def test_alembics_multidb_template_is_refused_before_anything_runs(tmp_path):
    """Alembic's ``multidb`` env.py migrates several engines in one run; schemashift runs one
    database per command and says so (exit 2) before touching either database."""
    import sqlalchemy as sa

    from fixtures_projects import SchoolProject

    root = tmp_path / "multi"
    _alembic_init(root, "unused", template="multidb")
    ini = root / "alembic.ini"
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("engine1", "engine2")}
    text = ini.read_text()
    for name, url in urls.items():
        text = text.replace(f"[{name}]\nsqlalchemy.url = unused", f"[{name}]\nsqlalchemy.url = {url}")
    assert all(url in text for url in urls.values())
    ini.write_text(text)
    assert alembic_cli(root, "revision", "-m", "first", "--rev-id", "m1").code == 0
    project = SchoolProject(root, urls["engine1"], "sqlite")
    result = project.cli("upgrade", "head", ok=False)
    assert result.code == 2 and "second connection" in result.error_line and "own project" in result.error_line
    for url in urls.values():
        engine = sa.create_engine(url)
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()


def test_a_head_other_revisions_depend_on_is_an_effective_head(tmp_path, sqlite_url):
    """Alembic marks a head that another branch ``depends_on`` "(effective head)" in ``heads``,
    ``history`` and ``current`` ("(head)" in ``-v`` entries); schemashift printed "(head)", on the
    cold-cache path and the normal one alike.  Dependencies by id and by branch label."""
    from fixtures_projects import SchoolProject

    root = tmp_path / "deps"
    _alembic_init(root, sqlite_url)
    versions = root / "migrations" / "versions"
    files = {  # rev: (down, branch_labels, depends_on)
        "a1": (None, None, None), "a2": ("a1", None, None),
        "b1": (None, ("other",), ("a2",)), "b2": ("b1", None, None),
        "c1": (None, ("third",), None), "d1": (None, None, ("third",)),
    }
    for rev, (down, labels, deps) in files.items():
        (versions / f"{rev}.py").write_text(
            f'"""{rev}"""\nrevision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = {labels!r}\n'
            f"depends_on = {deps!r}\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    project = SchoolProject(root, sqlite_url, "sqlite")
    commands = (("heads",), ("history",), ("current",), ("heads", "-v"), ("heads", "--resolve-dependencies"))
    answers = alembic_outputs(root, (("upgrade", "heads"), *commands))
    theirs = {args: sorted(_normalized(answers[args])) for args in commands}
    for cache in (versions.parent / "__pycache__").glob("schemashift-*"):
        cache.unlink()
    for path in ("cold", "stored", "normal"):
        if path == "normal":
            for cache in (versions.parent / "__pycache__").glob("schemashift-*"):
                cache.unlink()
            b1 = versions / "b1.py"  # a header that is not plain literals: read through Alembic
            b1.write_text(b1.read_text().replace("depends_on = ('a2',)", "depends_on = tuple(['a2'])"))
        for args in commands:
            ours = project.cli(*args).stdout
            assert sorted(_normalized(ours)) == theirs[args], (path, args, ours, theirs[args])
    heads = project.cli("heads").stdout
    assert "a2 (effective head)" in heads and "c1 (third) (effective head)" in heads and "b2 (other) (head)" in heads
    resolved = project.cli("heads", "--resolve-dependencies").stdout  # a2 and c1 are depended on: no heads
    assert "a2" not in resolved and "c1" not in resolved and "b2 (other) (head)" in resolved


def test_stamp_purge_with_a_bad_revision_leaves_the_version_table_as_it_was(tmp_path, sqlite_url):
    """Alembic's ``stamp --purge REV`` empties the version table before it resolves REV, so a typo leaves
    the database with no version at all (seen on Keystone's history: exit 255, version table empty).
    schemashift refuses the typo first (exit 2) and changes nothing."""
    import sqlalchemy as sa

    from fixtures_projects import SchoolProject

    root = tmp_path / "purge"
    _alembic_init(root, sqlite_url)
    assert alembic_cli(root, "revision", "-m", "one", "--rev-id", "p1").code == 0
    assert alembic_cli(root, "stamp", "head").code == 0
    project = SchoolProject(root, sqlite_url, "sqlite")
    refused = project.cli("stamp", "--purge", "nosuchrev", ok=False)
    assert refused.code == 2 and "nosuchrev" in refused.error_line
    assert project.version() == {"p1"}
    theirs = subprocess.run([sys.executable, "-m", "alembic", "stamp", "--purge", "nosuchrev"], cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert theirs.returncode != 0 and "nosuchrev" in theirs.stderr
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:  # what plain Alembic leaves (documents the difference; fails if Alembic fixes it)
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 0
    engine.dispose()
