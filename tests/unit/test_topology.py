"""Every lab file loads and means what it says; the loader rejects bad files before any change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netscope.actions.lab_plan import carrier_expected, lab_plan, ns_name
from netscope.actions.ops import NetnsAdd, Spawn
from netscope.labs import catalog
from netscope.labs.faults import FAULTS

LAB_FILES = catalog.load_all()
LABS = {f.name: f for f in LAB_FILES}
REFS = [f.name for f in LAB_FILES] + [f"{f.name}/{v.key}" for f in LAB_FILES
                                      for v in f.base.variants]
MODES = ("docker-bridge", "user-bridges", "host-mode", "container-mode", "none-mode",
         "macvlan", "overlay-vxlan", "pod-network")


def test_every_container_networking_mode_has_a_lab():
    assert set(MODES) <= set(LABS)


def test_every_fault_is_planted_by_some_variant():
    planted = {v.fault for f in LAB_FILES for v in f.base.variants}
    assert planted == set(FAULTS)


@pytest.mark.parametrize("name", sorted(LABS))
def test_lab_explains_itself_and_proves_itself(name):
    topo = LABS[name].base
    assert topo.summary and len(topo.summary) <= 100
    assert len(topo.explain.split()) >= 20, "the explanation teaches the mechanism"
    assert any(c.expect == "ok" for c in topo.checks), "a healthy lab proves reachability"


@pytest.mark.parametrize("ref", [r for r in REFS if "/" in r])
def test_variant_has_an_observable_symptom(ref):
    lab, variant = catalog.split_ref(ref)
    base = {c.key: c.expect for c in LABS[lab].base.checks}
    broken = LABS[lab].topology(variant)
    assert broken.variant is not None and broken.variant.symptom
    changed = [c.key for c in broken.checks if base.get(c.key) != c.expect]
    assert changed, f"{ref} must change what at least one check observes"
    assert any(c.expect != "ok" for c in broken.checks if c.key in changed)


@pytest.mark.parametrize("ref", REFS)
def test_plan_stays_inside_lab_namespaces(ref):
    lab, variant = catalog.split_ref(ref)
    topo = LABS[lab].topology(variant)
    ops = lab_plan(topo, "t1")
    lab_ns = {ns_name("t1", n.key) for n in topo.nodes}
    assert [op.name for op in ops if isinstance(op, NetnsAdd)] == [
        ns_name("t1", n.key) for n in topo.nodes]
    for op in ops:
        if not isinstance(op, NetnsAdd):
            assert op.where in lab_ns, f"{op.shell()} acts outside the lab"
    for link in topo.links:
        assert len(link.name) <= 15
    assert sum(isinstance(op, Spawn) for op in ops) == len(topo.servers)


def test_plan_renders_equivalent_shell_commands():
    ops = lab_plan(LABS["docker-bridge"].base, "t1")
    lines = [op.shell() for op in ops]
    assert lines[0] == "ip netns add nsl-t1-host"
    assert ("ip -n nsl-t1-host link add veth1 type veth peer name eth0 netns nsl-t1-c1"
            in lines)
    assert ("ip netns exec nsl-t1-host iptables -w -t nat -A POSTROUTING -s 10.217.0.0/16 '!' "
            "-o docker0 -j MASQUERADE") in lines
    assert "ip netns exec nsl-t1-host sysctl -w net.ipv4.ip_forward=1" in lines


def test_variant_overlays_change_only_what_they_name():
    base = LABS["docker-bridge"].topology()
    down = LABS["docker-bridge"].topology("host_veth_down")
    assert base.link("veth1").up and not down.link("veth1").up
    assert LABS["docker-bridge"].topology("veth_not_in_bridge").link("veth1").master is None
    forward_off = LABS["docker-bridge"].topology("ip_forward_off")
    assert forward_off.node("host").sysctl == {"net.ipv4.ip_forward": "0"}
    rp = LABS["docker-bridge"].topology("rp_filter_asymmetric")
    assert rp.node("host").sysctl["net.ipv4.ip_forward"] == "1", "tables merge, not replace"
    assert {lk.key for lk in rp.links} - {lk.key for lk in base.links} == {
        "host-eth1", "inet-eth1"}
    no_masq = LABS["docker-bridge"].topology("missing_masquerade")
    assert "masquerade" not in {r.key for r in no_masq.iptables}


def test_carrier_expectations_skip_what_the_fault_takes_down():
    down = carrier_expected(LABS["docker-bridge"].topology("host_veth_down"), "t1")
    assert ("nsl-t1-host", "veth1") not in down and ("nsl-t1-c1", "eth0") not in down
    assert ("nsl-t1-c2", "eth0") in down and ("nsl-t1-host", "docker0") in down


def test_scaled_docker_bridge_keeps_the_declared_containers():
    lab = LABS["docker-bridge"]
    scaled = lab.topology(containers=200)
    containers = [n for n in scaled.nodes if n.role == "container"]
    assert len(containers) == 200 and scaled.scaled == 200
    addresses = [a for lk in scaled.links for a in lk.addresses]
    assert len(addresses) == len(set(addresses))
    for key in ("c1-eth0", "c2-eth0", "veth1", "veth2"):
        assert scaled.link(key) == lab.base.link(key)
    assert scaled.link("c200-eth0").addresses == ("10.217.0.201/16",)
    ops = lab_plan(scaled, "t1")
    assert sum(isinstance(op, NetnsAdd) for op in ops) == 202
    assert {c.key for c in scaled.checks} == {c.key for c in lab.base.checks}


def test_scale_is_refused_where_it_makes_no_sense():
    with pytest.raises(catalog.TopologyError, match="no \\[scale\\] section"):
        LABS["macvlan"].topology(containers=3)
    with pytest.raises(catalog.TopologyError, match="--containers must be between"):
        LABS["docker-bridge"].topology(containers=0)


def test_resolve_names_unknown_labs_and_variants():
    with pytest.raises(LookupError, match=r"no lab named 'nope'.*docker-bridge"):
        catalog.resolve("nope")
    with pytest.raises(catalog.TopologyError, match=r"no variant 'nope'.*ip_forward_off"):
        catalog.resolve("docker-bridge/nope")


def test_every_lab_file_is_named_after_its_lab():
    for f in LAB_FILES:
        assert Path(f.path).stem == f.name


def test_lab_list_json_describes_labs_variants_and_faults(capsys):
    from netscope.cli.main import main

    assert main(["lab", "list", "--json"]) == 0
    listed = {lab["name"]: lab for lab in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(LABS)
    variant = next(v for v in listed["docker-bridge"]["variants"] if v["key"] == "wrong_gateway")
    assert variant["ref"] == "docker-bridge/wrong_gateway"
    assert variant["fault"] == "wrong_gateway" and variant["target"] == "c1"
    assert listed["docker-bridge"]["scalable"] and not listed["macvlan"]["scalable"]


def test_lab_list_text_shows_the_explanation_and_symptoms(capsys):
    from netscope.cli.main import main

    assert main(["lab", "list", "docker-bridge"]) == 0
    out = capsys.readouterr().out
    assert "MASQUERADE" in out and "docker-bridge/ip_forward_off" in out
    assert "fault rp_filter_asymmetric at host:host-eth1" in out
