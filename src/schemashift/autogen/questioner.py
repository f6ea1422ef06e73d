"""Who decides whether a rename candidate is a rename: one interface, three answers.

Every prompt of the rename pipeline goes through ``Questioner.ask_rename``,
which answers ``Answer.RENAMED``, ``Answer.NOT_RENAMED`` (a decision: the old
one is dropped and the new one added, no hint printed) or ``Answer.UNDECIDED``
(reported with the declaration that would decide it; ``--strict`` fails).

* ``InteractiveQuestioner``: a person at a terminal is asked, e.g.
  ``Was table students renamed to scholars? [y/N]``.
* ``NonInteractiveQuestioner``: CI.  Declared renames, ``--rename``,
  ``--not-renamed`` and ``info={"new": True}`` never reach a questioner (they
  are already decided); with ``accept_unambiguous`` (``--accept-renames``)
  every *clear* candidate is accepted (unambiguous, related names, lossless
  types, more than a primary key), anything else is left undecided.
* ``ScriptedQuestioner``: answers from a dict, for tests and for callers that
  collected answers some other way.

``decides`` tells the pipeline what a ``False`` means: a "no" from someone
who decided (the candidate is rejected), or "nobody decided" (it stays
unresolved, and ``--strict`` fails on it).
"""

from __future__ import annotations

import enum
import sys
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .renames.plan import RenameCandidate

YES = frozenset({"y", "yes"})
NO = frozenset({"", "n", "no"})


class Answer(enum.Enum):
    RENAMED = "renamed"
    NOT_RENAMED = "not renamed"
    UNDECIDED = "undecided"


def as_answer(value: Any, decides: bool = True) -> Answer:
    """An ``Answer`` from a questioner's return value (``True``/``False`` read through ``decides``)."""
    if isinstance(value, Answer):
        return value
    if value:
        return Answer.RENAMED
    return Answer.NOT_RENAMED if decides else Answer.UNDECIDED


class Questioner:
    """Decides rename candidates.  Subclasses implement ``ask_rename``."""

    #: True when a ``False`` answer is a decision ("no"), False when it only
    #: means "not decided here".
    decides: bool = True

    def ask_rename(self, candidate: "RenameCandidate") -> "Answer | bool":  # pragma: no cover - interface
        raise NotImplementedError

    def ask_default(self, column: str, type_sql: str) -> str | None:
        """A one-off value for the existing rows of a NOT NULL column added to ``column``'s table
        (None: no one to ask, or no answer)."""
        return None


class InteractiveQuestioner(Questioner):
    """Asks on a terminal: ``Was table students renamed to scholars? [y/N]``.

    ``input_fn`` is called with the prompt and returns the answer line
    (``input`` by default); ``print_fn`` shows extra context lines (``print``
    to stderr by default).  "n" (or Enter) is a decision: not a rename; end of
    input leaves the candidate undecided.
    """

    decides = True

    def __init__(
        self,
        input_fn: Callable[[str], str] | None = None,
        print_fn: Callable[[str], Any] | None = None,
        *,
        max_attempts: int = 5,
    ) -> None:
        self.input_fn = input_fn or input
        self.print_fn = print_fn or (lambda line: print(line, file=sys.stderr))
        self.max_attempts = max_attempts

    def ask_rename(self, candidate: "RenameCandidate") -> Answer:
        if candidate.ambiguous and candidate.alternatives:
            self.print_fn(
                f"Note: {candidate.subject} also resembles {', '.join(candidate.alternatives)}; "
                "answer y only for the real rename."
            )
        elif candidate.doubt:
            self.print_fn(f"Note: {candidate.doubt}; answer y only if it is the same data.")
        prompt = f"{candidate.question} [y/N] "
        for _ in range(self.max_attempts):
            try:
                answer = self.input_fn(prompt)
            except EOFError:
                return Answer.UNDECIDED
            answer = (answer or "").strip().lower()
            if answer in YES:
                return Answer.RENAMED
            if answer in NO:
                return Answer.NOT_RENAMED
            self.print_fn("Please answer y or n.")
        return Answer.UNDECIDED

    def ask_default(self, column: str, type_sql: str) -> str | None:
        self.print_fn(
            f"Column {column} ({type_sql}) is NOT NULL and its table has rows: they need a value. "
            "It is used once, for the existing rows (Enter: write no migration)."
        )
        try:
            answer = self.input_fn(f"Value for the existing rows of {column}: ")
        except EOFError:
            return None
        return answer if answer and answer.strip() else None


class NonInteractiveQuestioner(Questioner):
    """No one to ask (CI): accept clear candidates only when told to.

    With ``accept_unambiguous`` (``--accept-renames``) every clear candidate
    (``candidate.clear``) is accepted; all others stay undecided (reported as
    warnings, and an error under ``--strict``).
    """

    decides = False

    def __init__(self, accept_unambiguous: bool = False) -> None:
        self.accept_unambiguous = accept_unambiguous

    def ask_rename(self, candidate: "RenameCandidate") -> Answer:
        return Answer.RENAMED if self.accept_unambiguous and candidate.clear else Answer.UNDECIDED


class ScriptedQuestioner(Questioner):
    """Answers from a dict, keyed by the rename spec (``"students=scholars"``,
    ``"scholars.name=full_name"``) or by the question text.

    Unknown candidates get ``default``.  Every question asked is recorded in
    ``asked`` (the question texts, in order).
    """

    decides = True

    def __init__(self, answers: Mapping[str, bool] | None = None, *, default: bool = False) -> None:
        self.answers = dict(answers or {})
        self.default = default
        self.asked: list[str] = []

    def ask_default(self, column: str, type_sql: str) -> str | None:
        self.asked.append(f"default {column}")
        value = self.answers.get(f"default {column}")
        return None if value is None else str(value)

    def ask_rename(self, candidate: "RenameCandidate") -> bool:
        self.asked.append(candidate.question)
        for key in (candidate.spec, candidate.question, f"{candidate.question} [y/N]"):
            if key in self.answers:
                return bool(self.answers[key])
        return self.default


def default_questioner(*, accept_unambiguous: bool = False, stdin: Any = None) -> Questioner:
    """Interactive on a terminal, non-interactive otherwise."""
    stdin = stdin if stdin is not None else sys.stdin
    try:
        tty = bool(stdin and stdin.isatty())
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return InteractiveQuestioner()
    return NonInteractiveQuestioner(accept_unambiguous=accept_unambiguous)
