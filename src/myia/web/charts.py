"""Charts as server-side SVG: horizontal bar charts that scale with their container and
take their colours from the page's theme (CSS classes, no inline colours)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

ROW_H = 24
LABEL_W = 120
BAR_W = 250
VALUE_W = 70
WIDTH = LABEL_W + BAR_W + VALUE_W


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    max_value: float | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
) -> Markup:
    """One bar per (label, value); an empty chart says so instead of drawing nothing."""
    if not items:
        return Markup(f'<p class="muted">{escape(title)}: no data yet.</p>')
    top = max_value if max_value is not None else max(v for _, v in items)
    top = top or 1.0
    height = ROW_H * len(items) + 8
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{LABEL_W}" y1="0" x2="{LABEL_W}" y2="{height}"/>',
    ]
    for index, (label, value) in enumerate(items):
        y = index * ROW_H + 4
        width = max(0.0, min(1.0, value / top)) * (BAR_W - 8)
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
            f'<rect class="bar" x="{LABEL_W + 1}" y="{y + 3}" width="{width:.1f}" '
            f'height="{ROW_H - 10}" rx="3"/>'
            f'<text class="value" x="{LABEL_W + width + 6:.1f}" y="{y + 15}">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
