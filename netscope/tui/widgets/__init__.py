"""The TUI's widgets, one per module, each with its CSS, keys and the messages it posts."""
