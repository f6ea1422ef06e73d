"""``schemashift tour``: the lesson on manual migrations, played for real.

Each step runs the command a learner would type (as a real subprocess, in a
real project in a temporary directory), shows its real output, and checks
what it should have done: the tables, the revision, the rows.  The tour
stops with a non-zero exit at the first check that does not hold.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.rule import Rule

PROJECT_FILES = Path(__file__).parent / "project"
DB_NAME = "migrations_test.db"


class TourFailed(Exception):
    """A step's check did not hold."""


@dataclass
class Tour:
    root: Path
    console: Console
    first_rev: str = ""
    rename_rev: str = ""
    column_rev: str = ""

    @property
    def project(self) -> Path:
        return self.root / "school"

    # ------------------------------------------------------------ display

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def step(self, title: str, why: str = "") -> None:
        self.console.print()
        self.console.print(Rule(title, align="left"))
        if why:
            self.say(why)

    def run(self, *args: str, shown: str | None = None, cwd: Path | None = None, ok: bool = True) -> str:
        """Run a command as a user would and show it with its real output."""
        shown = shown or "schemashift " + shlex.join(args)
        self.console.print(f"$ {shown}", style="bold cyan", markup=False, highlight=False)
        if shown.startswith("schemashift"):
            argv = [sys.executable, "-m", "schemashift", *args]
        else:  # "python script.py": the same interpreter schemashift runs on
            argv = [sys.executable, *args[1:]]
        env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
        proc = subprocess.run(
            argv, cwd=cwd or self.project, capture_output=True, text=True, env=env, timeout=300
        )
        text = (proc.stdout + proc.stderr).rstrip()
        if text:
            self.say(text)
        if ok and proc.returncode != 0:
            raise TourFailed(f"'{shown}' exited with {proc.returncode}")
        if not ok and proc.returncode == 0:
            raise TourFailed(f"'{shown}' should have been refused")
        return proc.stdout

    def show_file(self, path: Path, start: str | None = None) -> None:
        """Show a file from the first line containing ``start``."""
        text = path.read_text().splitlines()
        if start:
            text = text[next(i for i, line in enumerate(text) if start in line) :]
        self.console.print(f"# {path.relative_to(self.root)}", style="dim", markup=False, highlight=False)
        self.say("\n".join(text))

    # ------------------------------------------------------------- checks

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.project / DB_NAME)

    def tables(self) -> list[str]:
        with self.db() as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def show_tables(self) -> list[str]:
        """What ``sqlite3 migrations_test.db .tables`` lists."""
        names = self.tables()
        self.console.print(f"$ sqlite3 {DB_NAME} .tables", style="bold cyan", markup=False, highlight=False)
        self.say("  ".join(names))
        return names

    def columns(self, table: str) -> list[str]:
        with self.db() as conn:
            return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]

    def rows(self, table: str) -> list[tuple]:
        with self.db() as conn:
            return conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise TourFailed(what)
        self.console.print(f"  ✓ {what}", style="green", markup=False, highlight=False)

    # -------------------------------------------------------------- edits

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text()
        if old not in text:
            raise TourFailed(f"{path.name} does not contain {old!r}")
        path.write_text(text.replace(old, new, 1))

    def fill_migration(self, rev: str, upgrade: str, downgrade: str) -> Path:
        path = next((self.project / "migrations" / "versions").glob(f"{rev}_*.py"))
        text = path.read_text()
        text = re.sub(r'(def upgrade\(\) -> None:\n    """Upgrade schema."""\n)    pass', rf"\1    {upgrade}", text)
        text = re.sub(
            r'(def downgrade\(\) -> None:\n    """Downgrade schema."""\n)    pass', rf"\1    {downgrade}", text
        )
        path.write_text(text)
        return path


def _new_rev(output: str) -> str:
    match = re.search(r"versions/([0-9a-zA-Z_]+?)_\w*\.py", output)
    if not match:
        raise TourFailed(f"no revision file in output: {output!r}")
    return match.group(1)


