"""The namespace tree on the left: namespaces (containers by name), their interfaces, bridges
with their ports. Posts `NamespaceTree.Selected` when the cursor moves."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from netscope.model import Link
from netscope.model.index import SnapshotIndex
from netscope.model.labels import global_addresses, link_state, ns_order, peer_text
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
        self._index: SnapshotIndex | None = None
        self._changed: frozenset[str] = frozenset()

    def _link_label(self, link: Link, index: SnapshotIndex, changed: frozenset[str]) -> Text:
        text = _state_glyph(link)
        text.append(link.name, style="bold reverse yellow" if link.id in changed else "bold")
        text.append(f" {link.kind}", style="dim")
        addrs = global_addresses(link, index)
        if addrs:
            text.append(" " + " ".join(addrs))
        peer = peer_text(link, index)
        if peer and not link.master:
            text.append(" " + peer.replace("<->", "↔"), style="cyan")
        return text

    def _ns_label(self, ns_id: str, index: SnapshotIndex, changed: frozenset[str]) -> Text:
        ns = index.namespaces[ns_id]
        containers = index.containers_by_ns.get(ns_id, [])
        style = "bold reverse yellow" if ns_id in changed else "bold"
        text = Text("▣ " if containers else "□ ", style="cyan" if containers else "dim")
        text.append(ns.name, style=style)
        if containers:
            text.append(f"  container {containers[0].image or ''}".rstrip(), style="cyan")
        down = sum(not x.up for x in index.links_by_ns.get(ns_id, []) if x.kind != "loopback")
        if down:
            text.append(f"  {down} down", style="red")
        return text

    def show(self, index: SnapshotIndex, visible: frozenset[str] | None,
             changed: frozenset[str] = frozenset()) -> None:
        """Rebuild from `index`, keeping the cursor and the expanded nodes where they were.

        A namespace's interfaces are added only while it is expanded: hundreds of collapsed
        namespaces cost one node each (a rebuild at 400 namespaces stays in milliseconds).
        """
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        expanded = {i for i, n in self._by_id.items() if n.is_expanded}
        expand_all = not self._built and len(index.namespaces) < EXPAND_ALL_BELOW
        self._index, self._changed = index, changed
        self.clear()
        self._by_id = {}
        for ns_id in ns_order(index):
            if visible is not None and ns_id not in visible:
                continue
            node = self.root.add(safe_text(self._ns_label(ns_id, index, changed)), data=ns_id,
                                 allow_expand=bool(index.links_by_ns.get(ns_id)))
            self._by_id[ns_id] = node
            if expand_all or ns_id in expanded:
                self._fill(node, expanded, expand_all)
                node.expand()
        self._built = True
        target = self._by_id.get(cursor or "")
        if target is None and cursor is not None and self.root.children:
            target = self.root.children[0]  # what the cursor was on is filtered out
        if target is not None:
            self.call_after_refresh(self.move_cursor, target)

    def _fill(self, node: TreeNode[str], expanded: set[str] = frozenset(),
              expand_all: bool = False) -> None:
        """Add the namespace's interfaces (bridges with their ports) under its node."""
        index, changed = self._index, self._changed
        if index is None or node.children:
            return
        for link in sorted(index.links_by_ns.get(node.data, []), key=lambda x: x.ifindex):
            if link.master and link.master in index.links:
                continue
            ports = sorted(index.ports_by_bridge.get(link.id, []), key=lambda x: x.name)
            label = safe_text(self._link_label(link, index, changed))
            if ports:
                child = node.add(label, data=link.id,
                                 expand=expand_all or link.id in expanded)
                for port in ports:
                    self._by_id[port.id] = child.add_leaf(
                        safe_text(self._link_label(port, index, changed)), data=port.id)
            else:
                child = node.add_leaf(label, data=link.id)
            self._by_id[link.id] = child

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        if event.node.parent is self.root:
            self._fill(event.node)

    def move_cursor_to_first(self) -> None:
        """Put the cursor on the first namespace (which selects it)."""
        if self.root.children:
            self.call_after_refresh(self.move_cursor, self.root.children[0])

    def select_id(self, object_id: str) -> None:
        """Move the cursor to this object (expanding its parents), if it is shown."""
        link = self._index.links.get(object_id) if self._index else None
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
