"""netscope: see where a packet goes on a Linux host that runs containers, and why it dies."""

__version__ = "0.1.0"
