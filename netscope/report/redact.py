"""Redaction: a snapshot with addresses, MACs, hostname and comments replaced consistently.

Redaction is one stage over the whole document, as in sos: every string of the encoded
snapshot (ids, rule texts, NAT targets, conntrack tuples, error messages ...) goes through
the same mapping, so one address becomes one token everywhere and the topology still holds
together. `redact()` returns the new snapshot and the mapping, whose `rewrite()` applies it to
any other text (a doctor finding, a path walk) taken from the original.

Replaced: IPv4/IPv6 addresses and CIDRs (keyed, prefix- and class-preserving, see
`addrmap`), MAC addresses, the hostname, the header note, rule comments, interface aliases,
/etc/hosts names and resolv.conf search domains (localhost and the like kept);
with `names=True` also container names, ids and images, Docker network names, the
names of `ip netns` namespaces and Docker sandboxes, pods (names, Kubernetes namespaces and
uids, ids), the runtime labels' values, CNI network names, and process names (socket owners,
resolver readers, namespaces named after a process). Kept: interface, chain and table names,
ports, counters, kernel version, namespace inodes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from netscope.model import Snapshot
from netscope.report.addrmap import AddressMap, MacMap
from netscope.snapshot.io import document_format, loads

HOST_TOKEN = "redacted-host"
NOTE_TEXT = "redacted with netscope snapshot --redact: the original note was removed"
_GENERIC_HOSTNAMES = {"localhost", "localhost.localdomain", "host", "ubuntu", "debian"}
# /etc/hosts names every system has: kept
_STANDARD_HOST_NAMES = {"localhost", "localhost.localdomain", "localhost4", "localhost6",
                        "localhost4.localdomain4", "localhost6.localdomain6", "ip6-localhost",
                        "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
                        "ip6-allrouters", "ip6-allhosts", "broadcasthost"}
_DOCKER_NETWORKS = {"bridge", "host", "none", "default"}
_MAX_KEYS = 64

# two passes, each much faster than one alternation of both: IPv4 (with /len), then IPv6
# (with /len) and MACs (a MAC may be followed by an id's next field, "/0/-"). No lookaround
# in the patterns (it makes the scan several times slower): the callbacks check boundaries.
_V4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?:/[0-9]+)?")
_V6 = re.compile(r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:/[0-9]+)?")
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_HEX_ID = re.compile(r"[0-9a-f]{12,64}")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return True


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Redaction:
    """The redacted snapshot as a file's text, and the mapping that made it."""

    text: str
    addresses: AddressMap
    macs: MacMap
    words: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    _words_re: re.Pattern | None = None
    _memo: dict[str, str] = field(default_factory=dict)
    original: Snapshot | None = None

    @cached_property
    def snapshot(self) -> Snapshot:
        """The redacted snapshot. Built from `text` along the original's structure (only
        strings differ), several times faster than a strict load, and equal to it."""
        if self.original is None:
            return loads(self.text, "the redacted snapshot")
        document = json.loads(self.text)
        return _rebuild(self.original, {k: v for k, v in document.items()
                                        if k not in ("format", "version")})

    def _v4_token(self, m: re.Match) -> str:
        text, start, end = m.string, m.start(), m.end()
        if (start and text[start - 1] in ".:") or (end < len(text) and text[end] == "." and
                                                  text[end + 1:end + 2].isdigit()):
            return m.group(0)  # part of a longer dotted number, or of an IPv6 address
        token = m.group(0)
        got = self._memo.get(token)
        if got is None:
            head, slash, length = token.partition("/")
            try:
                if slash and int(length) <= 32:
                    got = self.addresses.cidr(token)
                else:
                    got = self.addresses.address(head) + slash + length
            except ValueError:  # 999.1.2.3: not an address
                got = token
            self._memo[token] = got
        return got

    def _v6_token(self, m: re.Match) -> str:
        text, start, end = m.string, m.start(), m.end()
        if (start and (text[start - 1] in _WORDISH or text[start - 1] in ".:")) or (
                end < len(text) and (text[end] in _WORDISH or text[end] == ":")):
            return m.group(0)
        token = m.group(0)
        got = self._memo.get(token)
        if got is None:
            head, slash, tail = token.partition("/")
            if _MAC.fullmatch(head):
                got = self.macs.mac(head) + slash + tail
            elif not _is_address(token):
                got = token
            else:
                got = self.addresses.cidr(token) if slash else self.addresses.address(token)
            self._memo[token] = got
        return got

    def _rewrite_addresses(self, text: str) -> str:
        return _V6.sub(self._v6_token, _V4.sub(self._v4_token, text))

    def rewrite(self, text: str) -> str:
        """`text` with every address, MAC, name and comment replaced as in the snapshot."""
        for original, token in self.comments.items():
            text = text.replace(_quoted(original), _quoted(token))
            if " " not in original:
                text = text.replace(f"--comment {original}", f"--comment {token}")
        if self._words_re is not None:
            text = self._words_re.sub(lambda m: self.words[m.group(0)], text)
        return self._rewrite_addresses(text)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _encode(obj: Any) -> Any:
    """What `snapshot.codec.encode` returns, about 3x faster (field names cached per class,
    scalars returned first): it runs on every object of a large snapshot."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or kind is float or obj is None:
        return obj
    if kind is tuple or kind is list:
        return [_encode(v) for v in obj]
    if kind is dict:
        return {k: _encode(v) for k, v in obj.items()}
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return {name: _encode(getattr(obj, name)) for name in names}


def _rebuild(obj: Any, doc: Any) -> Any:
    """A model object of `obj`'s shape holding `doc`'s values (the inverse of `_encode`)."""
    kind = type(obj)
    if kind is tuple:
        return tuple(_rebuild(o, d) for o, d in zip(obj, doc, strict=True))
    if kind in _FIELD_NAMES:
        return kind(**{name: _rebuild(getattr(obj, name), doc[name])
                       for name in _FIELD_NAMES[kind]})
    return doc  # scalars, and dicts of scalars (sysctls, details, action_args)


def _redact_comments(data: dict) -> dict[str, str]:
    """Rule comments -> "comment-N", in the comment field and inside the rule's own texts."""
    comments: dict[str, str] = {}
    for table in data.get("tables", ()):
        for chain in table["chains"]:
            for rule in chain["rules"]:
                original = rule.get("comment")
                if not original:
                    continue
                token = comments.setdefault(original, f"comment-{len(comments) + 1}")
                rule["comment"] = token
                for key in ("text",):
                    rule[key] = rule[key].replace(_quoted(original), _quoted(token))
                    if " " not in original:
                        rule[key] = rule[key].replace(f"--comment {original}",
                                                      f"--comment {token}")
    return comments


