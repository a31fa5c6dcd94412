"""Conformance of every doctor check, and checks as pure functions of captured snapshots."""

import re

from netscope.analysis.doctor import CHECKS, run_doctor
from netscope.analysis.doctor.finding import SEVERITIES


def test_checks_are_registered_once_with_complete_metadata():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    for c in CHECKS:
        assert re.fullmatch(r"[a-z0-9_]+", c.id)
        assert c.severity in SEVERITIES
        assert c.title and len(c.explain) > 80, f"{c.id} must explain the mechanism"
        assert callable(c.run)


def test_findings_are_pure_and_stable(docker_engine_snapshot):
    first = run_doctor(docker_engine_snapshot)
    assert run_doctor(docker_engine_snapshot) == first
    assert all(f.id.startswith(f.check + "@") for f in first)
    assert not [f for f in first if f.check == "doctor_error"]
