"""Redaction: a snapshot with addresses, MACs, hostname and comments replaced consistently.

Redaction is one stage over the whole document, as in sos: every string of the encoded
snapshot (ids, rule texts, NAT targets, conntrack tuples, error messages ...) goes through
the same mapping, so one address becomes one token everywhere and the topology still holds
together. `redact()` returns the new snapshot and the mapping, whose `rewrite()` applies it to
any other text (a doctor finding, a path walk) taken from the original.

Replaced: IPv4/IPv6 addresses and CIDRs (keyed, prefix- and class-preserving, see
`addrmap`), MAC addresses, the hostname, the header note, rule comments, interface aliases;
with `names=True` also container names, ids and images, Docker network names, and the
names of `ip netns` namespaces and Docker sandboxes. Kept: interface, chain and table names,
ports, counters, kernel version, namespace inodes.
"""

from __future__ import annotations

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
from netscope.snapshot.codec import decode, encode

HOST_TOKEN = "redacted-host"
NOTE_TEXT = "redacted with netscope snapshot --redact: the original note was removed"
_GENERIC_HOSTNAMES = {"localhost", "localhost.localdomain", "host", "ubuntu", "debian"}
_DOCKER_NETWORKS = {"bridge", "host", "none", "default"}
_HEADER_KEPT = ("kernel", "netscope_version", "captured_at")
_MAX_KEYS = 64

_ADDRESS = re.compile(
    r"(?P<v4>(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?!\d|\.\d))"
    r"|(?P<v6>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?:/\d{1,3})?(?![\w:]))")
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
    """The redacted snapshot (`document` is its encoded form) and the mapping that made it."""

    document: dict[str, Any]
    addresses: AddressMap
    macs: MacMap
    words: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    _words_re: re.Pattern | None = None

    @cached_property
    def snapshot(self) -> Snapshot:
        """The redacted snapshot, decoded (and so checked) like a loaded file."""
        return decode(Snapshot, self.document)

    def _token(self, m: re.Match) -> str:
        text = m.group(0)
        if m.group("v4"):
            return self.addresses.cidr(text) if "/" in text else self.addresses.address(text)
        head, slash, tail = text.partition("/")
        if _MAC.fullmatch(head):  # a MAC, or a MAC followed by an id's next field
            return self.macs.mac(head) + slash + tail
        if not _is_address(text):
            return text
        return self.addresses.cidr(text) if "/" in text else self.addresses.address(text)

    def rewrite(self, text: str) -> str:
        """`text` with every address, MAC, name and comment replaced as in the snapshot."""
        for original, token in self.comments.items():
            text = text.replace(_quoted(original), _quoted(token))
            if " " not in original:
                text = text.replace(f"--comment {original}", f"--comment {token}")
        if self._words_re is not None:
            text = self._words_re.sub(lambda m: self.words[m.group(0)], text)
        return _ADDRESS.sub(self._token, text)


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
    for ns in data.get("namespaces", ()):
        for origin in ns.get("origins", ()):
            base = origin["path"].rsplit("/", 1)[-1]
            if origin["kind"] == "named":
                add(base, f"netns-{sum(t.startswith('netns-') for t in words.values()) + 1}")
            elif origin["kind"] == "docker":
                add(base, _pseudo_hex(key, base) if _HEX_ID.fullmatch(base) else
                    f"sandbox-{sum(t.startswith('sandbox-') for t in words.values()) + 1}")
    return words


def _words_pattern(words: dict[str, str]) -> re.Pattern | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.[\w-])")


def redact(snapshot: Snapshot, names: bool = False, key: bytes | None = None) -> Redaction:
    """The snapshot redacted (see the module docstring). `key` (random by default) decides
    the mapping: the same key maps the same input to the same token in every snapshot."""
    key = key if key is not None else os.urandom(32)
    data = encode(snapshot)
    header = data["header"]
    hostname = header["hostname"]
    header.update(hostname=HOST_TOKEN, note=NOTE_TEXT, redacted=True)
    comments = _redact_comments(data)
    aliases: dict[str, str] = {}
    for link in data.get("links", ()):
        if link.get("alias"):
            link["alias"] = aliases.setdefault(link["alias"], f"alias-{len(aliases) + 1}")
    words = _name_words(data, key) if names else {}
    for host_word in {hostname, hostname.split(".")[0]}:
        if len(host_word) >= 3 and host_word.lower() not in _GENERIC_HOSTNAMES:
            words.setdefault(host_word, HOST_TOKEN)
    kept_header = {k: header[k] for k in _HEADER_KEPT}

    # one pass over the whole document as JSON text: every string field, ids and keys
    # included, goes through the same mapping
    text = json.dumps(data)
    originals = {m.group(0) for m in _ADDRESS.finditer(text)}
    networks = {t for t in originals if "/" in t and _is_address(t)}
    networks |= {f"{a['address']}/{a['prefixlen']}" for a in data.get("addresses", ())}
    macs = {t.split("/")[0].lower() for t in originals if _MAC.fullmatch(t.split("/")[0])}
    plain = {str(ipaddress.ip_interface(t).ip) for t in originals if _is_address(t)}
    edges = {str(x) for n in networks for net in (ipaddress.ip_interface(n).network,)
             for x in (net.network_address, net.broadcast_address)}

    best: tuple[int, Redaction] | None = None
    for attempt in range(_MAX_KEYS):
        attempt_key = key if attempt == 0 else hashlib.blake2b(key + bytes([attempt])).digest()
        candidate = Redaction(data, AddressMap(attempt_key, networks),
                              MacMap(attempt_key, avoid=macs), words, comments,
                              _words_pattern(words))
        # an original address must not reappear, as itself or as another one's replacement
        # (network and broadcast addresses of a network that is a whole block cannot move)
        clashes = 0
        for a in plain:
            new = candidate.addresses.address(a)
            if new in plain and not candidate.addresses.is_kept(a) and (
                    new != a or a not in edges):
                clashes += 1
        if best is None or clashes < best[0]:
            best = (clashes, candidate)
        if not clashes:
            break
    redaction = best[1]
    if words:  # names as they are written inside JSON strings
        in_json = {json.dumps(w)[1:-1]: json.dumps(t)[1:-1] for w, t in words.items()}
        text = _words_pattern(in_json).sub(lambda m: in_json[m.group(0)], text)
    document = json.loads(_ADDRESS.sub(redaction._token, text))
    document["header"].update(kept_header)
    redaction.document = document
    return redaction
