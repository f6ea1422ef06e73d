"""ER diagrams in Mermaid, Graphviz DOT and SVG, with a diff's marks as colours and words.

Added is green, removed red (and struck through), renamed blue (with the old
name), changed amber (with the old type); Mermaid, which has no colours for
ER diagrams on every host, says the same in words.
"""

from __future__ import annotations

import math
import re
from html import escape  # quotes too: names land in attributes (and xml.sax would import urllib)

from .erd import ADDED, CHANGED, REMOVED, RENAMED, ErdColumn, ErdTable, SchemaDiagram
from .graph_render import dot_quote


COLOURS = {ADDED: "#dff5df", REMOVED: "#f8d7da", RENAMED: "#dbe9ff", CHANGED: "#fff3cd", "": "#ffffff"}
INK = {ADDED: "#1e6b1e", REMOVED: "#a12622", RENAMED: "#1f4f99", CHANGED: "#8a6100", "": "#222222"}


def column_note(col: ErdColumn) -> str:
    """What a diff says about a column, in words (empty when nothing)."""
    if col.status == RENAMED:
        return f"renamed from {col.old_name}"
    if col.status == CHANGED and col.old_type:
        return f"changed from {col.old_type}"
    return col.status


def table_note(table: ErdTable) -> str:
    if table.status == RENAMED:
        return f"renamed from {table.old_name}"
    return table.status if table.status in (ADDED, REMOVED) else ""


def _keys(col: ErdColumn) -> list[str]:
    keys = []
    if col.primary_key:
        keys.append("PK")
    if col.references:
        keys.append("FK")
    if col.unique and not col.primary_key:
        keys.append("UK")
    return keys


# ------------------------------------------------------------------ mermaid


def _mermaid_word(text: str, fallback: str) -> str:
    word = re.sub(r"[^A-Za-z0-9_()\-\[\]]", "_", text)
    if not word or not re.match(r"[A-Za-z_]", word):
        word = fallback + word
    return word


def to_mermaid(diagram: SchemaDiagram) -> str:
    """A Mermaid ``erDiagram``: one entity per table, one line per relation."""
    ids: dict[str, str] = {}
    for i, table in enumerate(diagram.tables):
        ids.setdefault(table.name, f"t{i}_" + re.sub(r"\W", "_", table.name))
    lines = ["erDiagram"]
    for table in diagram.tables:
        label = table.name + (f" ({table_note(table)})" if table_note(table) else "")
        lines.append(f'    {ids[table.name]}["{label.replace(chr(34), "")}"] {{')
        for col in table.columns:
            keys = ",".join(_keys(col))
            note = column_note(col)
            parts = [_mermaid_word(col.type, "T_"), _mermaid_word(col.name, "c_")]
            if keys:
                parts.append(keys)
            if note or col.name != parts[1]:
                text = " ".join(filter(None, [col.name if col.name != parts[1] else "", note]))
                parts.append('"' + text.replace('"', "'") + '"')
            lines.append("        " + " ".join(parts))
        lines.append("    }")
    for rel in diagram.relations:
        if rel.table not in ids or rel.ref_table not in ids:
            continue
        left = "|o" if rel.nullable else "||"
        right = "o|" if rel.unique else "o{"
        label = ", ".join(rel.columns) + (f" ({rel.status})" if rel.status else "")
        lines.append(f'    {ids[rel.ref_table]} {left}--{right} {ids[rel.table]} : "{label}"')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- dot


def _cell(text: str, status: str, *, bold: bool = False, port: str | None = None) -> str:
    body = escape(text)
    if status == REMOVED:
        body = f"<S>{body}</S>"
    if bold:
        body = f"<B>{body}</B>"
    port_attr = f' PORT="{escape(port)}"' if port else ""
    return f'<TR><TD ALIGN="LEFT" BGCOLOR="{COLOURS.get(status, "#ffffff")}"{port_attr}>{body}</TD></TR>'


def _column_text(col: ErdColumn) -> str:
    keys = " ".join(_keys(col))
    note = column_note(col)
    text = f"{col.name} {col.type}" + ("" if col.nullable or col.primary_key else " NOT NULL")
    if keys:
        text += f" {keys}"
    if note:
        text += f" ({note})"
    return text


