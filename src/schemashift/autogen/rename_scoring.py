"""How alike two tables or two columns are, and which scored pairs are plausible.

The thresholds and weights are named here so they can be reasoned about and
tuned in one place; nothing here knows about ops or the database.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable, Mapping, Sequence

from .rename_facts import ColumnFacts, TableFacts

# --------------------------------------------------------------------------
# Thresholds (named so they can be reasoned about and tuned in one place)

#: a table pair scoring below this is not proposed at all
TABLE_MIN_SCORE = 0.6
#: ... nor one sharing less than this fraction of the smaller table's non-key columns by name
TABLE_MIN_SHARED_COLUMNS = 0.5
#: a column pair scoring below this is not proposed (columns of different affinity score 0)
COLUMN_MIN_SCORE = 0.6
#: two candidates for the same name closer than this are ambiguous; one better by
#: at least this much makes the other not a candidate at all
AMBIGUITY_MARGIN = 0.1


TABLE_WEIGHTS = {
    "names": 0.40,  # Jaccard of column names
    "types": 0.25,  # multiset Jaccard of column type affinities
    "nullability": 0.05,
    "primary_key": 0.10,
    "defaults": 0.05,
    "foreign_keys": 0.075,
    "indexes": 0.075,
}
COLUMN_WEIGHTS = {
    "affinity": 0.40,  # required: different affinity scores 0
    "type": 0.15,  # same rendered type
    "nullability": 0.15,
    "default": 0.10,
    "position": 0.10,
    "name": 0.10,  # difflib ratio of the names
}


# --------------------------------------------------------------------------
# Scoring


def _jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    sa_, sb = set(a), set(b)
    if not sa_ and not sb:
        return 1.0
    return len(sa_ & sb) / len(sa_ | sb)


def _multiset_jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    from collections import Counter

    ca, cb = Counter(a), Counter(b)
    if not ca and not cb:
        return 1.0
    inter = sum((ca & cb).values())
    union = sum((ca | cb).values())
    return inter / union if union else 1.0


def shared_column_fraction(old: TableFacts, new: TableFacts) -> float:
    """Fraction of the smaller table's non-key columns that keep their name."""
    o = {c.name.lower() for c in old.columns if not c.primary_key} or {c.name.lower() for c in old.columns}
    n = {c.name.lower() for c in new.columns if not c.primary_key} or {c.name.lower() for c in new.columns}
    if not o or not n:
        return 0.0
    return len(o & n) / min(len(o), len(n))


def score_tables(old: TableFacts, new: TableFacts) -> float:
    """How much ``new`` looks like ``old`` under another name, in [0, 1]."""
    w = TABLE_WEIGHTS
    onames = {c.name.lower(): c for c in old.columns}
    nnames = {c.name.lower(): c for c in new.columns}
    common = set(onames) & set(nnames)
    parts = {
        "names": _jaccard(onames, nnames),
        "types": _multiset_jaccard([c.affinity for c in old.columns], [c.affinity for c in new.columns]),
    }
    if common:
        parts["nullability"] = sum(onames[n].nullable == nnames[n].nullable for n in common) / len(common)
        parts["defaults"] = sum((onames[n].default is None) == (nnames[n].default is None) for n in common) / len(
            common
        )
    else:
        parts["nullability"] = _multiset_jaccard(
            [(c.affinity, c.nullable) for c in old.columns], [(c.affinity, c.nullable) for c in new.columns]
        )
        parts["defaults"] = _multiset_jaccard(
            [c.default is None for c in old.columns], [c.default is None for c in new.columns]
        )
    opk = [old.column(n) for n in old.primary_key]
    npk = [new.column(n) for n in new.primary_key]
    if not opk and not npk:
        parts["primary_key"] = 1.0
    elif [c.affinity for c in opk if c] == [c.affinity for c in npk if c]:
        parts["primary_key"] = 1.0 if [n.lower() for n in old.primary_key] == [n.lower() for n in new.primary_key] else 0.75
    else:
        parts["primary_key"] = 0.0

    def aff(t: TableFacts, names: Sequence[str | None]) -> tuple[str, ...]:
        out = []
        for n in names:
            c = t.column(n) if n else None
            out.append(c.affinity if c else "expr")
        return tuple(out)

    parts["foreign_keys"] = _multiset_jaccard(
        [(aff(old, f.columns), f.ref_columns) for f in old.foreign_keys],
        [(aff(new, f.columns), f.ref_columns) for f in new.foreign_keys],
    )
    parts["indexes"] = _multiset_jaccard(
        [(aff(old, i.columns), i.unique) for i in old.indexes],
        [(aff(new, i.columns), i.unique) for i in new.indexes],
    )
    return round(sum(w[k] * parts[k] for k in w), 4)


def score_columns(old: ColumnFacts, new: ColumnFacts) -> float:
    """How much ``new`` looks like ``old`` under another name, in [0, 1]."""
    if old.affinity != new.affinity or old.primary_key != new.primary_key:
        return 0.0
    w = COLUMN_WEIGHTS
    delta = abs(old.position - new.position)
    parts = {
        "affinity": 1.0,
        "type": float(old.type_sql == new.type_sql),
        "nullability": float(old.nullable == new.nullable),
        "default": float(old.default == new.default),
        "position": 1.0 if delta == 0 else 0.5 if delta == 1 else 0.0,
        "name": difflib.SequenceMatcher(None, old.name.lower(), new.name.lower()).ratio(),
    }
    return round(sum(w[k] * parts[k] for k in w), 4)


def _pick(
    scores: Mapping[tuple[Any, Any], float], label: Callable[[Any], str] = str
) -> list[tuple[Any, Any, float, bool, tuple[str, ...]]]:
    """From scored (old, new) pairs keep the plausible ones; mark ties ambiguous.

    A pair is dropped when a rival sharing its old or its new name scores at
    least ``AMBIGUITY_MARGIN`` more; it is ambiguous when a rival is closer
    than that.
    """
    out = []
    for (o, n), s in scores.items():
        rivals = [((o2, n2), s2) for (o2, n2), s2 in scores.items() if (o2 == o) != (n2 == n)]
        if any(s2 >= s + AMBIGUITY_MARGIN for _, s2 in rivals):
            continue
        close = [(o2, n2) for (o2, n2), s2 in rivals if abs(s2 - s) < AMBIGUITY_MARGIN]
        alternatives = tuple(sorted({label(n2) if o2 == o else label(o2) for o2, n2 in close}))
        out.append((o, n, s, bool(close), alternatives))
    out.sort(key=lambda t: (-t[2], str(t[0]), str(t[1])))
    return out
