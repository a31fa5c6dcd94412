"""Shell completion: `netscope completion bash|zsh|fish` prints a script; the script asks
`netscope __complete CWORD WORDS...` what fits where the cursor is.

One implementation for the three shells: the parser says which words are commands, options
and values, and an argument marked by `convention.completes` says what names it takes
(namespaces and containers, lab names, lab instances). Names are read cheaply: from the
`--snapshot FILE` already on the command line, else from /run/netns, the lab journals and
Docker's container list (which needs root, or access to Docker's socket).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from netscope.cli.convention import add_command

FILES = "__files__"  # tells the shell script to complete file names itself
SHELLS = ("bash", "zsh", "fish")

BASH = r"""# bash completion for netscope: eval "$(netscope completion bash)"
_netscope() {
    local IFS=$'\n' cur=${COMP_WORDS[COMP_CWORD]} out
    out=$("${COMP_WORDS[0]}" __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null) || return 0
    if [[ $out == __files__ ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($out)
    fi
}
complete -F _netscope netscope
"""

ZSH = r"""#compdef netscope
# zsh completion for netscope: netscope completion zsh > "${fpath[1]}/_netscope"
# (or, after compinit: source <(netscope completion zsh))
_netscope() {
    local out
    out=$("${words[1]}" __complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null) || return 1
    if [[ $out == __files__ ]]; then
        _files
    else
        local -a found
        found=("${(@f)out}")
        compadd -- "${found[@]}"
    fi
}
# autoloaded from $fpath this file is _netscope's body: complete now; sourced: register it
if [[ $funcstack[1] == _netscope ]]; then
    _netscope "$@"
elif (( $+functions[compdef] )); then
    compdef _netscope netscope
fi
"""

FISH = r"""# fish completion for netscope:
#   netscope completion fish > ~/.config/fish/completions/netscope.fish
function __netscope_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l out ($words[1] __complete (count $words) $words $current 2>/dev/null)
    if test "$out" = __files__
        __fish_complete_path $current
    else
        printf '%s\n' $out
    end
end
complete -c netscope -f -a '(__netscope_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def add_parser(sub) -> None:
    p = add_command(
        sub, "completion", help="print the shell completion script for bash, zsh or fish",
        description="Print a completion script: subcommands, options, and the names of "
                    "namespaces, containers and labs (read from the live host, or from the "
                    "--snapshot FILE on the command line being completed).",
        epilog='bash:  eval "$(netscope completion bash)"   (in ~/.bashrc)\n'
               "zsh:   netscope completion zsh > \"${fpath[1]}/_netscope\"\n"
               "fish:  netscope completion fish > ~/.config/fish/completions/netscope.fish",
        run=run, live_only="it prints a shell script")
    p.add_argument("shell", choices=SHELLS)


def run(args) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return 0


def complete(argv: list[str]) -> int:
    """`netscope __complete CWORD WORD0 WORD1...`: print the candidates, one a line."""
    try:
        cword = int(argv[0])
    except (IndexError, ValueError):
        return 2
    words = argv[1:]
    current = words[cword] if cword < len(words) else ""
    from netscope.cli.parser import build_parser

    for line in candidates(build_parser(), words[1:cword], current):
        print(line)
    return 0


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _visible_commands(sub: argparse._SubParsersAction) -> list[str]:
    listed = {a.dest for a in sub._choices_actions}  # those with help, not aliases
    return [name for name in sub.choices if name in listed]


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def _walk(parser: argparse.ArgumentParser, words: list[str]):
    """(the innermost parser, the option waiting for a value or None, positionals given,
    --snapshot FILE if one was given)."""
    positionals: list[str] = []
    snapshot = None
    waiting: argparse.Action | None = None
    for word in words:
        if waiting is not None and word == "=":  # bash splits --opt=value at the '='
            continue
        if waiting is not None:
            if "--snapshot" in waiting.option_strings:
                snapshot = word
            waiting = None
            continue
        sub = _subparsers(parser)
        if sub is not None and not positionals and word in sub.choices:
            parser = sub.choices[word]
            continue
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            action = _options(parser).get(name)
            if action is not None and action.nargs != 0:
                if eq:
                    snapshot = value if name == "--snapshot" else snapshot
                else:
                    waiting = action
            continue
        positionals.append(word)
    return parser, waiting, positionals, snapshot


def candidates(parser: argparse.ArgumentParser, words: list[str], current: str) -> list[str]:
    """What may stand at the cursor after `words` (without the program name)."""
    parser, waiting, positionals, snapshot = _walk(parser, words)
    if waiting is not None:
        return _values(waiting, current, snapshot)
    if current.startswith("-"):
        shown = [s for a in parser._actions if a.help != argparse.SUPPRESS
                 for s in a.option_strings if s.startswith("--") or len(s) == 2]
        return sorted(s for s in set(shown) if s.startswith(current))
    sub = _subparsers(parser)
    if sub is not None and not positionals:
        return [n for n in _visible_commands(sub) if n.startswith(current)]
    args = [a for a in parser._actions if not a.option_strings and a.dest != "help"]
    if len(positionals) < len(args):
        return _values(args[len(positionals)], current, snapshot)
    return []


def _values(action: argparse.Action, current: str, snapshot: str | None) -> list[str]:
    kind = getattr(action, "complete", None)
    if kind == "file":
        return [FILES]
    if action.choices:
        found = [str(c) for c in action.choices]
    elif kind in ("namespace", "endpoint"):
        found = names(snapshot)
        if kind == "endpoint" and action.nargs == "?":
            found.append("any")
    elif kind in ("lab", "lab_variant"):
        found = lab_names(variants=kind == "lab_variant")
    elif kind == "lab_instance":
        found = lab_instances() or lab_names(variants=False)
    else:
        return []
    # a name with control characters cannot be typed and must not reach the terminal raw
    return sorted({f for f in found if f.startswith(current) and f.isprintable()})


def names(snapshot: str | None) -> list[str]:
    """Namespace and container names: from the snapshot FILE, else read cheaply here."""
    if snapshot:
        from netscope.snapshot import SnapshotError, load

        try:
            s = load(snapshot)
        except (SnapshotError, OSError):
            return []
        return [n.name for n in s.namespaces] + [c.name for c in s.containers]
    found = ["host"]
    with contextlib.suppress(OSError):
        found += os.listdir("/run/netns")
    from netscope.host import docker

    # not root, or no engine: the names of ip netns namespaces only
    with contextlib.suppress(docker.DockerUnavailable, OSError):
        found += docker.container_names()
    return found


def lab_names(variants: bool) -> list[str]:
    from netscope.labs import catalog

    try:
        files = catalog.load_all()
    except catalog.TopologyError:
        return [p.stem for p in catalog.lab_files()]
    out = [f.base.name for f in files]
    if variants:
        out += [f"{f.base.name}/{v.key}" for f in files for v in f.base.variants]
    return out


def lab_instances() -> list[str]:
    from netscope.actions import labs

    try:
        return [s.instance for s in labs.status()[0]]
    except (labs.LabError, OSError):
        return []
