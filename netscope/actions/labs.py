"""Bring labs up and down: `up` is a journaled transaction, `down` works from any process.

A lab instance (by default named like the lab) owns the namespaces `nsl-<instance>-<node>`
and the journal `<state dir>/labs/<instance>.json`, written before anything is created.
`down` undoes what the journal records and deletes every namespace the plan meant to
create, even when some are already gone; without a journal (never written, or deleted) it
falls back to the names the lab's topology file implies, and touches nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netscope.actions import journal as jr
from netscope.actions import locks, plan, procs, settle
from netscope.actions.execute import apply_one
from netscope.actions.lab_plan import PREFIX, carrier_expected, lab_plan, ns_name
from netscope.actions.ops import NAMED_NETNS, NetnsAdd, NetnsDel, Op, Stop
from netscope.labs import catalog
from netscope.labs.topology import Topology

INSTANCE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# the instances lessons use (netscope.actions.lessons): all of nsl-lessonN-* is theirs
LESSON_INSTANCE_RE = re.compile(r"^lesson[0-9]{1,2}$")
Progress = plan.Progress


class LabError(Exception):
    """Something the user can fix about a lab; the message says what to run."""


@dataclass(frozen=True)
class LabUp:
    """What `up` did (or found): the operations, and whether the lab was already up."""

    instance: str
    ref: str
    ops: list[Op]
    already_up: bool = False
    no_carrier: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabStatus:
    instance: str
    ref: str
    state: str
    namespaces: dict[str, bool]
    servers: dict[str, bool]
    created: str

    @property
    def healthy(self) -> bool:
        return (self.state == jr.APPLIED and all(self.namespaces.values())
                and all(self.servers.values()))


def labs_dir() -> Path:
    return jr.state_dir() / "labs"


def journal_path(instance: str) -> Path:
    return labs_dir() / f"{instance}.json"


def check_instance(instance: str) -> str:
    if not INSTANCE_RE.match(instance):
        raise LabError(f"bad lab instance name {instance!r}: use 1-32 lowercase letters, "
                       "digits and '-'")
    return instance


def resolve(ref: str, containers: int | None = None) -> Topology:
    """The topology of `lab[/variant]`; LabError for unknown labs and invalid files."""
    try:
        return catalog.resolve(ref, containers)
    except (LookupError, catalog.TopologyError) as e:
        raise LabError(str(e)) from None


def plan_up(topo: Topology, instance: str) -> list[Op]:
    """The operations `up` would run (for --dry-run)."""
    return lab_plan(topo, check_instance(instance), str(labs_dir() / instance))


def up(topo: Topology, instance: str | None = None, progress: Progress | None = None, *,
       title: str | None = None, extra: dict | None = None) -> LabUp:
    """Create the lab, or find it already up. Raises LabError, plan.PlanFailed or
    KeyboardInterrupt (after rolling back).

    `title` replaces the lab's name where `lab status` shows it (a drill puzzle does not
    name its fault); `extra` is added to the journal's meta (the puzzle's number)."""
    instance = check_instance(instance or topo.name)
    path = journal_path(instance)
    ops = plan_up(topo, instance)
    names = [op.name for op in ops if isinstance(op, NetnsAdd)]
    with locked(path, names, f"lab up {instance}"):
        existing = _load(path)
        if existing is not None:
            return _already_up(existing, topo, instance)
        taken = [n for n in names if os.path.lexists(os.path.join(NAMED_NETNS, n))]
        if taken:
            raise LabError(f"namespace {taken[0]} already exists and no journal records it: "
                           f"run `netscope lab down {instance}` to remove the leftovers")
        (labs_dir() / instance).mkdir(parents=True, exist_ok=True)
        journal = jr.Journal(path, kind="lab", title=title or topo.ref, plan=ops,
                             meta={**_meta(topo, instance), **(extra or {})})
        plan.apply(journal, progress)
        late = settle.wait_settled(settle.expected_carrier(carrier_expected(topo, instance)))
        return LabUp(instance, topo.ref, ops, no_carrier=tuple(
            f"{ns}:{name}" for ns, names in sorted(late.items()) for name in sorted(names)))


def _meta(topo: Topology, instance: str) -> dict:
    return {
        "lab": topo.name, "ref": topo.ref, "instance": instance,
        "topology": os.path.abspath(topo.path) if topo.path else topo.path,
        "containers": sum(1 for n in topo.nodes if n.role == "container"),
        "scaled": topo.scaled,
        "fault": topo.variant.fault if topo.variant else None,
        "nodes": {n.key: {"netns": ns_name(instance, n.key), "role": n.role}
                  for n in topo.nodes},
    }


def _already_up(existing: jr.Journal, topo: Topology, instance: str) -> LabUp:
    state = status_of(existing)
    same = (existing.meta.get("ref") == topo.ref
            and existing.meta.get("scaled") == topo.scaled
            and existing.meta.get("nodes", {}).keys() == {n.key for n in topo.nodes})
    if not same:
        raise LabError(f"lab instance {instance} is already up as {state.ref}: run "
                       f"`netscope lab down {instance}` first (or pick --instance)")
    if not state.healthy:
        missing = [n for n, ok in {**state.namespaces, **state.servers}.items() if not ok]
        detail = f"missing: {', '.join(missing)}" if missing else f"state {state.state}"
        raise LabError(f"lab instance {instance} is partly up ({detail}): run "
                       f"`netscope lab down {instance}`, then up again")
    return LabUp(instance, topo.ref, existing.plan, already_up=True)


def down(instance: str, progress: Progress | None = None) -> list[str]:
    """Remove everything the instance created; returns what was removed (shell commands).

    Nothing to remove (never up, or already down) is not an error: the list is empty.
    Raises LabError when removal failed.
    """
    check_instance(instance)
    path = journal_path(instance)
    before = _load(path)
    with locked(path, _namespaces_of(before), f"lab down {instance}"):
        journal = _load(path)
        if journal is None:
            done = _down_without_journal(instance, progress)
        else:
            removed: list[str] = []

            def note(line: str) -> None:
                removed.append(line)
                if progress:
                    progress(line)

            errors = plan.undo(journal, note)
            if errors:
                raise LabError(f"lab {instance} is not completely down: {errors[0]} "
                               f"(journal kept in {path}; run down again)")
            done = removed
        shutil.rmtree(labs_dir() / instance, ignore_errors=True)
    return done


def _down_without_journal(instance: str, progress: Progress | None) -> list[str]:
    """No journal: remove the namespaces the lab file of that name implies, if any exist.

    A lesson's instance (`lesson<N>`) owns every `nsl-lesson<N>-*` namespace: a learner may
    have typed a step's commands before netscope wrote a journal. An instance that is
    neither and has no journal is not up: nothing to remove.
    """
    if LESSON_INSTANCE_RE.match(instance):
        try:
            named = os.listdir(NAMED_NETNS)
        except OSError:
            named = []
        names = sorted(n for n in named if n.startswith(ns_name(instance, "")))
    else:
        names = sorted(ns_name(instance, node) for node in _lab_nodes(instance))
    removed = []
    for name in names:
        if os.path.lexists(os.path.join(NAMED_NETNS, name)):
            op = NetnsDel(name)
            if progress:
                progress(op.shell())
            apply_one(op)
            removed.append(op.shell())
    return removed


def _lab_nodes(instance: str) -> set[str]:
    """The nodes the lab file named `instance` (and its variants) declare; none when no lab
    has that name."""
    try:
        lab = catalog.find_lab(instance)
    except LookupError:
        return set()
    except catalog.TopologyError as e:
        raise LabError(str(e)) from None
    nodes = set(lab.doc.get("nodes", {}))
    for variant in lab.doc.get("variants", {}).values():
        nodes |= set(variant.get("set", {}).get("nodes", {}))
    return nodes


def topology_of(instance: str) -> Topology:
    """The topology an instance that is up was built from (for `lab check`)."""
    journal = _load(journal_path(check_instance(instance)))
    if journal is None:
        raise LabError(f"no lab instance {instance} is up; `netscope lab status` lists them")
    ref, path = journal.meta.get("ref", ""), journal.meta.get("topology")
    if isinstance(path, str) and path.endswith(".toml") and os.path.isfile(path):
        # the file it was built from: a user's own lab file is not in the catalog
        variant = catalog.split_ref(ref)[1]
        ref = path + (f"/{variant}" if variant else "")
    return resolve(ref, journal.meta.get("scaled"))


def status_of(journal: jr.Journal) -> LabStatus:
    nodes = journal.meta.get("nodes", {})
    namespaces = {n["netns"]: os.path.lexists(os.path.join(NAMED_NETNS, n["netns"]))
                  for n in nodes.values()}
    servers = {d.undo.label: procs.start_time(d.undo.pid) == d.undo.start_time
               for d in journal.done if isinstance(d.undo, Stop)}
    return LabStatus(journal.meta.get("instance", journal.path.stem), journal.title,
                     journal.state, namespaces, servers, journal.created)


def status() -> tuple[list[LabStatus], list[str]]:
    """Every journaled lab instance, and lab-named namespaces that no journal owns."""
    states, owned = [], set()
    for path in sorted(labs_dir().glob("*.json")) if labs_dir().is_dir() else []:
        journal = _load(path)
        if journal is None:
            continue
        state = status_of(journal)
        states.append(state)
        owned |= set(state.namespaces)
    try:
        named = os.listdir(NAMED_NETNS)
    except OSError:
        named = []
    strays = sorted(n for n in named if n.startswith(PREFIX) and n not in owned)
    return states, strays


def lab_namespaces() -> dict[str, dict[str, str]]:
    """Namespace name -> {instance, lab, ref, node, role, fault} for every journaled lab."""
    out = {}
    for state_path in sorted(labs_dir().glob("*.json")) if labs_dir().is_dir() else []:
        journal = _load(state_path)
        if journal is None:
            continue
        meta = journal.meta
        for node, info in meta.get("nodes", {}).items():
            out[info["netns"]] = {"instance": meta.get("instance", ""), "lab": meta.get("lab"),
                                  "ref": meta.get("ref"), "node": node, "role": info["role"],
                                  "fault": meta.get("fault")}
    return out


def _load(path: Path) -> jr.Journal | None:
    try:
        return jr.load(path)
    except jr.JournalError as e:
        raise LabError(str(e)) from None


def _namespaces_of(journal: jr.Journal | None) -> list[str]:
    if journal is None:
        return []
    return [op.name for op in journal.plan if isinstance(op, NetnsAdd)]


@contextlib.contextmanager
def locked(path: Path, namespaces: list[str], owner: str) -> Iterator[None]:
    """The instance's journal and the namespaces it creates, locked (repairs in a lab's
    namespaces take the same locks); temporary journal files a killed netscope left are
    removed first."""
    jr.sweep_temporary(path.parent)
    try:
        lock = locks.held([locks.journal_lock(path), *locks.namespace_locks(namespaces)], owner)
        lock.__enter__()
    except jr.JournalError as e:
        raise LabError(str(e)) from None
    except OSError as e:
        raise LabError(f"cannot use the state directory {path.parent}: {e.strerror}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
