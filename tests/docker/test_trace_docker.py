"""The tracer on real Docker containers: a ping across docker0 shown with container names,
and a connection to a published port shown with its DNAT rewrite."""

from __future__ import annotations

import secrets
import socket
import threading

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from netscope.trace.places import Places
from netscope.trace.preflight import bcc_importable
from netscope.trace.session import run_trace
from netscope.trace.tracer import TraceFilter
from tests.support.netns import Namespaces, add_host_client, sh

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def _needs_bcc():
    if not bcc_importable():
        pytest.skip("bcc (python3-bpfcc) is not installed")


def trace_while(flt: TraceFilter, places: Places, action, count: int = 1):
    def attached(_seconds: float) -> None:
        threading.Thread(target=action, daemon=True).start()

    return run_trace(flt, places, count=count, timeout=10, on_attached=attached)


def hops_text(result) -> str:
    return "\n".join(f"{j.id} {j.packet} {j.summary}\n" + "\n".join(
        f"   {h.step} {h.netns_name} {h.device} {h.decision}" for h in j.hops)
        for j in result.journeys)


def test_ping_between_containers_across_docker0_is_named_by_container(docker_engine,
                                                                       docker_run):
    c1, c2 = docker_run("tr1"), docker_run("tr2")
    snapshot = collect_snapshot()
    ip1, ip2 = HostGraph.of(snapshot).resolve_filter(c1.name, c2.name)
    result = trace_while(
        TraceFilter(src=ip1, dst=ip2, proto="icmp"), Places(snapshot),
        lambda: docker_engine.cli("exec", c1.name, "ping", "-c", "1", "-W", "2", ip2,
                                  check=False))
    text = hops_text(result)
    request = next(j for j in result.journeys if not j.is_reply)
    assert request.verdict == "delivered", text
    seen = [(h.step, h.netns_name, h.device) for h in request.hops]
    assert ("xmit", c1.name, "eth0") in seen, text
    assert ("receive", c2.name, "eth0") in seen, text
    bridge = next(h for h in request.hops if h.step == "bridge")
    assert bridge.device == "docker0" and bridge.netns_name == "host", text
    assert seen.index(("xmit", c1.name, "eth0")) < seen.index(("bridge", "host", "docker0")) \
        < seen.index(("receive", c2.name, "eth0")), text
    reply = next(j for j in result.journeys if j.reply_to == request.id)
    assert reply.verdict == "delivered" and c1.name in reply.summary, hops_text(result)


@pytest.fixture
def client():
    """A namespace of ours (prefix nstr) joined to the host by a veth: it reaches the host's
    published ports from outside, as a client on the network would."""
    spaces = Namespaces("nstr")
    net = f"10.63.{secrets.randbelow(250)}"
    try:
        yield add_host_client(spaces, net)
    finally:
        spaces.cleanup()


def test_connection_to_a_published_port_shows_the_dnat_rewrite(docker_engine, client,
                                                                docker_run):
    ns, host_ip, client_ip = client
    web = docker_run("trweb", "-p", "18080:80", cmd=("httpd", "-f", "-p", "80"))
    snapshot = collect_snapshot()
    web_ip = HostGraph.of(snapshot).resolve(web.name).address
    connect = ("import socket, sys; s = socket.create_connection((sys.argv[1], 18080), "
               "timeout=3); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(100)")
    result = trace_while(
        TraceFilter(src=client_ip, dst=host_ip, proto="tcp", port=18080), Places(snapshot),
        lambda: sh("ip", "netns", "exec", ns, "python3", "-c", connect, host_ip, check=False))
    text = hops_text(result)
    syn = next(j for j in result.journeys if not j.is_reply)
    assert syn.packet.endswith("[SYN]"), text
    nat = next((h for h in syn.hops if h.step == "nat"), None)
    assert nat is not None and nat.netns_name == "host", text
    assert nat.nat == f"dst {host_ip}:18080 -> {web_ip}:80", text
    assert any(h.netns_name == web.name and h.step == "receive" for h in syn.hops), text
    assert syn.verdict == "delivered" and web.name in syn.summary, text
    synack = next(j for j in result.journeys if j.reply_to == syn.id)
    assert synack.hops[0].netns_name == web.name, text
    back = next((h for h in synack.hops if h.step == "nat"), None)
    assert back is not None and back.nat == f"src {web_ip}:80 -> {host_ip}:18080", text
    assert any(h.netns_name == ns and h.step == "receive" for h in synack.hops), text


def test_connection_from_the_host_itself_is_followed_through_nat_output(docker_engine,
                                                                         docker_run):
    web = docker_run("trlocal", "-p", "18081:80", cmd=("httpd", "-f", "-p", "80"))
    snapshot = collect_snapshot()
    graph = HostGraph.of(snapshot)
    web_ip = graph.resolve(web.name).address
    gateway = next(a.address for a in snapshot.addresses
                   if graph.links[a.link].name == "docker0" and a.family == "inet")

    def connect() -> None:
        # docker0's own address: nat OUTPUT rewrites it before any skb hook sees the SYN
        with socket.create_connection((gateway, 18081), timeout=3) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.recv(100)

    result = trace_while(TraceFilter(dst=gateway, proto="tcp", port=18081), Places(snapshot),
                         connect)
    text = hops_text(result)
    syn = next(j for j in result.journeys if not j.is_reply)
    assert [h.step for h in syn.hops][:2] == ["connect", "nat"], text
    assert syn.hops[1].nat == f"dst {gateway}:18081 -> {web_ip}:80", text
    assert syn.verdict == "delivered" and web.name in syn.summary, text
    synack = next(j for j in result.journeys if j.reply_to == syn.id)
    assert synack.hops[0].netns_name == web.name, text
