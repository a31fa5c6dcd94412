"""The one output sanitiser: control characters and bidi overrides escaped, JSON unchanged."""

from __future__ import annotations

import json

import pytest
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from netscope.model.safe_text import safe, safe_lines
from netscope.tui.safe_render import safe_renderable
from tests.hostile.hostile_data import ESCAPED, PAYLOAD, raw_controls


@pytest.mark.parametrize(("raw", "one_line", "lines"), [
    ("eth0", "eth0", "eth0"),
    ("a\x1b[2Jb", "a\\x1b[2Jb", "a\\x1b[2Jb"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07", "title\\x1b]0;pwned\\x07"),
    ("two\nlines\tx", "two\\x0alines\\x09x", "two\nlines\tx"),
    ("cr\rover", "cr\\x0dover", "cr\\x0dover"),
    ("nul\x00", "nul\\x00", "nul\\x00"),
    ("del\x7f", "del\\u007f", "del\\u007f"),
    ("c1\x9b31m", "c1\\u009b31m", "c1\\u009b31m"),
    ("rtl\u202eevil\u202c", "rtl\\u202eevil\\u202c", "rtl\\u202eevil\\u202c"),
    ("iso\u2066x\u2069", "iso\\u2066x\\u2069", "iso\\u2066x\\u2069"),
    ("mark\u200f\u061c", "mark\\u200f\\u061c", "mark\\u200f\\u061c"),
    ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029", "ls\\u2028ps\\u2029"),
    ("not utf-8 \udcff", "not utf-8 \\udcff", "not utf-8 \\udcff"),
    ("naïve 日本 ✓", "naïve 日本 ✓", "naïve 日本 ✓"),
])
def test_escapes_controls_visibly(raw, one_line, lines):
    assert safe(raw) == one_line
    assert safe_lines(raw) == lines
    assert safe(safe(raw)) == safe(raw) and safe_lines(safe_lines(raw)) == safe_lines(raw)


def test_payload_is_escaped_whole():
    assert safe(PAYLOAD) == ESCAPED
    assert not raw_controls(safe(PAYLOAD))


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_json_document_keeps_its_exact_value(ensure_ascii):
    doc = {"name": PAYLOAD + "\x7f\x85\udcff\u2028", "list": [PAYLOAD, 1, None],
           PAYLOAD: {"nested": "\x00\x1f"}}
    text = json.dumps(doc, ensure_ascii=ensure_ascii, indent=1)
    assert json.loads(safe_lines(text)) == doc
    if ensure_ascii:
        assert safe_lines(text) == text


def _rendered(renderable) -> str:
    console = Console(width=200, record=True, color_system=None, force_terminal=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def test_rich_renderables_are_escaped_with_their_styles_kept():
    text = Text("name ")
    text.append(PAYLOAD, style="bold")
    text.append(" end", style="red")
    table = Table("device", "value")
    table.add_row(PAYLOAD, Text(PAYLOAD))
    table.add_row("[/]", "[b]markup[/b]")  # a str cell is not parsed as markup any more
    out = safe_renderable(Group(text, table))
    shown = _rendered(out)
    assert not raw_controls(shown)
    assert ESCAPED in shown and "[/]" in shown and "[b]markup[/b]" in shown
    first = out.renderables[0]
    kept = ESCAPED.replace("\\x07", "")  # Rich's Text itself drops BEL (and BS, VT, FF, CR)
    assert first.plain == "name " + kept + " end"
    # the bold span covers exactly the escaped payload, the red one " end"
    styles = {str(s.style): first.plain[s.start:s.end] for s in first.spans}
    assert styles == {"bold": kept, "red": " end"}
