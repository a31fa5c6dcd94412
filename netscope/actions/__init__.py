"""netscope.actions: every change netscope makes to a host, as journaled, undoable plans.

- `ops`: operations as data, each with its equivalent shell command (registered in OP_TYPES)
- `execute`: applies them (batched `ip -batch` per namespace), returning each one's undo
- `journal`, `plan`: the on-disk journal; apply with rollback on failure/Ctrl-C; undo later
- `labs`, `lab_plan`, `settle`: `netscope lab up/down/status` on topology/*.toml
- `probe`, `rawprobe`: a lab's checks as real packets between its namespaces (read-only)
- `procs`: lab server processes, started in a namespace and stopped by pid + start time
- `repair`: doctor findings' repair plans (see netscope.analysis.doctor)
"""
