"""The path walk and the doctor on a Kubernetes node: kube-proxy's random choice of endpoints,
services without endpoints, NodePorts, the masquerade mark, NetworkPolicy and br_netfilter.

Fixtures are the k8s-node labs captured after their real traffic checks passed
(`python -m tests.support.capture lab k8s-node[...]`): kube-proxy cannot run here, so the
labs hold its rules written exactly as it writes them (topology/generate_k8s_node.py).
"""

from pathlib import Path

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.cli.journey_text import path_document, render_path
from netscope.snapshot import load

FIXTURES = Path(__file__).parents[2] / "fixtures"
CLIENT, NODE, EXT = "nsl-nsfxlab-client", "nsl-nsfxlab-node", "nsl-nsfxlab-ext"
WEB = "default/web:http"


def lab(name: str):
    return load(str(FIXTURES / f"lab-{name}.json"))


@pytest.fixture(scope="module", params=["k8s-node", "k8s-node-nft"])
def node(request):
    return lab(request.param)


def test_pod_to_cluster_ip_walks_both_endpoints_with_their_probability(node):
    result = path(node, CLIENT, "10.96.0.10", "tcp", 80)
    assert result.verdict == "delivered" and result.hops[-1].step == "choice"
    assert WEB in result.hops[-1].decision
    got = sorted((b.probability, b.choice) for b in result.branches)
    assert got == [(0.5, f"endpoint 10.244.0.3:8080 of service {WEB}"),
                   (0.5, f"endpoint 10.244.0.4:8080 of service {WEB}")]
    ends = set()
    for branch in result.branches:
        walk = branch.journey
        assert walk.verdict == "delivered" and walk.reply.verdict == "delivered"
        dnat = next(h for h in walk.hops if h.step == "nat")
        assert f"(service {WEB})" in dnat.decision
        assert any("conntrack reverses DNAT" in h.decision for h in walk.reply.hops)
        assert walk.reply.hops[-1].netns_name == CLIENT
        ends.add(walk.end_netns)
    assert len(ends) == 2, "each branch ends in its own endpoint's pod"
    doc = path_document(result)
    assert [b["probability"] for b in doc["branches"]] == [0.5, 0.5]
    assert doc["branches"][0]["path"]["reply"]["end"] == "delivered"
    text = "\n".join(render_path(result))
    assert "branch 1 of 2 (50%)" in text and "branch 2 of 2 (50%)" in text


def test_a_service_without_endpoints_ends_at_the_reject_and_is_named(node):
    result = path(node, CLIENT, "10.96.0.20", "tcp", 80)
    assert result.verdict == "dropped" and not result.branches
    assert result.hops[-1].netns_name == NODE
    assert "reject" in result.summary
    assert "service default/empty:http has no endpoints" in result.summary
    found = {f.check: f for f in run_doctor(node)}
    assert found["service_no_endpoints"].severity == "info", "a ClusterIP only"
    assert "default/empty:http" in found["service_no_endpoints"].summary


def test_the_node_masquerades_its_own_connection_because_of_the_mark(node):
    result = path(node, NODE, "10.96.0.10", "tcp", 80)
    for _, whole in result.outcomes():
        marked = [h for h in whole.hops if "mark 0x0 -> 0x4000" in h.decision]
        masq = next(h for h in whole.hops if h.decision.startswith("MASQUERADE"))
        assert marked, "KUBE-MARK-MASQ / mark-for-masquerade sets 0x4000 in OUTPUT"
        assert "mark 0x4000" in masq.explain and "10.244.0.1" in masq.packet
        assert whole.reply.verdict == "delivered"


def test_nodeports(node):
    cluster = path(node, EXT, "192.168.50.2", "tcp", 30080)
    assert len(cluster.branches) == 2 and cluster.verdict == "delivered"
    local = path(node, EXT, "192.168.50.2", "tcp", 30082)
    assert local.verdict == "dropped"
    assert "default/local:http has no local endpoints" in local.summary
    assert "nodeport_no_local_endpoints" in {f.check for f in run_doctor(node)}


def test_no_endpoints_variant_is_a_warning_and_its_walk_names_the_service():
    snap = lab("k8s-node-no_endpoints")
    result = path(snap, CLIENT, "10.96.0.10", "tcp", 80)
    assert result.verdict == "dropped" and f"service {WEB} has no endpoints" in result.summary
    finding = next(f for f in run_doctor(snap) if f.id.endswith(WEB))
    assert (finding.check, finding.severity) == ("service_no_endpoints", "warning")
    assert "30080" in finding.summary


