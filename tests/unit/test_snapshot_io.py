"""Snapshots round-trip exactly, and bad files get one clear line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netscope.model.snapshot import FORMAT_VERSION
from netscope.snapshot import SnapshotError, dumps, loads
from netscope.snapshot.schema import snapshot_schema
from tests.unit.conftest import FIXTURES

ROOT = FIXTURES.parent


@pytest.mark.parametrize("name", ["docker-like-lab.json", "docker-engine.json"])
def test_fixture_round_trips_exactly(name):
    text = (FIXTURES / name).read_text()
    snap = loads(text)
    assert loads(dumps(snap)) == snap
    assert dumps(loads(dumps(snap))) == dumps(snap)
    # everything the file says survives (fields added since it was written take defaults)
    written = json.loads(dumps(snap))
    for key, value in json.loads(text).items():
        assert key in written
        if isinstance(value, list):
            assert len(written[key]) == len(value), key


def test_fixtures_say_how_they_were_captured(docker_like_lab, docker_engine_snapshot):
    for snap in (docker_like_lab, docker_engine_snapshot):
        assert "captured by" in snap.header.note


def test_documented_schema_is_the_generated_one():
    committed = json.loads((ROOT / "docs" / "snapshot.schema.json").read_text())
    assert committed == snapshot_schema(), (
        "docs/snapshot.schema.json is stale: regenerate it with "
        "`python -m netscope.snapshot.schema > docs/snapshot.schema.json` and describe the "
        "new fields in docs/snapshot.md")


def _variant(mutate) -> str:
    data = json.loads((FIXTURES / "docker-like-lab.json").read_text())
    mutate(data)
    return json.dumps(data)


BAD = {
    "truncated": ((FIXTURES / "docker-like-lab.json").read_text()[:5000], "truncated"),
    "corrupt": ("{\"format\": \"netscope-snapshot\", \"version\": 1,, }", "not valid JSON"),
    "not a snapshot": ('{"hello": 1}', "not a netscope snapshot"),
    "future version": (_variant(lambda d: d.update(version=FORMAT_VERSION + 1)),
                       "newer netscope"),
    "wrong type": (_variant(lambda d: d["links"][3].update(mtu="big")),
                   "links[3].mtu: expected an integer"),
    "unknown field": (_variant(lambda d: d["namespaces"][0].update(colour="red")),
                      "unknown field 'colour'"),
    "missing field": (_variant(lambda d: d["header"].pop("kernel")), "header.kernel: missing"),
    "empty": ("", "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_snapshot_is_rejected_with_the_reason(case):
    text, expected = BAD[case]
    with pytest.raises(SnapshotError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        loads(text)


@pytest.mark.parametrize("case", ["truncated", "future version", "wrong type"])
def test_cli_gives_one_line_and_exit_2_for_a_bad_snapshot(case, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(BAD[case][0])
    p = subprocess.run([sys.executable, "-m", "netscope", "show", "--snapshot", str(bad)],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert p.stderr.startswith("netscope: ") and "Traceback" not in p.stderr


def test_cli_missing_file_says_how_to_make_one(tmp_path):
    p = subprocess.run([sys.executable, "-m", "netscope", "show", "--snapshot",
                        str(tmp_path / "nope.json")], capture_output=True, text=True)
    assert p.returncode == 2
    assert "no such file" in p.stderr and "netscope snapshot -o" in p.stderr


def test_saving_to_a_device_writes_into_it_and_keeps_it(docker_like_lab, tmp_path):
    import os
    import stat
    import threading

    from netscope.snapshot import save

    save(docker_like_lab, "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    save(docker_like_lab, str(fifo))
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and received[0].startswith(b"{")


@pytest.mark.parametrize("name", ["docker-like-lab.json", "lab-k8s-node-nft.json",
                                  "sockets-reuseport.json", "flows-dns-lab.json"])
def test_compact_text_is_the_encoded_model(name):
    """dumps lets json's C encoder walk the model objects (their __dict__): the text must be
    what encode() gives, for objects however made (loaded, made(), replaced())."""
    from dataclasses import replace

    from netscope.model.made import maker, replaced
    from netscope.snapshot.codec import encode
    from netscope.snapshot.io import document_format

    snapshot = loads((FIXTURES / name).read_text())
    link = snapshot.links[0]
    remade = maker(type(link))(*(getattr(link, f) for f in type(link).__dataclass_fields__))
    snapshot = replace(snapshot, links=(replaced(remade, mtu=1234), *snapshot.links[1:]))
    kind, version = document_format(snapshot)
    want = json.dumps({"format": kind, "version": version, **encode(snapshot)},
                      separators=(",", ":")) + "\n"
    assert dumps(snapshot) == want
