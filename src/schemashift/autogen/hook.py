"""The rename pipeline as an Alembic ``process_revision_directives`` hook.

Two ways in:

* ``build_rename_hook(questioner=..., cli_renames=..., strict=...)`` returns
  ``(hook, report)``: pass ``hook`` as ``process_revision_directives`` (to
  ``alembic.command.revision`` or ``context.configure``); ``report`` is filled
  while it runs (renames applied, candidates left undecided with the line that
  would declare them, notes).
* ``process_revision_directives``: ready-made for plain ``alembic`` users; one
  line in an existing env.py enables it::

      context.configure(..., process_revision_directives=schemashift.autogen.hook.process_revision_directives)

  It applies declared renames, asks about candidates on a terminal and prints
  warnings otherwise.  ``-x rename=OLD=NEW`` (repeatable), ``-x accept_renames=1``
  and ``-x strict=1`` mirror the schemashift CLI options.

The pipeline (each step a function of ``renames``, ops in, ops out):
declared -> survey -> table renames (declared, then candidates resolved by the
questioner) -> column renames (same) -> plan -> Alembic's own diff of the
models under the old names -> rewrite -> downgrade = reverse -> report.
Only the diff and the reading of constraint names touch the database.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops

from . import renames as rn
from .declared import DeclaredRenames, declare
from .questioner import NonInteractiveQuestioner, Questioner, default_questioner

HookFn = Callable[[Any, Any, list], None]

# UpgradeOps already rewritten (the same run may pass through two hooks:
# schemashift's own and the one a user enabled in env.py)
_PROCESSED: "weakref.WeakSet[ops.UpgradeOps]" = weakref.WeakSet()


@dataclass
class RenameReport:
    """What the rename pipeline did during one or more autogenerate runs."""

    strict: bool = False
    applied_tables: list[rn.TableRename] = field(default_factory=list)
    applied_columns: list[rn.ColumnRename] = field(default_factory=list)
    derived: list[rn.DerivedRename] = field(default_factory=list)
    #: candidates nobody decided (non-interactive, not accepted): each has
    #: ``.suggestion`` (the renamed_from line) and ``.spec`` (the --rename value)
    unresolved: list[rn.RenameCandidate] = field(default_factory=list)
    #: every ambiguous candidate seen (decided or not)
    ambiguous: list[rn.RenameCandidate] = field(default_factory=list)
    rejected: list[rn.RenameCandidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def applied(self) -> list[Any]:
        return [*self.applied_tables, *self.applied_columns]

    def warnings(self) -> list[str]:
        """One line per undecided candidate, with the declaration that would apply it."""
        return [c.warning() for c in self.unresolved]

    def lines(self) -> list[str]:
        """Everything worth telling a user, one line each."""
        out = [f"rename {r.describe()}" for r in self.applied]
        out += [f"rename {d.describe()}" for d in self.derived]
        out += [f"warning: {w}" for w in self.warnings()]
        out += [f"note: {n}" for n in self.notes]
        return out

    def raise_for_unresolved(self) -> None:
        if self.unresolved:
            raise rn.UnresolvedRenames(self.unresolved)


# --------------------------------------------------------------------------
# The database side (the only I/O of the pipeline)


class DatabaseView:
    """What the pipeline needs from the database, through Alembic's MigrationContext."""

    def __init__(self, context: MigrationContext) -> None:
        self.context = context
        self.connection = context.connection
        self.dialect = context.dialect
        self.render_as_batch = bool(context.opts.get("render_as_batch", False))
        self.opts = context.opts
        #: compare renamed tables from autogenerate's own reflection where possible
        #: (False: always ask Alembic to diff them again)
        self.direct = True

    def compare_column(self, key: rn.Key, db_col: sa.Column, model_col: sa.Column) -> ops.AlterColumnOp | None:
        """What differs between a renamed column in the database and in the models, besides
        the name, judged as autogenerate judges it: the ``compare_type`` option (False, a
        callable, or Alembic's dialect comparison), nullability, comments."""
        user = self.opts.get("compare_type", True)
        type_changed = False
        no_type = isinstance(db_col.type, sa.types.NullType) or isinstance(model_col.type, sa.types.NullType)
        if user is not False and not no_type:
            verdict = None
            if callable(user):
                verdict = user(self.context, db_col, model_col, db_col.type, model_col.type)
            type_changed = bool(verdict) if verdict is not None else bool(self.context.impl.compare_type(db_col, model_col))
        return rn.alter_column_op(
            key, db_col, model_col, type_changed=type_changed, compare_comment=bool(self.dialect.supports_comments)
        )

    def reflect(self, key: rn.Key) -> rn.TableFacts | None:
        """Facts of a database table autogenerate did not report dropped (chains, swaps)."""
        schema, name = key
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=self.connection, resolve_fks=False)
        except sa.exc.NoSuchTableError:
            return None
        return rn.table_facts(table, self.dialect, schema=schema)

    def diff(self, world: rn.OldWorld) -> list[Any]:
        """Alembic's own autogenerate of ``world`` (the models under the old names)
        against the database, limited to those tables."""
        opts = dict(self.context.opts)
        opts["target_metadata"] = world.metadata
        opts["include_name"] = world.include_name(self.context.opts.get("include_name"))
        opts["include_object"] = world.include_object(self.context.opts.get("include_object"))
        opts["process_revision_directives"] = None
        mc = MigrationContext.configure(connection=self.connection, opts=opts)
        script = produce_migrations(mc, world.metadata)
        return list(script.upgrade_ops.ops)

    def names(self, key: rn.Key) -> rn.DbNames:
        """Constraint and sequence names of a database table (old name)."""
        schema, name = key
        insp = sa.inspect(self.connection)
        pk = insp.get_pk_constraint(name, schema=schema) or {}
        uniques = tuple(
            rn.IndexFacts(u.get("name"), tuple(u.get("column_names") or ()), True)
            for u in insp.get_unique_constraints(name, schema=schema)
        )
        fks = tuple(
            rn.ForeignKeyFacts(
                f.get("name"),
                tuple(f.get("constrained_columns") or ()),
                f.get("referred_schema"),
                f.get("referred_table"),
                tuple(f.get("referred_columns") or ()),
            )
            for f in insp.get_foreign_keys(name, schema=schema)
        )
        try:
            checks = tuple(c["name"] for c in insp.get_check_constraints(name, schema=schema) if c.get("name"))
        except NotImplementedError:
            checks = ()
        return rn.DbNames(
            pk.get("name"),
            tuple(pk.get("constrained_columns") or ()),
            uniques,
            fks,
            checks,
            self._sequences(schema, name),
        )

    def names_many(self, keys: Sequence[rn.Key]) -> dict[rn.Key, rn.DbNames]:
        """``names`` for several tables, a few catalog queries in all (SQLAlchemy's multi-reflection)."""
        out: dict[rn.Key, rn.DbNames] = {}
        insp = sa.inspect(self.connection)
        by_schema: dict[Any, list[str]] = {}
        for schema, name in keys:
            by_schema.setdefault(schema, []).append(name)
        for schema, names in by_schema.items():
            pks = insp.get_multi_pk_constraint(schema=schema, filter_names=names)
            uqs = insp.get_multi_unique_constraints(schema=schema, filter_names=names)
            fks = insp.get_multi_foreign_keys(schema=schema, filter_names=names)
            try:
                cks = insp.get_multi_check_constraints(schema=schema, filter_names=names)
            except NotImplementedError:
                cks = {}
            seqs = self._sequences_many(schema, names)
            for name in names:
                k = (schema, name)
                pk = pks.get(k) or {}
                out[k] = rn.DbNames(
                    pk.get("name"),
                    tuple(pk.get("constrained_columns") or ()),
                    tuple(
                        rn.IndexFacts(u.get("name"), tuple(u.get("column_names") or ()), True) for u in uqs.get(k, ())
                    ),
                    tuple(
                        rn.ForeignKeyFacts(
                            f.get("name"),
                            tuple(f.get("constrained_columns") or ()),
                            f.get("referred_schema"),
                            f.get("referred_table"),
                            tuple(f.get("referred_columns") or ()),
                        )
                        for f in fks.get(k, ())
                    ),
                    tuple(c["name"] for c in cks.get(k, ()) if c.get("name")),
                    seqs.get(name, ()),
                )
        return out

    def _sequences_many(self, schema: str | None, names: Sequence[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        if self.dialect.name != "postgresql" or not names:
            return {}
        prep = self.dialect.identifier_preparer
        qualified = [(f"{prep.quote_schema(schema)}." if schema else "") + prep.quote(n) for n in names]
        rows = self.connection.execute(
            sa.text(
                "SELECT t.i, a.attname, s.relname "
                "FROM unnest(CAST(:tables AS text[])) WITH ORDINALITY AS t(name, i) "
                "JOIN pg_depend d ON d.refobjid = CAST(t.name AS regclass) "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "AND d.deptype IN ('a', 'i') ORDER BY t.i, a.attnum"
            ),
            {"tables": qualified},
        ).all()
        out: dict[str, list[tuple[str, str]]] = {}
        for i, col, seq in rows:
            out.setdefault(names[int(i) - 1], []).append((str(col), str(seq)))
        return {k: tuple(v) for k, v in out.items()}

    def _sequences(self, schema: str | None, name: str) -> tuple[tuple[str, str], ...]:
        if self.dialect.name != "postgresql":
            return ()
        prep = self.dialect.identifier_preparer
        qualified = (f"{prep.quote_schema(schema)}." if schema else "") + prep.quote(name)
        rows = self.connection.execute(
            sa.text(
                "SELECT a.attname, s.relname FROM pg_depend d "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "AND d.refobjid = CAST(:t AS regclass) AND d.deptype IN ('a', 'i') "
                "ORDER BY a.attnum"
            ),
            {"t": qualified},
        ).all()
        return tuple((str(r[0]), str(r[1])) for r in rows)


# --------------------------------------------------------------------------
# The pipeline


def _accepted_source(questioner: Questioner) -> str:
    return "confirmed" if getattr(questioner, "decides", True) else "accepted"


def run_pipeline(
    upgrade_ops: ops.UpgradeOps,
    *,
    target_metadata: Any,
    declared: DeclaredRenames,
    questioner: Questioner,
    db: Any,
    report: RenameReport,
) -> ops.UpgradeOps | None:
    """Rewrite ``upgrade_ops``; return the new UpgradeOps, or None when nothing changed."""
    dialect = db.dialect
    model = rn.model_tables(target_metadata, dialect)
    sv = rn.survey(upgrade_ops, model, dialect)
    has_table_pairs = any(d[0] == c[0] for d in sv.dropped for c in sv.created)
    has_column_pairs = any(ch.added and ch.dropped for ch in sv.changed.values())
    if not (declared or has_table_pairs or has_column_pairs):
        return None  # nothing that could be a rename: the common, fast path

    table_renames, notes = rn.plan_table_renames(sv, declared)
    report.notes.extend(notes)
    cands = rn.table_candidates(
        sv,
        taken_old={r.old_key for r in table_renames},
        taken_new={r.new_key for r in table_renames},
        is_new=declared.is_new,
    )
    res = rn.resolve(cands, questioner)
    _record(report, cands, res)
    source = _accepted_source(questioner)
    table_renames += [rn.TableRename(c.schema, c.old, c.new, source, c.score) for c in res.accepted]

    declared_col_tables = {(s, t) for (s, t, _c) in declared.columns}
    scopes = rn.column_scopes(sv, table_renames, reflect=db.reflect, dialect=dialect, only=declared_col_tables)
    col_renames, notes = rn.plan_column_renames(scopes, declared, sv, reflect=db.reflect, dialect=dialect)
    report.notes.extend(notes)
    ccands = rn.column_candidates(scopes, col_renames, is_new=declared.is_new)
    cres = rn.resolve(ccands, questioner)
    _record(report, ccands, cres)
    col_renames += [rn.column_rename_from(c, scopes[(c.schema, c.table)], source) for c in cres.accepted]

    plan = rn.build_plan(sv, table_renames, col_renames, scopes)
    if not plan:
        return None
    opts = getattr(db, "opts", {}) or {}
    inplace = rn.inplace_tables(plan, sv, compare_server_default=bool(opts.get("compare_server_default")))
    direct = rn.direct_tables(plan, sv, dialect_name=dialect.name, opts=opts) if getattr(db, "direct", True) else {}
    world = rn.old_world_metadata(plan, model, skip=set(inplace) | set(direct))
    diff_ops = db.diff(world) if world.copies else []
    names: dict[rn.Key, rn.DbNames] = {}
    old_keys = {key: plan.table_old(key) or key for key in plan.affected}
    if dialect.name in rn.CONSTRAINT_RENAME_DIALECTS:
        if hasattr(db, "names_many"):
            found = db.names_many(list(old_keys.values()))
            names = {key: found[old] for key, old in old_keys.items() if old in found}
        else:
            names = {key: db.names(old) for key, old in old_keys.items()}
    else:
        names = {key: rn.DbNames.from_facts(sv.dropped[old]) for key, old in old_keys.items() if old in sv.dropped}
    result = rn.rewrite(
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


def _record(report: RenameReport, candidates: Sequence[rn.RenameCandidate], res: rn.Resolution) -> None:
    report.unresolved.extend(res.unresolved)
    report.rejected.extend(res.rejected)
    report.ambiguous.extend(c for c in candidates if c.ambiguous)


def apply_renames(
    context: Any,
    directives: list[Any],
    *,
    questioner: Questioner,
    declared: DeclaredRenames | None = None,
    cli_renames: Sequence[str] = (),
    report: RenameReport | None = None,
    db: Any = None,
    full_compare: bool = False,
) -> RenameReport:
    """Run the pipeline on every not-yet-processed UpgradeOps of ``directives`` in place
    (upgrade rewritten, downgrade rebuilt as its reverse)."""
    report = report if report is not None else RenameReport()
    target_metadata = context.opts.get("target_metadata")
    if target_metadata is None:
        return report
    if declared is None:
        declared = declare(target_metadata, cli_renames)
    if db is None:
        db = DatabaseView(context)
        db.direct = not full_compare
    for script in directives:
        ups = list(script.upgrade_ops_list)
        downs = list(script.downgrade_ops_list)
        for i, up in enumerate(ups):
            if up in _PROCESSED:
                continue
            new_up = run_pipeline(
                up, target_metadata=target_metadata, declared=declared, questioner=questioner, db=db, report=report
            )
            _PROCESSED.add(up)
            if new_up is None:
                continue
            if i < len(downs):
                downs[i].ops[:] = _downgrade(up, downs[i], new_up)
            up.ops[:] = new_up.ops
    return report


def _downgrade(old_up: ops.UpgradeOps, old_down: ops.DowngradeOps, new_up: ops.UpgradeOps) -> list[Any]:
    """The reverse of ``new_up``, re-using Alembic's reverse of every op left untouched."""
    cache: dict[int, Any] = {}
    if len(old_down.ops) == len(old_up.ops):
        n = len(old_up.ops)
        cache = {id(op): old_down.ops[n - 1 - i] for i, op in enumerate(old_up.ops)}
    return [cache[id(op)] if id(op) in cache else op.reverse() for op in reversed(new_up.ops)]


def build_rename_hook(
    *,
    questioner: Questioner,
    cli_renames: Sequence[str] = (),
    not_renamed: Sequence[str] = (),
    strict: bool = False,
    full_compare: bool = False,
) -> tuple[HookFn, RenameReport]:
    """A ``process_revision_directives`` hook and the report it fills.

    ``cli_renames``: ``--rename`` specs (``students=scholars``,
    ``scholars.name=full_name``); they are parsed now, so a bad spec fails
    before anything runs.  With ``strict`` the hook raises ``UnresolvedRenames``
    (no revision file is written) when candidates are left undecided;
    ``report.unresolved`` lists them either way.  ``full_compare``: always let
    Alembic diff renamed tables again under their old names (slower; by default
    the hook compares them from autogenerate's own reflection when it safely can).
    """
    from .declared import with_cli_renames, with_not_renamed

    parsed = with_not_renamed(with_cli_renames(DeclaredRenames(), cli_renames), not_renamed)  # validate early
    report = RenameReport(strict=strict)

    def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
        target_metadata = context.opts.get("target_metadata")
        declared = declare(target_metadata, ())
        declared = DeclaredRenames(
            {**declared.tables, **parsed.tables}, {**declared.columns, **parsed.columns}, declared.new | parsed.new
        )
        apply_renames(
            context, directives, questioner=questioner, declared=declared, report=report, full_compare=full_compare
        )
        if strict:
            report.raise_for_unresolved()

    return process_revision_directives, report


def _x_options(context: Any) -> tuple[list[str], bool, bool]:
    renames: list[str] = []
    accept = strict = False
    env = getattr(context, "environment_context", None)
    try:
        args = env.get_x_argument() if env is not None else []
    except Exception:
        args = []
    for arg in args or []:
        key, _, value = str(arg).partition("=")
        key = key.strip().replace("-", "_")
        if key == "rename" and value:
            renames.append(value)
        elif key == "accept_renames":
            accept = value.strip().lower() in ("", "1", "true", "yes", "y")
        elif key == "strict":
            strict = value.strip().lower() in ("", "1", "true", "yes", "y")
    return renames, accept, strict


def process_revision_directives(
    context: Any,
    revision: Any,
    directives: list[Any],
    *,
    print_fn: Callable[[str], Any] | None = None,
) -> None:
    """Ready-made hook for an existing env.py (plain ``alembic revision --autogenerate``).

    Declared renames apply; candidates are asked on a terminal, otherwise
    printed as warnings with the ``renamed_from`` line to declare them.
    """
    renames, accept, strict = _x_options(context)
    questioner = default_questioner(accept_unambiguous=accept)
    hook, report = build_rename_hook(questioner=questioner, cli_renames=renames, strict=False)
    hook(context, revision, directives)
    out = print_fn or (lambda line: print(line, file=sys.stderr))
    for line in report.lines():
        out(f"schemashift: {line}")
    if strict:
        report.raise_for_unresolved()


def non_interactive_hook(
    *, accept_renames: bool = False, cli_renames: Iterable[str] = (), strict: bool = False, full_compare: bool = False
) -> tuple[HookFn, RenameReport]:
    """Shorthand for CI and ``schemashift check``."""
    return build_rename_hook(
        questioner=NonInteractiveQuestioner(accept_unambiguous=accept_renames),
        cli_renames=tuple(cli_renames),
        strict=strict,
        full_compare=full_compare,
    )
