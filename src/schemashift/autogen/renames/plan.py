"""Steps 2-5 of rename detection: candidates, decisions, and the accepted plan.

Declared renames (models, ``--rename``) that apply, chains and swaps included;
tables and columns proposed by structure (``table_candidates``,
``column_candidates``); the questioner's decisions (``resolve``); and
``build_plan``, the frozen ``RenamePlan`` the later steps carry out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Dialect

from .declared import SOURCE_CLI, DeclaredRenames
from .errors import RenameConflict
from .facts import ColumnFacts, Key, TableFacts, column_facts
from .scoring import (
    COLUMN_MIN_SCORE,
    TABLE_MIN_SCORE,
    TABLE_MIN_SHARED_COLUMNS,
    column_correspondence,
    column_signature,
    key_only,
    matched_column_fraction,
    lossless,
    names_related,
    pick,
    score_columns,
    score_tables,
)
from .survey import Survey

# --------------------------------------------------------------------------
# Candidates, accepted renames, the plan


def qualified_name(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


@dataclass(frozen=True)
class RenameCandidate:
    """A possible rename found by structure, waiting for a decision."""

    kind: str  # "table" | "column"
    schema: str | None
    table: str | None  # columns: the (new) table name
    old: str
    new: str
    score: float
    ambiguous: bool = False
    alternatives: tuple[str, ...] = ()
    column_key: str | None = None  # attribute name for the suggestion line
    #: why only a person may accept it (None: clear, ``--accept-renames`` accepts it)
    doubt: str | None = None
    table_args: str | None = None  # tables: how the model class spells __table_args__ ("tuple", "dict", None)

    @property
    def clear(self) -> bool:
        """Unambiguous and backed by evidence: what ``--accept-renames`` accepts."""
        return not self.ambiguous and self.doubt is None

    @property
    def added(self) -> str:
        """The added side as ``--not-renamed`` names it: ``posts.slug`` or ``c2``."""
        if self.kind == "table":
            return qualified_name(self.schema, self.new)
        return f"{qualified_name(self.schema, self.table or '')}.{self.new}"

    @property
    def subject(self) -> str:
        if self.kind == "table":
            return f"table {qualified_name(self.schema, self.old)}"
        return f"column {qualified_name(self.schema, self.table or '')}.{self.old}"

    @property
    def question(self) -> str:
        return f"Was {self.subject} renamed to {self.new}?"

    @property
    def spec(self) -> str:
        """The ``--rename`` value that applies this candidate."""
        if self.kind == "table":
            return f"{self.schema}.{self.old}={self.schema}.{self.new}" if self.schema else f"{self.old}={self.new}"
        return f"{qualified_name(self.schema, self.table or '')}.{self.old}={self.new}"

    @property
    def suggestion(self) -> str:
        """The exact model line that declares this rename."""
        if self.kind == "table":
            info = f'{{"renamed_from": "{self.old}"}}'
            if self.table_args == "tuple":
                return (f'{{"info": {info}}} as the last item of the class\'s __table_args__ tuple '
                        f'(or "info": {info} in the dict already last in it), keeping the constraints before it')
            if self.table_args == "dict":
                return f'"info": {info} in the class\'s __table_args__ dict'
            return f'__table_args__ = {{"info": {info}}}'
        attr = self.column_key or self.new
        return f'{attr} = mapped_column(..., info={{"renamed_from": "{self.old}"}})'

    @property
    def old_key(self) -> Any:
        return (self.schema, self.old) if self.kind == "table" else (self.schema, self.table, self.old)

    @property
    def new_key(self) -> Any:
        return (self.schema, self.new) if self.kind == "table" else (self.schema, self.table, self.new)

    def warning(self) -> str:
        where = "" if self.kind == "table" else f" (in class for table {qualified_name(self.schema, self.table or '')})"
        if self.kind == "table":
            where = f" (in class for table {qualified_name(self.schema, self.new)}, or Table(..., info=...))"
        if self.ambiguous:
            head = (
                f"{self.subject} may have been renamed to {self.new}, but it is ambiguous "
                f"(also resembles {', '.join(self.alternatives)}): not guessed"
            )
        elif self.doubt:
            head = f"{self.subject} may have been renamed to {self.new}, but {self.doubt}: not guessed"
        else:
            head = f"{self.subject} looks renamed to {self.new} (score {self.score:.2f}) but was not applied"
        return (
            f"{head}; to apply it declare{where}: {self.suggestion}  or pass --rename {self.spec}"
            f"  (or --not-renamed {self.added} if it is new)"
        )


@dataclass(frozen=True)
class TableRename:
    schema: str | None
    old: str
    new: str
    source: str  # declared | --rename | detected | answered
    score: float | None = None

    @property
    def old_key(self) -> Key:
        return (self.schema, self.old)

    @property
    def new_key(self) -> Key:
        return (self.schema, self.new)

    def describe(self) -> str:
        return f"table {qualified_name(self.schema, self.old)} -> {self.new} ({self.source})"


@dataclass(frozen=True)
class ColumnRename:
    schema: str | None
    table: str  # new table name
    old: str
    new: str
    source: str
    score: float | None = None
    existing: ColumnFacts | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def table_key(self) -> Key:
        return (self.schema, self.table)

    def describe(self) -> str:
        return f"column {qualified_name(self.schema, self.table)}.{self.old} -> {self.new} ({self.source})"


@dataclass(frozen=True)
class RenamePlan:
    """Accepted renames: what ``rewrite`` carries out."""

    tables: tuple[TableRename, ...] = ()
    columns: tuple[ColumnRename, ...] = ()
    #: model tables named like a table that is renamed away: created after the renames
    fresh_tables: tuple[Key, ...] = ()
    #: (schema, table, column) model columns named like a column renamed away
    fresh_columns: tuple[tuple[str | None, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def table_new(self, old_key: Key) -> Key | None:
        for r in self.tables:
            if r.old_key == old_key:
                return r.new_key
        return None

    def table_old(self, new_key: Key) -> Key | None:
        for r in self.tables:
            if r.new_key == new_key:
                return r.old_key
        return None

    def columns_of(self, new_key: Key) -> dict[str, str]:
        """old column name -> new column name, for the table now called ``new_key``."""
        return {c.old: c.new for c in self.columns if c.table_key == new_key}

    @property
    def affected(self) -> list[Key]:
        """New keys of every table whose name or columns change, in a stable order."""
        keys: list[Key] = []
        for r in self.tables:
            if r.new_key not in keys:
                keys.append(r.new_key)
        for c in self.columns:
            if c.table_key not in keys:
                keys.append(c.table_key)
        return keys


# --------------------------------------------------------------------------
# Step 2-4: tables


def _declared_conflict(kind: str, msg: str, **kw: Any) -> RenameConflict:
    return RenameConflict(msg, kind=kind, **kw)


def plan_table_renames(survey: Survey, declared: DeclaredRenames) -> tuple[list[TableRename], list[str]]:
    """Step 2: which declared table renames apply to this database.

    A declared rename applies when its old name exists in the database and its
    new name does not (or is itself renamed away: chains and swaps).  Of a list
    of old names the first one present wins.  A rename already carried out is
    silently ignored; a ``--rename`` that cannot apply is reported in the notes.
    """
    notes: list[str] = []
    live: dict[Key, tuple[str, Any]] = {}
    for key_new, d in declared.tables.items():
        schema = d.schema
        if key_new not in survey.model:
            if d.source == SOURCE_CLI:
                raise _declared_conflict(
                    "table",
                    f"--rename {d.label}: there is no table {qualified_name(schema, d.new)} in the models",
                    schema=schema,
                    old=d.olds[0],
                    new=d.new,
                    hint="the right-hand side is the new (model) table name",
                )
            continue
        old = next((o for o in d.olds if survey.db_has_table((schema, o))), None)
        if old is None:
            if d.source == SOURCE_CLI:
                notes.append(f"--rename {d.label} did not apply: no table {qualified_name(schema, d.olds[0])} in the database")
            continue
        live[key_new] = (old, d)
    changed = True
    while changed:
        changed = False
        olds = {(k[0], o) for k, (o, _) in live.items()}
        for key_new, (old, d) in list(live.items()):
            if survey.db_has_table(key_new) and key_new not in olds:
                if d.source == SOURCE_CLI or (key_new[0], old) in survey.dropped:
                    raise _declared_conflict(
                        "table",
                        f"cannot rename table {qualified_name(key_new[0], old)} to {key_new[1]}: "
                        f"a table {key_new[1]} already exists in the database",
                        schema=key_new[0],
                        old=old,
                        new=key_new[1],
                        hint="drop or rename the existing table first, in its own migration"
                        if d.source == SOURCE_CLI
                        else f"both exist, so this migration would drop {old}: remove renamed_from if that "
                        f"is intended, or drop/rename {key_new[1]} first",
                    )
                del live[key_new]  # already carried out (or the target predates it)
                changed = True
    by_old: dict[Key, list[Key]] = {}
    for key_new, (old, _) in live.items():
        by_old.setdefault((key_new[0], old), []).append(key_new)
    for old_key, news in by_old.items():
        if len(news) > 1:
            raise _declared_conflict(
                "table",
                f"table {qualified_name(*old_key) if old_key[0] else old_key[1]} is declared renamed to "
                f"{' and '.join(sorted(n[1] for n in news))}",
                schema=old_key[0],
                old=old_key[1],
                hint="a table can only be renamed to one name: remove one renamed_from",
            )
    renames = [TableRename(k[0], old, k[1], d.source) for k, (old, d) in live.items()]
    renames = _drop_unevidenced_cycles(
        renames,
        lambda r: r.source == SOURCE_CLI,
        lambda keys: any(survey.changed.get(k) and survey.changed[k].has_ops for k in keys),
        notes,
        "table",
    )
    return renames, notes


def _cycles(pairs: Mapping[Any, Any]) -> list[list[Any]]:
    seen: set[Any] = set()
    cycles = []
    for start in pairs:
        if start in seen:
            continue
        path, node = [], start
        while node in pairs and node not in seen and node not in path:
            path.append(node)
            node = pairs[node]
        if node in path:
            cycles.append(path[path.index(node):])
        seen.update(path)
    return cycles


def _drop_unevidenced_cycles(renames: list[Any], forced: Callable[[Any], bool], evidence: Callable[[list[Any]], bool], notes: list[str], kind: str) -> list[Any]:
    """A declared swap (a<->b) would apply again on every run once done: keep it only
    when autogenerate saw differences on its members (or it came from --rename)."""

    def okey(r: Any) -> Any:
        return (r.schema, r.old) if kind == "table" else (r.schema, r.table, r.old)

    def nkey(r: Any) -> Any:
        return (r.schema, r.new) if kind == "table" else (r.schema, r.table, r.new)

    mapping = {okey(r): nkey(r) for r in renames}
    drop: set[Any] = set()
    for cyc in _cycles(mapping):
        members = [r for r in renames if okey(r) in cyc]
        if any(forced(r) for r in members):
            continue
        keys = [(k[0], k[1]) for k in cyc]
        if not evidence(keys):
            drop.update(cyc)
            names = " <-> ".join(str(k[-1]) for k in cyc)
            notes.append(
                f"declared {kind} swap {names} ignored: the database already matches the models "
                "(remove the renamed_from declarations once migrated)"
            )
    return [r for r in renames if okey(r) not in drop]


def _table_doubt(old: TableFacts, new: TableFacts) -> str | None:
    """Why only a person may accept ``old`` -> ``new`` (None: the evidence is clear).

    Clear: more than a primary key, every column pairs with one of the other
    table (same name, or a related name of one type family) unless the table
    names themselves are related, and no pair loses values.
    """
    if key_only(old) or key_only(new):
        return "a table holding only its primary key carries no evidence"
    pairs, left, right = column_correspondence(old, new)
    for a, b in pairs:
        col, other = old.column(a), new.column(b)
        if col is not None and other is not None and col.affinity == other.affinity:
            why = lossless(col, other)
            if why:
                return f"column {a} would not convert without loss ({why})"
    if (left or right) and not names_related(old.name, new.name):
        differ = ", ".join([f"{n} dropped" for n in left] + [f"{n} added" for n in right])
        return f"their columns differ ({differ})"
    return None


def table_candidates(
    survey: Survey,
    taken_old: set[Key] = frozenset(),
    taken_new: set[Key] = frozenset(),
    is_new: Callable[..., bool] = lambda _key, _column=None: False,
) -> list[RenameCandidate]:
    """Step 3: pair dropped and created tables of a schema.

    Names are evidence: a dropped table whose column names and type families
    equal exactly one created table's (and no other dropped table's) is that
    table renamed, whatever resembles it; the rest are scored by structure.
    ``is_new((schema, "posts"))`` excludes a created table declared new (``--not-renamed``,
    ``info={"new": True}``).
    """
    dropped = {k: f for k, f in survey.dropped.items() if k not in taken_old}
    created = {
        k: f for k, f in survey.created.items() if k not in taken_new and not is_new(k)
    }
    by_sig: dict[Any, tuple[list[Key], list[Key]]] = {}
    for k, f in dropped.items():
        by_sig.setdefault((k[0], column_signature(f)), ([], []))[0].append(k)
    for k, f in created.items():
        by_sig.setdefault((k[0], column_signature(f)), ([], []))[1].append(k)
    out: list[RenameCandidate] = []
    for olds, news in by_sig.values():
        if len(olds) == 1 and len(news) == 1:
            o, n = olds[0], news[0]
            doubt = _table_doubt(dropped[o], created[n])
            out.append(RenameCandidate("table", o[0], None, o[1], n[1], 1.0, doubt=doubt))
            del dropped[o], created[n]
    scores: dict[tuple[Key, Key], float] = {}
    for dk, dfacts in dropped.items():
        for ck, cfacts in created.items():
            if ck[0] != dk[0]:
                continue
            if matched_column_fraction(dfacts, cfacts) < TABLE_MIN_SHARED_COLUMNS:
                continue
            s = score_tables(dfacts, cfacts)
            if s >= TABLE_MIN_SCORE:
                scores[(dk, ck)] = s
    out += [
        RenameCandidate("table", o[0], None, o[1], n[1], s, amb, alts, doubt=_table_doubt(dropped[o], created[n]))
        for o, n, s, amb, alts in pick(scores, label=lambda k: k[1])
    ]
    return out


@dataclass
class Resolution:
    accepted: list[RenameCandidate] = field(default_factory=list)
    rejected: list[RenameCandidate] = field(default_factory=list)
    unresolved: list[RenameCandidate] = field(default_factory=list)


def resolve(candidates: Sequence[RenameCandidate], questioner: Any) -> Resolution:
    """Step 4: ask about each candidate, best first; once a name is taken, its rivals are moot.

    The questioner answers RENAMED, NOT_RENAMED (decided: drop and add, no
    hint) or UNDECIDED (left for a declaration; ``--strict`` fails on it); a
    plain ``True``/``False`` is read through ``questioner.decides``.
    """
    from ..questioner import Answer, as_answer

    res = Resolution()
    used_old: set[Any] = set()
    used_new: set[Any] = set()
    for cand in sorted(candidates, key=lambda c: (-c.score, str(c.schema), str(c.table), c.old, c.new)):
        if cand.old_key in used_old or cand.new_key in used_new:
            continue
        answer = as_answer(questioner.ask_rename(cand), getattr(questioner, "decides", True))
        if answer is Answer.RENAMED:
            res.accepted.append(cand)
            used_old.add(cand.old_key)
            used_new.add(cand.new_key)
        elif answer is Answer.NOT_RENAMED:
            res.rejected.append(cand)
        else:
            res.unresolved.append(cand)
    return res


# --------------------------------------------------------------------------
# Step 5: columns


@dataclass
class ColumnScope:
    """The columns of one table as the database has them (old) and the models want them."""

    key: Key  # new key
    old_name: str  # table name in the database
    model: dict[str, ColumnFacts]
    dropped: dict[str, ColumnFacts]  # db columns not in the models (by name)
    added: dict[str, ColumnFacts]  # model columns not in the database
    db_names: set[str]
    has_diff: bool
    db_facts: dict[str, ColumnFacts] = field(default_factory=dict)  # known DB columns
    model_keys: dict[str, str] = field(default_factory=dict)  # column name -> attribute key


def column_scopes(
    survey: Survey,
    table_renames: Sequence[TableRename],
    reflect: Callable[[Key], TableFacts | None] | None = None,
    dialect: Dialect | None = None,
    only: set[Key] | None = None,
) -> dict[Key, ColumnScope]:
    """Where to look for column renames: every renamed table pair (all its columns) and
    every existing table autogenerate saw columns added to or dropped from.

    ``reflect(old_key)`` supplies the database columns of a renamed table that
    autogenerate did not report as dropped (chains, swaps); ``only`` limits the
    plain tables considered (the declared ones are always included by the caller).
    """
    scopes: dict[Key, ColumnScope] = {}
    for r in table_renames:
        old = survey.dropped.get(r.old_key)
        if old is None and reflect is not None:
            old = reflect(r.old_key)
        if old is None:
            raise RenameConflict(
                f"cannot read table {qualified_name(*r.old_key) if r.schema else r.old} from the database",
                kind="table",
                schema=r.schema,
                old=r.old,
                new=r.new,
            )
        table = survey.model[r.new_key]
        model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
        db = {c.name: c for c in old.columns}
        scopes[r.new_key] = ColumnScope(
            key=r.new_key,
            old_name=r.old,
            model=model,
            dropped={n: f for n, f in db.items() if n not in model},
            added={n: f for n, f in model.items() if n not in db},
            db_names=set(db),
            has_diff=True,
            db_facts=db,
            model_keys={c.name: c.key for c in table.columns},
        )
    renamed_new = {r.new_key for r in table_renames}
    renamed_old = {r.old_key for r in table_renames}
    for key, ch in survey.changed.items():
        if key in renamed_new or key in renamed_old or key not in survey.model:
            continue
        if only is not None and key not in only and not (ch.added and ch.dropped):
            continue
        table = survey.model[key]
        model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
        scopes[key] = ColumnScope(
            key=key,
            old_name=key[1],
            model=model,
            dropped=dict(ch.dropped),
            added=dict(ch.added),
            db_names=(set(model) - set(ch.added)) | set(ch.dropped),
            has_diff=ch.has_ops,
            db_facts=dict(ch.dropped),
            model_keys={c.name: c.key for c in table.columns},
        )
    return scopes


def _scope_for(survey: Survey, key: Key, dialect: Dialect | None) -> ColumnScope | None:
    table = survey.model.get(key)
    if table is None or key in survey.created:
        return None
    model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
    return ColumnScope(
        key=key,
        old_name=key[1],
        model=model,
        dropped={},
        added={},
        db_names=set(model),
        has_diff=False,
        db_facts={},
        model_keys={c.name: c.key for c in table.columns},
    )


def plan_column_renames(
    scopes: dict[Key, ColumnScope],
    declared: DeclaredRenames,
    survey: Survey,
    reflect: Callable[[Key], TableFacts | None] | None = None,
    dialect: Dialect | None = None,
) -> tuple[list[ColumnRename], list[str]]:
    """Declared column renames that apply (same rules as tables, per table)."""
    notes: list[str] = []
    by_table: dict[Key, list[Any]] = {}
    for (schema, table, new), d in declared.columns.items():
        by_table.setdefault((schema, table), []).append(d)
    out: list[ColumnRename] = []
    for key, decls in by_table.items():
        scope = scopes.get(key)
        if scope is None:
            if key not in survey.model:
                if any(d.source == SOURCE_CLI for d in decls):
                    d = next(d for d in decls if d.source == SOURCE_CLI)
                    raise RenameConflict(
                        f"--rename {d.label}: there is no table {qualified_name(*key) if key[0] else key[1]} in the models",
                        kind="column",
                        schema=key[0],
                        table=key[1],
                        old=d.olds[0],
                        new=d.new,
                        hint="name the table by its new name: --rename NEW_TABLE.OLD_COLUMN=NEW_COLUMN",
                    )
                continue
            if key in survey.created:
                continue  # a brand-new table: nothing to rename in the database
            scope = _scope_for(survey, key, dialect)
            if scope is None:
                continue
            scopes[key] = scope
        live: dict[str, tuple[str, Any]] = {}
        for d in decls:
            if d.new not in scope.model:
                if d.source == SOURCE_CLI:
                    raise RenameConflict(
                        f"--rename {d.label}: table {key[1]} has no column {d.new} in the models",
                        kind="column",
                        schema=key[0],
                        table=key[1],
                        old=d.olds[0],
                        new=d.new,
                    )
                continue
            old = next((o for o in d.olds if o in scope.db_names), None)
            if old is None:
                if d.source == SOURCE_CLI:
                    notes.append(f"--rename {d.label} did not apply: no column {d.olds[0]} in {scope.old_name}")
                continue
            live[d.new] = (old, d)
        changed = True
        while changed:
            changed = False
            olds = {o for o, _ in live.values()}
            for new, (old, d) in list(live.items()):
                if new in scope.db_names and new not in olds:
                    if d.source == SOURCE_CLI or old in scope.dropped:
                        raise RenameConflict(
                            f"cannot rename column {key[1]}.{old} to {new}: column {new} already exists",
                            kind="column",
                            schema=key[0],
                            table=key[1],
                            old=old,
                            new=new,
                            hint="drop or rename the existing column first"
                            if d.source == SOURCE_CLI
                            else f"both exist, so this migration would drop {old}: remove renamed_from if "
                            "that is intended",
                        )
                    del live[new]
                    changed = True
        seen: dict[str, str] = {}
        for new, (old, d) in live.items():
            if old in seen:
                raise RenameConflict(
                    f"column {key[1]}.{old} is declared renamed to both {seen[old]} and {new}",
                    kind="column",
                    schema=key[0],
                    table=key[1],
                    old=old,
                    hint="a column can only be renamed to one name",
                )
            seen[old] = new
        renames = [ColumnRename(key[0], key[1], old, new, d.source) for new, (old, d) in live.items()]
        renames = _drop_unevidenced_cycles(
            renames, lambda r: r.source == SOURCE_CLI, lambda _keys: scope.has_diff, notes, "column"
        )
        for r in renames:
            existing = scope.db_facts.get(r.old)
            if existing is None and reflect is not None:
                facts = reflect((key[0], scope.old_name))
                if facts is not None:
                    scope.db_facts.update({c.name: c for c in facts.columns})
                    existing = scope.db_facts.get(r.old)
            out.append(replace(r, existing=existing))
    return out, notes


def _column_doubt(old: ColumnFacts, new: ColumnFacts) -> str | None:
    if not names_related(old.name, new.name):
        return f"the names {old.name} and {new.name} are unrelated"
    why = lossless(old, new)
    return f"the values would not convert without loss ({why})" if why else None


def column_candidates(
    scopes: Mapping[Key, ColumnScope],
    taken: Sequence[ColumnRename] = (),
    is_new: Callable[..., bool] = lambda _key, _column=None: False,
) -> list[RenameCandidate]:
    """Dropped x added columns of each table, scored; declared renames excluded.

    A pair whose names are related outranks any pair whose names are not
    (``first`` -> ``first_renamed`` beats ``first`` -> ``second_renamed``);
    ``is_new((schema, "posts"), "slug")`` excludes an added column declared new.
    """
    out: list[RenameCandidate] = []
    for key, scope in scopes.items():
        used_old = {r.old for r in taken if r.table_key == key}
        used_new = {r.new for r in taken if r.table_key == key}
        # a column renamed away by a declaration frees its name; the dropped set is db - model
        dropped = {n: f for n, f in scope.dropped.items() if n not in used_old}
        added = {
            n: f
            for n, f in scope.added.items()
            if n not in used_new and not is_new(key, n)
        }
        scores: dict[tuple[str, str], float] = {}
        for dn, df in dropped.items():
            for an, af in added.items():
                s = score_columns(df, af)
                if s >= COLUMN_MIN_SCORE:
                    scores[(dn, an)] = s
        for o, n, s, amb, alts in pick(scores, tier=lambda o, n: int(names_related(o, n))):
            out.append(
                RenameCandidate(
                    "column", key[0], key[1], o, n, s, amb, alts,
                    column_key=scope.model_keys.get(n, n), doubt=_column_doubt(dropped[o], added[n]),
                )
            )
    return out


def column_rename_from(candidate: RenameCandidate, scope: ColumnScope, source: str) -> ColumnRename:
    return ColumnRename(
        candidate.schema,
        candidate.table or "",
        candidate.old,
        candidate.new,
        source,
        candidate.score,
        existing=scope.db_facts.get(candidate.old) or scope.dropped.get(candidate.old),
    )


def build_plan(
    survey: Survey, tables: Sequence[TableRename], columns: Sequence[ColumnRename], scopes: Mapping[Key, ColumnScope]
) -> RenamePlan:
    """Freeze the accepted renames; find model tables/columns that re-use a name renamed away."""
    news = {r.new_key for r in tables}
    fresh_tables = tuple(r.old_key for r in tables if r.old_key in survey.model and r.old_key not in news)
    fresh_cols = []
    for key in {c.table_key for c in columns}:
        scope = scopes.get(key)
        model = scope.model if scope else {}
        cnew = {c.new for c in columns if c.table_key == key}
        for c in columns:
            if c.table_key == key and c.old in model and c.old not in cnew:
                fresh_cols.append((key[0], key[1], c.old))
    return RenamePlan(tuple(tables), tuple(columns), fresh_tables, tuple(sorted(fresh_cols, key=str)))
