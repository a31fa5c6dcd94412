"""Lessons as data: every shipped lesson loads and every step's commands plan to netscope's
operations inside the lesson's own namespaces; a broken file says where in one line."""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from pathlib import Path

import pytest

from netscope.actions import lesson_progress
from netscope.actions.execute import undo_of
from netscope.actions.lesson_plan import check_lesson, parse_command, step_ops
from netscope.actions.ops import Cni, Ip, Iptables, NetnsAdd, Spawn, Sysctl, op_from_dict
from netscope.analysis.doctor import CHECKS
from netscope.labs import catalog
from netscope.labs.faults import FAULTS
from netscope.labs.lessons import LessonError, find, load_all, load_lesson

ADDRESS = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})(?:/\d+)?\b")
LESSON_RANGE = ipaddress.ip_network("10.150.0.0/16")


def lessons():
    return load_all()


def test_the_lessons_are_numbered_one_to_ten_and_load():
    found = lessons()
    assert [x.number for x in found] == list(range(1, 11))
    assert [x.number for x in found if x.drills] == [10]
    for lesson in found:
        assert lesson.instance == f"lesson{lesson.number}"
        assert all(ns.startswith(f"nsl-lesson{lesson.number}-") for ns in lesson.all_netns)


@pytest.mark.parametrize("lesson", lessons(), ids=lambda x: x.id)
def test_every_step_plans_inside_the_lessons_own_namespaces(lesson):
    check_lesson(lesson)
    own = set(lesson.all_netns)
    for step in lesson.steps:
        for op in step_ops(lesson, step):
            where = op.name if isinstance(op, NetnsAdd) else op.netns
            assert where in own, (step.number, op.shell())
            if isinstance(op, Cni):
                assert op.target.rpartition("/")[2] in own


@pytest.mark.parametrize("lesson", lessons(), ids=lambda x: x.id)
def test_doctor_checks_named_by_lessons_exist(lesson):
    known = {c.id for c in CHECKS}
    for step in lesson.steps:
        for name in (*step.check.doctor, *step.check.healthy):
            assert name in known, f"{lesson.id} step {step.number}: no doctor check {name}"


@pytest.mark.parametrize("lesson", lessons(), ids=lambda x: x.id)
def test_lessons_use_their_own_addresses(lesson):
    """Traffic stays between the lesson's namespaces: every address it writes or sends to is
    in 10.150.0.0/16 (or loopback)."""
    texts = [c for s in lesson.steps for c in s.commands] + list(lesson.files.values())
    texts += [r.dst for s in lesson.steps for r in s.check.reach]
    texts += [s.check.path.dst for s in lesson.steps if s.check.path]
    for text in texts:
        for found in ADDRESS.findall(text):
            addr = ipaddress.ip_address(found)
            assert addr in LESSON_RANGE or addr.is_loopback or str(addr) in (
                "0.0.0.0", "255.255.255.255"), f"{lesson.id}: {text}"


def test_every_broken_variant_of_the_labs_has_a_look_hint():
    drills = [x for x in lessons() if x.drills]
    if not drills:
        pytest.skip("no drills lesson yet")
    look = drills[0].look
    for lab in catalog.load_all():
        for v in lab.base.variants:
            assert v.fault in look, f"{lab.name}/{v.key}: [look] {v.fault} is missing"


def _iptables_lines(lesson, table: str) -> list[str]:
    """The lesson's iptables commands in `table`, as `-N C` / `-A C rule` / `-I C N rule`."""
    out = []
    for step in lesson.steps:
        for op in step_ops(lesson, step):
            if isinstance(op, Iptables) and op.table == table:
                out.append(shlex.join(op.args))
    return out


