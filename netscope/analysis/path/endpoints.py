"""Turn what the user typed (an IP, a container name, a namespace name) into an endpoint."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.model.index import SnapshotIndex


class EndpointError(ValueError):
    """The user's SRC/DST names nothing in the snapshot, or names several things."""


@dataclass(frozen=True)
class Endpoint:
    """A namespace (None for an address no namespace on this host owns) and an address."""

    netns: str | None
    address: str | None
    label: str


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def owners_of(index: SnapshotIndex, address: str) -> list[str]:
    """Namespaces that hold `address` on a non-loopback interface."""
    out = []
    for a in index.snapshot.addresses:
        if a.address == address and a.scope != "host" and a.netns not in out:
            out.append(a.netns)
    return out


def primary_address(index: SnapshotIndex, netns: str, family: str = "inet") -> str | None:
    """The first global address of `family` in the namespace, preferring eth0-like devices."""
    candidates = [a for a in index.snapshot.addresses
                  if a.netns == netns and a.family == family and a.scope == "global"]
    candidates.sort(key=lambda a: (index.links[a.link].kind == "bridge", a.link))
    return candidates[0].address if candidates else None


def _namespaces_named(index: SnapshotIndex, name: str) -> list[str]:
    by_id = len(name) >= 6  # a container id prefix, as `docker ps` shows them
    found = [c.netns for c in index.snapshot.containers
             if c.netns and (c.name == name or (by_id and c.container_id.startswith(name)))]
    found += [ns.id for ns in index.snapshot.namespaces
              if name in (ns.name, ns.id, str(ns.inode))
              or any(o.path.rsplit("/", 1)[-1] == name for o in ns.origins
                     if o.kind in ("named", "docker"))]
    return list(dict.fromkeys(found))


def resolve(index: SnapshotIndex, text: str, role: str) -> Endpoint:
    """SRC or DST as typed -> Endpoint. Raises EndpointError with what to do instead."""
    if _is_ip(text):
        owners = owners_of(index, text)
        if role == "source" and not owners:
            raise EndpointError(f"no namespace on this host has address {text}: give a source "
                                "address, container or namespace from `netscope show`")
        if role == "source" and len(owners) > 1:
            names = ", ".join(index.ns_name(n) for n in owners)
            raise EndpointError(f"address {text} is on several namespaces ({names}): name the "
                                "source namespace or container instead")
        return Endpoint(owners[0] if len(owners) == 1 else None, text, text)
    found = _namespaces_named(index, text)
    if not found:
        raise EndpointError(f"no address, container or namespace called {text!r}: "
                            "`netscope show` lists them")
    if len(found) > 1:
        raise EndpointError(f"{text!r} names several namespaces: use an address or an ns: id")
    return Endpoint(found[0], primary_address(index, found[0]), index.ns_name(found[0]))
