"""Keep Python's cyclic garbage collector off what a run holds for its whole length.

By the time the steps begin, the process holds many thousands of long-lived
objects: everything imported, the revision modules Alembic loaded, the plan
that judged them.  None of them can become garbage while the run holds them,
yet every full collection during the steps walks them all again (on a long
history that is a few percent of the run).  ``gc.freeze()`` moves the objects
alive at that moment out of the collector's sight; ``release`` hands them
back when the run ends, so cyclic garbage among them is collected then, not
lost (objects freed by reference counting are freed at once either way).

Runs may nest (a scratch run inside a verification): the outermost one
thaws.  A process that froze objects itself, or turned the collector off, is
left alone.

``before_exit``: the command-line process, done, is about to exit.  Python's
shutdown runs the collector over everything still alive, several times,
while it tears the modules down: after a long run 0.1-0.15 s, for garbage the
operating system takes back at once anyway.  Freezing first skips those
walks; the rest of the shutdown is as before (atexit handlers, standard
streams flushed, every object freed by reference counting freed).  What it
gives up is finalizers of objects caught in reference cycles, which Python
never promises to run at exit.  Connections must therefore be closed before:
schemashift's own are, and the command line disposes the engines env.py
connected through (``runner.close_env_engines``: a pooling engine keeps its
connection open, and on a SQLite database in WAL mode the run's commits would
stay in the ``-wal`` file until the next connection).  A connection env.py
keeps elsewhere, reachable only through a cycle, is closed by the operating
system (nothing committed is lost; SQLite's next connection reads the ``-wal``
back).  Never called by the library: a process that goes on living must keep
its collector.
"""

from __future__ import annotations

import gc

_depth = 0
_ours = False  # this module froze what is frozen now


def hold() -> None:
    """Freeze what is alive now (call again as the run grows); only between ``enter`` and ``release``."""
    if _ours and hasattr(gc, "freeze"):
        gc.freeze()


def enter() -> None:
    """A run starts: from now on ``hold`` may freeze, unless the process froze objects itself."""
    global _depth, _ours
    if _depth == 0:
        # a process that froze objects itself, or turned the collector off, is left as it is
        _ours = hasattr(gc, "freeze") and gc.isenabled() and gc.get_freeze_count() == 0
    _depth += 1


def release() -> None:
    """A run ends: the outermost one gives every frozen object back to the collector."""
    global _depth, _ours
    if _depth == 0:
        return
    _depth -= 1
    if _depth == 0 and _ours:
        _ours = False
        gc.unfreeze()


def before_exit() -> None:
    """The whole process is about to exit: spare it the collector's walks during shutdown.

    Also with the collector off (the read commands turn it off while they
    run): Python's shutdown collects regardless.
    """
    if hasattr(gc, "freeze"):
        gc.freeze()
