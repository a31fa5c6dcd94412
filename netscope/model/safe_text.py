"""Text from the host or a file, made safe to show: no control character reaches a terminal.

Names of namespaces and devices, hostnames, rule comments, /etc/hosts and resolv.conf are
untrusted: a container with NET_ADMIN in its own namespace can name an interface
"\\x1b]0;pwned\\x07", and a snapshot someone sends can hold anything. Every text output of
netscope (the CLI's standard output and error, the TUI's widgets, the text, Markdown, HTML,
DOT and Mermaid exports) passes what it shows through `safe` or `safe_lines`.

What is escaped, shown visibly instead of interpreted:
- C0 controls (U+0000-U+001F) as `\\x1b`; `safe_lines` keeps newline and tab;
- DEL and C1 controls (U+007F-U+009F), bidirectional overrides, embeddings, isolates and
  marks (Trojan Source), line and paragraph separators, and lone surrogates (bytes that were
  not UTF-8) as `\\u202e`.

The second form is also a JSON escape of the same character, and C0 controls never appear
raw in JSON text, so `safe_lines` applied to a JSON document leaves its value exactly as it
was: the CLI can pass everything it writes through it, `--json` output included.
Both functions are idempotent (their output has nothing left to escape).
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_OTHER = f"\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHER}]")
_UNSAFE_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """One line of untrusted text to show: every control character escaped, newlines too."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def safe_lines(text: str) -> str:
    """Untrusted text of several lines: like `safe`, but newline and tab are kept."""
    if _UNSAFE_LINES.search(text) is None:
        return text
    return _UNSAFE_LINES.sub(_escape, text)


def is_safe(text: str) -> bool:
    """True when `safe_lines` would leave `text` as it is."""
    return _UNSAFE_LINES.search(text) is None
