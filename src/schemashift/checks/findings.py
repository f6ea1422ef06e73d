"""Rules, their levels, and the findings they produce.

A rule is data: an id a reviewer can write in a suppression comment, a level,
a one-line why, and the safe way to do the same thing written as Alembic code.
Rules are evaluated by the modules under ``checks/rules``; a ``Finding`` is one
rule firing on one operation of one revision, with the numbers that made it
fire (rows at stake, example keys).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = ("off", "info", "warning", "error")


def level_rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: str  # the default level
    why: str
    alternative: str  # Alembic code
    family: str  # destructive, data, compatibility, postgresql, sqlite, mysql, sql


def _r(id: str, family: str, level: str, title: str, why: str, alternative: str) -> Rule:
    return Rule(id, title, level, why, alternative, family)


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _r("SS-D101", "destructive", "error", "drop table holding rows",
           "every row of the table is deleted and no downgrade can bring them back (on SQLite with foreign keys on, so are the referencing rows its ON DELETE CASCADE / SET NULL reach: the finding counts them)",
           'op.rename_table("t", "t_retired")  # drop it in a later release, once nothing reads it'),
        _r("SS-D102", "destructive", "error", "drop column holding values",
           "the column's values are deleted for every row",
           'op.alter_column("t", "c", new_column_name="c_retired")  # or copy the values elsewhere first'),
        _r("SS-D103", "destructive", "error", "drop schema",
           "every table, view and function in the schema goes with it",
           'op.execute("ALTER SCHEMA s RENAME TO s_retired")'),
        _r("SS-D104", "destructive", "error", "truncate or delete every row",
           "every row of the table is deleted",
           'op.execute("DELETE FROM t WHERE created_at < \'2020-01-01\'")  # or copy the rows to an archive table first'),
        _r("SS-D105", "destructive", "error", "lossy type conversion",
           "some existing values cannot be represented in the new type and would be changed or lost",
           'op.convert_column("t", "c", type_=New(), existing_type=Old())  # refuses while a value would be lost'),
        _r("SS-D106", "destructive", "warning", "drop foreign key",
           "no row is lost, but the database stops guarding the reference: orphans can appear",
           '# keep the constraint; if it must go, drop it in its own reviewed revision'),
        _r("SS-D107", "destructive", "error", "downgrade drops data",
           "a downgrade that drops a table or column holding rows deletes data written since the upgrade",
           '# make downgrade() keep the data: rename instead of drop, or copy rows aside first'),
        _r("SS-N201", "data", "warning", "add UNIQUE with duplicates present",
           "the constraint or index cannot be built while duplicate values exist; the migration fails",
           '# remove the duplicates first:\nop.execute("DELETE FROM t a USING t b WHERE a.c = b.c AND a.id > b.id")'),
        _r("SS-N202", "data", "warning", "SET NOT NULL with NULLs present",
           "the change fails while a row holds NULL",
           'op.execute("UPDATE t SET c = 0 WHERE c IS NULL")\nop.alter_column("t", "c", nullable=False)'),
        _r("SS-N203", "data", "warning", "add NOT NULL column without a server default to a table with rows",
           "existing rows have no value for the new column, so the change fails",
           'op.add_column("t", sa.Column("c", sa.Integer(), nullable=False, server_default="0"))'),
        _r("SS-N204", "data", "warning", "add CHECK that existing rows violate",
           "the constraint cannot be added while rows violate it; the migration fails",
           '# fix the rows first, then:\nop.create_check_constraint("ck_t_c", "t", "c > 0")'),
        _r("SS-N205", "data", "warning", "add FOREIGN KEY that existing rows violate",
           "rows point at keys that do not exist; the constraint cannot be added",
           '# delete or fix the orphans first, then:\nop.create_foreign_key("fk_t_u", "t", "u", ["u_id"], ["id"])'),
        _r("SS-B301", "compatibility", "warning", "rename table",
           "application instances still running the old code query the old name and fail until they are replaced",
           '# expand/contract: create the new table (or a view named like the old one), deploy, then drop the old name'),
        _r("SS-B302", "compatibility", "warning", "rename column",
           "application instances still running the old code use the old column name and fail",
           'op.add_column("t", sa.Column("new", ...))  # copy, deploy code reading both, then drop the old column'),
        _r("SS-B303", "compatibility", "warning", "drop column still mapped",
           "the models still map this column: the application will fail selecting it",
           '# remove the column from the models and deploy first; drop it in a later revision'),
        _r("SS-P401", "postgresql", "warning", "CREATE INDEX without CONCURRENTLY on an existing table",
           "blocks every write to the table (SHARE lock) while the index builds",
           'with op.get_context().autocommit_block():\n    op.create_index("ix_t_c", "t", ["c"], postgresql_concurrently=True)'),
        _r("SS-P402", "postgresql", "warning", "DROP INDEX without CONCURRENTLY",
           "takes ACCESS EXCLUSIVE on the table: reads and writes wait",
           'with op.get_context().autocommit_block():\n    op.drop_index("ix_t_c", postgresql_concurrently=True)'),
        _r("SS-P403", "postgresql", "warning", "ADD FOREIGN KEY without NOT VALID",
           "scans the whole table while holding a lock that blocks writes on both tables",
           'op.execute("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID")\n'
           'op.execute("ALTER TABLE t VALIDATE CONSTRAINT fk")  # in a later step'),
        _r("SS-P404", "postgresql", "warning", "ADD CHECK without NOT VALID",
           "scans the whole table under ACCESS EXCLUSIVE",
           'op.execute("ALTER TABLE t ADD CONSTRAINT ck CHECK (c > 0) NOT VALID")\n'
           'op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck")'),
        _r("SS-P405", "postgresql", "warning", "SET NOT NULL without a validated CHECK",
           "scans the whole table under ACCESS EXCLUSIVE (PostgreSQL 12+ skips the scan when a valid CHECK (c IS NOT NULL) exists)",
           'op.execute("ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID")\n'
           'op.execute("ALTER TABLE t VALIDATE CONSTRAINT c_nn")\nop.alter_column("t", "c", nullable=False)\n'
           'op.drop_constraint("c_nn", "t")'),
        _r("SS-P406", "postgresql", "warning", "type change that rewrites the table",
           "the table and its indexes are rewritten under ACCESS EXCLUSIVE: nothing reads or writes it meanwhile",
           '# add a new column, backfill in batches, switch the code, then drop the old column'),
        _r("SS-P407", "postgresql", "warning", "ADD COLUMN with a volatile default",
           "a volatile default (or any default before PostgreSQL 11) rewrites the table under ACCESS EXCLUSIVE",
           'op.add_column("t", sa.Column("c", sa.Uuid()))\n# backfill in batches, then set the default'),
        _r("SS-P408", "postgresql", "warning", "ADD PRIMARY KEY/UNIQUE building its index under ACCESS EXCLUSIVE",
           "the index is built while reads and writes wait",
           'with op.get_context().autocommit_block():\n    op.create_index("uq_t_c", "t", ["c"], unique=True, postgresql_concurrently=True)\n'
           'op.execute("ALTER TABLE t ADD CONSTRAINT uq_t_c UNIQUE USING INDEX uq_t_c")'),
        _r("SS-P409", "postgresql", "info", "DDL without lock_timeout",
           "a DDL statement waiting for its lock blocks every query queued behind it, with no bound",
           'op.execute("SET LOCAL lock_timeout = \'2s\'")'),
        _r("SS-S501", "sqlite", "info", "table rebuild on SQLite",
           "SQLite cannot alter this in place: the table is copied row by row into a new one",
           '# expected on SQLite; keep the rebuild inside op.batch_alter_table or op.rebuild_table'),
        _r("SS-S502", "sqlite", "error", "operation SQLite refuses",
           "SQLite has no ALTER for this form; the statement fails",
           'with op.batch_alter_table("t") as batch_op:\n    batch_op.alter_column("c", nullable=False)'),
        _r("SS-S503", "sqlite", "error", "batch rebuild that loses what reflection cannot see",
           "Alembic's batch mode rebuilds the table from SQLAlchemy's reflection, which has no triggers, no index "
           "on an expression, no DESC or COLLATE in an index, and (as batch mode copies it) no AUTOINCREMENT, column "
           "COLLATE, unnamed CHECK, ON DELETE/UPDATE or DEFERRABLE: after the rebuild they are silently gone or changed",
           'op.rebuild_table("t", alter_columns={"c": {"nullable": False}})  # keeps the table\'s SQL, triggers, indexes'),
        _r("SS-M701", "mysql", "warning", "several DDL statements in one revision on MySQL/MariaDB",
           "MySQL and MariaDB commit each DDL statement at once: when a later statement fails, the earlier ones "
           "stay applied and the revision cannot be rolled back",
           "# one DDL statement per revision (split it), or make each statement safe to run again"),
        _r("SS-X601", "sql", "info", "SQL not understood",
           "raw SQL that the parser could not read is not checked by any rule",
           '# prefer op.* operations, or SQL the parser reads'),
    )
}


@dataclass
class Finding:
    """One rule firing on one operation."""

    rule: str
    level: str
    message: str
    revision: str | None = None
    path: str | None = None
    line: int | None = None
    direction: str = "up"
    table: str | None = None
    rows: int | None = None  # rows at stake (None: unknown)
    estimated: bool = False  # rows is PostgreSQL's estimate
    examples: list[Any] = field(default_factory=list)
    source: str = "static"  # static, data (live database), trace
    allowed_by: str | None = None  # "--allow", "--allow-destructive", "comment", "prompt"

    @property
    def title(self) -> str:
        return RULES[self.rule].title if self.rule in RULES else self.rule

    def rows_text(self) -> str:
        if self.rows is None:
            return ""
        about = "~" if self.estimated else ""
        return f"{about}{self.rows:,} row{'s' if self.rows != 1 else ''}"

    def one_line(self) -> str:
        where = f"{self.revision}: " if self.revision else ""
        text = f"{self.rule} {where}{self.message}"
        if self.examples:
            text += " (e.g. " + ", ".join(repr(e) for e in self.examples) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["title"] = self.title
        data["examples"] = [e if isinstance(e, (int, float, str, bool, type(None))) else repr(e) for e in self.examples]
        return data
