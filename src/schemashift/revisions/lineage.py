"""``heads`` and ``history`` worked out from revision headers by the rules of Alembic's ``RevisionMap``.

The cold-cache path of the read commands (``revisions.fresh``) must print,
line for line, what the normal path prints through Alembic's
``RevisionMap`` (``api.heads``, ``api.history``): the heads in its order,
each revision's flags (head, base, branch point, merge point), the branch
labels it shows (a label spreads to its branch), and the order of the
history walk.  Importing Alembic for that costs more than the whole answer,
so this module applies the same rules to plain data:

- heads: revisions no other revision names as ``down_revision``, in file order;
- a label spreads to every revision after it and, when those form a plain
  line, up to the revisions before it as far as the first branch or merge
  point;
- history: Alembic's walk from the heads that nothing depends on, newest
  first, taking the ``depends_on`` edges that ancestors do not already give.

Where Alembic would raise or warn (a duplicate id, a missing or looping
parent, a cycle, a label used twice), or where its answer would depend on
something besides the headers (labels nested in each other's branches,
which Alembic spreads in the order of a set of objects in memory), this
raises ``Uncertain`` and the command takes the normal path.
tests/test_revision_fresh.py pins every answer to Alembic's own on random
graphs.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Callable, Iterable, Iterator

from .display import RevisionInfo, as_tuple
from .headers import Uncertain, first_paragraph


def _scalar(values: tuple[str, ...]) -> Any:
    """One id as a string, several as a tuple, none as None (how Alembic keeps ``down_revision``)."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _dedupe(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _ids(value: Any) -> tuple[str, ...]:
    """``as_tuple``, quicker for the usual None or one id."""
    if value is None:
        return ()
    return (value,) if type(value) is str else as_tuple(value)


_NONE: frozenset[str] = frozenset()


class _Rev:
    """One revision and the edges the map gives it."""

    __slots__ = ("revision", "header", "down", "deps", "versioned", "labels", "orig_labels", "resolved",
                 "normalized", "nextrev", "all_nextrev", "all_down", "normalized_down")

    def __init__(self, header: dict[str, Any]) -> None:
        self.revision: str = header["revision"]
        self.header = header
        self.versioned = _ids(header["down_revision"])  # the down revisions (Alembic's "versioned" ones)
        dependencies = _ids(header["depends_on"])
        if self.revision in self.versioned or self.revision in dependencies:
            raise Uncertain(f"revision {self.revision} names itself")
        self.down = _scalar(self.versioned)
        self.deps = _scalar(dependencies)
        self.orig_labels = _ids(header["branch_labels"])
        self.labels: AbstractSet[str] = set(self.orig_labels) if self.orig_labels else _NONE  # and spread ones
        self.resolved: tuple[str, ...] = ()  # depends_on as revision ids (a label names its revision)
        self.normalized: tuple[str, ...] = ()  # those an ancestor does not already depend on
        self.nextrev: frozenset[str] = _NONE  # revisions whose down_revision is this one
        self.all_nextrev: frozenset[str] = _NONE  # ... or which depend on it
        # the versioned ones are distinct (``headers`` refuses a repeated entry), so the usual revision's
        # edges need no dedupe
        self.all_down: tuple[str, ...] = self.versioned  # down revisions and resolved dependencies
        self.normalized_down: tuple[str, ...] = self.versioned  # down revisions and normalized dependencies

    def row(self) -> list[Any]:
        """As ``RevisionInfo.from_revision`` gives it for the same revision of Alembic's map, as a list of
        the fields in order (what ``answers`` stores; ``RevisionInfo(*row)`` makes the object)."""
        header = self.header
        longdoc = header["longdoc"]
        nextrev = self.nextrev
        return [
            self.revision,
            self.versioned,
            _ids(self.deps),
            tuple(sorted(self.labels)) if self.labels else (),
            first_paragraph(longdoc),
            longdoc,
            header["path"],
            header["create_date"],
            not nextrev,
            self.down is None,
            len(nextrev) > 1,
            len(self.versioned) > 1,
            False,
            None,
            tuple(sorted(nextrev)) if len(nextrev) > 1 else (),
            () if nextrev else tuple(sorted(self.all_nextrev - nextrev)),  # dependents, asked of heads only
        ]

    def info(self) -> RevisionInfo:
        """As ``RevisionInfo.from_revision`` gives it for the same revision of Alembic's map."""
        return RevisionInfo.from_row(self.row())


