"""The host graph: one snapshot's relations, derived once (netscope.graph.host.HostGraph).

Import what you need from the submodules: `host` (HostGraph), `routing` (the kernel's route
lookup), `endpoints` (SRC/DST), `typed` (the networkx form the exports write), `netfilter`
(hooks, chains, rules and what they name). networkx loads only when a module needs it.
"""
