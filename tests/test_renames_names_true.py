"""Names that stay true (issue 10): a table renamed by an old migration, then a naming
convention adopted; a database built from empty and one migrated over time both reach
head, with rows, on SQLite and PostgreSQL.

Before, the rename migration hard-coded ``RENAME CONSTRAINT authors_pkey TO
writers_pkey``; a database built after the convention was adopted calls that key
``pk_authors`` (Alembic names unnamed constraints from env.py's target metadata),
so ``upgrade head`` from empty failed.
"""

from __future__ import annotations

import sqlalchemy as sa

from fixtures_schema_changes import SchemaProject
from schemashift import api
from schemashift.autogen.renames.ops import RenameObjectOp, current_name, substitute

AUTHORS = """
class Author(Base):
    __tablename__ = "{table}"{args}
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
"""
ROWS = [(1, "ada@example.org", "Ada"), (2, "alan@example.org", "Alan")]


def insert(proj: SchemaProject, table: str, rows=ROWS) -> None:
    with proj.engine().begin() as conn:
        for row in rows:
            conn.execute(sa.text(f"INSERT INTO {table} (id, email, name) VALUES (:i, :e, :n)"), dict(zip("ien", row)))


def names(proj: SchemaProject, table: str) -> set[str]:
    def read(insp):
        out = {insp.get_pk_constraint(table).get("name")}
        out |= {u["name"] for u in insp.get_unique_constraints(table)}
        return {n for n in out if n}

    return proj.inspect(read)


def test_fresh_database_and_migrated_database_both_reach_head(schema_project, db_url, backend, tmp_path, request) -> None:
    proj = schema_project(db_url)
    proj.models(AUTHORS.format(table="authors", args=""), convention=False)
    proj.revision("authors")
    proj.upgrade()
    insert(proj, "authors")
    proj.models(AUTHORS.format(table="writers", args='\n    __table_args__ = {"info": {"renamed_from": "authors"}}'),
                convention=False)
    path = proj.revision("authors are writers")
    text = path.read_text()
    assert "op.rename_table('authors', 'writers')" in text
    if backend == "postgresql":
        assert "RENAME CONSTRAINT" not in text and "op.rename_object('primary', 'writers', 'authors_pkey'" in text
    proj.upgrade()
    assert proj.sql("SELECT id, email, name FROM writers ORDER BY id") == ROWS

    # the project adopts a naming convention, as the README advises
    proj.models(AUTHORS.format(table="writers", args=""), convention=True)

    if backend == "postgresql":
        server = request.getfixturevalue("pg_server")
        fresh_url = server.url(server.create_database())
    else:
        fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = SchemaProject(proj.root, fresh_url, proj.module)
    api.upgrade(fresh.project, "head")
    insert(fresh, "writers")
    assert fresh.sql("SELECT id, email, name FROM writers ORDER BY id") == ROWS
    if backend == "postgresql":
        # the fresh database's names follow the convention, moved to the new table name
        assert names(fresh, "writers") == {"pk_writers", "uq_writers_email"}
        assert names(proj, "writers") == {"writers_pkey", "writers_email_key"}
    # down and up again on both
    for p in (fresh, proj):
        api.downgrade(p.project, "-1")
        assert p.sql("SELECT id, email, name FROM authors ORDER BY id") == ROWS
        api.upgrade(p.project, "head")
        assert p.sql("SELECT id, email, name FROM writers ORDER BY id") == ROWS


def test_substitute_replaces_whole_words_only() -> None:
    assert substitute("uq_authors_email", [("authors", "writers")]) == "uq_writers_email"
    assert substitute("coauthors_email_key", [("authors", "writers")]) == "coauthors_email_key"
    assert substitute("ix_students_name", [("name", "full_name")]) == "ix_students_full_name"


def test_current_name_prefers_the_written_name_then_the_definition() -> None:
    op = RenameObjectOp("unique", "writers", "authors_email_key", "writers_email_key", columns=["email"],
                        fragments=[("authors", "writers")])
    assert current_name(op, [("authors_email_key", ("email",))]) == ("authors_email_key", "writers_email_key")
    assert current_name(op, [("writers_email_key", ("email",))]) is None
    assert current_name(op, [("uq_authors_email", ("email",)), ("uq_authors_name", ("name",))]) == (
        "uq_authors_email",
        "uq_writers_email",
    )
    assert current_name(op, [("something_else", ("email",))]) is None  # not derived from the table name
    back = op.reverse()
    assert current_name(back, [("uq_writers_email", ("email",))]) == ("uq_writers_email", "uq_authors_email")
