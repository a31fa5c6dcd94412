"""Conntrack netlink parsing, against a real dump and `conntrack -L` of the same table.

fixtures/netfilter/conntrack-dump.txt was captured by capture_conntrack.py from a router
namespace doing MASQUERADE: each entry netscope parses must say what conntrack(8) says.
"""

import dataclasses
import socket
from pathlib import Path

import pytest

from netscope.host import conntrack
from netscope.host.netlink import NLMSG_DONE, NLMSG_HDR
from netscope.model.netfilter import ConntrackEntry, CtTuple

FIXTURE = Path(__file__).parents[2] / "fixtures" / "netfilter" / "conntrack-dump.txt"
INODE = 4026532002


def _fixture() -> tuple[list[bytes], list[str]]:
    bodies, listing = [], []
    for line in FIXTURE.read_text().splitlines():
        if line.startswith("msg "):
            bodies.append(bytes.fromhex(line[4:]))
        elif line.startswith("conntrack-L "):
            listing.append(line[len("conntrack-L "):])
    return bodies, listing


def _conntrack_line(line: str) -> dict:
    """One `conntrack -L` line as {"orig": {...}, "reply": {...}, ...}."""
    words = line.split()
    out: dict = {"proto": words[0], "timeout": int(words[2]), "flags": set(),
                 "orig": {}, "reply": {}, "state": None}
    side = None
    for word in words[3:]:
        if word.startswith("["):
            out["flags"].add(word.strip("[]"))
        elif "=" not in word:
            out["state"] = word
        else:
            key, value = word.split("=", 1)
            if key == "src":
                side = "orig" if side is None else "reply"
            if (side and key in ("src", "dst", "sport", "dport", "type", "code", "packets",
                                "bytes")) or (key == "id" and side and "use" not in out):
                out[side][key] = value
            else:
                out[key] = value
    return out


@pytest.fixture(scope="module")
def parsed():
    bodies, listing = _fixture()
    cache: dict = {}
    entries = [conntrack.parse_entry(b, 0, len(b), INODE, cache) for b in bodies]
    return entries, [_conntrack_line(line) for line in listing]


def _side_matches(t: CtTuple, want: dict, packets, nbytes) -> None:
    assert (t.src, t.dst) == (want["src"], want["dst"])
    if "sport" in want:
        assert (t.sport, t.dport) == (int(want["sport"]), int(want["dport"]))
    else:
        assert (t.icmp_type, t.icmp_code) == (int(want["type"]), int(want["code"]))
        assert t.icmp_id == int(want["id"])
    assert (packets, nbytes) == (int(want["packets"]), int(want["bytes"]))


def test_every_entry_agrees_with_conntrack_tool(parsed):
    entries, listing = parsed
    assert len(entries) == len(listing) == 6
    for entry, want in zip(entries, listing, strict=True):
        assert entry.proto == want["proto"]
        assert entry.id == f"ct:{INODE}/{want['id']}"
        _side_matches(entry.orig, want["orig"], entry.orig_packets, entry.orig_bytes)
        _side_matches(entry.reply, want["reply"], entry.reply_packets, entry.reply_bytes)
        assert entry.state == want["state"]
        assert entry.mark == int(want["mark"])
        assert entry.zone == int(want.get("zone", 0))
        assert ("ASSURED" in entry.status) == ("ASSURED" in want["flags"])
        assert ("SEEN_REPLY" not in entry.status) == ("UNREPLIED" in want["flags"])
        # the tool prints the timeout a moment later than the dump: allow a second or two
        assert 0 <= entry.timeout - want["timeout"] <= 2


