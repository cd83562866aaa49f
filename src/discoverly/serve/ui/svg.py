"""Small inline SVG charts (estimates with confidence intervals), so pages need no plotting library."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["interval_chart"]

_LABEL_CHARS = 28  # longer row labels are cut with an ellipsis (the full label is the row's tooltip)


def interval_chart(labels: Sequence[str], values: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                   *, title: str, fmt: str = "{:.4f}", zero_line: bool = False, width: int = 480,
                   axis: str | None = None) -> str:
    """Horizontal point-and-whisker chart: one row per label, value with its interval, ``axis`` the
    title (with the unit) under the horizontal axis. It scales down to a narrow screen (viewBox)."""
    longest = min(max((len(label) for label in labels), default=0), _LABEL_CHARS)
    row_h, right, top = 34, 80, 30
    left = min(220, max(70, round(7.2 * longest) + 16))  # room for the row labels, no more
    bottom = 40 if axis else 24
    height = top + row_h * len(labels) + bottom
    base = height - bottom + 4  # the axis line
    finite = [v for v in (*values, *lows, *highs) if v == v]
    lo = min([*finite, 0.0]) if finite else 0.0
    hi = max([*finite, 0.0]) if finite else 1.0
    if hi == lo:
        hi = lo + 1.0
    pad = (hi - lo) * 0.05
    # pad the data away from the frame, but not past zero: a rate or an amount has no negative axis
    lo, hi = (lo - pad if lo < 0 else lo), (hi + pad if hi > 0 else hi)
    span = width - left - right

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" style="max-width:100%;height:auto" role="img" '
             f'aria-label="{html.escape(title)}" class="chart">',
             f'<text x="4" y="18" font-size="14" font-weight="600">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#999"/>',
             f'<text x="{left}" y="{base + 15}" font-size="11" fill="#555">{html.escape(fmt.format(lo))}</text>',
             f'<text x="{width - right}" y="{base + 15}" font-size="11" fill="#555" text-anchor="end">'
             f'{html.escape(fmt.format(hi))}</text>']
    if axis:  # centred under the axis, but kept inside the chart when it is wider than the axis
        half = min(3.4 * len(axis), width / 2 - 2)
        middle = min(max(left + span / 2, half + 2), width - half - 2)
        parts.append(f'<text x="{middle:.1f}" y="{base + 31}" font-size="12" fill="#333" '
                     f'text-anchor="middle">{html.escape(axis)}</text>')
    if zero_line and lo < 0 < hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{top - 6}" x2="{x(0):.1f}" y2="{base}" stroke="#c00" '
                     'stroke-dasharray="4 3"/>')
    for r, (label, v, a, b) in enumerate(zip(labels, values, lows, highs, strict=True)):
        y = top + r * row_h + row_h / 2
        short = label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 1] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                     f'<title>{html.escape(label)}</title>{html.escape(short)}</text>')
        if a == a and b == b:
            parts.append(f'<line x1="{x(a):.1f}" y1="{y:.1f}" x2="{x(b):.1f}" y2="{y:.1f}" stroke="#2b6cb0" '
                         'stroke-width="2"/>')
            for end in (a, b):
                parts.append(f'<line x1="{x(end):.1f}" y1="{y - 6:.1f}" x2="{x(end):.1f}" y2="{y + 6:.1f}" '
                             'stroke="#2b6cb0" stroke-width="2"/>')
        if v == v:
            parts.append(f'<circle cx="{x(v):.1f}" cy="{y:.1f}" r="5" fill="#1a365d"/>')
            parts.append(f'<text x="{width - right + 8}" y="{y + 4:.1f}" font-size="12">'
                         f'{html.escape(fmt.format(v))}</text>')
    parts.append("</svg>")
    return "".join(parts)
