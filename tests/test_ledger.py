"""The ledger records every step with a checksum; validate catches edited and missing files."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sqlalchemy as sa

from fixtures_projects import STUDENTS, chain_rev, write_chain
from schemashift import api
from schemashift.safety.ledger import checksum

pytestmark = pytest.mark.also_mariadb  # every backend-parametrized test runs on MariaDB too


def ledger_rows(project) -> list[tuple[str, str]]:
    return project.ledger_rows()


def test_every_step_is_recorded(chain):
    write_chain(chain.versions, 3)
    chain.cli("upgrade", "head")
    chain.cli("downgrade", "-1", "--allow", "SS-D107")  # drops t_2 and its 200 rows: deliberately allowed
    chain.cli("stamp", chain_rev(2))
    assert ledger_rows(chain) == [
        (chain_rev(0), "up"), (chain_rev(1), "up"), (chain_rev(2), "up"), (chain_rev(2), "down"), (chain_rev(2), "stamp")
    ]
    first = chain.ledger_entries()[0]
    assert first.checksum == checksum(next(chain.versions.glob(f"{chain_rev(0)}_*.py")))
    assert first.duration_ms >= 0 and first.tool_version.startswith("schemashift ")
    applied = chain.cli("history", "--applied").stdout
    assert "[applied up " in applied and "[applied stamp " in applied


def test_edited_applied_file_is_caught_and_blocks_upgrade(chain):
    write_chain(chain.versions, 3)
    chain.cli("upgrade", chain_rev(1))
    assert "OK: 2 applied" in chain.cli("validate").stdout
    path = next(chain.versions.glob(f"{chain_rev(0)}_*.py"))
    original = path.read_bytes()
    # line endings and a trailing newline do not count as a change
    path.write_bytes(original.replace(b"\n", b"\r\n") + b"\r\n\r\n")
    assert chain.cli("validate").code == 0
    path.write_bytes(original.replace(b"range(1, 201)", b"range(1, 301)"))
    result = chain.cli("validate", ok=False)
    assert result.code == 1 and f"FAIL {chain_rev(0)}" in result.stdout and "changed since it was applied" in result.stdout
    before = chain.state()
    refused = chain.cli("upgrade", "head", ok=False)
    assert refused.code == 5 and "no longer match their files" in refused.error_line and "--ignore-checksums" in refused.error_line
    assert chain.state() == before
    chain.cli("upgrade", "head", "--ignore-checksums")
    assert chain.version() == {chain_rev(2)}
    path.write_bytes(original)
    assert chain.cli("validate").code == 0


def test_missing_applied_file_is_caught(chain):
    write_chain(chain.versions, 2)
    chain.cli("upgrade", "head")
    next(chain.versions.glob(f"{chain_rev(1)}_*.py")).unlink()
    result = chain.cli("validate", ok=False)
    assert "missing" in result.stdout


def test_database_migrated_by_plain_alembic_is_adopted(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "p0001")
    school.manual_revision(
        "nickname", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
        "op.drop_column('students', 'nickname')", rev_id="p0002",
    )
    proc = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "p0001"], cwd=school.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    school.insert_students()
    assert "schemashift_ledger" not in school.tables()
    note = school.cli("validate").stderr
    assert "No ledger yet" in note
    result = school.cli("upgrade", "head")
    assert "Adopted 1 revision(s)" in result.stderr
    assert ledger_rows(school) == [("p0001", "adopt"), ("p0002", "up")]
    assert "OK: 2 applied" in school.cli("validate").stdout
    assert school.rows("students") == STUDENTS


def test_ledger_table_name_is_configurable_and_kept_out_of_autogenerate(school):
    # an empty ledger_schema keeps the ledger in the default schema, as older releases did
    school.ini.write_text(school.ini.read_text().replace(
        "[alembic]\n", "[alembic]\nschemashift.ledger_table = my_ledger\nschemashift.ledger_schema =\n", 1
    ))
    school.cli("revision", "--autogenerate", "-m", "Create students")
    school.cli("upgrade", "head")
    assert "my_ledger" in school.tables() and "schemashift_ledger" not in school.tables()
    assert [d for _, d in school.ledger_rows()] == ["up"]
    assert "No differences" in school.cli("check").stdout
    infos = api.revision(school.project(), "empty", autogenerate=True, allow_empty=True)
    text = open(infos[0].path).read()
    assert "my_ledger" not in text
