"""Renamed tables and columns, recognised instead of dropped and re-added.

Alembic's autogenerate reports a renamed table as ``DropTableOp`` +
``CreateTableOp`` and a renamed column as ``DropColumnOp`` + ``AddColumnOp``:
run as generated, that migration throws the data away.  This package turns such
pairs back into renames, as one step of the autogenerate pipeline
(``autogen/pipeline.py``).

Public names (everything else is internal to the package):

* ``apply_renames(upgrade_ops, target_metadata=, declared=, questioner=, db=, report=)``:
  the step, ops in, ops out;
* ``declare(target_metadata, cli_renames, not_renamed)`` -> ``DeclaredRenames``:
  what the models (``info={"renamed_from": ...}``, ``info={"new": True}``) and
  the command line (``--rename``, ``--not-renamed``) decide beforehand;
* ``DatabaseView``: the step's only reads of the database (one per snapshot);
* ``RenameReport``: what was applied, asked, left undecided (``lines()``);
* ``RenameCandidate``: a possible rename, as the questioner sees it;
* errors ``RenameConflict``, ``UnresolvedRenames``, ``RenameSpecError``;
* ops ``RenameTable``, ``RenameColumn``, ``RenameObjectOp`` (a derived name looked up
  when the migration runs), ``RenameObjectSQL`` (registered with
  Alembic: they render, run and reverse like its own).

Inside, one module per idea: ``declared`` -> ``survey`` (detect: what
autogenerate found, as ``facts``) -> ``scoring`` + ``plan`` (candidates, where
names are evidence; decide through the questioner; the frozen plan) ->
``compare`` / ``oldworld`` (what else differs on a renamed table) -> ``maps``,
``derived``, ``rewrite`` (renames first, then every remaining difference; names
of indexes, constraints and sequences derived from the old names renamed too).

Precision first: a candidate is *clear* (accepted by ``--accept-renames``)
only when it is unambiguous and backed by evidence: an exact match of column
names and types, or related names (``name`` -> ``full_name``, ``pw`` ->
``password``) with types that convert without loss.  A table holding only a
primary key, a lossy pair, or unrelated names is only ever asked on a terminal.
"""

from __future__ import annotations

from .apply import apply_renames
from .database import DatabaseView
from .declared import DeclaredRenames, RenameSpecError, declare
from .errors import RenameConflict, UnresolvedRenames
from .ops import RenameColumn, RenameObjectOp, RenameObjectSQL, RenameTable
from .plan import RenameCandidate
from .report import RenameReport

__all__ = [
    "DatabaseView",
    "DeclaredRenames",
    "RenameCandidate",
    "RenameColumn",
    "RenameConflict",
    "RenameObjectOp",
    "RenameObjectSQL",
    "RenameReport",
    "RenameSpecError",
    "RenameTable",
    "UnresolvedRenames",
    "apply_renames",
    "declare",
]
