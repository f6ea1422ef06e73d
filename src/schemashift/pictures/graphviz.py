"""SVG through Graphviz's ``dot`` program, for ``--format svg``.

Graphviz lays out large graphs better than the built-in SVG, but it is a
system program, not a Python package: when it is missing the user gets one
line naming what to install, and the built-in pictures (text, Mermaid, the
HTML report) keep working without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ..errors import ConfigError

INSTALL_HINT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or use --format mermaid"


def dot_program() -> str | None:
    return os.environ.get("SCHEMASHIFT_DOT") or shutil.which("dot")


def dot_to_svg(dot_text: str) -> str:
    """Run ``dot -Tsvg`` on ``dot_text``."""
    program = dot_program()
    if not program or not os.path.exists(program):
        raise ConfigError("--format svg needs Graphviz's 'dot' program, which is not installed", hint=INSTALL_HINT)
    done = subprocess.run([program, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise ConfigError(f"Graphviz's dot failed: {reason}", hint="report this picture's DOT (--format dot) as a bug")
    return done.stdout