def test_the_service_lesson_writes_kube_proxys_exact_rules():
    """Lesson 8's nat rules are what netscope.labs.kube_proxy (checked against kubernetes'
    own tests) writes for default/web with two endpoints, in kube-proxy's order."""
    from netscope.labs.kube_proxy import BUILTIN, Endpoint, Service, iptables_rules

    web = Service("default", "web", "http", "10.150.108.10", 80,
                  (Endpoint("10.150.8.3", 8080), Endpoint("10.150.8.4", 8080)))
    nat = iptables_rules([web], "10.150.8.0/24", nfacct=False)["nat"]
    want = [f"-N {c}" for c in nat if c not in BUILTIN]
    want += [shlex.join(["-A", c, *shlex.split(r)]) for c, rules in nat.items() for r in rules]
    got = _iptables_lines(find("service"), "nat")
    assert sorted(got) == sorted(want)
    for chain in nat:  # within a chain, in kube-proxy's order (across chains it does not matter)
        assert [x for x in got if x.startswith(f"-A {chain} ")] == \
            [x for x in want if x.startswith(f"-A {chain} ")]
    assert any("--probability 0.5000000000" in line for line in got)


def test_the_policy_lesson_writes_kube_routers_rules_and_kube_proxys():
    import importlib.util

    from netscope.labs.kube_proxy import BUILTIN, Endpoint, Service, iptables_rules

    lesson = find("policy")
    web = Service("default", "web", "http", "10.150.109.10", 80,
                  (Endpoint("10.150.9.3", 8080), Endpoint("10.150.9.4", 8080)))
    nat = iptables_rules([web], "10.150.9.0/24", nfacct=False)["nat"]
    want = [f"-N {c}" for c in nat if c not in BUILTIN]
    want += [shlex.join(["-A", c, *shlex.split(r)]) for c, rules in nat.items() for r in rules]
    assert sorted(_iptables_lines(lesson, "nat")) == sorted(want)
    generator = Path(catalog.topology_dir()) / "generate_k8s_node.py"
    spec = importlib.util.spec_from_file_location("generate_k8s_node", generator)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    chains, rules = module.kube_router("web-1", "10.150.9.3")
    filter_lines = _iptables_lines(lesson, "filter")
    for lines in chains.values():
        chain = lines[2].split(" = ", 1)[1].strip('"')
        assert f"-N {chain}" in filter_lines
    for lines in rules.values():
        fields = dict(x.split(" = ", 1) for x in lines)
        chain, rule = json.loads(fields["chain"]), json.loads(fields["rule"])
        where = ["-I", chain, fields["position"]] if "position" in fields else ["-A", chain]
        assert shlex.join([*where, *shlex.split(rule)]) in filter_lines, rule


def test_find_by_number_and_id():
    first = lessons()[0]
    assert find(str(first.number)) == find(first.id)
    with pytest.raises(LookupError, match="no lesson 'nope'"):
        find("nope")


GOOD = '''
[lesson]
number = 7
id = "t"
title = "T"
summary = "s"
namespaces = ["a", "b"]

[files]
"net.conf" = """{"cniVersion": "1.0.0", "name": "n", "type": "bridge",
               "ipam": {"dataDir": "{state}/ipam"}}"""

[[step]]
title = "one"
text = "{a} and {b}"
do = ["ip netns add {a}", "ip netns add {b}"]
check = { exists = ["a", "b"] }
'''


