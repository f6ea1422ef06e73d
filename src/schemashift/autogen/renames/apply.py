"""The renames step of the autogenerate pipeline, start to end.

declared (models, ``--rename``, ``--not-renamed``) -> survey -> table renames
(declared, then candidates decided by the questioner) -> column renames (same)
-> plan -> what else differs on a renamed table (from autogenerate's own
reflection, or Alembic's diff of the models under the old names) -> rewrite.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alembic.operations import ops

from .compare import direct_tables, inplace_tables
from .declared import DeclaredRenames
from .derived import DbNames
from .facts import Key
from .oldworld import old_world_metadata
from .ops import CONSTRAINT_RENAME_DIALECTS
from .table_args import table_args_kind
from .plan import (
    TableRename,
    build_plan,
    column_candidates,
    column_rename_from,
    column_scopes,
    plan_column_renames,
    plan_table_renames,
    resolve,
    table_candidates,
)
from .report import RenameReport
from .rewrite import rewrite
from .survey import model_tables, survey


def _accepted_source(questioner: Any) -> str:
    return "confirmed" if getattr(questioner, "decides", True) else "accepted"


def apply_renames(
    upgrade_ops: ops.UpgradeOps,
    *,
    target_metadata: Any,
    declared: DeclaredRenames,
    questioner: Any,
    db: Any,
    report: RenameReport,
) -> ops.UpgradeOps:
    """The renames step: ``upgrade_ops`` with every accepted rename carried out.

    ``db`` is the snapshot's ``DatabaseView`` (the only database reads);
    ``report`` receives what was applied, asked, left undecided.  Returns
    ``upgrade_ops`` itself when nothing is renamed.
    """
    dialect = db.dialect
    model = model_tables(target_metadata, dialect)
    sv = survey(upgrade_ops, model, dialect)
    has_table_pairs = any(d[0] == c[0] for d in sv.dropped for c in sv.created)
    has_column_pairs = any(ch.added and ch.dropped for ch in sv.changed.values())
    if not (declared or has_table_pairs or has_column_pairs):
        return upgrade_ops  # nothing that could be a rename: the common, fast path

    table_renames, notes = plan_table_renames(sv, declared)
    report.notes.extend(notes)
    cands = [
        replace(c, table_args=table_args_kind(target_metadata, c.schema, c.new))
        for c in table_candidates(
            sv,
            taken_old={r.old_key for r in table_renames},
            taken_new={r.new_key for r in table_renames},
            is_new=declared.is_new,
        )
    ]
    res = resolve(cands, questioner)
    report.record(cands, res)
    source = _accepted_source(questioner)
    table_renames += [TableRename(c.schema, c.old, c.new, source, c.score) for c in res.accepted]

    declared_col_tables = {(s, t) for (s, t, _c) in declared.columns}
    scopes = column_scopes(sv, table_renames, reflect=db.reflect, dialect=dialect, only=declared_col_tables)
    col_renames, notes = plan_column_renames(scopes, declared, sv, reflect=db.reflect, dialect=dialect)
    report.notes.extend(notes)
    ccands = column_candidates(scopes, col_renames, is_new=declared.is_new)
    cres = resolve(ccands, questioner)
    report.record(ccands, cres)
    col_renames += [column_rename_from(c, scopes[(c.schema, c.table)], source) for c in cres.accepted]

    plan = build_plan(sv, table_renames, col_renames, scopes)
    if not plan:
        return upgrade_ops
    opts = getattr(db, "opts", {}) or {}
    inplace = inplace_tables(plan, sv, compare_server_default=bool(opts.get("compare_server_default")))
    direct = direct_tables(plan, sv, dialect_name=dialect.name, opts=opts) if getattr(db, "direct", True) else {}
    world = old_world_metadata(plan, model, skip=set(inplace) | set(direct))
    diff_ops = db.diff(world) if world.copies else []
    names: dict[Key, DbNames] = {}
    old_keys = {key: plan.table_old(key) or key for key in plan.affected}
    if dialect.name in CONSTRAINT_RENAME_DIALECTS:
        if hasattr(db, "names_many"):
            found = db.names_many(list(old_keys.values()))
            names = {key: found[old] for key, old in old_keys.items() if old in found}
        else:
            names = {key: db.names(old) for key, old in old_keys.items()}
    else:
        names = {key: DbNames.from_facts(sv.dropped[old]) for key, old in old_keys.items() if old in sv.dropped}
    result = rewrite(
        upgrade_ops,
        plan,
        model,
        dialect=dialect,
        world=world,
        diff_ops=diff_ops,
        db_names=names,
        render_as_batch=bool(getattr(db, "render_as_batch", False)),
        inplace=inplace,
        direct=direct,
        compare_column=getattr(db, "compare_column", None),
    )
    report.applied_tables.extend(plan.tables)
    report.applied_columns.extend(plan.columns)
    report.derived.extend(result.derived)
    report.notes.extend(result.notes)
    return result.upgrade_ops
