"""The kernel boundary for reading: netlink per namespace, /proc, sysctls, Docker's API.

Nothing outside `netscope.host` (and `netscope.trace` for eBPF) talks to the kernel to read.
"""