@pytest.mark.parametrize("change,message", [
    (("number = 7", "number = 0"), "t.toml [lesson].number: 1-99"),
    (('id = "t"', 'id = "T T"'), "t.toml [lesson].id"),
    (('namespaces = ["a", "b"]', 'namespaces = ["a", "Bad"]'), "namespaces: 'Bad'"),
    (('namespaces = ["a", "b"]', 'namespaces = ["a", "a"]'), "given twice"),
    (("{a} and {b}", "{a} and {c}"), "t.toml step 1.text: {c} is not one of the lesson's"),
    (("exists = [", "exist = ["), "t.toml step 1.check: unknown key 'exist'"),
    (('exists = ["a", "b"]', 'reach = { from = "a", to = "10.150.7.2", proto = "tcp" }'),
     "t.toml step 1.check.reach[0]: tcp needs a port"),
    (('exists = ["a", "b"]', 'reach = { from = "a", to = "x", port = 70000, proto = "tcp" }'),
     "t.toml step 1.check.reach[0].port: port must be 1-65535"),
    (('exists = ["a", "b"]', 'path = { from = "z", to = "10.150.7.2" }'),
     "t.toml step 1.check.path.from: 'z' names no lesson namespace"),
    (('exists = ["a", "b"]', 'path = { from = "a", to = "x", steps = ["teleport"] }'),
     "t.toml step 1.check.path.steps: one of"),
    (('title = "one"', 'titel = "one"'), "t.toml step 1: unknown key 'titel'"),
    (("[[step]]", "[stepp]\nx = 1\n[[step]]"), "t.toml: unknown section 'stepp'"),
    (('"ip netns add {b}"', '"ip netns add {b}", "ip -n {a} x < nothere"'),
     "t.toml step 1.do: `< nothere`: give one name of [files]"),
    (("[lesson]", "[lesson\n"), "t.toml: cannot read it"),
])
def test_a_bad_lesson_file_says_where_in_one_line(tmp_path, change, message):
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(LessonError) as e:
        load_lesson(path)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_good_file_loads_and_keeps_state_for_planning(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    lesson = load_lesson(path)
    assert lesson.steps[0].text == "nsl-lesson7-a and nsl-lesson7-b"
    assert "{state}/ipam" in lesson.files["net.conf"]


def test_a_directory_or_device_is_refused_in_one_line(tmp_path):
    with pytest.raises(LessonError, match="lesson"):
        load_lesson(Path("/dev/zero"))


@pytest.fixture
def lesson(tmp_path, monkeypatch):
    monkeypatch.setenv("NETSCOPE_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    return load_lesson(path)


@pytest.mark.parametrize("command,kind", [
    ("ip netns add nsl-lesson7-a", NetnsAdd),
    ("ip -n nsl-lesson7-a link add br0 type bridge", Ip),
    ("ip netns exec nsl-lesson7-a sysctl -w net.ipv4.ip_forward=1", Sysctl),
    ("ip netns exec nsl-lesson7-a iptables -t nat -A POSTROUTING -j MASQUERADE", Iptables),
    ("ip netns exec nsl-lesson7-a serve web --tcp 80", Spawn),
    ("ip netns exec nsl-lesson7-a env CNI_COMMAND=ADD CNI_CONTAINERID=p1 "
     "CNI_NETNS=/run/netns/nsl-lesson7-b CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "
     "/usr/lib/cni/bridge < net.conf", Cni),
])
def test_commands_become_operations(lesson, command, kind):
    op = parse_command(command, lesson, "here")
    assert isinstance(op, kind)
    assert op_from_dict(op.to_dict()) == op  # journaled as it is


@pytest.mark.parametrize("command,message", [
    ("ip netns add other", "'other' is not a lesson namespace"),
    ("ip -n nsl-lesson1-a link", "not a lesson namespace"),
    ("ip link add x type dummy", "netscope cannot run"),
    ("ip netns exec nsl-lesson7-a sh -c 'rm -rf /'", "netscope cannot run"),
    ("ip netns exec nsl-lesson7-a sysctl -w kernel.panic=1", "only net.* sysctls"),
    ("ip netns exec nsl-lesson7-a iptables -t bogus -A X", "unknown iptables table"),
    ("ip netns exec nsl-lesson7-a serve web --exec /bin/sh", "serve NAME takes"),
    ("ip netns exec nsl-lesson7-a env CNI_COMMAND=ADD CNI_CONTAINERID=p "
     "CNI_NETNS=/run/netns/other CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge "
     "< net.conf", "'other' is not a lesson namespace"),
    ("ip netns exec nsl-lesson7-a env CNI_COMMAND=ADD CNI_CONTAINERID=p "
     "CNI_NETNS=/run/netns/nsl-lesson7-b CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /bin/sh "
     "< net.conf", "is not in CNI_PATH"),
    ("ip netns exec nsl-lesson7-a env LD_PRELOAD=x CNI_COMMAND=ADD /usr/lib/cni/bridge "
     "< net.conf", "LD_PRELOAD is not a CNI variable"),
])
def test_commands_outside_the_lesson_or_unknown_are_refused(lesson, command, message):
    with pytest.raises(LessonError, match=re.escape(message)):
        parse_command(command, lesson, "here")


def test_a_cni_add_is_undone_by_its_del_and_reads_its_config(lesson):
    op = parse_command("ip netns exec nsl-lesson7-a env CNI_COMMAND=ADD CNI_CONTAINERID=p1 "
                       "CNI_NETNS=/run/netns/nsl-lesson7-b CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "
                       "CNI_ARGS=K8S_POD_NAME=web /usr/lib/cni/bridge < net.conf", lesson, "x")
    undo = undo_of(op)
    assert isinstance(undo, Cni) and undo.command == "DEL" and undo.config == op.config
    assert undo.container_id == "p1" and undo.cni_args == "K8S_POD_NAME=web"
    assert "{state}" not in op.config and "/state/labs/lesson7/ipam" in op.config
    shell = op.shell()
    assert shell.startswith("ip netns exec nsl-lesson7-a env CNI_COMMAND=ADD")
    assert "<<'EOF'\n{" in shell and shell.endswith("\nEOF")
    assert undo_of(undo) is None


def test_progress_is_kept_and_a_damaged_file_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert lesson_progress.done_steps("nat") == []
    lesson_progress.mark_done("nat", 2)
    lesson_progress.mark_done("nat", 1)
    assert lesson_progress.done_steps("nat") == [1, 2]
    assert lesson_progress.take_hint("drills/x") == 1
    assert lesson_progress.hints_taken("drills/x") == 1
    path = tmp_path / "netscope" / "lessons.json"
    assert path.is_file()
    path.write_text('{"done": {"nat": [1, "two", true]}, "hints": []}')
    assert lesson_progress.done_steps("nat") == [1]
    path.write_text("not json")
    assert lesson_progress.done_steps("nat") == []


def test_every_fault_the_drills_judge_is_known():
    assert all(v.fault in FAULTS for lab in catalog.load_all() for v in lab.base.variants)


def test_every_puzzle_has_its_first_two_hints_and_does_not_give_itself_away():
    """The hints that need no host (where to look, what to look at) for every broken variant
    of the labs; the symptom the learner is shown never names the fault."""
    from netscope.actions import drills

    lesson = find("drills")
    found = drills.puzzles()
    assert len(found) == sum(len(lab.base.variants) for lab in catalog.load_all())
    for p in found:
        where = drills.hint(lesson, p, 1)
        assert f"nsl-lesson10-{p.target.partition(':')[0]}" in where
        what = drills.hint(lesson, p, 2)
        assert what.startswith(lesson.look[p.fault]) and "`netscope path nsl-lesson10-" in what
        report = p.report.lower()
        assert p.fault not in report and p.fault.replace("_", " ") not in report, p.ref
        assert p.fault not in p.ref.partition("/")[0]


def test_the_lessons_directory_is_filled_in_where_a_learner_reads_it(tmp_path, monkeypatch):
    """{state} in a step's words becomes the lesson's directory, in the CLI's and the TUI's
    text alike (the lessons backend), and in the CNI configuration a command reads."""
    from netscope.tui.backends import Backends

    monkeypatch.setenv("NETSCOPE_STATE_DIR", str(tmp_path))
    lesson = find("cni")
    text, commands, after = Backends().get("lessons").words(lesson, lesson.step(2))
    assert "{state}" not in text + after + "".join(commands)
    assert f"{tmp_path}/labs/lesson7/ipam" in after
    assert f'"dataDir": "{tmp_path}/labs/lesson7/ipam"' in commands[0]
