"""netscope.labs.kube_proxy writes what kube-proxy writes: its output for four of the services
of kubernetes' TestOverallIPTablesRules / TestOverallNFTablesRules is line for line the
expected output of those tests (fixtures/kube-proxy/*.rules hold it, with their source)."""

import re
from pathlib import Path

from netscope.labs.kube_proxy import (
    Endpoint,
    Service,
    iptables_rules,
    nft_script,
    probability,
    restore_text,
    sep_chain,
    svc_chain,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kube-proxy"
CLUSTER_CIDR = "10.0.0.0/8"
# the services of those tests this generator covers (svc2 and svc5 need load balancers)
SERVICES = [
    Service("ns1", "svc1", "p80", "172.30.0.41", 80, (Endpoint("10.180.0.1", 80, False),)),
    Service("ns3", "svc3", "p80", "172.30.0.43", 80, (Endpoint("10.180.0.3", 80, False),),
            node_port=3003),
    Service("ns4", "svc4", "p80", "172.30.0.44", 80, (Endpoint("10.180.0.4", 80, False),
                                                     Endpoint("10.180.0.5", 80, True)),
            external_ips=("192.168.99.33",)),
    Service("ns6", "svc6", "p80", "172.30.0.46", 80),
]
OTHERS = re.compile(r"ns[25]/svc[25]|KUBE-(SVC|EXT|FW|SEP)-(GNZBNJ2PO5MGZ6GT|NUKIZ6OKUXPJNT4C|"
                    r"RS4RBKLTHTF2IUXJ|I77PXRDZVX7PMWMN)|-(42NFTM6N|HVFWP5L3|SGOXE6O3|GTK6MW7G)-"
                    r"|KUBE-PROXY-FIREWALL -m comment|3001|3002|30000|172\.30\.0\.4[25] ")


def _lines(path: str) -> set[str]:
    text = (FIXTURES / path).read_text()
    return {line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("#") and not OTHERS.search(line)}


def test_chain_names_are_kube_proxys_hashes():
    svc1 = SERVICES[0]
    assert svc_chain(svc1) == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert sep_chain(svc1, svc1.endpoints[0]) == "KUBE-SEP-SXIVWICOYRO3J4NJ"
    assert svc_chain(SERVICES[2], "KUBE-EXT-") == "KUBE-EXT-4SW47YFZTEDKD3PK"
    assert [probability(n) for n in (2, 3)] == ["0.5000000000", "0.3333333333"]


def test_iptables_mode_is_the_kubernetes_test_output():
    generated = {line for line in restore_text(iptables_rules(SERVICES, CLUSTER_CIDR))
                 .splitlines() if not line.startswith(":") or "- [0:0]" in line}
    expected = _lines("iptables.rules")
    # chains declared for services the fixture has and this list does not are left out
    assert generated - expected == set()
    assert expected - generated == set()


def test_nftables_mode_is_the_kubernetes_test_output():
    script = nft_script(SERVICES, CLUSTER_CIDR, ("192.168.0.2",), "172.30.0.0/16")
    generated = set(script.splitlines())
    expected = _lines("nftables.rules")
    assert generated - expected == set()
    assert expected - generated == set()


def test_the_k8s_node_labs_are_what_their_generator_writes():
    import importlib.util

    script = Path(__file__).parents[2] / "topology" / "generate_k8s_node.py"
    spec = importlib.util.spec_from_file_location("generate_k8s_node", script)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for mode, name in (("iptables", "k8s-node"), ("nftables", "k8s-node-nft")):
        written = (script.parent / f"{name}.toml").read_text()
        assert written == generator.render(mode), \
            f"topology/{name}.toml is stale: run python3 topology/generate_k8s_node.py"
