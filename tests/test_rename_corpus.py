"""Precision and recall of rename detection over the corpus (tests/rename_corpus.py),
on SQLite and PostgreSQL.

Each case: the old schema is created in a fresh database, autogenerate runs
against the new models with ``--accept-renames`` (``NonInteractiveQuestioner``)
and the renames applied and the candidates left to a person are compared with
the truth.  Targets (issue 10): no false rename accepted without a question
(precision 1.0), every clear rename found (recall 1.0), every other real rename
at least asked on a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext

from rename_corpus import CASES, Case, generated_case, metadata
from test_renames_support import rename_hook
from schemashift.autogen.questioner import NonInteractiveQuestioner


@dataclass
class Outcome:
    accepted: set[str]
    asked: set[str]


@dataclass
class Tally:
    accepted: int = 0
    accepted_real: int = 0
    clear: int = 0
    clear_found: int = 0
    asked: int = 0
    asked_found: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, case: Case, out: Outcome) -> None:
        self.accepted += len(out.accepted)
        self.accepted_real += len(out.accepted & set(case.clear))
        self.clear += len(case.clear)
        self.clear_found += len(out.accepted & set(case.clear))
        self.asked += len(case.asked)
        self.asked_found += len(set(case.asked) & out.asked)
        problems = []
        if out.accepted - set(case.clear):
            problems.append(f"accepted without a question: {sorted(out.accepted - set(case.clear))}")
        if set(case.clear) - out.accepted:
            problems.append(f"clear renames missed: {sorted(set(case.clear) - out.accepted)}")
        if set(case.asked) - out.asked:
            problems.append(f"not asked: {sorted(set(case.asked) - out.asked)}")
        if set(case.silent) & out.asked:
            problems.append(f"asked although declared new: {sorted(set(case.silent) & out.asked)}")
        if problems:
            self.failures.append(f"{case.id} ({case.source}): " + "; ".join(problems))

    def lines(self, backend: str) -> list[str]:
        precision = self.accepted_real / self.accepted if self.accepted else 1.0
        recall = self.clear_found / self.clear if self.clear else 1.0
        asked = self.asked_found / self.asked if self.asked else 1.0
        return [
            f"rename corpus on {backend}: precision {precision:.3f} ({self.accepted_real}/{self.accepted} accepted "
            f"without a question were clear renames), recall {recall:.3f} ({self.clear_found}/{self.clear} clear "
            f"renames found), {self.asked_found}/{self.asked} other real renames asked ({asked:.3f})",
        ]


def detect(url: str, case: Case) -> Outcome:
    """Create the old schema at ``url``, autogenerate the new one, return what was decided."""
    old, new = metadata(case.old), metadata(case.new)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            old.create_all(conn)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"target_metadata": new, "render_as_batch": url.startswith("sqlite")}
            )
            script = produce_migrations(ctx, new)
            hook, report = rename_hook(
                questioner=NonInteractiveQuestioner(accept_unambiguous=True), not_renamed=case.not_renamed
            )
            hook(ctx, None, [script])
    finally:
        engine.dispose()
    accepted = {f"{r.old}={r.new}" for r in report.applied_tables if r.source != "declared"}
    accepted |= {f"{r.table}.{r.old}={r.new}" for r in report.applied_columns if r.source != "declared"}
    return Outcome(accepted, {c.spec for c in report.unresolved})


def fresh_url(backend: str, tmp_path, pg_server, name: str) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}", None
    db = pg_server.create_database()
    return pg_server.url(db), db


@pytest.fixture
def server(backend, request):
    return request.getfixturevalue("pg_server") if backend == "postgresql" else None


def test_rename_corpus(backend, server, tmp_path, capsys) -> None:
    tally = Tally()
    for case in CASES:
        url, db = fresh_url(backend, tmp_path, server, case.id)
        try:
            tally.add(case, detect(url, case))
        finally:
            if db is not None:
                server.drop_database(db)
    with capsys.disabled():
        print("\n" + "\n".join(tally.lines(backend)))
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.clear >= 15 and tally.asked >= 3  # the corpus is not empty


def test_generated_1000_tables(backend, server, tmp_path, capsys) -> None:
    """Issue 10: 1,000 tables, each with one column of its own; 20 renamed, 20 columns renamed."""
    case = generated_case(1000, 20)
    url, db = fresh_url(backend, tmp_path, server, "generated")
    try:
        out = detect(url, case)
    finally:
        if db is not None:
            server.drop_database(db)
    tally = Tally()
    tally.add(case, out)
    with capsys.disabled():
        print("\n" + "\n".join(tally.lines(backend + ", 1,000 generated tables")))
    assert len([s for s in out.accepted if "." not in s]) == 20
    assert len([s for s in out.accepted if "." in s]) == 20
    assert not tally.failures, "\n".join(tally.failures)
