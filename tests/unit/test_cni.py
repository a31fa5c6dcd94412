"""CNI configurations and host-local's allocations as files: what `show` says about them."""

from __future__ import annotations

import json

import pytest

from netscope.host import cni
from netscope.model.cni import CniRange, in_range
from netscope.model.labels import cni_allocation_text, cni_network_text

CONFLIST = {
    "cniVersion": "0.4.0", "name": "k8s-pod-network", "plugins": [
        {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True,
         "ipam": {"type": "host-local", "dataDir": "DATA",
                  "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.10",
                               "rangeEnd": "10.244.1.200", "gateway": "10.244.1.1"}],
                             [{"subnet": "fd00:10:244:1::/64"}]]}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
        {"type": "bandwidth", "capabilities": {"bandwidth": True}},
    ]}


def write(directory, name: str, data) -> None:
    (directory / name).write_text(data if isinstance(data, str) else json.dumps(data))


def test_a_conflist_its_chain_and_ranges(tmp_path):
    write(tmp_path, "10-k8s.conflist", {**CONFLIST, "plugins": [
        {**CONFLIST["plugins"][0], "ipam": {**CONFLIST["plugins"][0]["ipam"],
                                            "dataDir": str(tmp_path / "ipam")}},
        *CONFLIST["plugins"][1:]]})
    (net,) = cni.read_conf_dir(str(tmp_path))
    assert net.in_use and net.error is None and net.data_dir == str(tmp_path / "ipam")
    assert [p.type for p in net.plugins] == ["bridge", "portmap", "bandwidth"]
    assert [r.subnet for r in net.ranges] == ["10.244.1.0/24", "fd00:10:244:1::/64"]
    assert cni_network_text(net) == (
        f"k8s-pod-network ({tmp_path}/10-k8s.conflist, in use): "
        "bridge[bridge=cni0 isGateway=true ipMasq=true] -> "
        'portmap[capabilities={"portMappings":true}] -> '
        'bandwidth[capabilities={"bandwidth":true}]; ipam host-local '
        "10.244.1.0/24 (10.244.1.10-10.244.1.200), fd00:10:244:1::/64")


def test_the_first_usable_file_is_the_one_in_use(tmp_path):
    write(tmp_path, "00-broken.conflist", "{not json")
    write(tmp_path, "05-noplugins.conflist", {"cniVersion": "1.0.0", "name": "x"})
    write(tmp_path, "10-flannel.conf", {"cniVersion": "0.3.1", "name": "cbr0",
                                        "type": "flannel", "delegate": {"isDefaultGateway": True}})
    write(tmp_path, "20-later.conflist", CONFLIST)
    write(tmp_path, "README", "not a configuration")
    nets = cni.read_conf_dir(str(tmp_path))
    assert [(n.path.rsplit("/", 1)[1], n.in_use, n.error) for n in nets] == [
        ("00-broken.conflist", False, "not a JSON object (unreadable, invalid or too large)"),
        ("05-noplugins.conflist", False, 'a .conflist without a "plugins" list'),
        ("10-flannel.conf", True, None),
        ("20-later.conflist", False, None),
    ]
    assert nets[2].plugins[0].details == {"delegate": '{"isDefaultGateway":true}'}
    assert cni.read_conf_dir(str(tmp_path / "missing")) == []


def test_host_local_allocations_old_and_new_formats(tmp_path):
    data = tmp_path / "ipam" / "k8s-pod-network"
    data.mkdir(parents=True)
    (data / "10.244.1.10").write_text("a" * 64 + "\r\neth0")  # CNI >= 0.4: id, ifname
    (data / "10.244.1.11").write_text("b" * 64)  # older: the id alone
    (data / "fd00:10:244:1::2").write_text("c" * 64 + "\r\neth0")
    (data / "last_reserved_ip.0").write_text("10.244.1.11")
    (data / "lock").write_text("")
    conf = {**CONFLIST, "plugins": [{**CONFLIST["plugins"][0], "ipam": {
        **CONFLIST["plugins"][0]["ipam"], "dataDir": str(tmp_path / "ipam")}}]}
    write(tmp_path, "10.conflist", conf)
    nets = cni.read_conf_dir(str(tmp_path))
    got = cni.read_allocations(nets)
    assert [(a.address, a.container_id[:1], a.ifname) for a in got] == [
        ("10.244.1.10", "a", "eth0"), ("10.244.1.11", "b", None),
        ("fd00:10:244:1::2", "c", "eth0")]
    assert cni_allocation_text(got[0], nets[0].ranges) == (
        f"cni k8s-pod-network 10.244.1.10 on eth0, allocated to {'a' * 12}: no namespace "
        "holds it (leaked)")


@pytest.mark.parametrize("address, expected", [
    ("10.244.1.50", True),
    ("10.244.1.5", False),    # in the subnet, before rangeStart
    ("10.244.2.5", False),
    ("fd00:10:244:1::9", True),
    ("not an ip", None),
])
def test_in_range(address, expected):
    ranges = (CniRange("10.244.1.0/24", "10.244.1.10", "10.244.1.200"),
              CniRange("fd00:10:244:1::/64"))
    assert in_range(address, ranges) is expected


def test_no_range_of_the_family_is_no_answer():
    assert in_range("fd00::1", (CniRange("10.0.0.0/8"),)) is None
