"""Operations as data: shell rendering, journal round trip, batching, undo order. No root."""

from __future__ import annotations

import json

import pytest

from netscope.actions import execute, journal
from netscope.actions.execute import Done
from netscope.actions.labs import LabError, check_instance
from netscope.actions.ops import (
    OP_TYPES,
    Cni,
    Ip,
    Iptables,
    IptablesPolicy,
    NetnsAdd,
    NetnsDel,
    Nft,
    Spawn,
    Stop,
    Sysctl,
    op_from_dict,
)

EXAMPLES = [
    NetnsAdd("nsl-t-a"),
    NetnsDel("nsl-t-a"),
    Ip("nsl-t-a", ("link", "set", "eth0", "up"), ("link", "set", "eth0", "down")),
    Ip(None, ("route", "add", "default", "via", "10.0.0.1")),
    Sysctl("nsl-t-a", "net.ipv4.ip_forward", "1"),
    Iptables(None, "filter", ("-I", "DOCKER-USER", "1", "-j", "DROP"),
             ("-D", "DOCKER-USER", "-j", "DROP")),
    IptablesPolicy("nsl-t-a", "filter", "FORWARD", "DROP"),
    Nft("nsl-t-a", "table ip x {\n}\n", "delete table ip x"),
    Spawn("nsl-t-a", "web", ("python3", "serve.py", "--name", "web")),
    Stop(123, 456, "web", "nsl-t-a"),
    Cni("nsl-t-a", "/usr/lib/cni/bridge", "ADD", "pod1", "/run/netns/nsl-t-b", "eth0",
        '{"cniVersion": "1.0.0", "type": "bridge"}', "K8S_POD_NAME=web"),
]


def test_every_operation_type_has_an_example():
    assert {type(op) for op in EXAMPLES} == set(OP_TYPES.values())


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda op: op.tag)
def test_operation_survives_the_journal(op):
    assert op_from_dict(json.loads(json.dumps(op.to_dict()))) == op


def test_shell_commands_quote_names_as_data():
    evil = "a b;$(reboot)"
    assert Ip(evil, ("link", "show")).argv() == ["ip", "-n", evil, "link", "show"]
    assert Ip(evil, ("link", "show")).shell() == "ip -n 'a b;$(reboot)' link show"
    assert Sysctl(None, "net.ipv4.ip_forward", "0").shell() == (
        "sysctl -w net.ipv4.ip_forward=0")
    assert Iptables("n", "nat", ("-A", "POSTROUTING", "!", "-o", "br0")).shell() == (
        "ip netns exec n iptables -w -t nat -A POSTROUTING '!' -o br0")
    assert NetnsDel("n").shell() == "ip netns pids n | xargs -r kill; ip netns del n"
    assert Nft("n", "delete table ip x").shell().startswith("ip netns exec n nft -f - <<'EOF'")


@pytest.mark.parametrize("name", ["", "Docker", "a;b", "a b", "-x", "a" * 33, "a/b", "$(x)"])
def test_instance_names_are_checked_before_use(name):
    with pytest.raises(LabError, match="bad lab instance name"):
        check_instance(name)


def test_consecutive_ip_operations_of_one_namespace_batch():
    ops = [NetnsAdd("a"), NetnsAdd("b"), Ip("a", ("link", "set", "lo", "up")),
           Ip("a", ("addr", "add", "10.0.0.1/24", "dev", "eth0")), Ip("b", ("link", "show")),
           Sysctl("a", "net.ipv4.ip_forward", "1"), Ip("b", ("link", "set", "x y", "up")),
           Ip("b", ("link", "show"))]
    groups = [[o.where if not isinstance(o, NetnsAdd) else "root" for o in g]
              for g in execute._groups(ops)]
    assert groups == [["root", "root"], ["a", "a"], ["b"], ["a"], ["b"], ["b"]]


def test_failed_batch_line_marks_exactly_what_was_done(monkeypatch):
    class Result:
        returncode = 1
        stderr = "Error: Cannot find device \"eth9\"\nCommand failed -:3\n"

    monkeypatch.setattr(execute, "_run", lambda argv, stdin, op: Result())
    ops = [Ip("a", ("link", "set", "lo", "up")), Ip("a", ("link", "set", "eth0", "up")),
           Ip("a", ("link", "set", "eth9", "up")), Ip("a", ("link", "set", "eth1", "up"))]
    done: list[Done] = []
    with pytest.raises(execute.ActionFailed) as err:
        execute.run_ops(ops, done)
    assert [d.op for d in done] == ops[:2]
    assert err.value.op == ops[2]
    assert "Cannot find device" in str(err.value) and "eth9" in str(err.value)


def test_journal_round_trip_and_atomic_replace(tmp_path, monkeypatch):
    monkeypatch.setenv(journal.ENV_STATE_DIR, str(tmp_path))
    path = journal.state_dir() / "labs" / "t.json"
    j = journal.Journal(path, kind="lab", title="docker-bridge", plan=EXAMPLES[:3],
                        meta={"instance": "t"})
    j.done.append(Done(EXAMPLES[0], NetnsDel("nsl-t-a")))
    j.save()
    loaded = journal.load(path)
    assert loaded is not None
    assert loaded.plan == EXAMPLES[:3] and loaded.done == j.done and loaded.meta == j.meta
    assert [p.name for p in path.parent.iterdir()] == ["t.json"], "no temporary file left"
    path.write_text("{")
    with pytest.raises(journal.JournalError, match="cannot read the journal"):
        journal.load(path)
    assert journal.load(tmp_path / "missing.json") is None
