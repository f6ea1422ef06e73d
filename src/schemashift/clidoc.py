"""The CLI reference, generated from the commands' own help texts.

``python -m schemashift.clidoc > docs/cli.md`` writes it; a test fails when the
file and ``--help`` drift apart, so the help texts stay the documentation.
"""

from __future__ import annotations

import click

from .cli import app


def render() -> str:
    parts = ["# schemashift command reference", "", "Generated from `--help` by `python -m schemashift.clidoc`.", ""]
    root = click.Context(app, info_name="schemashift", terminal_width=100, max_content_width=100)
    parts += ["## schemashift", "", "```text", app.get_help(root), "```", ""]
    for name in sorted(app.commands):
        command = app.commands[name]
        ctx = click.Context(command, info_name=f"schemashift {name}", parent=root, terminal_width=100,
                            max_content_width=100)
        parts += [f"## schemashift {name}", "", "```text", command.get_help(ctx), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
