"""Errors the host layer raises, each carrying a message a user can act on."""


class HostError(Exception):
    """Reading the host failed in a way the user can fix (privileges, a missing tool)."""


class NamespaceGone(HostError):
    """A namespace (or the process holding it) disappeared while netscope was reading it."""
