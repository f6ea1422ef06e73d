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
    _commands(app, root, "schemashift", parts)
    return "\n".join(parts)


def _commands(group: click.Group, parent: click.Context, prefix: str, parts: list[str]) -> None:
    """Each command's help, and a group's subcommands after the group's own help."""
    for name in sorted(group.commands):
        command = group.commands[name]
        ctx = click.Context(command, info_name=f"{prefix} {name}", parent=parent, terminal_width=100,
                            max_content_width=100)
        parts += [f"## {prefix} {name}", "", "```text", command.get_help(ctx), "```", ""]
        if isinstance(command, click.Group):
            _commands(command, ctx, f"{prefix} {name}", parts)


if __name__ == "__main__":
    print(render(), end="")