def _dns_words(data: dict, hostname: str) -> dict[str, str]:
    """/etc/hosts names -> "hostname-N" (the host's own name -> its token) and resolv.conf
    search domains -> "domain-N.example"; the standard names (localhost ...) are kept."""
    words: dict[str, str] = {}
    names = 0
    for ns in data.get("dns", ()):
        for resolver in ns.get("resolvers", ()):
            for domain in resolver.get("search", ()):
                if domain not in words:
                    count = sum(t.startswith("domain-") for t in words.values())
                    words[domain] = f"domain-{count + 1}.example"
            for entry in resolver.get("hosts", ()):
                for name in entry.get("names", ()):
                    if name in words or name in _STANDARD_HOST_NAMES:
                        continue
                    if name in (hostname, hostname.split(".")[0]):
                        words[name] = HOST_TOKEN
                    else:
                        names += 1
                        words[name] = f"hostname-{names}"
    return words


def _pseudo_hex(key: bytes, text: str) -> str:
    digest = hashlib.blake2b(text.encode(), key=key, digest_size=32).hexdigest()
    return digest[:len(text)]


def _name_words(data: dict, key: bytes) -> dict[str, str]:
    """Container names/ids/images, Docker network names, ip netns and sandbox names."""
    words: dict[str, str] = {}

    def add(original: str | None, token: str) -> None:
        if original and original not in words and original != "host":
            words[original] = token

    for c in data.get("containers", ()):
        add(c["name"], f"container-{sum(t.startswith('container-') for t in words.values()) + 1}")
        full = c["container_id"]
        mapped = _pseudo_hex(key, full)
        add(full, mapped)
        add(full[:12], mapped[:12])
        image = c.get("image")
        if image and image not in words:
            add(image, f"image-{sum(t.startswith('image-') for t in words.values()) + 1}")
        for net in c.get("networks", ()):
            if net not in _DOCKER_NETWORKS:
                add(net, f"network-{sum(t.startswith('network-') for t in words.values()) + 1}")
    def numbered(prefix: str) -> str:
        return f"{prefix}-{sum(t.startswith(prefix + '-') for t in words.values()) + 1}"

    for p in data.get("pods", ()):
        add(p["name"], numbered("pod"))
        add(p.get("kube_namespace"), numbered("k8s-namespace"))
        add(p.get("kube_uid"), numbered("uid"))
        add(p["pod_id"], _pseudo_hex(key, p["pod_id"]) if _HEX_ID.fullmatch(p["pod_id"])
            else numbered("pod-id"))
    for c in data.get("containers", ()):
        add(c.get("kube_name"), numbered("kube-container"))
    for net in data.get("cni_networks", ()):
        if net["name"] != "?":
            add(net["name"], numbered("cni-network"))
    for ns in data.get("namespaces", ()):
        for origin in ns.get("origins", ()):
            base = origin["path"].rsplit("/", 1)[-1]
            if origin["kind"] == "named":
                add(base, f"netns-{sum(t.startswith('netns-') for t in words.values()) + 1}")
            elif origin["kind"] == "docker":
                add(base, _pseudo_hex(key, base) if _HEX_ID.fullmatch(base) else
                    f"sandbox-{sum(t.startswith('sandbox-') for t in words.values()) + 1}")
    return words


