"""Renamed tables and columns, recognised instead of dropped and re-added.

Alembic's autogenerate reports a renamed table as ``DropTableOp`` + ``CreateTableOp``
and a renamed column as ``DropColumnOp`` + ``AddColumnOp``: run as generated,
that migration throws the data away.  This module turns such pairs back into
renames.  Everything here is ops in, ops out: no database, no prompts, no
printing.  ``hook.py`` wires the steps into a pipeline:

1. ``survey``            what autogenerate found: dropped/created tables, added/dropped columns
2. ``plan_table_renames``  declared renames (models, ``--rename``) that apply, chains and swaps included
3. ``table_candidates``  dropped x created tables of one schema, scored by structure
4. ``resolve``           the questioner accepts, rejects or leaves each candidate
5. ``column_scopes`` / ``plan_column_renames`` / ``column_candidates``: the same for columns,
   including the columns of a renamed table pair (compared as a whole)
6. what else differs between the old and the new table, found one of three ways:
   ``inplace_tables``  a table that only renames columns: autogenerate's own ops for it are
                       kept, the drop + add pairs replaced (the common case);
   ``direct_tables``   a renamed table compared from autogenerate's own reflection of it
                       (SQLite/PostgreSQL, no filters, nothing exotic);
   ``old_world_metadata``  otherwise the models as they would look under the *old* names,
                       which Alembic itself diffs against the database (``hook.py`` runs it)
7. ``rewrite``           renames first, then every remaining difference on the new names,
   indexes/constraints/sequences whose names derive from the old names renamed too
8. the downgrade is ``upgrade_ops.reverse()``: every op produced here knows its reverse.

Nothing is ever guessed: a candidate that is not clearly better than its rivals
is marked ambiguous and only a person (or an explicit declaration) can apply it.

The steps live in sibling modules, one idea each (this module only re-exports
them, so ``renames.X`` keeps working): ``rename_errors``, ``rename_ops`` (the
rename ops and their order), ``rename_facts``, ``rename_survey`` (1),
``rename_scoring`` and ``rename_plan`` (2-5), ``rename_oldworld`` and
``rename_compare`` (6), ``rename_maps``, ``rename_derived`` and
``rename_rewrite`` (7).
"""

from __future__ import annotations

from .rename_errors import (
    RenameConflict as RenameConflict,
    UnresolvedRenames as UnresolvedRenames,
)
from .rename_ops import (
    CONSTRAINT_RENAME_DIALECTS as CONSTRAINT_RENAME_DIALECTS,
    INDEX_RENAME_DIALECTS as INDEX_RENAME_DIALECTS,
    PG_MAX_IDENTIFIER as PG_MAX_IDENTIFIER,
    TEMP_SUFFIX as TEMP_SUFFIX,
    order_renames as order_renames,
    rename_object_sql as rename_object_sql,
    RenameColumn as RenameColumn,
    RenameObjectSQL as RenameObjectSQL,
    RenameTable as RenameTable,
)
from .rename_facts import (
    column_facts as column_facts,
    ColumnFacts as ColumnFacts,
    default_text as default_text,
    _expr_name as _expr_name,
    fk_facts as fk_facts,
    ForeignKeyFacts as ForeignKeyFacts,
    index_facts as index_facts,
    IndexFacts as IndexFacts,
    Key as Key,
    table_facts as table_facts,
    TableFacts as TableFacts,
    type_affinity as type_affinity,
    type_sql as type_sql,
)
from .rename_survey import (
    ChangedTable as ChangedTable,
    model_tables as model_tables,
    Survey as Survey,
    survey as survey,
)
from .rename_scoring import (
    AMBIGUITY_MARGIN as AMBIGUITY_MARGIN,
    COLUMN_MIN_SCORE as COLUMN_MIN_SCORE,
    COLUMN_WEIGHTS as COLUMN_WEIGHTS,
    TABLE_MIN_SCORE as TABLE_MIN_SCORE,
    TABLE_MIN_SHARED_COLUMNS as TABLE_MIN_SHARED_COLUMNS,
    TABLE_WEIGHTS as TABLE_WEIGHTS,
    pick as pick,
    names_related as names_related,
    lossless as lossless,
    score_columns as score_columns,
    score_tables as score_tables,
    shared_column_fraction as shared_column_fraction,
)
from .rename_plan import (
    build_plan as build_plan,
    column_candidates as column_candidates,
    column_rename_from as column_rename_from,
    column_scopes as column_scopes,
    ColumnRename as ColumnRename,
    ColumnScope as ColumnScope,
    plan_column_renames as plan_column_renames,
    plan_table_renames as plan_table_renames,
    RenameCandidate as RenameCandidate,
    RenamePlan as RenamePlan,
    Resolution as Resolution,
    resolve as resolve,
    table_candidates as table_candidates,
    TableRename as TableRename,
)
from .rename_oldworld import (
    STUB_SUFFIX as STUB_SUFFIX,
    old_world_metadata as old_world_metadata,
    OldWorld as OldWorld,
)
from .rename_maps import (
    _Maps as _Maps,
)
from .rename_derived import (
    DbNames as DbNames,
    derived_from_names as derived_from_names,
    derived_ops as derived_ops,
    DerivedRename as DerivedRename,
)
from .rename_compare import (
    DIRECT_DIALECTS as DIRECT_DIALECTS,
    alter_column_op as alter_column_op,
    basic_compare_column as basic_compare_column,
    direct_tables as direct_tables,
    inplace_tables as inplace_tables,
)
from .rename_rewrite import (
    rewrite as rewrite,
    RewriteResult as RewriteResult,
)

__all__ = [
    "AMBIGUITY_MARGIN",
    "COLUMN_MIN_SCORE",
    "TABLE_MIN_SCORE",
    "ColumnRename",
    "DerivedRename",
    "RenameCandidate",
    "RenameColumn",
    "RenameConflict",
    "RenameObjectSQL",
    "RenamePlan",
    "RenameTable",
    "TableRename",
    "UnresolvedRenames",
    "column_candidates",
    "old_world_metadata",
    "plan_column_renames",
    "plan_table_renames",
    "resolve",
    "rewrite",
    "score_columns",
    "score_tables",
    "survey",
    "table_candidates",
]
