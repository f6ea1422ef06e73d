"""The revision graph as data, and its lane layout (the shape ``git log --graph`` draws).

Why a layout of our own: the text picture, the built-in SVG and the HTML
report must agree on where each revision sits, and a revision history is
nearly always a few lanes wide, so assigning columns top to bottom (newest
first) is enough; Graphviz is only needed for its own formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class GraphNode:
    """One revision with the marks a picture shows."""

    revision: str
    doc: str
    parents: tuple[str, ...]
    dependencies: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    is_head: bool = False
    is_base: bool = False
    is_merge: bool = False
    is_branch_point: bool = False
    is_current: bool = False
    applied_at: str | None = None

    @property
    def marks(self) -> tuple[str, ...]:
        """Words for the marks, in the order ``history`` prints them."""
        out = []
        if self.is_head:
            out.append("head")
        if self.is_current:
            out.append("current")
        if self.is_merge:
            out.append("merge")
        if self.is_branch_point:
            out.append("branchpoint")
        if self.is_base:
            out.append("base")
        return tuple(out)


@dataclass(frozen=True)
class GraphEdge:
    """``parent`` comes before ``child``; ``kind`` is ``down`` or ``depends_on``."""

    parent: str
    child: str
    kind: str = "down"


@dataclass
class RevisionGraph:
    """Every revision, newest first (each before its parents), and the edges between them."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    current: tuple[str, ...] | None = None
    current_error: str | None = None

    def node(self, revision: str) -> GraphNode:
        for node in self.nodes:
            if node.revision == revision:
                return node
        raise KeyError(revision)

    @property
    def heads(self) -> list[str]:
        return [n.revision for n in self.nodes if n.is_head]

    @property
    def bases(self) -> list[str]:
        return [n.revision for n in self.nodes if n.is_base]

    @property
    def merges(self) -> list[str]:
        return [n.revision for n in self.nodes if n.is_merge]

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": list(self.current) if self.current is not None else None,
            "current_error": self.current_error,
            "nodes": [
                {
                    "revision": n.revision,
                    "doc": n.doc,
                    "parents": list(n.parents),
                    "dependencies": list(n.dependencies),
                    "branch_labels": list(n.branch_labels),
                    "marks": list(n.marks),
                    "applied_at": n.applied_at,
                }
                for n in self.nodes
            ],
            "edges": [{"parent": e.parent, "child": e.child, "kind": e.kind} for e in self.edges],
        }


def build_graph(
    revisions: Iterable[Any],
    *,
    current: tuple[str, ...] | None = None,
    current_error: str | None = None,
    applied_at: Mapping[str, str] | None = None,
) -> RevisionGraph:
    """A graph from ``RevisionInfo``-like objects given newest first (as ``history`` returns them)."""
    applied_at = applied_at or {}
    marked = set(current or ())
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    for info in revisions:
        parents = tuple(info.down_revisions)
        deps = tuple(info.dependencies)
        nodes.append(
            GraphNode(
                revision=info.revision,
                doc=info.doc,
                parents=parents,
                dependencies=deps,
                branch_labels=tuple(info.branch_labels),
                is_head=bool(info.is_head),
                is_base=bool(info.is_base),
                is_merge=len(parents) > 1,
                is_branch_point=bool(info.is_branch_point),
                is_current=info.revision in marked,
                applied_at=applied_at.get(info.revision),
            )
        )
        edges.extend(GraphEdge(p, info.revision) for p in parents)
        edges.extend(GraphEdge(d, info.revision, "depends_on") for d in deps)
    return RevisionGraph(nodes, edges, current, current_error)


@dataclass
class LaneRow:
    """Where one revision sits: its ``column``, and how lanes join and fork around it.

    ``joined`` are columns that ended here (several children shared this
    parent: a branch point, drawn above the node); ``forked`` are the columns
    of the node's second and later parents (a merge, drawn below it);
    ``width`` is the number of lanes in use while the node is drawn, and
    ``lanes_after`` what each lane waits for below it.
    """

    node: GraphNode
    column: int
    joined: list[int] = field(default_factory=list)
    forked: list[int] = field(default_factory=list)
    width: int = 1
    lanes_before: list[str | None] = field(default_factory=list)
    lanes_after: list[str | None] = field(default_factory=list)
    parent_columns: dict[str, int] = field(default_factory=dict)


def _slot(lanes: list[str | None], avoid: int = -1) -> int:
    for i, lane in enumerate(lanes):
        if lane is None and i != avoid:
            return i
    lanes.append(None)
    return len(lanes) - 1


def layout(graph: RevisionGraph) -> list[LaneRow]:
    """Assign each revision a column, newest first, so edges run down lanes."""
    lanes: list[str | None] = []
    rows: list[LaneRow] = []
    for node in graph.nodes:
        waiting = [i for i, lane in enumerate(lanes) if lane == node.revision]
        column = waiting[0] if waiting else _slot(lanes)
        before = list(lanes)
        before[column] = node.revision
        for i in waiting[1:]:
            lanes[i] = None
        parent_columns: dict[str, int] = {}
        forked: list[int] = []
        if node.parents:
            lanes[column] = node.parents[0]
            parent_columns[node.parents[0]] = column
            for parent in node.parents[1:]:
                if parent in lanes:
                    parent_columns[parent] = lanes.index(parent)
                    continue
                slot = _slot(lanes, avoid=column)
                lanes[slot] = parent
                parent_columns[parent] = slot
                forked.append(slot)
        else:
            lanes[column] = None
        width = max(len(before), len(lanes))
        while lanes and lanes[-1] is None:
            lanes.pop()
        rows.append(
            LaneRow(
                node=node,
                column=column,
                joined=waiting[1:],
                forked=forked,
                width=width,
                lanes_before=before,
                lanes_after=list(lanes),
                parent_columns=parent_columns,
            )
        )
    return rows