# label keys whose values say what a container is, not what it is called: kept
_STRUCTURAL_LABELS = {"io.kubernetes.cri.container-type", "io.cri-containerd.kind",
                      "io.kubernetes.cri-o.ContainerType"}


def _redact_labels(data: dict) -> None:
    """Runtime labels' values (pod names, apps, teams, anything a user put there) replaced,
    field by field, with `label-N` (the same value, the same token)."""
    tokens: dict[str, str] = {}
    for c in (*data.get("containers", ()), *data.get("pods", ())):
        c["labels"] = {k: v if k in _STRUCTURAL_LABELS else
                       tokens.setdefault(v, f"label-{len(tokens) + 1}")
                       for k, v in (c.get("labels") or {}).items()}


def _redact_nodes(header: dict, words: dict[str, str]) -> None:
    """A cluster document's nodes become node-1, node-2 ... everywhere (their names are in
    every id and namespace name, and are usually hostnames); their notes are removed."""
    for i, node in enumerate(header.get("nodes") or (), 1):
        token = f"node-{i}"
        words[node["name"]] = token
        hostname = node["hostname"]
        for host_word in {hostname, hostname.split(".")[0]}:
            if len(host_word) >= 3 and host_word.lower() not in _GENERIC_HOSTNAMES:
                words.setdefault(host_word, token)
        node.update(name=token, hostname=token, redacted=True,
                    note=NOTE_TEXT if node.get("note") else None)


_PROC_NAME = re.compile(r"(.*)\[([0-9]+)\]")


def _redact_processes(data: dict) -> None:
    """Process names (comm) -> "process-N", field by field: in the processes holding sockets,
    the processes DNS resolvers were read through, namespaces found through a process (their
    origin and a `comm[pid]` name). Not through the document-wide word pass: a process may be
    called `ip` or `host`, words the snapshot uses for other things."""
    tokens: dict[str, str] = {}

    def token(comm: str) -> str:
        return tokens.setdefault(comm, f"process-{len(tokens) + 1}")

    for table in data.get("sockets", ()):
        for sock in table["sockets"]:
            for proc in sock["processes"]:
                proc["comm"] = token(proc["comm"])
    for ns in data.get("dns", ()):
        for resolver in ns.get("resolvers", ()):
            resolver["comms"] = [token(c) for c in resolver.get("comms", ())]
    for ns in data.get("namespaces", ()):
        for origin in ns.get("origins", ()):
            if origin.get("comm"):
                origin["comm"] = token(origin["comm"])
        # a cluster document's names start with "<node>:" (the node is redacted apart)
        node = f"{ns['node']}:" if ns.get("node") else ""
        named = _PROC_NAME.fullmatch(ns["name"].removeprefix(node))
        if named and any(o.get("pid") == int(named[2]) for o in ns.get("origins", ())):
            ns["name"] = f"{node}{token(named[1])}[{named[2]}]"


def _words_pattern(words: dict[str, str]) -> re.Pattern | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.[\w-])")


