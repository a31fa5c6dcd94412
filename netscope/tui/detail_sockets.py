"""The Sockets tab: what listens and what is connected in the selected namespace (on the
selected interface: sockets bound to its addresses, to every address, or to it), with the
processes holding each socket.

Pure (Rich, no Textual). Reads the host graph's sockets (`netscope sockets` prints the same).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from netscope.graph.host import HostGraph
from netscope.model.sockets import local_text, peer_text, processes_text, socket_order
from netscope.tui.detail_common import Selection, make_table, nothing


def sockets_tab(graph: HostGraph, sel: Selection) -> RenderableType:
    if sel.netns is None:
        return nothing("select a namespace or an interface on the left")
    if not graph.collected("sockets"):
        return nothing("this snapshot has no sockets (taken by a netscope without the "
                       "sockets collector): what listens here is unknown")
    table = graph.socket_table(sel.netns)
    if table is None:
        return nothing("the sockets of this namespace could not be read")
    sockets = list(table.sockets)
    if sel.link is not None:
        mine = {a.address for a in graph.addresses_on(sel.link)}
        sockets = [s for s in sockets if s.link == sel.link or (s.link is None and (
            s.wildcard or s.local in mine))]
    out = make_table("proto", "state", "local", "peer", "queue", "process")
    for s in sorted(sockets, key=socket_order):
        device = graph.links[s.link].name if s.link in graph.links else None
        state = Text(s.state, style="bold" if s.receiving else "")
        out.add_row(s.proto + ("6" if s.family == "inet6" else ""), state,
                    local_text(s, device), peer_text(s), f"{s.recv_q}/{s.send_q}",
                    processes_text(s) or Text("-", style="dim"))
    listening = sum(s.receiving for s in sockets)
    head = f"{listening} listening or bound, {len(sockets) - listening} other"
    notes = []
    if not table.connections:
        notes.append("TCP connections were not read for this snapshot (`netscope sockets` "
                     "lists them live)")
    if not table.owners:
        notes.append("the processes holding them could not be read")
    if table.truncated:
        notes.append(f"{table.count} sockets, the first {len(table.sockets)} kept")
    parts: list[RenderableType] = [Text(head, style="dim")]
    parts += [nothing(n) for n in notes]
    parts.append(out if out.row_count else nothing("no sockets here"))
    return Group(*parts)
