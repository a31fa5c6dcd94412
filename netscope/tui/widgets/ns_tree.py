"""The namespace tree on the left: namespaces (containers by name), their interfaces, bridges
with their ports; in a cluster document, grouped under their node.

Attributes down: the app binds `graph`, `shown_namespaces` (the filter's, None: all),
`changed` (ids to highlight) and `selected` (the cursor follows it). Messages up: `Selected`
when the cursor moves."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from netscope.graph.host import HostGraph
from netscope.model import Link
from netscope.model.labels import global_addresses, link_state, peer_text
from netscope.tui.safe_render import safe_text

# up to this many namespaces, every namespace starts expanded
EXPAND_ALL_BELOW = 12


def _state_glyph(link: Link) -> Text:
    state = link_state(link)
    return Text("● ", style="green") if state == "UP" else Text("○ ", style="red")


class NamespaceTree(Tree[str]):
    """Node data is the model id of what the node shows (ns:..., link:...)."""

    DEFAULT_CSS = """
    NamespaceTree { width: 1fr; height: 1fr; }
    NamespaceTree > .tree--cursor { text-style: bold reverse; }
    """

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    shown_namespaces: reactive[frozenset[str] | None] = reactive(None, init=False)
    changed: reactive[frozenset[str]] = reactive(frozenset, init=False)
    selected: reactive[str | None] = reactive(None, init=False)

    class Selected(Message):
        """The cursor moved to the object with this id."""

        def __init__(self, object_id: str) -> None:
            super().__init__()
            self.object_id = object_id

    def __init__(self, **kwargs) -> None:
        super().__init__("host", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._by_id: dict[str, TreeNode[str]] = {}
        self._built = False
        self._pending = False
        # the namespaces shown and their cluster nodes, as last built (None: not built yet)
        self._shape: tuple | None = None
        # what the labels were made from: the snapshot's fields they read, and `changed`
        self._labelled: tuple = ()

    def on_mount(self) -> None:
        self._stale()

    def watch_graph(self) -> None:
        self._stale()

    def watch_shown_namespaces(self) -> None:
        self._stale()

    def watch_changed(self) -> None:
        self._stale()

    def watch_selected(self, selected: str | None) -> None:
        if not self._pending and selected is not None:
            self._select_id(selected)

    def _stale(self) -> None:
        """Rebuild once, after whatever else changes in the same turn."""
        if not self._pending and self.is_mounted and self.graph is not None:
            self._pending = True
            self.call_next(self._rebuild)

    def _rebuild(self) -> None:
        self._pending = False
        first = not self._built
        self._show(self.graph, self.shown_namespaces, self.changed)
        if self.selected is not None and self.selected in self._by_id:
            self._select_id(self.selected)
        elif first:
            self._cursor_to_first()

    def _link_label(self, link: Link, graph: HostGraph, changed: frozenset[str]) -> Text:
        text = _state_glyph(link)
        text.append(link.name, style="bold reverse yellow" if link.id in changed else "bold")
        text.append(f" {link.kind}", style="dim")
        addrs = global_addresses(link, graph)
        if addrs:
            text.append(" " + " ".join(addrs))
        peer = peer_text(link, graph)
        if peer and not link.master:
            text.append(" " + peer.replace("<->", "↔"), style="cyan")
        lower = graph.lower(link)
        if lower is not None:
            where = lower.name if lower.netns == link.netns else graph.link_label(lower.id)
            text.append(f" ┆ on {where}", style="magenta")
        return text

    def _ns_label(self, ns_id: str, graph: HostGraph, changed: frozenset[str]) -> Text:
        ns = graph.namespaces[ns_id]
        containers = graph.containers_in(ns_id)
        style = "bold reverse yellow" if ns_id in changed else "bold"
        text = Text("▣ " if containers else "□ ", style="cyan" if containers else "dim")
        text.append(ns.name, style=style)
        pods = graph.pods_in(ns_id)
        if pods:
            text.append(f"  {pods[0].runtime} pod", style="cyan")
        elif containers:
            runtime = "" if containers[0].runtime == "docker" else f"{containers[0].runtime} "
            text.append(f"  {runtime}container {containers[0].image or ''}".rstrip(),
                        style="cyan")
        down = sum(not x.up for x in graph.links_in(ns_id) if x.kind != "loopback")
        if down:
            text.append(f"  {down} down", style="red")
        return text

    def _show(self, graph: HostGraph, visible: frozenset[str] | None,
              changed: frozenset[str]) -> None:
        """Show `graph`: when the same namespaces are shown in the same places, only what
        changed is relabelled (a live update redraws a line or two, not the tree); otherwise
        the tree is rebuilt, keeping the cursor and the expanded nodes where they were.

        A namespace's interfaces are added only while it is expanded: hundreds of collapsed
        namespaces cost one node each (a rebuild at 400 namespaces stays in milliseconds).
        """
        order = tuple(ns for ns in graph.ns_order() if visible is None or ns in visible)
        shape = (order, tuple(graph.node_of(ns) for ns in order))
        s = graph.snapshot
        # the labels read these (a live re-read of neighbours alone keeps them all)
        labelled = (changed, s.namespaces, s.links, s.addresses, s.containers, s.pods)
        if self._built and shape == self._shape:
            if not self._labelled or labelled[0] != self._labelled[0] or any(
                    a is not b for a, b in zip(labelled[1:], self._labelled[1:], strict=True)):
                self._relabel(graph, order, changed)
            self._labelled = labelled
            return
        self._labelled = labelled
        self._shape = shape
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        expanded = {i for i, n in self._by_id.items() if n.is_expanded}
        expand_all = not self._built and len(graph.namespaces) < EXPAND_ALL_BELOW
        self.clear()
        self._by_id = {}
        nodes: dict[str, TreeNode[str]] = {}
        for ns_id in graph.ns_order():
            if visible is not None and ns_id not in visible:
                continue
            parent = self.root
            node_name = graph.node_of(ns_id)
            if node_name is not None:
                parent = nodes.get(node_name) or self._node_item(graph, node_name, nodes)
            node = parent.add(safe_text(self._ns_label(ns_id, graph, changed)), data=ns_id,
                              allow_expand=bool(graph.links_in(ns_id)))
            self._by_id[ns_id] = node
            if expand_all or ns_id in expanded:
                self._fill(node, expanded, expand_all)
                node.expand()
        self._built = True
        target = self._by_id.get(cursor or "")
        if target is None and cursor is not None and self.root.children:
            target = self._first_namespace()  # what the cursor was on is filtered out
        if target is not None:
            self.call_after_refresh(self.move_cursor, target)

    def _relabel(self, graph: HostGraph, order: tuple[str, ...], changed: frozenset[str]
                 ) -> None:
        """Set the labels that changed; an expanded namespace whose interfaces changed gets
        them added again."""
        for ns_id in order:
            node = self._by_id[ns_id]
            self._set_label(node, self._ns_label(ns_id, graph, changed))
            node.allow_expand = bool(graph.links_in(ns_id))
            if not node.children:
                continue
            rows = self._rows(graph, ns_id)
            if [link.id for link, _ in rows] != [n.data for n in self._subtree(node)]:
                expanded = {n.data for n in self._subtree(node) if n.is_expanded}
                for n in self._subtree(node):
                    self._by_id.pop(n.data, None)
                node.remove_children()
                self._fill(node, expanded)
                continue
            for link, _ in rows:
                self._set_label(self._by_id[link.id], self._link_label(link, graph, changed))

    @staticmethod
    def _set_label(node: TreeNode[str], label: Text) -> None:
        label = safe_text(label)
        if label != node.label:
            node.set_label(label)

    @staticmethod
    def _subtree(node: TreeNode[str]) -> list[TreeNode[str]]:
        """A namespace's interface nodes in display order (bridge ports after their bridge)."""
        return [n for child in node.children for n in (child, *child.children)]

    @staticmethod
    def _rows(graph: HostGraph, ns_id: str) -> list[tuple[Link, bool]]:
        """The namespace's interfaces in display order: (link, is a bridge port)."""
        rows: list[tuple[Link, bool]] = []
        for link in sorted(graph.links_in(ns_id), key=lambda x: x.ifindex):
            if graph.master(link) is None:
                rows.append((link, False))
                rows += [(port, True) for port in sorted(graph.bridge_ports(link),
                                                         key=lambda x: x.name)]
        return rows

    def _node_item(self, graph: HostGraph, name: str, nodes: dict[str, TreeNode[str]]
                   ) -> TreeNode[str]:
        """A cluster document's node: a title above its namespaces (nothing to select)."""
        info = next((n for n in graph.nodes if n.name == name), None)
        text = Text("◼ node ", style="bold magenta")
        text.append(name, style="bold")
        if info is not None:
            text.append(f"  {info.kernel}  captured {info.captured_at}", style="dim")
        item = self.root.add(safe_text(text), data="", expand=True)
        nodes[name] = item
        return item

    def _first_namespace(self) -> TreeNode[str] | None:
        first = self.root.children[0] if self.root.children else None
        if first is not None and not first.data and first.children:
            return first.children[0]  # a node's title: its first namespace
        return first

    def _fill(self, node: TreeNode[str], expanded: set[str] = frozenset(),
              expand_all: bool = False) -> None:
        """Add the namespace's interfaces (bridges with their ports) under its node."""
        graph, changed = self.graph, self.changed
        if graph is None or node.children:
            return
        parent = node
        for link, is_port in self._rows(graph, node.data):
            label = safe_text(self._link_label(link, graph, changed))
            if is_port:
                self._by_id[link.id] = parent.add_leaf(label, data=link.id)
                continue
            if graph.bridge_ports(link):
                child = parent = node.add(label, data=link.id,
                                          expand=expand_all or link.id in expanded)
            else:
                child = node.add_leaf(label, data=link.id)
            self._by_id[link.id] = child

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        if self.graph is not None and event.node.data in self.graph.namespaces:
            self._fill(event.node)

    def _cursor_to_first(self) -> None:
        """Put the cursor on the first namespace (which selects it), unless something was
        selected meanwhile (a click, a key, the app)."""
        first = self._first_namespace()

        def to_first() -> None:
            if self.selected is None:
                self.move_cursor(first)
        if first is not None:
            self.call_after_refresh(to_first)

    def _select_id(self, object_id: str) -> None:
        """Move the cursor to this object (expanding its parents), if it is shown."""
        if self.cursor_node is not None and self.cursor_node.data == object_id:
            return
        link = self.graph.links.get(object_id) if self.graph else None
        if link is not None and link.netns in self._by_id:
            self._fill(self._by_id[link.netns])
        node = self._by_id.get(object_id)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self.move_cursor, node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        if event.node.data:
            self.post_message(self.Selected(event.node.data))
