"""The fleet journal: which targets a run finished, so ``--resume`` can skip them.

Why a file and not the databases: the fleet process may be killed (SIGKILL,
a lost terminal) between targets; the journal tells the next run where to
pick up without asking every database again.  It is append-only JSON lines,
flushed and fsynced per line, so a kill loses at most the line being
written (a torn last line is ignored).  Skipping is only a speed-up: a
target upgraded again finds nothing left to do, as its own version table
says, so no revision ever runs twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DEFAULT_NAME = ".schemashift-fleet.journal"


@dataclass
class JournalState:
    """What a journal file says: the run it belongs to and the targets it finished."""

    command: str | None = None
    revision: str | None = None
    done: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> last "ok" record
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)


class Journal:
    """Appends one JSON line per event to ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def start(self, command: str, revision: str, labels: list[str], *, resume: bool) -> None:
        self._append({"event": "resume" if resume else "start", "command": command, "revision": revision,
                      "targets": labels}, truncate=not resume)

    def finished(self, label: str, status: str, after: list[str], error: str | None, seconds: float) -> None:
        self._append({"event": "target", "target": label, "status": status, "after": after, "error": error,
                      "seconds": round(seconds, 3)})

    def stopped(self, reason: str) -> None:
        self._append({"event": "stopped", "reason": reason})

    def read(self) -> JournalState:
        state = JournalState()
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return state
        except OSError as exc:
            raise ConfigError(f"cannot read fleet journal {self.path}: {exc.strerror or exc}") from exc
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill
            kind = record.get("event")
            if kind == "start":
                state = JournalState(record.get("command"), record.get("revision"))
            elif kind == "target":
                label = record.get("target")
                if record.get("status") == "ok":
                    state.done[label] = record
                    state.failed.pop(label, None)
                else:
                    state.failed[label] = record
        return state

    def for_resume(self, command: str, revision: str) -> JournalState:
        """The journal of the run to resume; refused when it belongs to another command or revision."""
        if not self.path.exists():
            raise ConfigError(f"no fleet journal at {self.path} to resume",
                              hint="run without --resume, or give --journal PATH of the interrupted run")
        state = self.read()
        if (state.command, state.revision) != (command, revision):
            raise ConfigError(
                f"fleet journal {self.path} belongs to 'fleet {state.command} {state.revision}', "
                f"not 'fleet {command} {revision}'",
                hint="resume with the same command and revision, or run without --resume to start over",
            )
        return state

    def _append(self, record: dict[str, Any], *, truncate: bool = False) -> None:
        record = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w" if truncate else "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
