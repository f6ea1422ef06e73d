"""One self-contained HTML report: graph, revisions, findings, verdicts and the schema at head.

Everything is inline (CSS, SVG, a few lines of script for the search box), so
the file opens offline, from a mail attachment or a CI artifact, and prints.
The report is built from data the API already returns; it reads nothing.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

from . import erd_render, graph_render
from .erd import SchemaDiagram
from .graph import RevisionGraph


@dataclass
class RevisionDetails:
    """What the report says about one revision beyond the graph's node."""

    operations: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    verdict: str | None = None  # "ok" / "FAIL ..." when verify ran


def operations_in(path: str | None, function: str = "upgrade", limit: int = 40) -> list[str]:
    """The ``op.*`` calls in a revision's ``upgrade()``, as written (read with ``ast``, never run)."""
    if not path:
        return []
    try:
        source = Path(path).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return []
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if fn is None:
        return []
    calls = []
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("op", "batch_op")
        ):
            text = ast.get_source_segment(source, node) or f"{node.func.value.id}.{node.func.attr}(...)"
            calls.append((node.lineno, node.col_offset, " ".join(text.split())))
    calls.sort()
    out = [c[2] if len(c[2]) <= 160 else c[2][:157] + "..." for c in calls]
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc}
.meta{color:#666;font-size:13px} .picture{overflow:auto;border:1px solid #ddd;padding:8px;background:#fcfcfc}
table.revisions{border-collapse:collapse;width:100%;font-size:13px}
table.revisions th,table.revisions td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
code{font-size:12px} .mark{display:inline-block;background:#dff5df;color:#1e6b1e;border-radius:3px;padding:0 4px;margin-left:4px;font-size:11px}
.mark.current{background:#f8d7da;color:#a12622} .fail{color:#a12622;font-weight:bold} .ok{color:#1e6b1e}
#search{font-size:14px;padding:4px 8px;width:320px} .hidden{display:none}
@media print{#search{display:none} .picture{overflow:visible;border:none} body{margin:0}}
"""

SCRIPT = """
(function(){
  var box=document.getElementById('search');
  function filter(){
    var q=box.value.toLowerCase();
    document.querySelectorAll('tr.revision').forEach(function(tr){
      tr.classList.toggle('hidden', q!=='' && tr.textContent.toLowerCase().indexOf(q)<0);});
    document.querySelectorAll('g.node, g.table').forEach(function(g){
      g.style.opacity=(q==='' || g.textContent.toLowerCase().indexOf(q)>=0)?'1':'0.2';});
  }
  box.addEventListener('input', filter);
  document.body.setAttribute('data-ready','1');
})();
"""


def render_report(
    *,
    title: str,
    graph: RevisionGraph,
    details: Mapping[str, RevisionDetails],
    schema: SchemaDiagram | None,
    schema_note: str = "",
    database: str = "",
    generated: str = "",
) -> str:
    """The report's HTML text."""
    if graph.current is not None:
        position = ", ".join(graph.current) or "base (no revision applied)"
    else:
        position = f"unknown ({graph.current_error})" if graph.current_error else "not read"
    rows = []
    for node in graph.nodes:
        info = details.get(node.revision, RevisionDetails())
        marks = "".join(f'<span class="mark {m}">{m}</span>' for m in node.marks)
        labels = f' <span class="meta">({escape(", ".join(node.branch_labels))})</span>' if node.branch_labels else ""
        ops = "<br>".join(f"<code>{escape(o)}</code>" for o in info.operations) or '<span class="meta">none</span>'
        findings = "<br>".join(escape(f) for f in info.findings)
        verdict = ""
        if info.verdict is not None:
            cls = "ok" if info.verdict == "ok" else "fail"
            verdict = f'<span class="{cls}">{escape(info.verdict)}</span>'
        rows.append(
            f'<tr class="revision" id="rev-{escape(node.revision)}"><td><code>{escape(node.revision)}</code>{labels}{marks}</td>'
            f"<td>{escape(node.doc)}</td><td>{escape(', '.join(node.parents) or '<base>')}</td>"
            f"<td>{escape(node.applied_at or '')}</td><td>{ops}</td><td>{findings}</td><td>{verdict}</td></tr>"
        )
    schema_html = (
        f'<div class="picture">{erd_render.to_svg(schema)}</div>' if schema is not None else ""
    ) + (f'<p class="meta">{escape(schema_note)}</p>' if schema_note else "")
    data = json.dumps({"graph": graph.to_dict(), "schema": schema.to_dict() if schema else None}).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">Database: {escape(database or 'not read')} &middot; at {escape(position)} &middot; {len(graph.nodes)} revisions, {len(graph.heads)} head(s) &middot; generated {escape(generated)}</p>
<p><input id="search" type="search" placeholder="Search revisions and tables"></p>
<h2>Revision graph</h2>
<div class="picture">{graph_render.to_svg(graph)}</div>
<h2>Revisions</h2>
<table class="revisions"><thead><tr><th>Revision</th><th>Message</th><th>Down</th><th>Applied</th><th>Operations</th><th>Findings</th><th>Verify</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Schema at head</h2>
{schema_html}
<script type="application/json" id="report-data">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def details_for(graph: RevisionGraph, paths: Mapping[str, str | None], findings: Mapping[str, Sequence[str]] | None = None,
                verdicts: Mapping[str, str] | None = None) -> dict[str, RevisionDetails]:
    """Per revision: its operations (from its file), findings and verify verdict, where given."""
    findings = findings or {}
    verdicts = verdicts or {}
    return {
        node.revision: RevisionDetails(
            operations=operations_in(paths.get(node.revision)),
            findings=list(findings.get(node.revision, ())),
            verdict=verdicts.get(node.revision),
        )
        for node in graph.nodes
    }


__all__ = ["render_report", "details_for", "operations_in", "RevisionDetails"]
