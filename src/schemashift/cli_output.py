"""What every CLI command shares: the output streams and the global options.

``cli`` (the commands) and ``cli_fleet`` (the ``fleet`` group) both print
through ``out``/``err`` and read ``Globals``; keeping them here lets both
import them at the top, with no cycle between the two command modules.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click


class Output:
    """stdout or stderr: plain writes when not a terminal, a Rich console (made on first use) when one is.

    Rich is only imported when it draws something (a terminal, a table), so a
    command piped into another program starts as fast as Alembic's.
    """

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr
        self._console: Any = None
        self._asked: tuple[Any, bool] | None = None  # (the stream last asked, whether it is a terminal)

    @property
    def file(self) -> Any:
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        """Whether the stream is a terminal, asked once per stream object (a run prints a line per step)."""
        file = self.file
        asked = self._asked
        if asked is not None and asked[0] is file:
            return asked[1]
        isatty = getattr(file, "isatty", None)
        answer = bool(isatty and isatty())
        self._asked = (file, answer)
        return answer

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self.stderr, soft_wrap=True, highlight=False)
        return self._console

    def print(self, *objects: Any, style: str | None = None, markup: bool | None = None, **kw: Any) -> None:
        if markup is False and not kw and all(isinstance(o, str) for o in objects) and not self.is_terminal:
            self.file.write(" ".join(objects) + "\n")
            return
        self.console.print(*objects, style=style, markup=markup, **kw)

    def __getattr__(self, name: str) -> Any:  # the rest of Rich's Console (print_json, status, width, ...)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.console, name)

    def lines(self, lines: list[str]) -> None:
        """Many plain lines at once (history of thousands of revisions)."""
        if self.is_terminal:
            for line in lines:
                self.console.print(line, markup=False)
        elif lines:
            self.file.write("\n".join(lines) + "\n")


out = Output()
err = Output(stderr=True)


@dataclass
class Globals:
    config: str | None = None
    url: str | None = None
    name: str = "alembic"
    x: list[str] = field(default_factory=list)
    debug: bool = False
    verbose: bool = False
    _undo: list[Any] = field(default_factory=list)

    def project(self) -> Any:
        from .config import find_config_dir, load_project

        if not self.verbose and not self._undo:
            # before Alembic runs env.py, whose fileConfig still runs: plain alembic keeps its log lines
            from .alembic_logs import hide_alembic_info

            self._undo.append(hide_alembic_info())
        if self.config is None and not os.environ.get("ALEMBIC_CONFIG"):
            found = find_config_dir(Path.cwd())
            if found is not None and found != Path.cwd():
                # as git does: run from the project's top, so relative paths mean what they do there
                os.chdir(found)
        return load_project(self.config, url=self.url, section=self.name, x_args=self.x)

    def close(self) -> None:
        while self._undo:
            self._undo.pop()()


pass_globals = click.make_pass_decorator(Globals)


def say(text: str, style: str | None = None) -> None:
    out.print(text, style=style, markup=False)


def note(text: str, style: str = "dim") -> None:
    err.print(text, style=style, markup=False)
