"""The pictures in a real browser (API §8): headless Chromium draws the every-kind
workflow and a run over it; the screenshot is not blank, and, measured in the browser's
own DOM with its own fonts, no edge crosses a box it does not belong to, no label
overlaps another or a box, and every text fits its box.

Needs Chromium (`apt-get install chromium`). Where it is missing the tests are skipped,
except in CI (the `CI` environment variable is set), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from graphs import EVERY_KIND

import crossflow as cf

pytestmark = pytest.mark.slow

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """The browser to run, or skip (fail in CI) when there is none."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "Chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must install it")
    pytest.skip(message)


def run_browser(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--hide-scrollbars", *args, page.as_uri(),
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


def pixels(png: bytes) -> list[tuple[int, ...]]:
    """The pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, data, width, height, channels = 8, b"", 0, 0, 0
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        body = png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        at += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return [tuple(row[x : x + 3]) for row in rows for x in range(0, stride, channels)]


def test_the_picture_is_not_blank(tmp_path: Path) -> None:
    """API §8: Chromium draws the every-kind SVG: the screenshot has lines, boxes and
    coloured fills, not a blank page."""
    page = tmp_path / "every_kind.svg"
    page.write_text(EVERY_KIND.to_svg(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    result = run_browser(page, f"--screenshot={shot}", "--window-size=900,1000")
    assert shot.is_file(), result.stderr
    seen = pixels(shot.read_bytes())
    dark = sum(1 for p in seen if max(p) < 120)
    colours = {p for p in seen if max(p) - min(p) > 20}
    assert dark > 2000, "hardly anything drawn"
    assert len(colours) > 20, "no coloured fills"


CHECK = r"""
<script>
function box(el) { const b = el.getBBox(); return [b.x, b.y, b.width, b.height]; }
function inside(p, r, m) { return r[0] + m < p[0] && p[0] < r[0] + r[2] - m && r[1] + m < p[1] && p[1] < r[1] + r[3] - m; }
function meet(a, b) { return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]; }
const problems = [];
const frames = {};
for (const r of document.querySelectorAll('rect.cf-frame')) frames[r.dataset.frame] = box(r);
const parents = {};
for (const id in frames) {
  let best = null;
  for (const other in frames) {
    if (other === id) continue;
    const a = frames[id], b = frames[other];
    if (b[0] <= a[0] && b[1] <= a[1] && a[0] + a[2] <= b[0] + b[2] && a[1] + a[3] <= b[1] + b[3])
      if (best === null || frames[best][2] * frames[best][3] > b[2] * b[3]) best = other;
  }
  parents[id] = best;
}
const boxes = {};
for (const g of document.querySelectorAll('g.cf-box')) boxes[g.dataset.id] = box(g.querySelector('rect, path'));
let edges = 0;
for (const p of document.querySelectorAll('path.cf-edge')) {
  edges += 1;
  const own = new Set([p.dataset.source, p.dataset.target]);
  for (let f = p.dataset.frame; f; f = parents[f]) own.add(f);
  const length = p.getTotalLength();
  const points = [];
  for (let i = 0; i <= 60; i++) { const q = p.getPointAtLength(length * i / 60); points.push([q.x, q.y]); }
  for (const id in frames) if (!own.has(id) && points.some(q => inside(q, frames[id], 0.5))) problems.push('edge ' + p.dataset.source + '->' + p.dataset.target + ' crosses frame ' + id);
  for (const id in boxes) if (!own.has(id) && points.some(q => inside(q, boxes[id], 0.5))) problems.push('edge ' + p.dataset.source + '->' + p.dataset.target + ' crosses box ' + id);
}
const labels = [...document.querySelectorAll('text.cf-port')].map(box);
labels.forEach((a, i) => labels.slice(i + 1).forEach(b => { if (meet(a, b)) problems.push('port labels overlap'); }));
for (const l of labels) for (const id in boxes) if (meet(l, boxes[id])) problems.push('a port label overlaps box ' + id);
for (const g of document.querySelectorAll('g.cf-box')) {
  const shape = box(g.querySelector('rect, path'));
  for (const t of g.querySelectorAll('text')) {
    if (t.closest('g') !== g || t.textContent.length < 2) continue;
    const b = box(t);
    if (b[0] < shape[0] - 0.5 || b[0] + b[2] > shape[0] + shape[2] + 0.5) problems.push('text "' + t.textContent + '" sticks out of its box ' + g.dataset.id);
  }
}
document.getElementById('result').textContent = JSON.stringify({edges: edges, frames: Object.keys(frames).length, problems: problems});
</script>
"""


def measure(tmp_path: Path, svg: str) -> dict[str, object]:
    page = tmp_path / "page.html"
    page.write_text(
        f'<!doctype html><html><body style="margin:0">{svg}<pre id="result"></pre>{CHECK}'
        "</body></html>",
        encoding="utf-8",
    )
    result = run_browser(page, "--dump-dom", "--virtual-time-budget=2000")
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.S)
    assert found and found[1], result.stderr[-2000:]
    measured: dict[str, object] = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    return measured


def test_in_the_browser_no_edge_crosses_an_unrelated_box(tmp_path: Path) -> None:
    """API §8: measured in Chromium's DOM, no edge of the every-kind workflow crosses a
    scope's box or an operation's box it does not belong to, no port label overlaps
    another label or a box, and every text fits inside its box in the browser's font."""
    measured = measure(tmp_path, EVERY_KIND.to_svg())
    assert measured["problems"] == []
    keys = sum(len(c.buffers) for _, g in EVERY_KIND.graph.walk() for c in g.cleanups)
    assert keys >= 1
    assert measured["edges"] == sum(len(g.connections) for _, g in EVERY_KIND.graph.walk()) + keys
    scopes = sum(1 for _, g in EVERY_KIND.graph.walk() for op in g if op.kind == "scope")
    cleanups = sum(len(g.cleanups) for _, g in EVERY_KIND.graph.walk())
    assert measured["frames"] == 1 + scopes + cleanups


def test_in_the_browser_a_run_reads_cleanly(tmp_path: Path) -> None:
    """API §8: the picture of a run (with its extra lines and markers) passes the same
    checks in the browser."""
    with pytest.raises(cf.WorkflowCancelled) as caught:
        EVERY_KIND.run_sync(0)
    measured = measure(tmp_path, caught.value.to_svg())
    assert measured["problems"] == []
