"""Plans and findings as text, JSON, GitHub Actions annotations and SARIF.

The library returns data; these turn it into what a terminal, a CI log or a
code-scanning upload reads.  No colour codes here: the text renderer returns
(line, style) pairs and the CLI draws them.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

from .findings import RULES, Finding
from .plan import Plan

LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def finding_line(f: Finding) -> str:
    allowed = f"  [allowed: {f.allowed_by}]" if f.allowed_by else ""
    where = f" (line {f.line})" if f.line else ""
    return f"{f.level:<7} {f.rule} {f.message}{_examples(f)}{where}{allowed}"


def _examples(f: Finding) -> str:
    return f" (e.g. {', '.join(repr(e) for e in f.examples)})" if f.examples else ""


def plan_text(plan: Plan) -> Iterator[tuple[str, str | None]]:
    verb = "Upgrade" if plan.direction == "up" else "Downgrade"
    version = f" {'.'.join(map(str, plan.server_version))}" if plan.server_version else ""
    yield f"{verb} to {plan.target} on {plan.dialect}{version} ({plan.url or 'no URL'})", "bold"
    if not plan.revisions:
        yield "Nothing to do: the database is already there.", None
        return
    for index, rev in enumerate(plan.revisions):
        yield "", None
        yield f"{rev.revision}  {rev.doc}", "bold"
        if rev.depends_on_state and index > 0:
            yield "  (decides from the database: judged again when it runs, after the steps before it)", "dim"
        if not rev.operations:
            yield "  (no operations)", "dim"
        for op in rev.operations:
            facts = []
            if op.tables:
                facts.append(", ".join(op.tables))
            if op.rows is not None:
                facts.append(f"{'~' if op.estimated else ''}{op.rows:,} row{'s' if op.rows != 1 else ''}")
            if op.lock:
                facts.append(f"lock {op.lock}" + (", rewrites" if op.rewrites else ""))
            suffix = f"  [{'; '.join(facts)}]" if facts else ""
            yield f"  - {op.description}{suffix}", None
            for f in op.findings:
                yield f"      {finding_line(f)}", LEVEL_STYLE.get(f.level) if not f.allowed_by else "dim"
        for f in rev.findings:
            yield f"    {finding_line(f)}", LEVEL_STYLE.get(f.level) if not f.allowed_by else "dim"
    yield "", None
    blocking = plan.blocking()
    if blocking:
        rules = ",".join(sorted({f.rule for f in blocking}))
        destructive = all(RULES[f.rule].family == "destructive" for f in blocking if f.rule in RULES)
        yield (f"{len(blocking)} error-level finding(s): {plan.direction == 'up' and 'upgrade' or 'downgrade'} "
               f"will refuse unless --allow {rules}{' or --allow-destructive' if destructive else ''}"), "bold red"
    else:
        yield "No error-level findings: the run would not be refused.", "green"


def findings_json(findings: Iterable[Finding], **extra: Any) -> str:
    return json.dumps({**extra, "findings": [f.as_dict() for f in findings]}, indent=2, default=str)


def relative_path(path: str | None, root: str | None) -> str | None:
    if not path:
        return None
    if root:
        try:
            return os.path.relpath(path, root)
        except ValueError:
            return path
    return path


def github(findings: Iterable[Finding], root: str | None = None) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per finding."""
    kind = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in findings:
        if f.allowed_by:
            continue
        props = []
        path = relative_path(f.path, root)
        if path:
            props.append(f"file={path}")
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={f.rule} {RULES[f.rule].title if f.rule in RULES else ''}".strip())
        message = (f.message + _examples(f)).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        lines.append(f"::{kind.get(f.level, 'notice')} {','.join(p.replace(',', '%2C') for p in props)}::{message}")
    return "\n".join(lines) + ("\n" if lines else "")


def sarif(findings: Iterable[Finding], root: str | None = None, version: str = "0") -> str:
    """SARIF 2.1.0, the format code-scanning tools upload."""
    findings = list(findings)
    level = {"error": "error", "warning": "warning", "info": "note"}
    rules = [
        {"id": r.id, "name": r.title, "shortDescription": {"text": r.title}, "fullDescription": {"text": r.why},
         "help": {"text": r.alternative}, "defaultConfiguration": {"level": level.get(r.level, "none")}}
        for r in RULES.values()
    ]
    results = []
    for f in findings:
        result: dict[str, Any] = {"ruleId": f.rule, "level": level.get(f.level, "note"),
                                  "message": {"text": f.message + _examples(f)}}
        path = relative_path(f.path, root)
        if path:
            region = {"startLine": f.line} if f.line else {}
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": path}, **({"region": region} if region else {})}}]
        if f.allowed_by:
            result["suppressions"] = [{"kind": "inSource" if f.allowed_by.startswith("comment") else "external",
                                       "justification": f.allowed_by}]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "schemashift", "version": version, "rules": rules}}, "results": results}],
    }
    return json.dumps(doc, indent=2, default=str)
