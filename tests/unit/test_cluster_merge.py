"""Merging node snapshots into a cluster document (`netscope merge`), on real captures."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.graph.host import HostGraph
from netscope.snapshot import load, loads
from netscope.snapshot.cluster import MergeError, merge, node_of_id
from netscope.snapshot.io import dumps

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _ids(snapshot):
    out = [x.id for f in dataclasses.fields(snapshot) if f.name != "header"
           for x in getattr(snapshot, f.name)]
    out += [c.id for t in snapshot.tables for c in t.chains]
    out += [r.id for t in snapshot.tables for c in t.chains for r in c.rules]
    return out


def test_same_capture_twice_stays_apart(docker_engine_snapshot):
    """Two nodes with the same inode numbers (every fresh host starts alike) keep their
    own namespaces: no id is shared, every reference points inside its own node."""
    snap = docker_engine_snapshot
    cluster = merge([("a", snap), ("b", snap)])
    ids = _ids(cluster)
    assert len(ids) == len(set(ids)) == 2 * len(_ids(snap))
    assert {n.name for n in cluster.header.nodes} == {"a", "b"}
    hg = HostGraph.of(cluster)
    for link in cluster.links:
        node = node_of_id(link.id)
        assert node_of_id(link.netns) == node
        assert hg.namespaces[link.netns].node == node
        peer = hg.veth_peer(link)
        if link.peer and link.peer.link:
            assert peer is not None and node_of_id(peer.id) == node
        if link.master:
            assert node_of_id(hg.master(link).id) == node
    names = {ns.name for ns in cluster.namespaces}
    assert "a:host" in names and "b:host" in names


def test_cluster_document_round_trips_and_keeps_its_format(docker_engine_snapshot):
    cluster = merge([("a", docker_engine_snapshot), ("b", docker_engine_snapshot)])
    text = dumps(cluster)
    assert json.loads(text)["format"] == "netscope-cluster"
    assert loads(text) == cluster


def test_doctor_names_findings_per_node(docker_like_lab):
    alone = run_doctor(docker_like_lab)
    both = run_doctor(merge([("n1", docker_like_lab), ("n2", docker_like_lab)]))
    assert len(both) == 2 * len(alone)


def test_merging_refuses_the_same_node_twice(docker_engine_snapshot):
    with pytest.raises(MergeError, match="two snapshots are node 'vm'"):
        merge([(None, docker_engine_snapshot), (None, docker_engine_snapshot)])
    with pytest.raises(MergeError, match="not usable"):
        merge([("a/b", docker_engine_snapshot)])


def _netscope(*args, cwd):
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def test_merge_command(tmp_path):
    out = tmp_path / "cluster.json"
    p = _netscope("merge", f"n1={FIXTURES / 'docker-engine.json'}",
                  f"n2={FIXTURES / 'docker-like-lab.json'}", "-o", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "2 nodes" in p.stdout and "capture" in p.stdout
    cluster = load(str(out))
    assert [n.name for n in cluster.header.nodes] == ["n1", "n2"]
    show = _netscope("show", "--snapshot", str(out), cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert "n1:host" in show.stdout and "n2:host" in show.stdout
    # the same node twice: one line, exit 2, nothing written
    again = tmp_path / "again.json"
    bad = _netscope("merge", str(FIXTURES / "docker-engine.json"),
                    str(FIXTURES / "docker-engine.json"), "-o", str(again), cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not again.exists()


def test_redaction_renames_nodes_everywhere_and_keeps_findings(docker_like_lab):
    from netscope.report.redact import redact

    cluster = merge([("alpha-node", docker_like_lab), ("beta-node", docker_like_lab)])
    red = redact(cluster)
    assert "alpha-node" not in red.text and "beta-node" not in red.text
    assert docker_like_lab.header.hostname not in red.text
    assert [n.name for n in red.snapshot.header.nodes] == ["node-1", "node-2"]
    assert all(n.redacted and n.hostname.startswith("node-") for n in red.snapshot.header.nodes)
    assert {ns.node for ns in red.snapshot.namespaces} == {"node-1", "node-2"}
    before = sorted(f.check for f in run_doctor(cluster))
    assert sorted(f.check for f in run_doctor(red.snapshot)) == before


def test_diff_and_exports_read_cluster_documents(docker_like_lab, tmp_path):
    from netscope.report.diff import diff_snapshots

    cluster = merge([("n1", docker_like_lab), ("n2", docker_like_lab)])
    assert diff_snapshots(cluster, cluster).empty
    out = tmp_path / "c.json"
    out.write_text(dumps(cluster))
    p = _netscope("export", str(out), "-o", str(tmp_path / "c.dot"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    dot = (tmp_path / "c.dot").read_text()
    assert "n1:" in dot and "n2:" in dot


def test_merging_json_data_gives_the_same_document(docker_engine_snapshot, docker_like_lab):
    """`netscope merge` qualifies the JSON data it read instead of rebuilding objects: the
    document is the one merging the snapshots gives."""
    from netscope.snapshot.cluster import merge_documents
    from netscope.snapshot.io import parse

    parts = [("a", docker_engine_snapshot), ("b", docker_like_lab)]
    text, header, count = merge_documents([(n, *parse(dumps(s))) for n, s in parts],
                                          note="x")
    expected = merge(parts, note="x")
    assert loads(text) == expected
    assert header == expected.header and count == len(expected.namespaces)
    # a cluster document merged again keeps its nodes
    again, _, _ = merge_documents([(None, *parse(text)), ("c", *parse(dumps(docker_like_lab)))])
    assert [n.name for n in loads(again).header.nodes] == ["a", "b", "c"]


def test_merging_files_in_worker_processes_gives_the_same_document(tmp_path, docker_like_lab,
                                                                     docker_engine_snapshot):
    """`netscope merge` reads, checks and qualifies each file in a worker process: the
    document is the one merging the snapshots in one process gives, and a bad file or node
    name is still one error."""
    from netscope.snapshot.cluster import merge_files
    from netscope.snapshot.io import SnapshotError

    snaps = [docker_like_lab, docker_engine_snapshot] * 3
    inputs = []
    for i, snap in enumerate(snaps):
        path = tmp_path / f"n{i}.json"
        path.write_text(dumps(snap))
        inputs.append((f"n{i}", str(path)))
    text, _header, count = merge_files(inputs, workers=2)
    expected = merge([(name, snap) for (name, _), snap in zip(inputs, snaps, strict=True)])
    assert loads(text) == expected and count == len(expected.namespaces)
    (tmp_path / "bad.json").write_text('{"format": "netscope-snapshot", "version": 1}')
    with pytest.raises(SnapshotError, match=r"bad\.json"):
        merge_files([*inputs, ("x", str(tmp_path / "bad.json"))], workers=2)
    with pytest.raises(MergeError, match="two snapshots are node 'n0'"):
        merge_files([*inputs, ("n0", inputs[0][1])], workers=2)
