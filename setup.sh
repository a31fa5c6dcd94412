#!/usr/bin/env bash
# Install everything netscope needs on Debian 12, then run it or test it.
#
#   sudo ./setup.sh run  [NETSCOPE ARGS...]   install, then exec .venv/bin/netscope ARGS
#   sudo ./setup.sh test [PYTEST ARGS...]     install, then ruff and the whole pytest suite
#   sudo ./setup.sh bounds                    every dependency at its floor (.venv-lowest):
#                                             ruff, then the unit and TUI tiers (CI runs it)
#
# Every install step is idempotent and checks before it works: a second run downloads nothing.
set -euo pipefail

DEFAULT_RUN_ARGS=(demo)

DEBIAN_PACKAGES=(
    python3 python3-venv python3-pip python3-bpfcc bpftool linux-headers-amd64
    iproute2 iptables nftables conntrack docker.io busybox-static iperf3 tmux tshark
    graphviz procps
    # the tests render the HTML export in headless Chromium
    chromium
    # the completion tests drive bash's, zsh's and fish's own completion; groff renders netscope(1)
    zsh fish groff-base
    # container runtimes netscope reads, run for real by the podman and containerd tiers;
    # netavark named so that Podman does not fall back to its CNI backend
    podman netavark containerd containernetworking-plugins
)
SYSTEM_PYTHON=/usr/bin/python3
DEBIAN_BCC=/usr/lib/python3/dist-packages/bcc

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
VENV="$REPO/.venv"
DEPS_STAMP="$VENV/.netscope-pyproject.sha256"
LOWEST="$REPO/.venv-lowest"
LOWEST_STAMP="$LOWEST/.netscope-pyproject.sha256"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

usage() {
    cat >&2 <<EOF
usage: sudo ./setup.sh run [NETSCOPE ARGS...]   (default: ${DEFAULT_RUN_ARGS[*]})
       sudo ./setup.sh test [PYTEST ARGS...]
       sudo ./setup.sh bounds
EOF
    exit 2
}

install_debian_packages() {
    local missing=() pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "debian packages: all ${#DEBIAN_PACKAGES[@]} already installed"
        return
    fi
    say "debian packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark would otherwise ask whether non-root users may capture packets.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
    # Installing docker.io must not start dockerd: the docker tests start their own (vfs).
    local own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    local log
    log=$(mktemp /tmp/netscope-setup-apt.XXXXXX)
    { apt-get -q -o DPkg::Lock::Timeout=300 update \
        && apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing[@]}"
    } >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "apt-get failed (log: $log)"; }
    rm -f "$log"
    if [ -n "$own_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
}

# bcc compiles its programs against /lib/modules/$(uname -r)/{build,source}. A kernel without
# packaged headers gets Debian's newest headers linked there: they are for another kernel, so
# netscope's probes take every struct offset from BTF and only use the headers' generic parts.
link_fallback_headers() {
    local mods build common
    mods="/lib/modules/$(uname -r)"
    if [ -e "$mods/build" ]; then
        if [ "$(readlink "$mods/build")" = "$(fallback_headers)" ]; then
            say "kernel headers: fallback link already in place ($mods/build -> $(readlink "$mods/build"))"
        else
            say "kernel headers: $mods/build exists, left as it is"
        fi
        return
    fi
    build=$(fallback_headers)
    [ -n "$build" ] || die "no /usr/src/linux-headers-*-amd64 to link (is linux-headers-amd64 installed?)"
    common="${build%-amd64}-common"
    [ -d "$common" ] || die "$build has no matching $common"
    mkdir -p "$mods"
    ln -sfn "$build" "$mods/build"
    ln -sfn "$common" "$mods/source"
    say "kernel headers: none for $(uname -r); linked $mods/{build,source} to $(basename "$build")" \
        "(headers of another kernel: enough for bcc to compile, probes take struct offsets from BTF)"
}

fallback_headers() {
    find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -type d 2>/dev/null | sort -V | tail -n 1
}

make_venv() {
    # A venv from another Python, another path or with system site-packages is rebuilt.
    if [ -x "$VENV/bin/python" ] \
        && grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg" 2>/dev/null \
        && grep -qx 'include-system-site-packages = false' "$VENV/pyvenv.cfg" \
        && [ "$("$VENV/bin/python" -c 'import sys; print(sys.prefix)' 2>/dev/null)" = "$VENV" ]; then
        say "venv: $VENV already there"
    else
        rm -rf "$VENV"
        "$SYSTEM_PYTHON" -m venv "$VENV"
        say "venv: created $VENV with $SYSTEM_PYTHON"
    fi
    # Only Debian's bcc is made importable; the PyPI package named bcc is something else.
    local site link
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    link="$site/bcc"
    if [ "$(readlink "$link" 2>/dev/null)" = "$DEBIAN_BCC" ]; then
        say "bcc: already linked into the venv"
    else
        [ -d "$DEBIAN_BCC" ] || die "$DEBIAN_BCC is missing (is python3-bpfcc installed?)"
        ln -sfn "$DEBIAN_BCC" "$link"
        say "bcc: linked $link -> $DEBIAN_BCC"
    fi
}

