"""published_port_no_listener and published_port_loopback_only: a published port (a DNAT
rule: Docker's, Podman's, kube-proxy's) leads to a namespace where no socket takes it."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph
from netscope.graph.sockets import is_loopback


def _arriving_link(graph: HostGraph, netns: str, address: str) -> str | None:
    """The interface holding `address` in `netns` (where the DNATed packets arrive)."""
    return next((a.link for a in graph.addresses_in(netns) if a.address == address), None)


def _endpoint(sock) -> str:
    host = f"[{sock.local}]" if ":" in sock.local else sock.local
    return f"{host}:{sock.local_port}"


def _refused(graph: HostGraph):
    """(published port, namespace, socket match) of every published port whose target
    namespace has no socket that takes it (its sockets known), once per target."""
    seen: set[tuple] = set()
    for pub in graph.published_ports:
        if not pub.owners or pub.target_port is None:
            continue  # nobody holds the address (dnat_missing_backend), or ports unclear
        netns = pub.owners[0]
        key = (netns, pub.proto, pub.target, pub.target_port)
        if key in seen:
            continue
        seen.add(key)
        match = graph.socket_lookup(netns, pub.family, pub.proto, pub.target, pub.target_port,
                                    iif=_arriving_link(graph, netns, pub.target))
        if match is None or match.sockets:
            continue  # sockets unknown there, or one takes it
        yield pub, netns, match


def run_loopback(graph: HostGraph):
    for pub, netns, match in _refused(graph):
        loopback = [s for s, _ in match.missed if is_loopback(s.local)]
        if not loopback:
            continue
        name = graph.ns_name(netns)
        sock = loopback[0]
        yield LOOPBACK_ONLY.finding(
            where(graph, netns, f"{pub.proto}/{pub.target_port}"),
            f"the published port {pub.words()} leads to {name}, where "
            f"{graph.socket_owner(sock)} listens on {_endpoint(sock)} only: connections "
            f"from outside are refused. Make it listen on "
            f"{'[::]' if ':' in sock.local else '0.0.0.0'}:{pub.target_port} (every "
            f"address) or on {pub.target}:{pub.target_port} inside {name} "
            f"({_rule(graph, pub)})",
            evidence=(pub.rule.id, netns, *(s.id for s, _ in match.missed)),
            subject=pub.rule.id)


def _rule(graph: HostGraph, pub) -> str:
    return f"'{pub.rule.text}' in {graph.ns_name(pub.rule.netns)}"


def run_no_listener(graph: HostGraph):
    for pub, netns, match in _refused(graph):
        if any(is_loopback(s.local) for s, _ in match.missed):
            continue  # published_port_loopback_only says what to change
        name = graph.ns_name(netns)
        port = f"{pub.proto}/{pub.target_port}"
        why = "; ".join(f"{graph.socket_owner(s)} is on {_endpoint(s)} but {reason}"
                        for s, reason in match.missed)
        others = ""
        if match.other_ports:
            others = (f"; it {'listens' if pub.proto == 'tcp' else 'receives'} on "
                      f"{pub.proto}/{', '.join(str(p) for p in match.other_ports[:6])}")
        yield NO_LISTENER.finding(
            where(graph, netns, port),
            f"the published port {pub.words()} leads to {name}, but nothing there "
            f"{'listens' if pub.proto == 'tcp' else 'receives'} on {port}"
            + (f" ({why})" if why else "") + others
            + f": connections are refused ({_rule(graph, pub)})",
            evidence=(pub.rule.id, netns, *(s.id for s, _ in match.missed)),
            subject=pub.rule.id)


NO_LISTENER = Check(
    id="published_port_no_listener", severity="error",
    title="a published port leads where nothing listens",
    explain="A published port is a DNAT rule: connections to the host's port are rewritten "
            "to a container's address and port. When no socket in the container listens on "
            "that port (the service is down, crashed, or listens on another port), the "
            "container's kernel answers each connection with a TCP RST (UDP: ICMP port "
            "unreachable): clients see 'connection refused' at once. Start the service, or "
            "publish the port it really listens on.",
    run=run_no_listener)

LOOPBACK_ONLY = Check(
    id="published_port_loopback_only", severity="error",
    title="a published service listens on the container's loopback only",
    explain="Inside a container, 127.0.0.1 is the container's own loopback, not the host's. "
            "A service bound to it takes only connections made inside that container; the "
            "published port's DNAT sends connections to the container's own address, so they "
            "find no socket and are refused (TCP RST). `ss -tln` inside the container still "
            "shows the port listening, which is what makes this one confusing. The service "
            "must listen on 0.0.0.0 (or the container's address): nginx `listen 80;`, a dev "
            "server's `--host 0.0.0.0`, Postgres `listen_addresses = '*'`.",
    run=run_loopback)
