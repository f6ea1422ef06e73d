"""The revision graph in words and pictures: text, Mermaid, Graphviz DOT and SVG.

Every format shows the same facts (revisions, down_revision and depends_on
edges, heads, merges, branch labels, the database's current revisions and
when each was applied); text and SVG draw the lanes ``graph.layout`` chose.
"""

from __future__ import annotations

import re
from html import escape  # quotes too: names land in attributes (and xml.sax would import urllib)

from .graph import GraphNode, RevisionGraph, layout


def node_title(node: GraphNode) -> str:
    """``rev (label) (head) (current), message`` as ``history`` words it."""
    text = _heading(node)
    if node.doc:
        text += f", {node.doc}"
    if node.applied_at:
        text += f" [applied {node.applied_at}]"
    return text


# --------------------------------------------------------------------- text


def _cells(lanes: list[str | None], width: int, skip: set[int] = frozenset(), star: int = -1) -> list[str]:
    out = []
    for i in range(width):
        if i == star:
            out.append("*")
        elif i < len(lanes) and lanes[i] is not None and i not in skip:
            out.append("|")
        else:
            out.append(" ")
    return out


def _connector(cells: list[str], columns: list[int], glyph: str) -> str:
    chars = list(" ".join(cells))
    for col in columns:
        pos = 2 * col - 1
        while len(chars) <= pos:
            chars.append(" ")
        chars[pos] = glyph
    return "".join(chars).rstrip()


def to_text(graph: RevisionGraph) -> str:
    """An ASCII graph, newest first, like ``git log --graph``."""
    lines = []
    for row in layout(graph):
        joined = set(row.joined)
        if row.joined:
            lines.append(_connector(_cells(row.lanes_before, row.width, skip=joined), row.joined, "/"))
        cells = _cells(row.lanes_before, row.width, skip=joined, star=row.column)
        lines.append(f"{' '.join(cells):<{2 * row.width - 1}} {node_title(row.node)}".rstrip())
        if row.forked:
            forked = set(row.forked)
            lines.append(_connector(_cells(row.lanes_after, row.width, skip=forked), row.forked, "\\"))
    if graph.current_error:
        lines.append(f"(current revision unknown: {graph.current_error})")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ mermaid