def test_masquerade_shows_as_a_mapping(parsed):
    entries, _ = parsed
    tcp = next(e for e in entries if e.proto == "tcp")
    assert (tcp.orig.src, tcp.orig.dst, tcp.orig.dport) == ("10.77.1.2", "10.77.2.2", 8080)
    assert (tcp.reply.src, tcp.reply.dst) == ("10.77.2.2", "10.77.2.1")
    assert tcp.snat and not tcp.dnat
    assert {"SRC_NAT", "SRC_NAT_DONE", "ASSURED", "CONFIRMED"} <= set(tcp.status)
    assert tcp.state == "ESTABLISHED"
    v6 = next(e for e in entries if e.family == "ipv6")
    assert v6.proto == "icmpv6" and not v6.snat and not v6.dnat


def test_fast_objects_equal_constructed_ones(parsed):
    entries, _ = parsed
    for entry in entries:
        rebuilt = ConntrackEntry(**{f.name: getattr(entry, f.name)
                                    for f in dataclasses.fields(entry)})
        assert rebuilt == entry and hash(rebuilt) == hash(entry)
        for t in (entry.orig, entry.reply):
            assert CtTuple(**dataclasses.asdict(t)) == t


def test_ipv4_fast_path_and_general_parser_agree(parsed):
    bodies, _ = _fixture()
    v4 = [b for b in bodies if b[0] == 2]
    for body in v4:
        a = conntrack.parse_attrs(body, 4)
        fast = conntrack.parse_tuple(a[1], {})
        slow = conntrack._tuple_slow(a[1], {})
        assert fast == slow


class _FakeNetlink:
    """Hands out a canned dump in chunks, as the kernel does, and records what was sent."""

    def __init__(self, bodies: list[bytes], per_chunk: int) -> None:
        self.sent: list[bytes] = []
        self.bodies, self.per_chunk = bodies, per_chunk
        self.chunks: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        seq = NLMSG_HDR.unpack_from(data)[3]
        msgs = [NLMSG_HDR.pack(16 + len(b), 1 << 8, 2, seq, 0) + b + b"\0" * (-len(b) % 4)
                for b in self.bodies]
        msgs.append(NLMSG_HDR.pack(20, NLMSG_DONE, 2, seq, 0) + b"\0" * 4)
        self.chunks = [b"".join(msgs[i:i + self.per_chunk])
                       for i in range(0, len(msgs), self.per_chunk)]
        self.chunks_sent = list(self.chunks)

    def recv_into(self, buf: bytearray) -> int:
        chunk = self.chunks.pop(0)
        buf[:len(chunk)] = chunk
        return len(chunk)


class _FakeSocket:
    def __init__(self, fake: _FakeNetlink) -> None:
        self.sock, self.seq = fake, 0


def test_dump_reads_every_chunk_until_done():
    bodies, _ = _fixture()
    fake = _FakeNetlink(bodies * 10, per_chunk=7)
    entries, truncated = conntrack.dump_entries(INODE, 1000, _FakeSocket(fake))
    assert len(entries) == 60 and not truncated
    assert fake.sent[0][4:6] == (1 << 8 | 1).to_bytes(2, "little")  # CTNETLINK, CT_GET


def test_dump_stops_at_the_cap_and_says_so():
    bodies, _ = _fixture()
    entries, truncated = conntrack.dump_entries(INODE, 4, _FakeSocket(_FakeNetlink(bodies, 3)))
    assert len(entries) == 4 and truncated
    entries, truncated = conntrack.dump_entries(INODE, 6, _FakeSocket(_FakeNetlink(bodies, 3)))
    assert len(entries) == 6 and not truncated


# Two entries of bench_conntrack.py's lab as the kernel (6.18) sent them: UDP, unreplied,
# no accounting. ORIG{IP, PROTO} REPLY{IP, PROTO} STATUS MARK ID USE TIMEOUT: the shape the
# fast path (conntrack._v4_entry) reads in one unpack.
UNREPLIED_UDP = [bytes.fromhex(
    "020000003400018014000180080001000a620001080002000a6200021c00028005000100110000000600"
    "0200a27300000600030042cd00003400028014000180080001000a620002080002000a6200011c000280"
    "05000100110000000600020042cd000006000300a2730000080003000000000808000800000000000800"
    "0c005b98a4ea08000b00000000010800070000000257"),
                 bytes.fromhex(
    "020000003400018014000180080001000a620001080002000a6200021c00028005000100110000000600"
    "0200a27300000600030049d700003400028014000180080001000a620002080002000a6200011c000280"
    "05000100110000000600020049d7000006000300a2730000080003000000000808000800000000000800"
    "0c00fd3a937808000b00000000010800070000000257")]