def _walk(starts: Iterable[_Rev], step: Callable[[_Rev], Iterable[str]], by_id: dict[str, _Rev]) -> Iterator[_Rev]:
    """Every revision reached from ``starts`` along ``step`` (depth first, each once, the starts included)."""
    seen: set[str] = set()
    for start in starts:
        todo = [start]
        while todo:
            rev = todo.pop()
            if rev.revision in seen:
                continue
            seen.add(rev.revision)
            todo.extend(by_id[name] for name in step(rev))
            yield rev


def _reach(starts: Iterable[str], edges: dict[str, Iterable[str]]) -> set[str]:
    """The ids reached from ``starts`` along ``edges`` (id -> ids), the starts included."""
    seen: set[str] = set()
    todo = list(starts)
    pop, add, extend = todo.pop, seen.add, todo.extend
    while todo:
        rev = pop()
        if rev not in seen:
            add(rev)
            extend(edges[rev])
    return seen


class Lineage:
    """The revisions of one script directory, linked as Alembic's map links them."""

    def __init__(self, headers: list[dict[str, Any]]) -> None:
        revs = [_Rev(h) for h in headers]  # in file order, as the index hands them to RevisionMap
        by_id: dict[str, _Rev] = {}
        for rev in revs:
            if rev.revision in by_id:
                raise Uncertain(f"revision {rev.revision} is declared twice")
            by_id[rev.revision] = rev
        names = dict(by_id)  # ids, then branch labels: the names depends_on may use
        for rev in revs:
            for label in rev.orig_labels:
                if label in names:
                    raise Uncertain(f"branch label {label} is taken")
                names[label] = rev
        for rev in revs:
            if rev.deps is not None:
                try:
                    rev.resolved = tuple(names[dep].revision for dep in as_tuple(rev.deps))
                except KeyError as exc:
                    raise Uncertain(f"depends_on names {exc.args[0]}, which no revision declares") from exc
        heads = dict.fromkeys(revs)  # ordered sets
        real_heads = dict.fromkeys(revs)
        # linked in the order Alembic's map is walked (its labels are keys too, so a labelled revision comes
        # twice): the frozensets are built by the same steps, so they even iterate in the same order
        for rev in revs:
            if rev.resolved:
                rev.all_down = _dedupe(rev.versioned + rev.resolved)
        for rev in names.values():
            for down_id in rev.all_down:
                down = by_id.get(down_id)
                if down is None:
                    raise Uncertain(f"{rev.revision} names {down_id}, which no revision declares")
                down.all_nextrev = down.all_nextrev.union([rev.revision])
                if down_id in rev.versioned:
                    down.nextrev = down.nextrev.union([rev.revision])
                    heads.pop(down, None)
                real_heads.pop(down, None)
        for rev in revs:
            if rev.resolved:
                keep = set(rev.resolved)  # built and thinned as Alembic does: a set's order decides the walk's
                for older in _walk([rev], lambda r: r.versioned, by_id):
                    if older is not rev and older.resolved:
                        keep.difference_update(older.resolved)
                rev.normalized = tuple(keep)
                rev.normalized_down = _dedupe(rev.versioned + rev.normalized)
        self.revs, self.by_id = revs, by_id
        self._down: dict[str, tuple[str, ...]] | None = None  # normalized_down by id, for the history walk
        self._check_acyclic(list(heads), list(real_heads))
        self.heads = [rev.revision for rev in heads]
        self.real_heads = [rev.revision for rev in real_heads]  # what nothing else needs: history starts there
        self._spread_labels()

    def _check_acyclic(self, heads: list[_Rev], real_heads: list[_Rev]) -> None:
        """Every revision lies between a head and a base, along both kinds of edge (else a cycle)."""
        if not self.revs:
            return
        everything = set(self.by_id)
        revs = self.revs
        checks = [(heads, "versioned", [r for r in revs if r.down is None], "nextrev")]
        if any(r.deps is not None for r in revs):  # else the second check is the first one again
            checks.append(
                (real_heads, "all_down", [r for r in revs if r.down is None and r.deps is None], "all_nextrev"))
        for tops, down, bottoms, up in checks:
            if not tops or not bottoms:
                raise Uncertain("a cycle")
            below = _reach([r.revision for r in tops], {r.revision: getattr(r, down) for r in revs})
            above = _reach([r.revision for r in bottoms], {r.revision: getattr(r, up) for r in revs})
            if everything - (below & above):
                raise Uncertain("a cycle")

    def _spread_labels(self) -> None:
        """Each label to the revisions after its revision and, along a plain line, before it.

        Alembic spreads the labels one labelled revision at a time, in the
        order of a set of objects, and each passes on what it holds by then;
        that order cannot matter unless one labelled revision lies in
        another's reach, which is refused.
        """
        labelled = [rev for rev in self.revs if rev.orig_labels]
        reach: dict[str, list[_Rev]] = {}
        for rev in labelled:
            after = list(_walk([rev], lambda r: r.nextrev, self.by_id))
            line = []
            node = after[-1]  # the last reached; only a plain line can lead back above rev, and it has one end
            while len(node.all_nextrev) <= 1 and len(node.versioned) <= 1:
                line.append(node)
                if node.down is None:
                    break
                node = self.by_id[node.down]
            reach[rev.revision] = after + line
        for rev in labelled:
            inside = {r.revision for r in reach[rev.revision]}
            if any(other is not rev and other.revision in inside for other in labelled):
                raise Uncertain("a branch label inside another label's branch")
        for rev in labelled:
            for node in reach[rev.revision]:
                node.labels = node.labels | set(rev.orig_labels)

    def _ancestors(self, revision: str) -> set[str]:
        if self._down is None:
            self._down = {rev.revision: rev.normalized_down for rev in self.revs}
        return _reach([revision], self._down)

    def heads_answer(self) -> list[RevisionInfo]:
        """``heads``: as ``api.heads`` lists them."""
        return [self.by_id[h].info() for h in self.heads]

    def heads_rows(self) -> list[list[Any]]:
        """``heads_answer`` as rows (``_Rev.row``)."""
        return [self.by_id[h].row() for h in self.heads]

    def history_answer(self) -> list[RevisionInfo]:
        """``history`` with no range: Alembic's walk from heads to base, newest first."""
        return [RevisionInfo.from_row(row) for row in self.history_rows()]

    def history_rows(self) -> list[list[Any]]:
        """``history_answer`` as rows (``_Rev.row``)."""
        todo: set[str] = set()
        above_head = {head: self._ancestors(head) for head in self.real_heads}
        for head in self.real_heads:
            todo |= above_head[head]
        position = {rev.revision: i for i, rev in enumerate(self.revs)}
        current = sorted((h for h in self.real_heads if h in todo), key=position.__getitem__)
        ancestors = [set(above_head[h]) for h in current]
        output: list[str] = []
        i = 0
        budget = 4 * (len(self.revs) + 1) ** 2  # far above any walk of a sound graph; a guard, not a limit
        while current:
            budget -= 1
            if budget < 0:
                raise Uncertain("the history walk does not end")
            candidate = current[i]
            for j, above in enumerate(ancestors):
                if j != i and candidate in above:
                    i = j  # another head still needs it: walk that one first
                    break
            else:
                if candidate in todo:
                    output.append(candidate)
                    todo.remove(candidate)
                rev = self.by_id[candidate]
                below = [r for r in rev.normalized_down if r in todo and r not in current]
                if not below:
                    del current[i]
                    del ancestors[i]
                    i = max(i - 1, 0)
                elif not rev.normalized and len(rev.versioned) == 1:
                    current[i] = below[0]  # down a plain line
                    ancestors[i].discard(candidate)
                else:
                    current[i] = below[0]
                    current.extend(below[1:])
                    ancestors[i] = self._ancestors(below[0])
                    ancestors.extend(self._ancestors(h) for h in below[1:])
        if todo:
            raise Uncertain("the history walk left revisions out")
        return [self.by_id[r].row() for r in output]


def all_current(ids: Iterable[str], parents: Callable[[str], Iterable[str]],
                children: Callable[[str], AbstractSet[str]]) -> list[str]:
    """Alembic's ``get_all_current``: the version rows ``ids``, and the revisions they depend on
    (``depends_on``) that nothing in their ancestry revises, the rows first.

    ``parents`` gives a revision's down revisions and dependencies, ``children`` the revisions whose
    down revision it is.  The ancestry is closed under down revisions, so a revision has a
    descendant in it exactly when one of its direct children is in it: one pass, where Alembic
    walks every revision's descendants.  Shared by ``api.current`` and the cold ``quick.current``.
    """
    ids = list(ids)
    found: set[str] = set()
    todo = list(ids)
    while todo:
        rev = todo.pop()
        if rev not in found:
            found.add(rev)
            todo.extend(parents(rev))
    tops = {rev for rev in found if not children(rev) & found}
    return [rev for rev in ids if rev in tops] + sorted(tops.difference(ids))