def _ids(graph: RevisionGraph, prefix: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    used: set[str] = set()
    for node in graph.nodes:
        base = prefix + re.sub(r"\W", "_", node.revision)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        ids[node.revision] = name
    return ids


def _heading(node: GraphNode) -> str:
    """``rev (labels) (head) (current)``: the first line of a node's box."""
    extra = [", ".join(node.branch_labels)] if node.branch_labels else []
    extra += [m for m in node.marks if m != "base"]
    return node.revision + "".join(f" ({e})" for e in extra)


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def to_mermaid(graph: RevisionGraph) -> str:
    """A Mermaid flowchart (renders on GitHub as is); base at the top."""
    ids = _ids(graph, "r_")
    lines = ["flowchart TD"]
    for node in reversed(graph.nodes):
        label = _mermaid_text(_heading(node))
        if node.doc:
            label += "<br/>" + _mermaid_text(node.doc)
        if node.applied_at:
            label += "<br/>applied " + _mermaid_text(node.applied_at)
        shape = ('{{"', '"}}') if node.is_merge else ('["', '"]')
        lines.append(f"    {ids[node.revision]}{shape[0]}{label}{shape[1]}")
    for edge in graph.edges:
        if edge.parent not in ids or edge.child not in ids:
            continue
        arrow = "-.->|depends on|" if edge.kind == "depends_on" else "-->"
        lines.append(f"    {ids[edge.parent]} {arrow} {ids[edge.child]}")
    classes = {
        "head": [n for n in graph.nodes if n.is_head],
        "current": [n for n in graph.nodes if n.is_current],
    }
    lines.append("    classDef head fill:#dff5df,stroke:#2d7d2d")
    lines.append("    classDef current stroke:#c0392b,stroke-width:3px")
    for name, nodes in classes.items():
        if nodes:
            lines.append(f"    class {','.join(ids[n.revision] for n in nodes)} {name}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- dot


def dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: RevisionGraph) -> str:
    """Graphviz DOT, base at the top; heads green, current revisions outlined red."""
    lines = [
        "digraph revisions {",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
    ]
    for node in reversed(graph.nodes):
        label = _heading(node)
        if node.doc:
            label += "\n" + node.doc
        if node.applied_at:
            label += "\napplied " + node.applied_at
        attrs = [f"label={dot_quote(label)}"]
        if node.is_head:
            attrs.append('fillcolor="#dff5df"')
        if node.is_current:
            attrs.append('color="#c0392b", penwidth=3')
        if node.is_merge:
            attrs.append("shape=hexagon")
        lines.append(f"    {dot_quote(node.revision)} [{', '.join(attrs)}];")
    for edge in graph.edges:
        style = ' [style=dashed, label="depends on"]' if edge.kind == "depends_on" else ""
        lines.append(f"    {dot_quote(edge.parent)} -> {dot_quote(edge.child)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- svg

ROW = 30
LANE = 20
TOP = 20
LEFT = 16


def to_svg(graph: RevisionGraph) -> str:
    """A self-contained SVG of the lanes (no Graphviz needed): the picture the HTML report embeds."""
    rows = layout(graph)
    where = {row.node.revision: (i, row.column) for i, row in enumerate(rows)}
    width_lanes = max((row.width for row in rows), default=1)
    text_x = LEFT + LANE * width_lanes + 8
    longest = max((len(node_title(r.node)) for r in rows), default=10)
    width = text_x + 7 * longest + 20
    height = TOP * 2 + ROW * max(len(rows) - 1, 0)

    def x(col: int) -> int:
        return LEFT + LANE * col

    def y(i: int) -> int:
        return TOP + ROW * i

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="revision-graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="13">'
    ]
    for i, row in enumerate(rows):
        for parent, lane in row.parent_columns.items():
            if parent not in where:
                continue
            j, pcol = where[parent]
            points = [(x(row.column), y(i))]
            if lane != row.column:
                points.append((x(lane), y(i) + ROW // 2))
            if j - i > 1:
                points.append((x(lane), y(j) - ROW // 2))
            points.append((x(pcol), y(j)))
            path = " ".join(f"{px},{py}" for px, py in points)
            parts.append(f'<polyline class="edge" points="{path}" fill="none" stroke="#888" stroke-width="2"/>')
        for dep in row.node.dependencies:
            if dep not in where:
                continue
            j, dcol = where[dep]
            x1, y1, x2, y2 = x(row.column), y(i), x(dcol), y(j)
            bend = x(width_lanes) + 4
            parts.append(
                f'<path class="edge depends-on" d="M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}" fill="none" '
                'stroke="#888" stroke-dasharray="4 3"/>'
            )
    for i, row in enumerate(rows):
        node = row.node
        fill = "#2d7d2d" if node.is_head else "#555"
        stroke = ' stroke="#c0392b" stroke-width="3"' if node.is_current else ""
        shape = (
            f'<rect x="{x(row.column) - 6}" y="{y(i) - 6}" width="12" height="12" fill="{fill}"{stroke}/>'
            if node.is_merge
            else f'<circle cx="{x(row.column)}" cy="{y(i)}" r="6" fill="{fill}"{stroke}/>'
        )
        marks = "".join(f" ({m})" for m in node.marks if m != "base")
        labels = f" ({escape(', '.join(node.branch_labels))})" if node.branch_labels else ""
        doc = f", {escape(node.doc)}" if node.doc else ""
        applied = f' <tspan fill="#777">[applied {escape(node.applied_at)}]</tspan>' if node.applied_at else ""
        parts.append(
            f'<g class="node" data-revision="{escape(node.revision)}">{shape}'
            f'<text x="{text_x}" y="{y(i) + 4}"><tspan font-weight="bold">{escape(node.revision)}</tspan>'
            f'{labels}<tspan fill="#2d7d2d">{escape(marks)}</tspan>{doc}{applied}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
