"""How alike two tables or two columns are, and which scored pairs are plausible.

The thresholds and weights are named here so they can be reasoned about and
tuned in one place; nothing here knows about ops or the database.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from .facts import ColumnFacts, TableFacts

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

#: name tokens too common to relate two names on their own (author_id, writer_id)
GENERIC_TOKENS = frozenset({"id", "at", "on", "is", "has", "by", "to", "of", "no", "num", "the", "key", "pk", "fk"})
#: two names this alike (difflib ratio) are related: typos, plurals (adress -> address)
NAME_SIMILARITY = 0.75


# --------------------------------------------------------------------------
# Names and types as evidence


def name_tokens(name: str) -> tuple[str, ...]:
    """Words of an identifier: ``fullName2`` and ``full_name_2`` -> ('full', 'name')."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return tuple(t for t in re.split(r"[^A-Za-z]+", spaced.lower()) if t)


def _abbreviates(short: str, long: str) -> bool:
    """``pw`` -> ``password``, ``qty`` -> ``quantity``: same first letter, letters in order."""
    if len(short) < 2 or len(short) >= len(long) or short[0] != long[0]:
        return False
    it = iter(long)
    return all(ch in it for ch in short)


def names_related(old: str, new: str) -> bool:
    """Whether two names could name the same thing: the evidence a rename needs
    before anyone accepts it without a question.

    Related: one name's words contain the other's (``name`` / ``full_name``,
    ``id`` / ``renamed_id``), they share a specific word (``email_addr`` /
    ``contact_email``), one abbreviates the other (``pw`` / ``password``), or
    they are spelled almost alike (``adress`` / ``address``).  ``pw`` / ``street``
    and ``body`` / ``slug`` are not.
    """
    a, b = old.lower(), new.lower()
    if a == b:
        return True
    ta, tb = name_tokens(old), name_tokens(new)
    if ta and tb and (set(ta) <= set(tb) or set(tb) <= set(ta)):
        return True
    if {t for t in set(ta) & set(tb) if len(t) >= 3 and t not in GENERIC_TOKENS}:
        return True
    if any(_abbreviates(x, y) or _abbreviates(y, x) for x in ta for y in tb):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


_LENGTH = re.compile(r"\((\d+)(?:\s*,\s*(\d+))?\)")
_INTEGER_WIDTH = {"SMALLINT": 1, "INTEGER": 2, "INT": 2, "BIGINT": 3}


def lossless(old: ColumnFacts, new: ColumnFacts) -> str | None:
    """None when every value of ``old`` fits ``new`` unchanged; else why not.

    Same affinity is assumed (other pairs are never candidates).  Narrowing a
    length or precision, a smaller integer, or a NULL-able column becoming
    NOT NULL can lose or refuse rows.
    """
    if old.nullable and not new.nullable:
        return f"{new.name} is NOT NULL where {old.name} allows NULL"
    ot, nt = old.type_sql, new.type_sql
    if ot == nt:
        return None
    ob, nb = ot.split("(")[0].strip(), nt.split("(")[0].strip()
    if ob in _INTEGER_WIDTH and nb in _INTEGER_WIDTH:
        return None if _INTEGER_WIDTH[nb] >= _INTEGER_WIDTH[ob] else f"{nt} is narrower than {ot}"
    om, nm = _LENGTH.search(ot), _LENGTH.search(nt)
    if nm is None:
        return None  # no limit on the new side (TEXT, NUMERIC)
    if om is None:
        return f"{nt} is narrower than {ot}"
    if int(nm.group(1)) < int(om.group(1)) or int(nm.group(2) or 0) < int(om.group(2) or 0):
        return f"{nt} is narrower than {ot}"
    return None


def column_signature(t: TableFacts) -> frozenset[tuple[str, str]]:
    """Column names and type families of a table: equal signatures are an exact match."""
    return frozenset((c.name.lower(), c.affinity) for c in t.columns)


def key_only(t: TableFacts) -> bool:
    """A table with nothing but its primary key carries no evidence of identity."""
    pk = {n.lower() for n in t.primary_key}
    return all(c.primary_key or c.name.lower() in pk for c in t.columns)


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


def column_correspondence(old: TableFacts, new: TableFacts) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Pair the columns of two tables: equal names first, then related names of one
    type family (each used once).  Returns (pairs, unmatched old, unmatched new)."""
    olds = {c.name.lower(): c for c in old.columns}
    news = {c.name.lower(): c for c in new.columns}
    pairs = [(olds[n].name, news[n].name) for n in olds if n in news]
    left = [c for n, c in olds.items() if n not in news]
    right = [c for n, c in news.items() if n not in olds]
    for c in list(left):
        match = [r for r in right if r.affinity == c.affinity and names_related(c.name, r.name)]
        if len(match) == 1:
            pairs.append((c.name, match[0].name))
            left.remove(c)
            right.remove(match[0])
    return pairs, [c.name for c in left], [c.name for c in right]


def matched_column_fraction(old: TableFacts, new: TableFacts) -> float:
    """Fraction of the smaller table's non-key columns that have a counterpart
    (same name, or a related name of the same type family)."""
    pairs, _l, _r = column_correspondence(old, new)
    opk = {n.lower() for n in old.primary_key}
    o = [c for c in old.columns if not c.primary_key and c.name.lower() not in opk] or list(old.columns)
    npk = {n.lower() for n in new.primary_key}
    n = [c for c in new.columns if not c.primary_key and c.name.lower() not in npk] or list(new.columns)
    if not o or not n:
        return 0.0
    onames = {c.name for c in o}
    return sum(1 for a, _b in pairs if a in onames) / min(len(o), len(n))


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


def pick(
    scores: Mapping[tuple[Any, Any], float],
    label: Callable[[Any], str] = str,
    tier: Callable[[Any, Any], int] | None = None,
) -> list[tuple[Any, Any, float, bool, tuple[str, ...]]]:
    """From scored (old, new) pairs keep the plausible ones; mark ties ambiguous.

    ``tier(old, new)`` ranks the evidence before the score does (1: the names
    are related, 0: they are not): a pair is dropped when a rival sharing its
    old or its new name has a higher tier, or the same tier and a score at
    least ``AMBIGUITY_MARGIN`` higher; it is ambiguous when a rival of its tier
    is closer than that.
    """
    rank = tier or (lambda _o, _n: 0)
    tiers = {pair: rank(*pair) for pair in scores}
    by_old: dict[Any, list[tuple[Any, Any]]] = {}
    by_new: dict[Any, list[tuple[Any, Any]]] = {}
    for o, n in scores:
        by_old.setdefault(o, []).append((o, n))
        by_new.setdefault(n, []).append((o, n))
    out = []
    for (o, n), s in scores.items():
        t = tiers[(o, n)]
        rivals = [p for p in by_old[o] if p != (o, n)] + [p for p in by_new[n] if p != (o, n)]
        if any(tiers[p] > t or (tiers[p] == t and scores[p] >= s + AMBIGUITY_MARGIN) for p in rivals):
            continue
        close = [p for p in rivals if tiers[p] == t and abs(scores[p] - s) < AMBIGUITY_MARGIN]
        alternatives = tuple(sorted({label(n2) if o2 == o else label(o2) for o2, n2 in close}))
        out.append((o, n, s, bool(close), alternatives))
    out.sort(key=lambda t: (-t[2], str(t[0]), str(t[1])))
    return out
