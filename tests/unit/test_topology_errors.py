"""A bad topology file is refused at load time, with the file, the key and the problem named."""

from __future__ import annotations

import textwrap

import pytest

from netscope.labs.loader import TopologyError, load_lab_file

GOOD = """
[lab]
name = "t"
summary = "a test lab"
explain = "two containers on a bridge"

[nodes.host]
role = "host"

[nodes.c1]
role = "container"

[links.br0]
node = "host"
kind = "bridge"
addresses = ["10.9.0.1/24"]

[links.veth1]
node = "host"
kind = "veth"
peer = "c1-eth0"
master = "br0"

[links.c1-eth0]
node = "c1"
name = "eth0"
kind = "veth"
addresses = ["10.9.0.2/24"]

[routes.c1-default]
node = "c1"
to = "default"
via = "10.9.0.1"

[checks.ping]
from = "c1"
to = "10.9.0.1"
proto = "icmp"
expect = "ok"
"""


def write(tmp_path, text: str, name: str = "t"):
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_good_file_loads(tmp_path):
    lab = load_lab_file(write(tmp_path, GOOD))
    assert [n.key for n in lab.base.nodes] == ["host", "c1"]
    assert lab.base.link("veth1").master == "br0"


# (what is appended to / replaced in GOOD, the key named, words of the problem)
BAD = [
    ("[nodes.c2]\nrole = \"container\"\ncolour = \"red\"\n", "nodes.c2.colour", "unknown key"),
    ("[links.x]\nnode = \"c1\"\nkind = \"bridge\"\naddresses = [\"10.9.0.300/24\"]\n",
     "links.x.addresses", "not a valid address"),
    ("[links.x]\nnode = \"c1\"\nkind = \"bridge\"\naddresses = [\"10.9.0.3\"]\n",
     "links.x.addresses", "prefix length"),
    ("[routes.r]\nnode = \"c1\"\nto = \"10.9.1.1/24\"\nvia = \"10.9.0.1\"\n",
     "routes.r.to", "host bits set"),
    ("[links.x]\nnode = \"c9\"\nkind = \"bridge\"\n", "links.x.node", "'c9' is not a node"),
    ("[routes.r]\nnode = \"c1\"\nto = \"default\"\ndev = \"nope\"\n", "routes.r.dev",
     "'nope' is not a link"),
    ("[links.x]\nnode = \"c1\"\nkind = \"veth\"\nmaster = \"br0\"\npeer = \"veth1\"\n",
     "links.x.master", "on node 'host', not 'c1'"),
    ("[links.x]\nnode = \"c1\"\nkind = \"veth\"\n", "links.x.peer", "exactly one other end"),
    ("[links.x]\nnode = \"host\"\nname = \"averyveryverylongname\"\nkind = \"bridge\"\n",
     "links.x.name", "1-15 characters"),
    ("[links.x]\nnode = \"c1\"\nname = \"eth0\"\nkind = \"bridge\"\n", "links.x.name",
     "already used on node 'c1'"),
    ("[links.x]\nnode = \"c1\"\nkind = \"macvlan\"\n", "links.x.parent", "needs a parent"),
    ("[links.x]\nnode = \"c1\"\nkind = \"bridge\"\nvni = 3\n", "links.x.vni", "only for vxlan"),
    ("[chains.c]\nnode = \"host\"\nchain = \"MINE\"\npolicy = \"DROP\"\n", "chains.c.policy",
     "user chain"),
    ("[iptables.r]\nnode = \"host\"\nchain = \"MINE\"\nrule = \"-j ACCEPT\"\n",
     "iptables.r.chain", "neither a builtin"),
    ("[iptables.r]\nnode = \"host\"\nchain = \"FORWARD\"\nrule = \"-j NOWHERE\"\n",
     "iptables.r.rule", "jumps to 'NOWHERE'"),
    ("[iptables.r]\nnode = \"host\"\nchain = \"FORWARD\"\nrule = \"-A FORWARD -j DROP\"\n",
     "iptables.r.rule", "table/chain are keys"),
    ("[iptables.r]\nnode = \"host\"\nchain = \"FORWARD\"\nrule = \"-m comment --comment 'x\"\n",
     "iptables.r.rule", "cannot be split"),
    ("[nft.n]\nnode = \"host\"\nruleset = \"chain x {}\"\n", "nft.n.ruleset", "exactly one"),
    ("[servers.s]\nnode = \"c1\"\ntcp = [80, 70000]\n", "servers.s.tcp", "a port"),
    ("[checks.c]\nfrom = \"c1\"\nto = \"10.9.0.1\"\nproto = \"tcp\"\nexpect = \"ok\"\n",
     "checks.c.port", "need a port"),
    ("[checks.c]\nfrom = \"c1\"\nto = \"10.9.0.1\"\nproto = \"icmp\"\nexpect = \"maybe\"\n",
     "checks.c.expect", "not one of"),
    ("[nodes.Bad_Node]\nrole = \"container\"\n", "nodes.Bad_Node", "bad key"),
    ("[nodes.c3]\nrole = \"wizard\"\n", "nodes.c3.role", "not one of"),
    ("[nodes.c3]\nrole = \"container\"\nsysctl = { \"kernel.panic\" = 1 }\n",
     "nodes.c3.sysctl", "not a net.* sysctl"),
    ("[extras]\nx = 1\n", "extras", "unknown section"),
    ("[variants.v]\nfault = \"no_such_fault\"\nsummary = \"s\"\nsymptom = \"s\"\n"
     "target = \"host\"\n", "variants.v.fault", "unknown fault id"),
    ("[variants.ip_forward_off]\nsummary = \"s\"\nsymptom = \"s\"\ntarget = \"host\"\n"
     "remove = [\"links.nope\"]\n", "variants.ip_forward_off.remove", "names nothing"),
    ("[variants.ip_forward_off]\nsummary = \"s\"\nsymptom = \"s\"\ntarget = \"host\"\n"
     "set.links.veth1.master = \"nope\"\n", "links.veth1.master", "'nope' is not a link"),
    ("[variants.ip_forward_off]\nsummary = \"s\"\nsymptom = \"s\"\ntarget = \"moon\"\n",
     "variants.ip_forward_off.target", "'moon' is not a node"),
]


@pytest.mark.parametrize(("extra", "key", "problem"), BAD, ids=[b[1] for b in BAD])
def test_bad_file_names_file_key_and_problem(tmp_path, extra, key, problem):
    path = write(tmp_path, GOOD + "\n" + extra)
    with pytest.raises(TopologyError) as err:
        load_lab_file(path)
    message = "\n".join(err.value.lines())
    assert f"{path}: {key}: " in message
    assert problem in message


def test_invalid_toml_says_where(tmp_path):
    path = write(tmp_path, GOOD + "\n[nodes.c1\n")
    with pytest.raises(TopologyError, match=r"t\.toml: not valid TOML: .*line"):
        load_lab_file(path)


def test_lab_name_must_match_the_file(tmp_path):
    path = write(tmp_path, GOOD, name="other")
    with pytest.raises(TopologyError, match=r"lab\.name: is 't' but the file is other\.toml"):
        load_lab_file(path)


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    path = write(tmp_path, GOOD + '\n[links.x]\nnode = "c9"\nkind = "tunnel"\ncolour = 1\n')
    with pytest.raises(TopologyError) as err:
        load_lab_file(path)
    keys = {key for key, _ in err.value.problems}
    assert {"links.x.colour", "links.x.kind"} <= keys
    assert "more problems" in str(err.value)
