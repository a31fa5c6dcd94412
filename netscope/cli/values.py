"""Argument types for numbers: checked where they are parsed, so nothing downstream (scapy,
time.sleep, a BPF filter) ever sees a port of 70000, a NaN timeout or a negative count.

Each is an argparse `type=`: a bad value is argparse's usage error (exit 2) naming the
option and the accepted range, never a traceback or a hang.
"""

from __future__ import annotations

import argparse
import math

# a week: longer is a typo (and time.sleep overflows on values near 1e10)
MAX_SECONDS = 7 * 24 * 3600.0


def port(text: str) -> int:
    """A TCP/UDP port: an integer from 1 to 65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number: give 1-65535"
                                         ) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number: give 1-65535")
    return value


def seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0, at most a week (nan, inf refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text} is not a duration: give seconds above 0 and at most {MAX_SECONDS:.0f}")
    return value


def positive_int(text: str) -> int:
    """A count: an integer of at least 1."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: give a number of at least 1")
    return value
