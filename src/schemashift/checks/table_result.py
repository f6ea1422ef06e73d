"""When the capture may skip building the ``Table`` that ``op.create_table()`` returns.

Alembic's ``op.create_table()`` returns a real ``Table`` (revisions pass it to
``op.bulk_insert``), so the capture builds one too, which costs more than the
rest of capturing and judging that operation together (SQLAlchemy's ``Table``
machinery).  Nothing the plan judges reads that ``Table``; it only matters
when somebody can see it or when building it would fail.  So it is skipped
only when all of these hold, and built exactly as before otherwise:

- the call's result is thrown away: the calling code's next instruction is
  ``POP_TOP`` (``op.create_table(...)`` as a statement), reached through
  Alembic's own ``Operations.create_table`` -> ``CreateTableOp.create_table``;
- every argument is a plain ``Column`` that no other code holds (its
  reference count is no higher than that of a column written inline in the
  call, measured once through the same path), so nobody can later see it
  attached, or not, to a table;
- building could not fail: unique non-empty names, no unique/index flag, no
  constraint, no foreign key, no schema type (they add constraints a naming
  convention names), no extra keyword arguments, and a naming convention
  made only of strings that builds a table of this shape (tried once per
  convention and shape).

``tests/test_capture_table_result.py`` pins the answer to the slow path's.
"""

from __future__ import annotations

import dis
import sys
from typing import Any

from alembic.operations import Operations
from alembic.operations import ops as alembic_ops
from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.sql.sqltypes import SchemaType

_CACHE = dis.opmap.get("CACHE", -1)  # inline cache entries after a call (Python 3.11+)
_POP_TOP = dis.opmap["POP_TOP"]
_OP_CODE = getattr(alembic_ops.CreateTableOp.create_table, "__func__", None)
_OP_CODE = getattr(_OP_CODE, "__code__", None)
_PROXY_CODE = getattr(Operations.create_table, "__code__", None)

#: the reference count of a column written inline in the call, seen from ``invoke``
#: (measured by ``calibrate``; None: not yet; 0: the fast path is off in this Python)
_inline_refs: int | None = None
_conventions: dict[tuple[Any, ...], bool] = {}  # (convention items, has a primary key) -> a table builds


def result_discarded(invoke_depth: int = 2) -> bool:
    """Whether the code that called ``op.create_table(...)`` throws the result away.

    ``invoke_depth``: frames from the caller of this function up to
    ``CreateTableOp.create_table`` (``invoke`` is one).
    """
    if _OP_CODE is None or _PROXY_CODE is None:
        return False
    frame = sys._getframe(invoke_depth)
    if frame.f_code is not _OP_CODE:
        return False
    proxy = frame.f_back
    if proxy is None or proxy.f_code is not _PROXY_CODE or proxy.f_back is None:
        return False
    caller = proxy.f_back
    code = caller.f_code.co_code
    i = caller.f_lasti + 2
    while i < len(code) and code[i] == _CACHE:
        i += 2
    return i < len(code) and code[i] == _POP_TOP


def _builds(convention: Any, has_pk: bool) -> bool:
    """Whether a table of plain columns builds under ``convention`` (strings only), tried once per shape."""
    if convention is None:
        return True
    try:
        items = tuple(sorted(convention.items()))
    except TypeError:  # keys that are constraint classes: not a plain convention
        return False
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items):
        return False  # a callable token computes names from the values: try nothing, build
    key = (items, has_pk)
    known = _conventions.get(key)
    if known is None:
        try:
            Table("probe", MetaData(naming_convention=dict(items)), Column("probe", Integer, primary_key=has_pk))
            known = True
        except Exception:
            known = False
        _conventions[key] = known
    return known


def _convention(migration_context: Any) -> Any:
    """The naming convention Alembic's ``SchemaObjects.metadata()`` gives the table it builds."""
    opts = getattr(migration_context, "opts", None) or {}
    target = opts.get("target_metadata") if "target_metadata" in opts else None
    return getattr(target, "naming_convention", None) if target is not None else None


def column_refs(columns: Any) -> list[int]:
    """Each column's reference count, measured the same way by ``calibrate`` and ``may_skip``."""
    return [sys.getrefcount(c) for c in columns]


def may_skip(operation: Any, migration_context: Any) -> bool:
    """Whether building ``operation``'s table can be skipped (see the module doc); call from ``invoke``
    after ``result_discarded()`` said yes."""
    limit = _inline_refs
    if not limit or operation.kw or operation.prefixes or operation.info:
        return False
    columns = operation.columns
    if any(refs > limit for refs in column_refs(columns)):
        return False
    names: set[str] = set()
    keys: set[str] = set()
    has_pk = False
    for column in columns:
        if type(column) is not Column:
            return False
        name, key = column.name, column.key
        if not name or not isinstance(name, str) or name in names or key in keys:
            return False
        if column.table is not None or column.unique or column.index or column.constraints:
            return False
        if column.foreign_keys or isinstance(column.type, SchemaType):
            return False
        names.add(name)
        keys.add(key)
        has_pk = has_pk or bool(column.primary_key)
    return _builds(_convention(migration_context), has_pk)


class _Probe(Operations):
    """``Operations`` whose ``invoke`` only measures: the calibration's stand-in for the capture."""

    def __init__(self, migration_context: Any) -> None:
        super().__init__(migration_context)
        self.seen: tuple[bool, int] | None = None

    def invoke(self, operation: Any) -> Any:
        refs = column_refs(operation.columns)
        self.seen = (result_discarded(), refs[0] if refs else 0)
        return None


def calibrate(migration_context: Any) -> None:
    """Measure, once per process, what a column written inline in a discarded call looks like from ``invoke``."""
    global _inline_refs
    if _inline_refs is not None:
        return
    probe = _Probe(migration_context)
    try:
        probe.create_table("schemashift_probe", Column("probe", Integer, primary_key=True))
    except Exception:
        probe.seen = None
    seen = probe.seen
    # the fast path needs both answers: the discarded result seen, and a count to compare with
    _inline_refs = seen[1] if seen is not None and seen[0] and seen[1] > 0 else 0
