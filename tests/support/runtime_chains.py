"""The chains container runtimes make once and never remove (netavark's NETAVARK_FORWARD and
NETAVARK-HOSTPORT-*, the portmap plugin's CNI-HOSTPORT-*): a test tier that made them removes
them afterwards, with the jumps to them, when they were not there before it ran."""

from __future__ import annotations

import subprocess


def chains(table: str) -> set[str]:
    """The chains of an iptables table in the namespace this runs in."""
    out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
    return {line[1:].split()[0] for line in out.splitlines() if line.startswith(":")}


def remove(jumps: tuple[tuple[str, ...], ...], made: tuple[tuple[str, str], ...]) -> None:
    """Delete every `jumps` rule (table, chain, rule args...) as often as it is there, then
    flush and delete the chains `made` ((table, chain) pairs)."""
    for table, chain, *rule in jumps:
        while subprocess.run(["iptables", "-t", table, "-D", chain, *rule],
                             capture_output=True).returncode == 0:
            pass
    for table, chain in made:
        subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
    for table, chain in made:
        subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)
