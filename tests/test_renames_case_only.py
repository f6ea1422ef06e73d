"""A rename that changes only the letter case (``Users`` -> ``users``, ``Name`` -> ``name``).

SQLite matches table names in any case, so ``ALTER TABLE "Users" RENAME TO users``
fails ("there is already another table or index with this name"): the rename goes
through a temporary name there, and stays one statement on PostgreSQL, where the two
are different names.  Django's autodetector tests have the same scenario
(``test_rename_model_case``); written anew here, rows checked value by value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemashift import api

BEFORE = """
class User(Base):
    __tablename__ = "Users"
    id: Mapped[int] = mapped_column(primary_key=True)
    Name: Mapped[str] = mapped_column(sa.String(50))
"""
AFTER = BEFORE.replace('"Users"', '"users"').replace("    Name:", "    name:")
ROWS = [(1, "ann"), (2, "bob")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_case_only_renames_keep_the_rows_both_ways(backend, schema_project, request) -> None:
    proj = schema_project(request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url"))
    proj.models(BEFORE)
    proj.revision("create")
    proj.upgrade()
    proj.sql('INSERT INTO "Users" (id, "Name") VALUES (1, \'ann\'), (2, \'bob\')')
    proj.models(AFTER)
    infos = api.revision(proj.project, "lower case", autogenerate=True, renames=["Users=users", "users.Name=name"])
    text = Path(infos[0].path).read_text()
    upgrade = text.split("def downgrade")[0]
    assert "create_table" not in upgrade and "drop_table" not in upgrade
    assert upgrade.count("op.rename_table(") == (2 if backend == "sqlite" else 1), upgrade
    proj.upgrade()
    assert proj.sql("SELECT id, name FROM users ORDER BY id") == ROWS
    assert api.check(proj.project).differences == []
    proj.downgrade("-1")
    assert proj.sql('SELECT id, "Name" FROM "Users" ORDER BY id') == ROWS
    tables = proj.inspect(lambda insp: sorted(insp.get_table_names()))
    assert "Users" in tables and "users" not in tables
