"""The SVG of a laid-out workflow (API §8: `wf.to_svg()`, `session.to_svg()`).

Plain SVG 1.1 with presentation attributes only (no style sheet, no script, no external
font or image), so it looks the same in a browser, a notebook, GitHub and VS Code, and
stays readable in a dark theme (it paints its own white background). Text is in a
monospaced font, so the layout knows how wide every label is.

Elements carry `class` and `data-*` attributes that say what they are: frames
(`cf-frame`, `data-frame`), operations (`cf-box`, `data-id`, `data-op`), edges
(`cf-edge`, `data-source`, `data-target`, `data-frame`), for tools and tests that read
the picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from ._labels import safe_text
from ._layered import Route, _n
from ._layout import NAME_LINE, NAME_SIZE, SMALL_LINE, SMALL_SIZE, Box, FrameBox, Layout, Mark

FONT = (
    "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', "
    "monospace"
)

INK = "#14202b"
MUTED = "#56606b"
MESSAGE = "#46525e"
BUFFER = "#7b4fb3"

FAMILY_COLOURS: dict[str, tuple[str, str]] = {  # fill, stroke
    "terminal": ("#e8f1fb", "#1f5a96"),
    "node": ("#ffffff", "#3a4a5c"),
    "scope": ("#f4f6f8", "#3a4a5c"),
    "stream": ("#eef7ee", "#2f7a3b"),
    "flow": ("#f1f2f4", "#5c6670"),
    "filter": ("#fff5e0", "#a86b00"),
    "cancel": ("#fdecea", "#b3261e"),
    "buffer": ("#f3ecfb", "#6a3fa0"),
    "buffer_op": ("#f8f4fd", "#6a3fa0"),
    "delay": ("#ffffff", "#3a4a5c"),
}

STATUS_COLOURS: dict[str, tuple[str, str, float]] = {  # fill, stroke, stroke width
    "ran": ("#e3f4e5", "#2f7a3b", 2.0),
    "reached": ("#f1f9f2", "#5a9a64", 1.5),
    "running": ("#e3eefb", "#1f5a96", 2.5),
    "disposed": ("#fff1d6", "#b86e00", 2.0),
    "failed": ("#fdecea", "#b3261e", 2.5),
    "origin": ("#fdecea", "#b3261e", 2.5),
    "unreached": ("#f5f5f5", "#a3abb4", 1.2),
}

STATUS_TEXT = {
    "ran": "ran",
    "disposed": "disposed of a message",
    "failed": "failed",
    "origin": "cancelled its scope",
    "running": "running",
    "unreached": "never reached",
}

FRAME_COLOURS = (("#fbfcfd", "#8a96a3"), ("#f3f5f8", "#8a96a3"))
CLEANUP_COLOURS = ("#fffaf1", "#b07d2b")


def escape_lines(text: str) -> str:
    """`escape` for a tooltip of several lines: its line breaks are kept as such."""
    return "\n".join(escape(line) for line in text.split("\n"))


def escape(text: str) -> str:
    """`text` for XML character data and attribute values (what XML cannot carry, such as
    control characters, made visible)."""
    text = safe_text(text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def render(
    layout: Layout,
    *,
    title: str,
    caption: Sequence[str] = (),
    statuses: Iterable[str] = (),
) -> str:
    """The SVG document of `layout`, with `caption` lines and a legend under it."""
    statuses = list(statuses)
    width = max(layout.width, 420.0)
    legend_h = 22.0 + (18.0 if statuses else 0.0)
    wrap = max(int((width - 24) / (SMALL_SIZE * 0.61)), 40)
    lines: list[str] = []
    for line in caption:
        lines.extend(textwrap.wrap(line, wrap, subsequent_indent="    ") or [""])
    height = layout.height + legend_h + (len(lines) * SMALL_LINE + 8 if lines else 0)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
    ]
    for fbox in layout.frames:
        _frame(out, fbox)
    for arrow in layout.arrows:
        buffer = arrow.kind == "buffer"
        colour = BUFFER if buffer else MESSAGE
        opacity = ""
        stroke_width = 1.3
        if arrow.travelled is False:
            colour = "#b8c0c8"
        elif arrow.travelled:
            stroke_width = 2.0
        dash = ' stroke-dasharray="5 3"' if buffer else ""
        out.append(
            f'<path class="cf-edge" data-kind="{arrow.kind}" data-frame="{arrow.frame.ident}" '
            f'data-source="{arrow.source}" data-target="{arrow.target}" '
            f'd="{arrow.route.path()}" fill="none" stroke="{colour}" '
            f'stroke-width="{stroke_width}"{dash}{opacity}/>'
        )
        out.append(_arrowhead(arrow.route, colour, hollow=buffer))
    for box in layout.boxes:
        _box(out, box)
    for arrow in layout.arrows:
        if arrow.label is not None and arrow.route.label is not None:
            x, y = arrow.route.label
            colour = BUFFER if arrow.kind == "buffer" else MUTED
            out.append(
                f'<text class="cf-port" x="{_n(x)}" y="{_n(y)}" font-size="{_n(SMALL_SIZE)}" '
                f'fill="{colour}" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                f"{escape(arrow.label)}</text>"
            )
    y = layout.height + 4
    _legend(out, 10.0, y, statuses)
    y += legend_h
    for line in lines:
        y += SMALL_LINE
        out.append(
            f'<text x="10" y="{_n(y)}" font-size="{_n(SMALL_SIZE)}" fill="{INK}" '
            f'xml:space="preserve">{escape(line)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _depth(fbox: FrameBox) -> int:
    return len(fbox.frame.key)


def _frame(out: list[str], fbox: FrameBox) -> None:
    frame = fbox.frame
    if frame.cleanup is not None:
        fill, stroke = CLEANUP_COLOURS
        dash = ' stroke-dasharray="6 4"'
    else:
        fill, stroke = FRAME_COLOURS[_depth(fbox) % 2]
        dash = ""
    stroke_width = 1.2
    mark = fbox.mark
    if mark is not None and mark.status is not None:
        _, stroke, stroke_width = STATUS_COLOURS[mark.status]
        if mark.status == "unreached":
            fill = "#f7f7f7"
            dash = ' stroke-dasharray="4 3"'
    tooltip = f"{frame.kind} {frame.graph.name}"
    if mark is not None and mark.tooltip:
        tooltip += "\n" + mark.tooltip
    out.append(f'<g class="cf-frame-group" data-frame="{frame.ident}">')
    out.append(f"<title>{escape_lines(tooltip)}</title>")
    out.append(
        f'<rect class="cf-frame" data-frame="{frame.ident}" data-kind="{frame.kind}" '
        f'x="{_n(fbox.x)}" y="{_n(fbox.y)}" width="{_n(fbox.w)}" height="{_n(fbox.h)}" '
        f'rx="9" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
    )
    _text(out, fbox.lines, fbox.x + 12, fbox.y + 8, mark)
    if mark is not None:
        _numbers(out, mark.numbers, fbox.x + 2, fbox.y)
    out.append("</g>")


def _text(
    out: list[str], lines: list[tuple[str, str]], x: float, y: float, mark: Mark | None
) -> None:
    faded = mark is not None and mark.status == "unreached"
    for text, role in lines:
        if role == "name":
            y += NAME_LINE
            size, weight, colour = NAME_SIZE, ' font-weight="bold"', MUTED if faded else INK
        else:
            y += SMALL_LINE
            size, weight = SMALL_SIZE, ""
            colour = "#8a939c" if faded else (MUTED if role == "detail" else _note(mark))
        out.append(
            f'<text x="{_n(x)}" y="{_n(y - 3)}" font-size="{_n(size)}"{weight} '
            f'fill="{colour}" xml:space="preserve">{escape(text)}</text>'
        )


def _note(mark: Mark | None) -> str:
    status = mark.status if mark is not None else None
    if status in ("failed", "origin"):
        return "#9c1f18"
    if status == "disposed":
        return "#7a4800"
    if status == "running":
        return "#1f5a96"
    return "#1f5f2b"


def _box(out: list[str], box: Box) -> None:
    fill, stroke = FAMILY_COLOURS[box.family]
    stroke_width = 1.2
    dash = ' stroke-dasharray="4 3"' if box.family == "delay" else ""
    mark = box.mark
    if mark is not None and mark.status is not None:
        fill, stroke, stroke_width = STATUS_COLOURS[mark.status]
        if mark.status == "unreached":
            dash = ' stroke-dasharray="4 3"'
    op = box.op
    tooltip = f"{op.name} ({op.kind})"
    if mark is not None and mark.tooltip:
        tooltip += "\n" + mark.tooltip
    out.append(
        f'<g class="cf-box" data-id="{box.ident}" data-op="{escape(op.name)}" '
        f'data-kind="{op.kind}" data-frame="{box.frame.ident}">'
    )
    out.append(f"<title>{escape_lines(tooltip)}</title>")
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}'
    x, y, w, h = box.x, box.y, box.w, box.h
    shape = box.family
    if shape == "terminal":
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'rx="{_n(min(h / 2, 12))}" {paint}/>'
        )
    elif shape in ("flow", "cancel"):
        c = 7.0
        out.append(
            f'<path d="M{_n(x + c)} {_n(y)}H{_n(x + w - c)}L{_n(x + w)} {_n(y + c)}'
            f"V{_n(y + h - c)}L{_n(x + w - c)} {_n(y + h)}H{_n(x + c)}L{_n(x)} {_n(y + h - c)}"
            f'V{_n(y + c)}Z" {paint}/>'
        )
    elif shape == "filter":
        out.append(
            f'<path d="M{_n(x)} {_n(y)}H{_n(x + w)}L{_n(x + w - 7)} {_n(y + h)}'
            f'H{_n(x + 7)}Z" {paint}/>'
        )
    elif shape == "stream":
        out.append(
            f'<path d="M{_n(x)} {_n(y)}H{_n(x + w - 9)}L{_n(x + w)} {_n(y + h / 2)}'
            f'L{_n(x + w - 9)} {_n(y + h)}H{_n(x)}Z" {paint}/>'
        )
    elif shape == "buffer":
        e = 4.0
        rx = w / 2
        out.append(
            f'<path d="M{_n(x)} {_n(y + e)}V{_n(y + h - e)}'
            f"A{_n(rx)} {_n(e)} 0 0 0 {_n(x + w)} {_n(y + h - e)}V{_n(y + e)}"
            f'A{_n(rx)} {_n(e)} 0 0 0 {_n(x)} {_n(y + e)}Z" {paint}/>'
        )
        out.append(
            f'<path d="M{_n(x)} {_n(y + e)}A{_n(rx)} {_n(e)} 0 0 0 {_n(x + w)} {_n(y + e)}" '
            f'fill="none" stroke="{stroke}" stroke-width="{stroke_width}"/>'
        )
    elif shape == "scope":
        out.append(
            f'<rect x="{_n(x + 3)}" y="{_n(y + 3)}" width="{_n(w)}" height="{_n(h)}" '
            f'rx="6" fill="#ffffff" stroke="{stroke}" stroke-width="1"/>'
        )
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="6" {paint}/>'
        )
    else:
        corner = "2" if shape == "buffer_op" else "6"
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'rx="{corner}" {paint}/>'
        )
    if shape == "terminal" and len(box.lines) == 1:
        text, _ = box.lines[0]
        colour = MUTED if mark is not None and mark.status == "unreached" else INK
        out.append(
            f'<text x="{_n(x + w / 2)}" y="{_n(y + h / 2 + 4)}" font-size="{_n(NAME_SIZE)}" '
            f'font-weight="bold" fill="{colour}" text-anchor="middle">{escape(text)}</text>'
        )
    else:
        _text(out, box.lines, x + 10, y + 6 + (4 if shape == "buffer" else 0), mark)
    if mark is not None:
        _numbers(out, mark.numbers, x + 2, y)
    out.append("</g>")


def _numbers(out: list[str], numbers: tuple[int, ...], x: float, y: float) -> None:
    """Numbered markers on the top left corner of a box (disposals, in order)."""
    for i, number in enumerate(numbers[:4]):
        cx = x + 18 * i
        out.append(
            f'<circle cx="{_n(cx)}" cy="{_n(y)}" r="8" fill="#b3261e" stroke="#ffffff" '
            f'stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{_n(cx)}" y="{_n(y + 3.5)}" font-size="10" font-weight="bold" '
            f'fill="#ffffff" text-anchor="middle">{number}</text>'
        )


def _arrowhead(route: Route, colour: str, hollow: bool) -> str:
    x, y, dx, dy = route.arrow
    # the tip at (x, y), pointing along (dx, dy): two corners behind it
    bx, by = x - dx * 7.0, y - dy * 7.0
    px, py = -dy * 4.0, dx * 4.0
    points = f"{_n(bx + px)},{_n(by + py)} {_n(x)},{_n(y)} {_n(bx - px)},{_n(by - py)}"
    if hollow:
        return (
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.4" '
            'stroke-linejoin="round"/>'
        )
    return f'<polygon points="{points}" fill="{colour}"/>'


def _legend(out: list[str], x: float, y: float, statuses: Iterable[str]) -> None:
    """A line that says what edges and colours mean."""
    y += 11
    items: list[str] = []
    items.append(
        f'<path d="M{_n(x)} {_n(y - 4)}H{_n(x + 26)}" stroke="{MESSAGE}" stroke-width="1.3"/>'
        f'<polygon points="{_n(x + 26)},{_n(y - 7.5)} {_n(x + 32)},{_n(y - 4)} '
        f'{_n(x + 26)},{_n(y - 0.5)}" fill="{MESSAGE}"/>'
        f'<text x="{_n(x + 38)}" y="{_n(y)}" font-size="10" fill="{MUTED}">message</text>'
    )
    x += 100
    items.append(
        f'<path d="M{_n(x)} {_n(y - 4)}H{_n(x + 30)}" stroke="{BUFFER}" stroke-width="1.3" '
        f'stroke-dasharray="5 3"/>'
        f'<text x="{_n(x + 38)}" y="{_n(y)}" font-size="10" fill="{MUTED}">buffer: push, gate, '
        "join, listen, keys</text>"
    )
    x = 10.0
    y += 18
    for status in statuses:
        fill, stroke, _ = STATUS_COLOURS[status]
        label = STATUS_TEXT.get(status, status)
        items.append(
            f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="14" height="11" rx="2" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{_n(x + 19)}" y="{_n(y)}" font-size="10" fill="{MUTED}">'
            f"{escape(label)}</text>"
        )
        x += 30 + len(label) * 6.1
    out.append('<g class="cf-legend">' + "".join(items) + "</g>")
