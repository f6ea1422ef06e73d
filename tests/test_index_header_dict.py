"""The revision index stores each header as ``dataclasses.asdict`` would (``index.header_dict``, its faster copy)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from schemashift.revisions.headers import RevisionHeader
from schemashift.revisions.index import header_dict


class Odd:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Odd) and other.v == self.v


@pytest.mark.parametrize("down,labels,depends", [
    (None, None, None),
    ("a1", None, None),
    (("a1", "b1"), ("feature",), ["x1"]),
    (["a1", ("b1", "c1")], {"one", "two"}, frozenset({"z"})),
    ({"k": ["v", 1, 2.5, True]}, Odd([1]), None),
])
def test_header_dict_is_asdict(down, labels, depends):
    header = RevisionHeader(revision="r1", down_revision=down, branch_labels=labels, depends_on=depends,
                            path="/p/r1.py", longdoc="doc\n\nmore", create_date=None, checksum="c" * 64,
                            marks="# schemashift: allow SS-D101 -- reviewed")
    fast, slow = header_dict(header), asdict(header)
    assert fast == slow
    assert list(fast) == list(slow)
    for key in fast:
        assert type(fast[key]) is type(slow[key])
        if isinstance(slow[key], (list, dict, set, Odd)):
            assert fast[key] is not getattr(header, key)  # a copy, as asdict's