def test_common_ipv4_entry_read_by_the_fast_path_as_by_the_general_one():
    for body in UNREPLIED_UDP:
        fast = conntrack._v4_entry(body, 0, len(body), INODE, {})
        assert fast is not None  # the shape matched
        assert fast == conntrack._entry(body, 0, len(body), INODE, {})
        assert fast == conntrack.parse_entry(body, 0, len(body), INODE, {})
        assert vars(fast) == vars(conntrack._entry(body, 0, len(body), INODE, {}))
    entry = conntrack.parse_entry(UNREPLIED_UDP[0], 0, len(UNREPLIED_UDP[0]), INODE, {})
    assert entry == ConntrackEntry(
        id=f"ct:{INODE}/{0x5b98a4ea}", family="ipv4", proto="udp",
        orig=CtTuple("10.98.0.1", "10.98.0.2", 0xa273, 0x42cd),
        reply=CtTuple("10.98.0.2", "10.98.0.1", 0x42cd, 0xa273),
        status=("CONFIRMED",), state=None, timeout=599, mark=0, zone=0)


def test_entry_of_another_shape_falls_back_to_the_general_path():
    body = UNREPLIED_UDP[0]
    # one more attribute (CTA_ZONE 7), or one attribute of another type (MARK -> SECMARK
    # 13, ignored): either way the fast path declines and the general path reads it
    zoned = body + bytes.fromhex("06001200" "00070000")
    marked = body[:118] + bytes.fromhex("0d00") + body[120:]  # MARK at 116
    ipv6_family = bytes([socket.AF_INET6]) + body[1:]
    for other in (zoned, marked, ipv6_family):
        assert conntrack._v4_entry(other, 0, len(other), INODE, {}) is None
    fast = conntrack.parse_entry(body, 0, len(body), INODE, {})
    got = conntrack.parse_entry(zoned, 0, len(zoned), INODE, {})
    assert got == conntrack._entry(zoned, 0, len(zoned), INODE, {})
    assert got == dataclasses.replace(fast, zone=7)
    assert conntrack.parse_entry(marked, 0, len(marked), INODE, {}) == fast


def test_dump_reads_fast_and_general_entries_alike():
    body = UNREPLIED_UDP[1]
    zoned = body + bytes.fromhex("06001200" "00070000")
    entries, truncated = conntrack.dump_entries(
        INODE, 1000, _FakeSocket(_FakeNetlink([body, zoned, body], 2)))
    assert not truncated
    assert entries == [conntrack._entry(b, 0, len(b), INODE, {}) for b in (body, zoned, body)]


def test_dump_read_ahead_by_a_thread_gives_what_reading_in_turn_gives():
    # a SOCK_SEQPACKET pair keeps chunk bounds as netlink does: with a real socket the
    # chunks after the first are received by netlink.ReadAhead's thread
    bodies = _fixture()[0] + UNREPLIED_UDP
    fake = _FakeNetlink(bodies * 20, per_chunk=9)
    in_turn, _ = conntrack.dump_entries(INODE, 1000, _FakeSocket(fake))
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        for chunk in fake.chunks_sent:
            kernel.send(chunk)
        sock = _FakeSocket(fake)
        sock.sock = ours
        ahead, truncated = conntrack.dump_entries(INODE, 1000, sock)
        assert ahead == in_turn and len(ahead) == 160 and not truncated
        assert kernel.recv(100)[4:6] == (1 << 8 | 1).to_bytes(2, "little")  # the request
    finally:
        ours.close()
        kernel.close()
