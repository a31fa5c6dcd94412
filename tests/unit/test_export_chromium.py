"""The HTML report opens in headless Chromium and shows the namespaces (DOM and pixels)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import pytest

from netscope.report.export import export
from netscope.snapshot import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install chromium)")


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="netscope-chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels) of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium
    writes), decoded with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, pixels, i = bytearray(stride), [], 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [tuple(line[x:x + 3]) for x in range(0, stride, bpp)]
        prev = line
    return width, height, pixels


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    snap = load(str(FIXTURES / "bundle-after.json"))
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(export(snap, "html"))
    return snap, path


def test_dom_holds_every_namespace(page):
    snap, path = page
    p = chromium("--dump-dom", path.as_uri())
    assert p.returncode == 0, p.stderr[-500:]
    dom = p.stdout
    assert "<svg" in dom and "Doctor findings (1)" in dom
    for ns in snap.namespaces:
        assert re.search(rf'class="nsname">{re.escape(ns.name)}<', dom), ns.name
        assert f'<details open="" id="{ns.id}">' in dom


def test_screenshot_shows_the_topology(page, tmp_path):
    _snap, path = page
    shot = tmp_path / "shot.png"
    p = chromium("--window-size=1200,1600", f"--screenshot={shot}", path.as_uri())
    assert p.returncode == 0 and shot.exists(), p.stderr[-500:]
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    assert white < 0.97 * len(pixels), "the page rendered (almost) blank"
    # namespace boxes (#f5f7fa), the green "up" bars (#2e7d32), the red finding bar (#c62828)
    assert colours[(0xF5, 0xF7, 0xFA)] > 20_000
    assert colours[(0x2E, 0x7D, 0x32)] > 300
    assert colours[(0xC6, 0x28, 0x28)] > 300