def redact(snapshot: Snapshot, names: bool = False, key: bytes | None = None) -> Redaction:
    """The snapshot redacted (see the module docstring). `key` (random by default) decides
    the mapping: the same key maps the same input to the same token in every snapshot."""
    key = key if key is not None else os.urandom(32)
    data = _encode(snapshot)
    header = data["header"]
    hostname = header["hostname"]
    header.update(hostname=HOST_TOKEN, note=NOTE_TEXT, redacted=True)
    comments = _redact_comments(data)
    aliases: dict[str, str] = {}
    for link in data.get("links", ()):
        if link.get("alias"):
            link["alias"] = aliases.setdefault(link["alias"], f"alias-{len(aliases) + 1}")
    words = _name_words(data, key) if names else {}
    if names:
        _redact_processes(data)
        _redact_labels(data)
    for word, token in _dns_words(data, hostname).items():
        words.setdefault(word, token)
    for host_word in {hostname, hostname.split(".")[0]}:
        if len(host_word) >= 3 and host_word.lower() not in _GENERIC_HOSTNAMES:
            words.setdefault(host_word, HOST_TOKEN)
    _redact_nodes(header, words)

    # one pass over the whole document (header aside) as JSON text: every string field, ids
    # and keys included, goes through the same mapping
    body = _document_lines({k: v for k, v in data.items() if k != "header"})
    # names as they are written inside JSON strings; only those present (a substring test
    # is far cheaper than the alternation's scan)
    in_json = {json.dumps(w)[1:-1]: json.dumps(t)[1:-1] for w, t in words.items()}
    in_json = {w: t for w, t in in_json.items() if w in body}
    if in_json:
        body = _words_pattern(in_json).sub(lambda m: in_json[m.group(0)], body)
    networks = _networks(snapshot)
    macs = {link.mac.lower() for link in snapshot.links if link.mac}
    macs |= {n.lladdr.lower() for n in snapshot.neighbours if n.lladdr}
    macs |= {f.mac.lower() for f in snapshot.fdb}

    best: tuple[int, Redaction, str] | None = None
    for attempt in range(_MAX_KEYS):
        attempt_key = key if attempt == 0 else hashlib.blake2b(key + bytes([attempt])).digest()
        candidate = Redaction("", AddressMap(attempt_key, networks),
                              MacMap(attempt_key, avoid=macs), words, comments,
                              _words_pattern(words))
        redacted = candidate._rewrite_addresses(body)
        clashes = _clashes(candidate, networks)
        if best is None or clashes < best[0]:
            best = (clashes, candidate, redacted)
        if not clashes:
            break
    _clash_count, redaction, redacted = best
    redaction.original = snapshot
    name, version = document_format(snapshot)
    redaction.text = (f'{{\n "format": "{name}",\n "version": {version},\n'
                      f' "header": {json.dumps(header)},\n{redacted}\n}}\n')
    return redaction


def _document_lines(data: dict[str, Any]) -> str:
    """The top-level fields as JSON, one object of each list per line: written by the C
    encoder (json's indent= is pure Python and ~10x slower), still readable and greppable."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n".join("  " + json.dumps(item) for item in value)
            parts.append(f' "{key}": [\n{items}\n ]')
        else:
            parts.append(f' "{key}": {json.dumps(value)}')
    return ",\n".join(parts)


def _networks(snapshot: Snapshot) -> set[str]:
    """Every network the snapshot names: interface subnets, route destinations, policy rule
    and netfilter match CIDRs, CNI IPAM ranges. The address map keeps membership in each."""
    out = {a.cidr for a in snapshot.addresses}
    out |= {r.subnet for n in snapshot.cni_networks for r in n.ranges if _is_address(r.subnet)}
    out |= {r.dst for r in snapshot.routes}
    out |= {x for r in snapshot.rules for x in (r.src, r.dst) if x}
    out |= {v for t in snapshot.tables for c in t.chains for r in c.rules for m in r.matches
            for v in m.values if "/" in v and _is_address(v)}
    return out


def _clashes(candidate: Redaction, networks: set[str]) -> int:
    """Original addresses that reappear, as themselves or as another one's replacement
    (network and broadcast addresses of a network that is a whole block cannot move)."""
    plain = {t.split("/")[0] for t, new in candidate._memo.items()
             if new != t and not _MAC.fullmatch(t.split("/")[0])}
    clashes = 0
    for a in plain:
        new = candidate.addresses.address(a)
        if new not in plain or candidate.addresses.is_kept(a):
            continue
        if new != a or not _is_network_edge(a, networks):
            clashes += 1
    return clashes


def _is_network_edge(address: str, networks: set[str]) -> bool:
    """Whether `address` is the network or broadcast address of one of `networks`."""
    for text in networks:
        net = ipaddress.ip_interface(text).network
        if address in (str(net.network_address), str(net.broadcast_address)):
            return True
    return False
