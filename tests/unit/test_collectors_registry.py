"""Conformance: every registered collector has a unique name and a Snapshot field to fill
(the sysctl collector: its Namespace's)."""

import dataclasses

from netscope.collect.registry import NAMESPACE_COLLECTORS
from netscope.model import Namespace, Snapshot


def test_collectors_are_well_formed():
    fields = {f.name for f in dataclasses.fields(Snapshot)}
    fields.add("sysctls")  # the namespace's own (Namespace.sysctls), put there by the runner
    assert "sysctls" in {f.name for f in dataclasses.fields(Namespace)}
    names = [c.name for c in NAMESPACE_COLLECTORS]
    assert len(names) == len(set(names))
    assert NAMESPACE_COLLECTORS[0].name == "links", "links must run first: others use its ids"
    for c in NAMESPACE_COLLECTORS:
        assert c.field in fields, f"{c.name} fills unknown Snapshot field {c.field}"
        assert c.can_run() is None or isinstance(c.can_run(), str)
        assert callable(c.collect)
