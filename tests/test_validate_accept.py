"""``validate --accept REV``: a reviewed edit of an applied file becomes its new baseline,
recorded in the ledger (an ``accept`` row: checksum, when, who); nothing else changes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from fixtures_projects import STUDENTS
from schemashift import api


def ledger_rows(school) -> list[tuple]:
    if hasattr(school, "ledger_entries"):  # the ledger read where schemashift keeps it
        return [(e.revision, e.direction, e.checksum, e.applied_at, e.tool_version) for e in school.ledger_entries()]
    with school.engine().connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT revision, direction, checksum, applied_at, tool_version FROM schemashift_ledger ORDER BY id"))]


def test_accept_a_reviewed_edit(school, run_cli):
    api.revision(school.project(), "students", autogenerate=True, rev_id="v0001")
    school.manual_revision("nickname", "op.add_column('students', sa.Column('nickname', sa.String(50)))",
                           "op.drop_column('students', 'nickname')", rev_id="v0002")
    api.upgrade(school.project(), "head")
    school.insert_students()
    edited = next(school.versions.glob("v0001_*.py"))
    edited.write_text(edited.read_text() + "\n# reviewed: a comment added after it ran\n")
    school.manual_revision("grade index", "op.create_index('ix_grade', 'students', ['grade'])",
                           "op.drop_index('ix_grade', table_name='students')", rev_id="v0003")

    result = run_cli(school.root, "validate")
    assert result.code == 1 and "v0001" in result.stdout and "validate --accept REV" in result.stderr
    refused = run_cli(school.root, "upgrade", "head")
    assert refused.code == 5 and "validate --accept REV" in refused.lines[0]

    before = ledger_rows(school)
    for bad, needle in ((("validate", "--accept", "v0003"), "not applied"), (("validate", "--accept", "@"), "'@'"),
                        (("validate", "--accept", "nosuch"), "nosuch")):
        result = run_cli(school.root, *bad)
        assert result.code == 2 and len(result.lines) == 1 and needle in result.lines[0], result.stderr
    assert ledger_rows(school) == before

    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    result = run_cli(school.root, "validate", "--accept", "v0001", "--accept", "v0002", "--by", "reviewer@ci")
    assert result.code == 0, result.stderr
    assert "Accepted v0001" in result.stdout and "by reviewer@ci" in result.stdout
    assert "v0002" in result.stdout and "already matches" in result.stdout
    assert "OK: 2 applied revision(s)" in result.stdout
    rows = ledger_rows(school)
    assert rows[:len(before)] == before and len(rows) == len(before) + 1  # one row added, none changed
    revision, direction, checksum, applied_at, who = rows[-1]
    assert (revision, direction, who) == ("v0001", "accept", "accepted by reviewer@ci")
    from schemashift.safety.ledger import checksum as file_checksum

    assert checksum == file_checksum(edited)
    when = dt.datetime.fromisoformat(applied_at) if isinstance(applied_at, str) else applied_at  # SQLite: text
    when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    assert when >= started

    assert run_cli(school.root, "upgrade", "head").code == 0  # no longer refused
    assert school.version() == {"v0003"}
    assert school.rows("students") == STUDENTS
    # the accepted text is the baseline, not a blanket pass: a further edit is caught again
    edited.write_text(edited.read_text() + "# another edit, not reviewed\n")
    assert run_cli(school.root, "validate").code == 1
