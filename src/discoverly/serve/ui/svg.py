"""Small inline SVG charts (estimates with confidence intervals), so pages need no plotting library."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["interval_chart"]


def interval_chart(labels: Sequence[str], values: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                   *, title: str, fmt: str = "{:.4f}", zero_line: bool = False, width: int = 560) -> str:
    """Horizontal point-and-whisker chart: one row per label, value with its interval."""
    row_h, left, right, top = 34, 220, 90, 30
    height = top + row_h * len(labels) + 24
    finite = [v for v in (*values, *lows, *highs) if v == v]
    lo = min([*finite, 0.0]) if finite else 0.0
    hi = max([*finite, 0.0]) if finite else 1.0
    if hi == lo:
        hi = lo + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    span = width - left - right

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(title)}" class="chart">',
             f'<text x="4" y="18" font-size="14" font-weight="600">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - 20}" x2="{width - right}" y2="{height - 20}" stroke="#999"/>',
             f'<text x="{left}" y="{height - 5}" font-size="11" fill="#555">{html.escape(fmt.format(lo))}</text>',
             f'<text x="{width - right}" y="{height - 5}" font-size="11" fill="#555" text-anchor="end">'
             f'{html.escape(fmt.format(hi))}</text>']
    if zero_line and lo < 0 < hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{top - 6}" x2="{x(0):.1f}" y2="{height - 20}" stroke="#c00" '
                     'stroke-dasharray="4 3"/>')
    for r, (label, v, a, b) in enumerate(zip(labels, values, lows, highs, strict=True)):
        y = top + r * row_h + row_h / 2
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                     f'{html.escape(label)}</text>')
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
