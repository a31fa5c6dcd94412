"""Shell completion, driven through the shells' own completion machinery: bash's completion
function with COMP_WORDS/COMP_CWORD, zsh's function with its words/CURRENT, fish's
`complete -C`. The script runs a real `netscope` (this checkout) found on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = str(REPO / "fixtures" / "flows-dns-lab.json")


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory):
    """PATH with a `netscope` that runs this checkout, and the three scripts."""
    bin_dir = tmp_path_factory.mktemp("bin")
    wrapper = bin_dir / "netscope"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netscope "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "PYTHONPATH": str(REPO)}
    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        done = subprocess.run(["netscope", "completion", shell], env=env, capture_output=True,
                              text=True, check=True, timeout=60)
        scripts[shell] = bin_dir / f"netscope.{shell}"
        scripts[shell].write_text(done.stdout)
    return env, scripts


def bash_complete(shell_env, *words: str) -> list[str]:
    env, scripts = shell_env
    quoted = " ".join(f"'{w}'" for w in words)
    code = (f"source {scripts['bash']}\n"
            "complete -p netscope >&2\n"
            f"COMP_WORDS=(netscope {quoted}); COMP_CWORD={len(words)}\n"
            "_netscope\n"
            'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", code], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "complete -F _netscope netscope" in done.stderr  # registered for the command
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_subcommands_and_their_actions(shell_env):
    assert bash_complete(shell_env, "la") == ["lab"]
    assert set(bash_complete(shell_env, "")) >= {"show", "doctor", "trace", "lab",
                                                 "completion", "manpage"}
    assert bash_complete(shell_env, "lab", "st") == ["status"]
    assert "__complete" not in bash_complete(shell_env, "")


def test_bash_completes_options_and_their_choices(shell_env):
    assert bash_complete(shell_env, "doctor", "--ex") == ["--explain"]
    assert "--read-only" in bash_complete(shell_env, "--")
    assert bash_complete(shell_env, "path", "a", "b", "--proto", "") == ["icmp", "tcp", "udp"]
    assert bash_complete(shell_env, "completion", "") == ["bash", "fish", "zsh"]
    # hidden aliases are accepted, never offered
    assert "--timeout" not in bash_complete(shell_env, "trace", "--")


def test_bash_completes_lab_names_and_variants(shell_env):
    labs = bash_complete(shell_env, "lab", "up", "docker-b")
    assert "docker-bridge" in labs and "docker-bridge/ip_forward_off" in labs
    listed = bash_complete(shell_env, "lab", "list", "")
    assert {"docker-bridge", "macvlan", "pod-network"} <= set(listed)
    assert all("/" not in name for name in listed)


def test_bash_completes_namespace_names_from_the_snapshot_on_the_line(shell_env):
    assert bash_complete(shell_env, "--snapshot", FIXTURE, "path", "nsl-nsdxcap-c") == \
        ["nsl-nsdxcap-c1", "nsl-nsdxcap-c2"]
    # `--snapshot=FILE` reaches the function as bash splits it: at the '='
    assert bash_complete(shell_env, "flows", "--snapshot", "=", FIXTURE, "--ns",
                         "nsl-nsdxcap-h") == ["nsl-nsdxcap-host"]
    assert "fixtures" in bash_complete(shell_env, "show", "--snapshot", "=", "fix")
    assert "any" in bash_complete(shell_env, "trace", "--snapshot", FIXTURE, "")


def test_bash_completes_file_names_for_file_arguments(shell_env):
    assert "fixtures" in bash_complete(shell_env, "show", "--snapshot", "fix")
    assert "pyproject.toml" in bash_complete(shell_env, "diff", "pyproj")


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed (setup.sh installs it)")
def test_zsh_function_offers_what_bash_does(shell_env):
    env, scripts = shell_env
    code = ("compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\"; }\n"
            "_files() { print FILES; }\n"
            f"source {scripts['zsh']}\n"
            "words=(netscope lab up docker-b); CURRENT=4; _netscope\n"
            "words=(netscope show --snapshot x); CURRENT=4; _netscope\n")
    done = subprocess.run(["zsh", "-f", "-c", code], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "docker-bridge/ip_forward_off" in lines and lines[-1] == "FILES"


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed (setup.sh installs it)")
def test_zsh_autoloads_the_script_from_fpath(shell_env, tmp_path):
    """Installed as the README says (a file _netscope in $fpath), the first call completes."""
    env, scripts = shell_env
    (tmp_path / "_netscope").write_text(scripts["zsh"].read_text())
    code = (f"fpath=({tmp_path} $fpath); autoload -Uz _netscope\n"
            "compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\"; }\n"
            "words=(netscope lab st); CURRENT=3; _netscope\n")
    done = subprocess.run(["zsh", "-f", "-c", code], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["status"]


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed (setup.sh installs "
                                                     "it)")
def test_fish_completes_through_its_own_engine(shell_env):
    env, scripts = shell_env
    code = f"source {scripts['fish']}; complete -C 'netscope lab up docker-b'"
    done = subprocess.run(["fish", "--no-config", "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert "docker-bridge" in found and "docker-bridge/ip_forward_off" in found
