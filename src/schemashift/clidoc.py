"""The CLI reference, generated from the commands' own help texts.

``python -m schemashift.clidoc > docs/cli.md`` writes it; a test fails when the
file and ``--help`` drift apart, so the help texts stay the documentation.
"""

from __future__ import annotations

import click

from .cli import app


def render() -> str:
    parts = ["# schemashift command reference", "", "Generated from `--help` by `python -m schemashift.clidoc`.", ""]
    # the same help option names as a real run (app's context_settings), so the text does not
    # depend on whether a command already ran in this process (Click caches the help option)
    settings = {"terminal_width": 100, "max_content_width": 100, **app.context_settings}
    root = click.Context(app, info_name="schemashift", **settings)
    parts += ["## schemashift", "", "```text", app.get_help(root), "```", ""]
    _commands(app, root, "schemashift", parts, settings)
    return "\n".join(parts)


def _commands(group: click.Group, parent: click.Context, prefix: str, parts: list[str], settings: dict) -> None:
    """Each command's help, and a group's subcommands after the group's own help."""
    for name in sorted(group.commands):
        command = group.commands[name]
        # info_name is the command's own name: the parent contexts give the prefix
        # (``Usage: schemashift init``, never ``schemashift schemashift init``)
        ctx = click.Context(command, info_name=name, parent=parent, **settings)
        parts += [f"## {prefix} {name}", "", "```text", command.get_help(ctx), "```", ""]
        if isinstance(command, click.Group):
            _commands(command, ctx, f"{prefix} {name}", parts, settings)


if __name__ == "__main__":
    print(render(), end="")
