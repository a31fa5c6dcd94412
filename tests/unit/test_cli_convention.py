"""The one CLI convention (docs/cli.md), checked over every command the parser knows, so a
new command is covered without touching this file (or fails here until it follows it)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from netscope.cli.convention import leaf_parsers
from netscope.cli.main import build_parser, main

FIXTURE = str(Path(__file__).resolve().parents[2] / "fixtures" / "flows-dns-lab.json")

# Arguments a command needs besides --snapshot to do its work on FIXTURE. A new command that
# reads snapshots and has required arguments must be given some here (the test says so).
ARGS_ON_FIXTURE = {
    "path": ["nsl-nsdxcap-c1", "nsl-nsdxcap-c2", "--proto", "tcp", "--port", "80"],
    "export": ["--format", "md"],
    "flows": ["--ns", "nsl-nsdxcap-c1"],
}


def commands():
    return [(" ".join(names), p) for names, p in leaf_parsers(build_parser())
            if not names[-1].startswith("_")]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors
            code = e.code
    return code, out.getvalue(), err.getvalue()


def info(parser):
    return parser.get_default("cli_command")


def required_positionals(parser) -> list[str]:
    return [a.metavar or a.dest for a in parser._actions
            if not a.option_strings and a.required and a.dest != "help"]


def placeholders(parser) -> list[str]:
    """A value for each required positional that parses (not one that works)."""
    return [sorted(a.choices)[0] if a.choices else "x" for a in parser._actions
            if not a.option_strings and a.required and a.dest != "help"]


@pytest.mark.parametrize("name,parser", commands(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_every_command_follows_the_convention(name, parser):
    c = info(parser)
    assert c is not None, f"{name} was not registered with netscope.cli.convention.add_command"
    assert c.name == name
    assert c.snapshot or c.live_only, f"{name}: say why it cannot read a snapshot (live_only)"
    assert c.exits[-1][0] == 2 and c.exits[0][0] == 0
    help_text = parser.format_help()
    assert "exit status:" in help_text and "  2  error" in help_text
    has_json = any("--json" in a.option_strings for a in parser._actions)
    assert has_json == bool(c.json_doc), f"{name}: --json and its documentation go together"
    options = [s for a in parser._actions for s in a.option_strings]
    assert "--snapshot" in options and "--read-only" in options


@pytest.mark.parametrize("name,parser", [(n, p) for n, p in commands() if info(p).snapshot],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_global_snapshot_equals_the_commands_own(name, parser):
    words = name.split()
    extra = ARGS_ON_FIXTURE.get(name, [])
    missing = required_positionals(parser)
    assert not missing or name in ARGS_ON_FIXTURE, \
        f"{name} needs {missing}: add its arguments on the fixture to ARGS_ON_FIXTURE"
    before = run(["--snapshot", FIXTURE, *words, *extra])
    after = run([*words, *extra, "--snapshot", FIXTURE])
    assert before == after
    assert before[0] in (0, 1), before[2]  # it did its work on the file, not an error
    assert before[1], f"{name} printed nothing"
    if info(parser).json_doc:
        as_json = run(["--snapshot", FIXTURE, *words, *extra, "--json"])
        assert as_json[0] in (0, 1)
        json.loads(as_json[1])


@pytest.mark.parametrize("name,parser", [(n, p) for n, p in commands()
                                         if not info(p).snapshot],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_command_that_cannot_read_a_snapshot_refuses_it_in_one_line(name, parser):
    words = name.split()
    positionals = placeholders(parser)
    code, out, err = run(["--snapshot", FIXTURE, *words, *positionals])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--snapshot" in err and "Traceback" not in err
    assert run([*words, *positionals, "--snapshot", FIXTURE]) == (code, out, err)


@pytest.mark.parametrize("name,parser", [(n, p) for n, p in commands()
                                         if info(p).changes_host],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_command_that_changes_the_host_refuses_read_only(name, parser, monkeypatch):
    import importlib

    func = parser.get_default("func")

    def must_not_run(_args):
        raise AssertionError(f"{name} ran with --read-only")

    # were the refusal broken, the command must still not touch this host
    monkeypatch.setattr(importlib.import_module(func.__module__), func.__name__, must_not_run)
    words = name.split()
    positionals = placeholders(parser)
    for argv in (["--read-only", *words, *positionals], [*words, *positionals, "--read-only"]):
        code, out, err = run(argv)
        assert code == 2 and out == "" and "refused with --read-only" in err
        assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["repair", "ip_forward_off@host"], ["undo"], ["lab", "up", "docker-bridge"],
    ["trace", "any", "10.0.0.1", "--rules"], ["check", "a", "b"],
    ["flows", "--enable-accounting"], ["learn", "1", "--do"], ["learn", "1", "--end"],
    ["learn", "drills", "--step", "1", "--do"],
])
def test_changes_made_only_with_some_options_are_refused_read_only(argv, tmp_path,
                                                                   monkeypatch):
    # were the refusal broken, undo must not revert a repair of this host
    monkeypatch.setenv("NETSCOPE_STATE_DIR", str(tmp_path))
    code, out, err = run(["--read-only", *argv])
    assert code == 2 and out == "" and "refused with --read-only" in err, err


def test_read_only_allows_what_only_looks():
    code, out, _ = run(["--read-only", "lab", "up", "docker-bridge", "--dry-run"])
    assert code == 0 and "ip netns add nsl-docker-bridge-host" in out
    code, out, _ = run(["--read-only", "doctor", "--snapshot", FIXTURE])
    assert code in (0, 1) and out


def parsed(argv: list[str]):
    return build_parser().parse_args(argv)


def test_old_spellings_are_hidden_aliases_of_the_one_name():
    assert parsed(["trace", "--src", "a", "--dst", "b", "--timeout", "3"]) == \
        parsed(["trace", "a", "b", "--duration", "3"])
    assert vars(parsed(["trace", "--dst", "b"]))["dst"] == "b"
    assert parsed(["flows", "--wait", "4"]).duration == 4
    assert parsed(["netdex", "--md", "r.md"]).output == "r.md"
    old = parsed(["trace", "--record", "r.json", "--pcap", "p.pcapng"])
    assert (old.record, old.pcap) == ("r.json", "p.pcapng")
    helps = {n: p.format_help() for n, p in commands()}
    for name, spelling in (("trace", "--timeout"), ("trace", "--src"), ("flows", "--wait"),
                           ("netdex", "--md"), ("trace", "--record"), ("trace", "--pcap")):
        assert spelling not in helps[name], f"{spelling} shows in `{name} --help`"


def test_trace_output_files_by_extension():
    from netscope.cli.errors import UserError
    from netscope.cli.trace_cmd import output_files

    assert output_files(parsed(["trace", "-o", "r.json", "-o", "t.pcapng"])) == \
        ("r.json", "t.pcapng")
    with pytest.raises(UserError, match=r"-o t\.txt"):
        output_files(parsed(["trace", "-o", "t.txt"]))


def test_the_global_snapshot_reaches_a_subcommand_in_a_new_process():
    """The bug this convention fixes: `netscope --snapshot F doctor` read the live host."""
    done = subprocess.run([sys.executable, "-m", "netscope", "--snapshot", FIXTURE, "show"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("vm  kernel 6.18.44-fc-v669  2026-11-23T15:05:59+00:00")
