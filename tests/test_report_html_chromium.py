"""The HTML report renders in a real browser: headless Chromium takes a screenshot.

Skipped (with a message) only when Chromium is absent outside CI; in CI (``CI`` set) a
missing Chromium fails, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from reportdata import build_campaign, sample_recipients

from mailbounce.report import build_report
from mailbounce.report_text import ReportFormat, atomic_output, write_report
from mailbounce.store import Store

WIDTH, HEIGHT = 1200, 1600


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is required in CI (.ci/run installs the Debian package)")
    pytest.skip("chromium is not installed: apt-get install chromium to run this test")


def _png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG into raw rows (filters undone)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def test_report_renders_in_headless_chromium(db_path: Path, tmp_path: Path) -> None:
    browser = _chromium()
    build_campaign(db_path, "nov-2026", sample_recipients())
    page = tmp_path / "report.html"
    with Store(db_path) as store, atomic_output(page) as out:
        write_report(build_report(store, None, "fr"), ReportFormat.HTML, out)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={WIDTH},{HEIGHT}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), f"no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    width, channels, rows = _png_rows(shot.read_bytes())
    assert (width, len(rows)) == (WIDTH, HEIGHT)
    colours = {
        row[x : x + 3] for row in rows[::8] for x in range(0, width * channels, channels * 8)
    }
    # A blank or failed page is one or two colours; text, tables and the chart's bars make
    # many. The chart's green (#2e7d32, accepted) and red (#c62828, permanent) bars show.
    assert len(colours) > 20, len(colours)
    assert bytes((0x2E, 0x7D, 0x32)) in colours
    assert bytes((0xC6, 0x28, 0x28)) in colours