install_python_deps() {
    local want
    want=$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)
    if [ "$(cat "$DEPS_STAMP" 2>/dev/null)" = "$want" ]; then
        say "python packages: up to date with pyproject.toml"
        return
    fi
    say "python packages: pip install -e '.[test,check]' (pyproject.toml is new or changed)"
    (cd "$REPO" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -e '.[test,check]')
    echo "$want" >"$DEPS_STAMP"
}

# The lowest set: every requirement of pyproject.toml (runtime, check and test) pinned to its
# floor, in a venv of its own, so that the floors pyproject.toml declares are the tested ones.
make_lowest_venv() {
    local want
    want=$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)
    if [ -x "$LOWEST/bin/python" ] && [ "$(cat "$LOWEST_STAMP" 2>/dev/null)" = "$want" ]; then
        say "lowest venv: $LOWEST up to date with pyproject.toml"
        return
    fi
    rm -rf "$LOWEST"
    "$SYSTEM_PYTHON" -m venv "$LOWEST"
    "$SYSTEM_PYTHON" "$REPO/.ci/floors.py" "$REPO/pyproject.toml" >"$LOWEST/floors.txt"
    say "lowest venv: pip install -e '.[test,check]' with $(tr '\n' ' ' <"$LOWEST/floors.txt")"
    (cd "$REPO" && "$LOWEST/bin/python" -m pip install -q --disable-pip-version-check \
        -c "$LOWEST/floors.txt" -e '.[test,check]')
    echo "$want" >"$LOWEST_STAMP"
}

check_bcc() {
    local err
    if err=$("$VENV/bin/python" -c \
        "from bcc import BPF; BPF(text='int f(void *c){return 0;}')" 2>&1); then
        say "bcc: compiles and loads a BPF program"
    else
        say "WARNING: bcc cannot compile a BPF program here; eBPF features will fail:" \
            "$(printf '%s\n' "$err" | grep -v '^ ' | tail -n 1)"
    fi
}

install_all() {
    [ "$(id -u)" -eq 0 ] || die "run as root: sudo ./setup.sh $MODE"
    install_debian_packages
    link_fallback_headers
    make_venv
    install_python_deps
    check_bcc
}

run_tests() {
    cd "$REPO"
    local ruff_rc=0 pytest_rc=0
    say "ruff check ."
    "$VENV/bin/ruff" check . || ruff_rc=$?
    say "pytest (unit, kernel, docker, tui)"
    "$VENV/bin/python" -m pytest "$@" || pytest_rc=$?
    if [ "$pytest_rc" -eq 5 ]; then
        say "FAILED: pytest collected no tests: the test suite is broken or the arguments select nothing"
    fi
    if [ "$ruff_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ]; then
        say "FAILED: ruff exit $ruff_rc, pytest exit $pytest_rc"
        exit 1
    fi
    say "all checks passed"
}

run_bounds() {
    cd "$REPO"
    local ruff_rc=0 pytest_rc=0
    say "bounds: ruff check . (ruff $("$LOWEST/bin/ruff" --version | cut -d' ' -f2), its floor)"
    "$LOWEST/bin/ruff" check . || ruff_rc=$?
    say "bounds: unit and TUI tiers at the floors: $("$LOWEST/bin/python" "$REPO/.ci/floors.py" \
        --installed "$REPO/pyproject.toml")"
    # SVG screenshots belong to one Textual version: rendered here, compared in `test`
    # (so syrupy's stored pictures go unused here, which is not a failure)
    NETSCOPE_SNAPSHOTS=render "$LOWEST/bin/python" -m pytest -p no:cacheprovider \
        --snapshot-warn-unused tests/unit tests/tui "$@" || pytest_rc=$?
    if [ "$ruff_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ]; then
        say "FAILED at the floors: ruff exit $ruff_rc, pytest exit $pytest_rc"
        exit 1
    fi
    say "bounds: the floors pass"
}

[ $# -ge 1 ] || usage
MODE=$1
shift
case "$MODE" in
    run)
        install_all
        [ $# -gt 0 ] || set -- "${DEFAULT_RUN_ARGS[@]}"
        exec "$VENV/bin/netscope" "$@"
        ;;
    test)
        install_all
        run_tests "$@"
        ;;
    bounds)
        install_all
        make_lowest_venv
        run_bounds "$@"
        ;;
    *) usage ;;
esac
