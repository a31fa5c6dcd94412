"""Whether a redacted text still holds an original value.

A plain substring test is wrong for addresses: a redacted address drawn with a random key can
begin with an original one (198.18.17.190 holds "198.18.17.1"), and the test would fail once in
a few hundred runs. An address counts only as a whole token.
"""

from __future__ import annotations

import re


def holds(text: str, value: str) -> bool:
    """True when ``value`` occurs in ``text``: as a whole address, or anywhere for other values."""
    if "." in value and value.replace(".", "").isdigit():
        boundary = r"[\d.]"
    elif ":" in value:
        boundary = r"[0-9a-fA-F:]"
    else:
        return value in text
    return re.search(rf"(?<!{boundary}){re.escape(value)}(?!{boundary})", text) is not None
