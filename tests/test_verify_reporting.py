"""verify reports every revision, and never aborts on a broken one (issue 12.4).

A missing downgrade(), an exception in upgrade() or downgrade(), a failure
below --range: each is one failed revision with a reason, the walk goes on
where it can, the exit code is 1, and --json prints a whole document even
when verify cannot run at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from verify_examples import Rev, make_project, table_names

from schemashift.safety.verify import verify

INDEX = Rev("r2", 'op.create_index("ix_users_name", "users", ["name"])', 'op.drop_index("ix_users_name", table_name="users")')
INDEX_MODEL = 'Index("ix_users_name", users.c.name)\n'


def cli(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "schemashift", *args], cwd=root, capture_output=True, text=True,
        env=dict(os.environ), timeout=300,
    )


def statuses(report):
    return [(r.revision, r.status, r.failed_step) for r in report.revisions]


def test_missing_downgrade_is_one_failed_revision(tmp_path, db_url):
    example = make_project(tmp_path, "no_downgrade", [Rev("r1", "pass"), INDEX], url=db_url, models_extra=INDEX_MODEL)
    path = example.revision_path("r1")
    path.write_text(path.read_text().split("def downgrade")[0])
    report = verify(example.reload())
    assert statuses(report) == [("r0", "ok", None), ("r1", "failed", "downgrade"), ("r2", "ok", None)]
    assert report.revisions[1].error == "the revision file has no downgrade() function"
    assert not report.ok
    assert table_names(example.url) == []


def test_exception_in_downgrade_fails_that_revision_and_the_walk_goes_on(tmp_path, db_url):
    example = make_project(
        tmp_path, "raising_downgrade", [Rev("r1", "pass", 'raise RuntimeError("boom in downgrade")'), INDEX],
        url=db_url, models_extra=INDEX_MODEL,
    )
    report = verify(example.project)
    assert statuses(report) == [("r0", "ok", None), ("r1", "failed", "downgrade"), ("r2", "ok", None)]
    assert report.revisions[1].error == "RuntimeError: boom in downgrade"


def test_exception_in_upgrade_leaves_the_revisions_above_not_checked_with_a_reason(tmp_path, db_url):
    example = make_project(tmp_path, "raising_upgrade", [Rev("r1", 'raise ValueError("bad upgrade")'), INDEX], url=db_url)
    report = verify(example.project)
    assert statuses(report) == [("r0", "ok", None), ("r1", "failed", "upgrade"), ("r2", "not checked", None)]
    assert report.revisions[1].error == "ValueError: bad upgrade"
    assert "upgrade of r1 failed" in report.revisions[2].error
    assert any("not checked: the upgrade of r1 failed" in line for line in report.lines())


def test_a_failure_below_the_range_is_reported_as_a_failed_revision(tmp_path, db_url):
    example = make_project(tmp_path, "below_range", [Rev("r1", 'raise ValueError("broken below")'), INDEX], url=db_url)
    report = verify(example.project, rev_range="r2:")
    assert statuses(report) == [("r1", "failed", "upgrade (below the checked range)"), ("r2", "not checked", None)]
    assert report.revisions[0].error == "ValueError: broken below"
    assert not report.ok


def test_json_is_a_whole_document_on_failure_and_when_verify_cannot_run(tmp_path, sqlite_url):
    example = make_project(tmp_path, "json_doc", [Rev("r1", 'raise ValueError("x")'), INDEX], url=sqlite_url)
    failed = cli(example.root, "verify", "--json")
    assert failed.returncode == 1, failed.stderr
    doc = json.loads(failed.stdout)
    assert doc["ok"] is False
    assert [(r["revision"], r["status"]) for r in doc["revisions"]] == [("r0", "ok"), ("r1", "failed"), ("r2", "not checked")]
    cannot = cli(example.root, "verify", "--json", "--range", "nocolon")
    assert cannot.returncode == 2
    doc = json.loads(cannot.stdout)
    assert doc["ok"] is False and "is not [start]:[end]" in doc["error"] and doc["revisions"] == []
    assert doc["exit_code"] == 2 and cannot.stderr.startswith("error: ")


def test_multi_line_docstring_stays_on_one_line(tmp_path, sqlite_url):
    example = make_project(
        tmp_path, "long_doc", [Rev("r1", "pass", doc="add things\nacross two lines")], url=sqlite_url,
    )
    result = cli(example.root, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [ln for ln in result.stdout.splitlines() if " r1 " in ln]
    assert lines == [lines[0]] and "add things across two lines" in lines[0]
