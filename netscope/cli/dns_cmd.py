"""`netscope dns [--ns NAME] [--all] [--path] [--json]`: each namespace's DNS configuration
and where its queries really go.

For every namespace where processes run (--all: every namespace): the resolv.conf they read
(through /proc/<pid>/root, so a container's own), its nameservers, search domains and ndots,
/etc/hosts, and for each nameserver where queries go: Docker's embedded DNS 127.0.0.11 with
the DNAT rules in the container's nat table and the sockets they lead to, a loopback address
nothing answers (127.0.0.53 copied from the host), or the static path walk to a routed one
(--path prints its hops).

--json prints {"format": "netscope-dns", "version": 1, "namespaces": [{"netns", "name",
"containers", "resolver": (the snapshot's resolver fields, docs/snapshot.md), "home",
"inherited", "judged",
"nameservers": [{"nameserver", "kind", "reachable", "explain", "dnat", "listeners",
"path_end", "path_reason"}]}]}; reachable is true, false or null (cannot say).
"""

from __future__ import annotations

import dataclasses
import json
import sys

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError
from netscope.cli.source import snapshot_from_args

JSON_FORMAT = "netscope-dns"
JSON_VERSION = 1
HOSTS_SHOWN = 6


def add_parser(sub) -> None:
    p = add_command(
        sub, "dns", help="service discovery per namespace: resolv.conf, /etc/hosts, where "
                         "queries go",
        description="Each namespace's resolv.conf and /etc/hosts as its processes read "
                    "them, and for each nameserver where the queries really go (Docker's "
                    "embedded DNS and its DNAT rules, a loopback address nothing answers, "
                    "or the path walk to a routed server) and whether anything answers.",
        run=run, snapshot=True, json_doc="docs/cli.md#dns")
    completes(p.add_argument("--ns", metavar="NAME", help="only this namespace or container"),
              "namespace")
    p.add_argument("--all", action="store_true",
                   help="also namespaces where no process runs (nothing resolves there)")
    p.add_argument("--path", action="store_true",
                   help="print the path walk to each routed nameserver")


def run(args) -> int:
    from netscope.analysis.dns import dns_rows
    from netscope.cli.flows_cmd import select_ns

    snapshot = snapshot_from_args(args)
    if "dns" not in snapshot.header.collectors:
        raise UserError("this snapshot has no DNS view (taken by a netscope without the dns "
                        "collector): take a new one with `netscope snapshot`")
    wanted = select_ns(snapshot, args.ns)
    rows = [r for r in dns_rows(snapshot, idle=args.all or wanted is not None)
            if wanted is None or r.netns == wanted]
    if args.json:
        json.dump({"format": JSON_FORMAT, "version": JSON_VERSION,
                   "namespaces": [_row_json(r) for r in rows]}, sys.stdout, indent=1)
        print()
        return 0
    if not rows:
        print("no namespace with running processes" + (" there" if args.ns else "")
              + ("" if args.all else " (--all shows idle namespaces too)"))
        return 0
    print("\n\n".join("\n".join(_row_lines(r, args.path)) for r in rows))
    return 0


def _row_json(r) -> dict:
    return {"netns": r.netns, "name": r.name, "containers": list(r.containers),
            "resolver": dataclasses.asdict(r.resolver), "home": r.home,
            "inherited": r.inherited, "judged": r.judged,
            "nameservers": [{
                "nameserver": v.nameserver, "kind": v.kind, "reachable": v.reachable,
                "explain": v.explain, "dnat": list(v.dnat), "listeners": list(v.listeners),
                "path_end": str(v.path.verdict) if v.path else None,
                "path_reason": v.path.summary if v.path else None} for v in r.nameservers]}


_MARK = {True: "ok", False: "UNREACHABLE", None: "?"}


def _row_lines(r, with_path: bool) -> list[str]:
    from netscope.cli.journey_text import render_path

    res = r.resolver
    title = r.name + (f" (container {', '.join(r.containers)})" if r.containers else "")
    seen = ", ".join(f"{c}[{p}]" for c, p in zip(res.comms[:4], res.pids[:4], strict=False))
    more = f" +{len(res.pids) - 4}" if len(res.pids) > 4 else ""
    lines = [f"{title}", f"  {res.path}" + (f"  read by {seen}{more}" if seen else
                                             "  (no process runs here)")]
    if r.inherited and res.pids:
        lines.append("  the host's own resolv.conf (inherited, not given to this namespace)")
    if res.error:
        lines.append(f"  cannot read: {res.error}")
    if not res.nameservers:
        lines.append("  no nameserver line: the resolver asks 127.0.0.1")
    for v in r.nameservers:
        lines.append(f"  nameserver {v.nameserver:<15} {_MARK[v.reachable]:<11} {v.explain}")
        lines += [f"      DNAT {rule}" for rule in v.dnat]
        lines += [f"      answered by {sock}" for sock in v.listeners]
        if with_path and v.path is not None:
            lines += ["      " + line for line in render_path(v.path)]
    extra = []
    if res.search:
        extra.append("search " + " ".join(res.search))
    extra.append(f"ndots {res.ndots if res.ndots is not None else '1 (default)'}")
    if res.options:
        extra.append("options " + " ".join(res.options))
    lines.append("  " + "; ".join(extra))
    if res.hosts:
        shown = ", ".join(f"{h.address} {' '.join(h.names)}" for h in res.hosts[:HOSTS_SHOWN])
        more_hosts = f" (+{len(res.hosts) - HOSTS_SHOWN})" if len(res.hosts) > HOSTS_SHOWN else ""
        lines.append(f"  {res.hosts_path}: {shown}{more_hosts}")
    return lines
