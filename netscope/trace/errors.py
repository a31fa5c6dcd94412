"""The one exception the trace package raises for anything a user can fix."""


class ProbeError(Exception):
    """eBPF cannot run here (no bcc, BTF, headers or privileges) or a probe failed to load.

    The message is one line saying what is missing and what to do.
    """
