"""Layer 2: interfaces, veth peers, bridge ports and forwarding databases."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VethPeer:
    """Where the other end of a veth (or the IFLA_LINK of a tunnel) is.

    `link` is the peer's link id when netscope resolved it exactly; otherwise it is None and
    `unresolved` says why (the peer's namespace is not visible, the nsid is unknown ...).
    """

    ifindex: int
    netnsid: int | None
    link: str | None
    unresolved: str | None = None


@dataclass(frozen=True)
class BridgePort:
    """The bridge-port side of an interface enslaved to a Linux bridge."""

    state: str
    priority: int | None = None
    cost: int | None = None
    learning: bool | None = None
    flood: bool | None = None
    hairpin: bool | None = None


@dataclass(frozen=True)
class Link:
    """A network interface (`link:<ns inode>/<ifindex>`).

    `kind` is the rtnetlink link kind ("veth", "bridge", "vxlan", ...), or "device" for a
    physical/loopback interface that has none. `details` holds the kind's own attributes
    (vxlan id and remote, macvlan mode, bridge STP ...), documented in docs/snapshot.md.
    """

    id: str
    netns: str
    ifindex: int
    name: str
    kind: str
    operstate: str
    flags: tuple[str, ...]
    mtu: int
    mac: str | None = None
    master: str | None = None
    alias: str | None = None
    peer: VethPeer | None = None
    parent: str | None = None
    bridge_port: BridgePort | None = None
    details: dict[str, str | int | bool | None] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return "UP" in self.flags


@dataclass(frozen=True)
class FdbEntry:
    """A bridge (or vxlan) forwarding-database entry: where frames for `mac` are sent."""

    id: str
    netns: str
    link: str
    mac: str
    master: str | None = None
    vlan: int | None = None
    state: str = ""
    flags: tuple[str, ...] = ()
    dst: str | None = None
