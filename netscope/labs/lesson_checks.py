"""A lesson step's `check` table, read and validated (format: topology/README.md, "Lessons").

    check = { exists = ["red", "blue:veth-blue"], absent = [...],
              reach = { from = "red", to = "10.150.1.2", proto = "tcp", port = 80,
                        expect = "ok", reply = ["web"], peer = "10.150.1.1" },
              path = { from = "red", to = "10.150.1.2", end = "delivered", reply = "delivered",
                       via = ["blue:veth-blue"], steps = ["nat"], says = "KUBE-POD-FW" },
              doctor = ["host_veth_down"], healthy = ["overlay_mtu_mismatch"] }

Names are the lesson's namespace names (`red`, `red:dev`); the loader turns them into
`nsl-lesson<N>-red` where they are used (netscope.actions.lessons).
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.labs.topology import CHECK_OUTCOMES, CHECK_PROTOS

PATH_ENDS = ("delivered", "refused", "dropped", "no_route", "left_host", "uncertain",
             "unknown")
PATH_STEPS = ("output-route", "input-route", "route", "forward", "netfilter", "nat", "queue",
              "xmit", "veth", "bridge", "receive", "deliver", "refuse", "consume", "connect",
              "drop", "encap", "decap", "macvlan", "underlay", "choice")
PATH_PROTOS = ("icmp", "tcp", "udp")


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Reach:
    """Real traffic from a lesson namespace, judged as a lab check judges it: `reply` names
    the lesson servers allowed to answer (all of them with `reply_all`), `peer` the source
    address the server must have seen (NAT made visible), `payload` "big" (tcp, 64 KiB back)
    or "mtu" (a don't-fragment ping as large as the route's MTU)."""

    src: str
    dst: str
    proto: str = "icmp"
    port: int | None = None
    expect: str = "ok"
    reply: tuple[str, ...] = ()
    reply_all: bool = False
    peer: str | None = None
    payload: str | None = None

    def describe(self) -> str:
        what = self.proto + (f"/{self.port}" if self.port else "")
        big = {"mtu": " full-size", "big": " 64 KiB"}.get(self.payload or "", "")
        return f"{what}{big} from {self.src} to {self.dst}"


@dataclass(frozen=True)
class PathCheck:
    """The static walk from `src` to `dst`: how it must end (and its reply, when given),
    places it must cross (`ns` or `ns:dev`; in any of its ways when a random choice splits
    it), steps it must show in every way (`nat`, `encap` ...), words its end must say
    (`says`: the chain that drops it) and how many ways it splits into (`branches`)."""

    src: str
    dst: str
    proto: str = "icmp"
    port: int | None = None
    end: str = "delivered"
    via: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    reply: str | None = None
    says: str = ""
    size: int = 0
    branches: int | None = None     # ways a random choice splits it (a service's endpoints)


@dataclass(frozen=True)
class Check:
    """What tells the learner the step worked: every part given must hold."""

    exists: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    reach: tuple[Reach, ...] = ()
    path: PathCheck | None = None
    doctor: tuple[str, ...] = ()        # doctor checks that must report a finding
    healthy: tuple[str, ...] = ()       # doctor checks that must not

    @property
    def empty(self) -> bool:
        return not (self.exists or self.absent or self.reach or self.path or self.doctor
                    or self.healthy)

    @property
    def reads_host(self) -> bool:
        """Whether judging it needs a snapshot (everything but real traffic does)."""
        return bool(self.exists or self.absent or self.path or self.doctor or self.healthy)


# ---------------------------------------------------------------------- small values

def strs(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LessonError(f"{where}: expected a list of strings")
    return tuple(value)


def table(value, where: str, known: set[str]) -> dict:
    if not isinstance(value, dict):
        raise LessonError(f"{where}: expected a table")
    unknown = set(value) - known
    if unknown:
        raise LessonError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: "
                          f"{', '.join(sorted(known))})")
    return value


def name_ref(ref, names: tuple[str, ...], where: str) -> str:
    if not isinstance(ref, str) or ref.split(":", 1)[0] not in names:
        raise LessonError(f"{where}: {ref!r} names no lesson namespace ({', '.join(names)})")
    return ref


def _port(value, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise LessonError(f"{where}: port must be 1-65535")
    return value


def _count(value, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 64:
        raise LessonError(f"{where}: a count, 1-64")
    return value


def _choice(value, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise LessonError(f"{where}: one of {', '.join(allowed)}")
    return value


def _text(value, where: str) -> str:
    if not isinstance(value, str):
        raise LessonError(f"{where}: expected text")
    return value


# ---------------------------------------------------------------------- checks

def _reach(raw, names, where: str) -> Reach:
    t = table(raw, where, {"from", "to", "proto", "port", "expect", "reply", "reply_all",
                           "peer", "payload"})
    if "from" not in t or "to" not in t:
        raise LessonError(f"{where}: needs from and to")
    proto = _choice(t.get("proto", "icmp"), CHECK_PROTOS[:3], f"{where}.proto")
    expect = _choice(t.get("expect", "ok"), CHECK_OUTCOMES[:4], f"{where}.expect")
    port = _port(t.get("port"), f"{where}.port")
    if proto != "icmp" and port is None:
        raise LessonError(f"{where}: {proto} needs a port")
    payload = t.get("payload")
    if payload is not None and payload != {"tcp": "big", "icmp": "mtu"}.get(proto):
        raise LessonError(f"{where}.payload: \"big\" is for tcp, \"mtu\" for icmp")
    reply_all = t.get("reply_all", False)
    if not isinstance(reply_all, bool):
        raise LessonError(f"{where}.reply_all: true or false")
    peer = t.get("peer")
    return Reach(name_ref(t["from"], names, f"{where}.from"), _text(t["to"], f"{where}.to"),
                 proto, port, expect, strs(t.get("reply", []), f"{where}.reply"), reply_all,
                 None if peer is None else _text(peer, f"{where}.peer"), payload)


def _path(raw, names, where: str) -> PathCheck:
    t = table(raw, where, {"from", "to", "proto", "port", "end", "via", "steps", "reply",
                           "says", "size", "branches"})
    if "from" not in t or "to" not in t:
        raise LessonError(f"{where}: needs from and to")
    proto = _choice(t.get("proto", "icmp"), PATH_PROTOS, f"{where}.proto")
    port = _port(t.get("port"), f"{where}.port")
    if proto != "icmp" and port is None:
        raise LessonError(f"{where}: {proto} needs a port")
    steps = strs(t.get("steps", []), f"{where}.steps")
    for step in steps:
        _choice(step, PATH_STEPS, f"{where}.steps")
    reply = t.get("reply")
    size = t.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 65535:
        raise LessonError(f"{where}.size: bytes, 0-65535")
    return PathCheck(
        name_ref(t["from"], names, f"{where}.from"), _text(t["to"], f"{where}.to"), proto, port,
        _choice(t.get("end", "delivered"), PATH_ENDS, f"{where}.end"),
        tuple(name_ref(v, names, f"{where}.via") for v in strs(t.get("via", []),
                                                                 f"{where}.via")),
        steps, None if reply is None else _choice(reply, PATH_ENDS, f"{where}.reply"),
        _text(t.get("says", ""), f"{where}.says"), size, _count(t.get("branches"),
                                                                 f"{where}.branches"))


def parse_check(raw, names: tuple[str, ...], where: str) -> Check:
    """A step's `check` table. Raises LessonError naming the place."""
    t = table(raw, where, {"exists", "absent", "reach", "path", "doctor", "healthy"})
    reach = t.get("reach", [])
    reach = [reach] if isinstance(reach, dict) else reach
    if not isinstance(reach, list):
        raise LessonError(f"{where}.reach: a table or a list of tables")
    return Check(
        exists=tuple(name_ref(x, names, f"{where}.exists")
                     for x in strs(t.get("exists", []), f"{where}.exists")),
        absent=tuple(name_ref(x, names, f"{where}.absent")
                     for x in strs(t.get("absent", []), f"{where}.absent")),
        reach=tuple(_reach(r, names, f"{where}.reach[{i}]") for i, r in enumerate(reach)),
        path=_path(t["path"], names, f"{where}.path") if "path" in t else None,
        doctor=strs(t.get("doctor", []), f"{where}.doctor"),
        healthy=strs(t.get("healthy", []), f"{where}.healthy"))