def test_a_policy_chain_that_drops_is_named_with_its_pod():
    snap = lab("k8s-node-policy_drop")
    result = path(snap, CLIENT, "10.96.0.10", "tcp", 80)
    by_choice = {b.choice.split()[1]: b.journey for b in result.branches}
    blocked = by_choice["10.244.0.3:8080"]
    assert blocked.verdict == "dropped" and blocked.hops[-1].netns_name == NODE
    assert "dropped by policy chain KUBE-POD-FW-" in blocked.summary
    assert blocked.summary.endswith("of default/web-1)")
    assert by_choice["10.244.0.4:8080"].exchange_verdict == "delivered"
    assert result.verdict == "dropped"
    finding = next(f for f in run_doctor(snap) if f.check == "policy_drop")
    assert "50% of connections" in finding.summary and "default/web-1" in finding.summary


def test_without_br_netfilter_the_bridged_reply_is_not_translated_back():
    snap = lab("k8s-node-br_netfilter_off")
    result = path(snap, CLIENT, "10.96.0.10", "tcp", 80)
    for branch in result.branches:
        reply = branch.journey.reply
        assert branch.journey.verdict == "delivered" and reply.verdict == "dropped"
        assert reply.hops[-1].netns_name == CLIENT
        assert "not from 10.96.0.10:80" in reply.summary
        assert "bridge-nf-call-iptables = 0" in reply.summary
    finding = next(f for f in run_doctor(snap) if f.check == "br_netfilter_off")
    assert finding.severity == "warning"
    assert finding.repair[0]["key"] == "net.bridge.bridge-nf-call-iptables"
    assert finding.repair[0]["value"] == "1"
    healthy = {f.check for f in run_doctor(lab("k8s-node"))}
    assert "br_netfilter_off" not in healthy and "policy_drop" not in healthy


def test_show_netfilter_names_services_and_lists_kube_proxys_maps():
    from netscope.cli.netfilter_tree import render_netfilter

    text = "\n".join(render_netfilter(lab("k8s-node")))
    assert "KUBE-SVC-" in text and f"-- kube-proxy: service {WEB}: picks one of its" in text
    assert f"-- kube-proxy: endpoint 10.244.0.3:8080 of service {WEB}" in text
    assert "-- kube-proxy: masquerades connections carrying the 0x4000 mark" in text
    nft = "\n".join(render_netfilter(lab("k8s-node-nft")))
    assert "vmap no-endpoint-services  ipv4_addr . inet_proto . inet_service : verdict" in nft
    assert '10.96.0.20 . tcp . 80 : goto reject-chain  "default/empty:http"' in nft
    assert f"-- kube-proxy: endpoint 10.244.0.4:8080 of service {WEB}" in nft
    policy = "\n".join(render_netfilter(lab("k8s-node-policy_drop")))
    assert "-- kube-router: NetworkPolicy firewall of pod default/web-1" in policy


def test_flannel_vxlan_is_recognised_with_its_remote_nodes():
    from netscope.cli.tree import render_tree

    lines = [line for line in render_tree(load(str(FIXTURES / "cluster-flannel.json")))
             if "flannel.1  vxlan" in line]
    assert len(lines) == 2 and all("dstport 8472  [flannel VXLAN, 1 remote node]" in line
                                   for line in lines), lines


def test_the_tui_strip_shows_one_whole_outcome_of_a_split_walk(node):
    from netscope.analysis.compare import taken_outcome
    from netscope.tui.journey import branch_note, expected_view

    result = path(node, CLIENT, "10.96.0.10", "tcp", 80)
    view = expected_view(result)
    assert view.journey.hops[0] == result.hops[0] and not view.journey.branches
    assert view.journey.end_netns == result.branches[0].journey.end_netns
    assert view.journey.reply is not None
    note = branch_note(result)
    assert "2 outcomes" in note and "p=0.50" in note and "10.244.0.3:8080" in note
    other = result.outcomes()[1][1]
    assert taken_outcome(result, other) is not None
    assert taken_outcome(result, other).end_netns == other.end_netns
    assert branch_note(path(node, CLIENT, "10.96.0.20", "tcp", 80)) == ""