def to_dot(diagram: SchemaDiagram) -> str:
    """Graphviz DOT with HTML-like table labels; relations from column to column."""
    lines = ["digraph schema {", "    rankdir=LR;", '    node [shape=plaintext, fontname="Helvetica"];']
    for table in diagram.tables:
        rows = [_cell(table.name + (f" ({table_note(table)})" if table_note(table) else ""), table.status, bold=True)]
        rows += [_cell(_column_text(c), c.status, port=c.name) for c in table.columns]
        label = '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0">' + "".join(rows) + "</TABLE>>"
        lines.append(f"    {dot_quote(table.name)} [label={label}];")
    for rel in diagram.relations:
        style = {ADDED: ' [color="#1e6b1e"]', REMOVED: ' [color="#a12622", style=dashed]'}.get(rel.status, "")
        src = f"{dot_quote(rel.table)}:{dot_quote(rel.columns[0])}" if rel.columns else dot_quote(rel.table)
        dst = f"{dot_quote(rel.ref_table)}:{dot_quote(rel.ref_columns[0])}" if rel.ref_columns else dot_quote(rel.ref_table)
        lines.append(f"    {src} -> {dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- svg

LINE = 18
CHAR = 7.2
GAP_X = 70
GAP_Y = 40


def to_svg(diagram: SchemaDiagram) -> str:
    """A self-contained SVG: tables on a grid, foreign keys as arrows (no Graphviz needed)."""
    tables = diagram.tables
    per_row = max(1, math.ceil(math.sqrt(len(tables)))) if tables else 1
    sizes = []
    for table in tables:
        texts = [table.name + (f" ({table_note(table)})" if table_note(table) else "")]
        texts += [_column_text(c) for c in table.columns]
        width = int(max(len(t) for t in texts) * CHAR) + 20
        sizes.append((width, LINE * (len(table.columns) + 1) + 8))
    col_width = [0] * per_row
    for i, (w, _) in enumerate(sizes):
        col_width[i % per_row] = max(col_width[i % per_row], w)
    row_height: list[int] = []
    for i, (_, h) in enumerate(sizes):
        r = i // per_row
        if len(row_height) <= r:
            row_height.append(0)
        row_height[r] = max(row_height[r], h)
    pos: dict[str, tuple[int, int, int]] = {}
    for i, table in enumerate(tables):
        r, c = divmod(i, per_row)
        x = 20 + sum(col_width[:c]) + GAP_X * c
        y = 20 + sum(row_height[:r]) + GAP_Y * r
        pos[table.name] = (x, y, sizes[i][0])
    width = 40 + sum(col_width) + GAP_X * max(per_row - 1, 0)
    height = 40 + sum(row_height) + GAP_Y * max(len(row_height) - 1, 0) + 24

    def row_y(table: ErdTable, column: str | None) -> int:
        x, y, _ = pos[table.name]
        for i, col in enumerate(table.columns):
            if col.name == column:
                return y + LINE * (i + 1) + LINE // 2 + 4
        return y + LINE // 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="schema-diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<defs><marker id="erd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
    ]
    by_name = {t.name: t for t in tables}
    for rel in diagram.relations:
        if rel.table not in by_name or rel.ref_table not in by_name:
            continue
        sx, _, sw = pos[rel.table]
        tx, _, tw = pos[rel.ref_table]
        y1 = row_y(by_name[rel.table], rel.columns[0] if rel.columns else None)
        y2 = row_y(by_name[rel.ref_table], rel.ref_columns[0] if rel.ref_columns else None)
        if rel.table == rel.ref_table:
            x1 = x2 = sx + sw
            d = f"M{x1},{y1} C{x1 + 40},{y1} {x2 + 40},{y2} {x2},{y2}"
        else:
            x1 = sx + sw if sx + sw <= tx else sx
            x2 = tx if sx + sw <= tx else tx + tw
            mid = (x1 + x2) / 2
            d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        dash = ' stroke-dasharray="5 3"' if rel.status == REMOVED else ""
        parts.append(
            f'<path class="relation" d="{d}" fill="none" stroke="{INK.get(rel.status, "#666")}" stroke-width="1.5"'
            f'{dash} marker-end="url(#erd-arrow)"/>'
        )
    for table in tables:
        x, y, w = pos[table.name]
        h = LINE * (len(table.columns) + 1) + 8
        parts.append(f'<g class="table" data-table="{escape(table.name)}" data-status="{table.status}">')
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4" fill="#fff" stroke="#555"/>')
        parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{LINE + 4}" rx="4" fill="{COLOURS.get(table.status, "#eee")}" '
            'stroke="#555"/>'
        )
        title = table.name + (f" ({table_note(table)})" if table_note(table) else "")
        parts.append(
            f'<text x="{x + 8}" y="{y + LINE - 2}" font-weight="bold" fill="{INK.get(table.status, "#222")}">'
            f"{escape(title)}</text>"
        )
        for i, col in enumerate(table.columns):
            cy = y + LINE * (i + 1) + 4
            if col.status:
                parts.append(f'<rect x="{x + 1}" y="{cy}" width="{w - 2}" height="{LINE}" fill="{COLOURS[col.status]}"/>')
            deco = ' text-decoration="line-through"' if col.status == REMOVED else ""
            parts.append(
                f'<text class="column" x="{x + 8}" y="{cy + LINE - 5}" fill="{INK.get(col.status, "#222")}"{deco}>'
                f"{escape(_column_text(col))}</text>"
            )
        parts.append("</g>")
    legend_y = height - 8
    lx = 20
    for status in (ADDED, REMOVED, RENAMED, CHANGED):
        if any(t.status == status or any(c.status == status for c in t.columns) for t in tables):
            parts.append(f'<rect x="{lx}" y="{legend_y - 11}" width="12" height="12" fill="{COLOURS[status]}" stroke="#555"/>')
            parts.append(f'<text x="{lx + 16}" y="{legend_y}">{status}</text>')
            lx += 90
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------- text


def to_text(diagram: SchemaDiagram) -> str:
    """One block per table, a line per column, relations last: for a terminal or a diff in review."""
    lines = []
    for table in diagram.tables:
        note = table_note(table)
        lines.append(table.name + (f"  ({note})" if note else ""))
        for col in table.columns:
            mark = {ADDED: "+", REMOVED: "-", RENAMED: "~", CHANGED: "~"}.get(col.status, " ")
            ref = f" -> {col.references}" if col.references else ""
            lines.append(f"  {mark} {_column_text(col)}{ref}")
        for unique in table.unique:
            lines.append(f"    UNIQUE ({', '.join(unique)})")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