def lesson(t: Tour) -> None:
    """The lesson's steps, in the lesson's order."""
    t.step(
        "1. A project with a Student model",
        "In the project folder, schemashift init migrations (as alembic init migrations) creates alembic.ini\n"
        "here and migrations/ (env.py, versions/), wired to the models.",
    )
    t.project.mkdir()
    for name in ("models.py", "crud.py"):
        shutil.copy(PROJECT_FILES / name, t.project / name)
    t.show_file(t.project / "models.py", "class Student")
    t.run("init", "migrations", "--url", f"sqlite:///%(here)s/{DB_NAME}")
    t.expect((t.project / "migrations" / "env.py").exists(), "migrations/env.py exists, no editing needed")

    t.step("2. The first migration, autogenerated from the models")
    t.first_rev = _new_rev(t.run("revision", "--autogenerate", "-m", "Create students"))
    t.run("upgrade", "head")
    t.expect(t.show_tables() == ["alembic_version", "students"], "the students table exists")
    t.say(
        "alembic_version holds the current revision, as with Alembic; schemashift's ledger (in the\n"
        f"sidecar file {DB_NAME}-schemashift, out of Alembic's sight) records each applied step with\n"
        "a checksum of its file ('schemashift validate' compares them)."
    )

    t.step("3. Create, read, update and delete students through a Session")
    t.run("python", "crud.py", shown="python crud.py")
    students = t.rows("students")
    t.expect(len(students) == 2 and students[1][3] == 4, "two students remain; Grace's grade was updated to 4")

    t.step(
        "4. A manual migration: rename students to scholars",
        "Alembic cannot detect a renamed table, so we write this migration by hand.\n"
        "In models.py: __tablename__ = 'scholars'",
    )
    t.edit(t.project / "models.py", '__tablename__ = "students"', '__tablename__ = "scholars"')
    t.rename_rev = _new_rev(t.run("revision", "-m", "Renaming students to scholars"))
    path = t.fill_migration(
        t.rename_rev, "op.rename_table('students', 'scholars')", "op.rename_table('scholars', 'students')"
    )
    t.show_file(path, "def upgrade")
    t.run("upgrade", "head")
    t.expect(t.show_tables() == ["alembic_version", "scholars"], "students is now scholars")
    t.expect(t.rows("scholars") == students, "both students are still there, unchanged")

    t.step("5. Where is the database? current and history")
    out = t.run("current")
    t.expect(out.split() == [t.rename_rev, "(head)"], f"current is {t.rename_rev} (head)")
    out = t.run("history", "-i")
    t.expect(
        f"{t.first_rev} -> {t.rename_rev} (head) (current)" in out and f"<base> -> {t.first_rev}" in out,
        "history lists both revisions, newest first, marking head and current",
    )

    t.step(
        "6. Downgrade to the first revision, by its id",
        f"'scholars' is not the best name for 4th graders after all. The first revision's id is {t.first_rev}.",
    )
    t.edit(t.project / "models.py", '__tablename__ = "scholars"', '__tablename__ = "students"')
    t.run("downgrade", t.first_rev)
    t.expect(t.show_tables() == ["alembic_version", "students"], "the table is students again")
    t.expect(t.rows("students") == students, "the rows are still there")
    t.run("current")

    t.step(
        "7. Delete the unused head",
        "The rename migration is unused now and would confuse Alembic about where head is.\n"
        "discard deletes its file, but only because it is not applied and nothing builds on it.",
    )
    t.run("discard", t.first_rev, ok=False)
    t.run("discard", t.rename_rev)
    t.expect(not list((t.project / "migrations" / "versions").glob(f"{t.rename_rev}_*.py")), "the file is gone")
    t.run("heads")

    t.step(
        "8. Your turn: rename a column by hand",
        "In models.py, Student.name becomes full_name; then a manual migration with op.alter_column.",
    )
    t.edit(t.project / "models.py", "    name: Mapped[str]", "    full_name: Mapped[str]")
    t.edit(t.project / "models.py", "{self.name}", "{self.full_name}")
    t.edit(t.project / "crud.py", "Student(name=name", "Student(full_name=name")
    t.column_rev = _new_rev(t.run("revision", "-m", "Rename name to full_name"))
    path = t.fill_migration(
        t.column_rev,
        "op.alter_column('students', 'name', new_column_name='full_name')",
        "op.alter_column('students', 'full_name', new_column_name='name')",
    )
    t.show_file(path, "def upgrade")
    t.run("upgrade", t.column_rev)
    t.expect("full_name" in t.columns("students") and "name" not in t.columns("students"), "students.name is full_name")
    t.expect([r[1] for r in t.rows("students")] == [s[1] for s in students], "every name kept its value")
    t.run("downgrade", t.first_rev)
    t.expect("name" in t.columns("students"), "downgrade renamed it back to name")
    t.expect(t.rows("students") == students, "and the rows are unchanged")

    t.step("9. Back to head, and check the models against the database")
    t.run("upgrade", "head")
    out = t.run("check")
    t.expect("No differences" in out, "the database matches the models again")
    t.expect([r[1] for r in t.rows("students")] == [s[1] for s in students], "with every row intact")

    t.step(
        "10. Beyond the lesson: the same table rename, autogenerated",
        "Plain autogenerate would drop students and create scholars, losing every row.\n"
        "schemashift recognises the rename; declaring the old name makes it certain, even in CI:\n"
        "    __table_args__ = {\"info\": {\"renamed_from\": \"students\"}}",
    )
    t.edit(
        t.project / "models.py",
        '    __tablename__ = "students"\n',
        '    __tablename__ = "scholars"\n    __table_args__ = {"info": {"renamed_from": "students"}}\n',
    )
    auto_rev = _new_rev(t.run("revision", "--autogenerate", "-m", "Renaming students to scholars"))
    path = next((t.project / "migrations" / "versions").glob(f"{auto_rev}_*.py"))
    t.show_file(path, "def upgrade")
    text = path.read_text()
    t.expect(
        "op.rename_table('students', 'scholars')" in text and "drop_table" not in text,
        "autogenerate wrote rename_table (and its reverse), no drop",
    )
    t.run("upgrade", "head")
    t.expect(t.show_tables() == ["alembic_version", "scholars"], "students is now scholars")
    t.expect([r[1] for r in t.rows("scholars")] == [s[1] for s in students], "with every row")
    t.run("downgrade", "-1")
    t.expect([r[1] for r in t.rows("students")] == [s[1] for s in students], "and back again, rows intact")


def play(*, keep: Path | None = None, console: Console | None = None, steps: Callable[[Tour], None] = lesson) -> bool:
    """Play the tour; True when every check held."""
    console = console or Console()
    root = Path(keep).absolute() if keep else Path(tempfile.mkdtemp(prefix="schemashift-tour-"))
    if keep:
        if (root / "school").exists():
            console.print(f"error: {root / 'school'} already exists (choose an empty --keep directory)", style="red")
            return False
        root.mkdir(parents=True, exist_ok=True)
    tour = Tour(root, console)
    try:
        steps(tour)
    except TourFailed as exc:
        console.print(f"\nTour failed: {exc}", style="bold red", markup=False)
        return False
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    console.print()
    console.print("Tour complete: every step did what the lesson says.", style="bold green")
    if keep:
        console.print(f"The project is in {root / 'school'}", markup=False)
    return True
