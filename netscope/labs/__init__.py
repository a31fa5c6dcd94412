"""Labs: declarative network topologies (topology/*.toml), loaded and validated without root.

This package is pure: it parses and validates topology files into frozen dataclasses and
never touches the host. `netscope.actions.labs` turns a topology into a plan and applies it.
"""
