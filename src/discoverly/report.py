"""Self-contained HTML reports: headings, text, tables and matplotlib figures (embedded as PNG).

Used by ``discoverly data report``, ``discoverly evaluate`` and every other command that writes a
report, so they all look alike and open offline from one file::

    rep = HtmlReport("Evaluation on Online Retail")
    rep.heading("Leaderboard"); rep.table(frame); rep.figure(fig, caption="HitRate@6 with 95% CI")
    rep.write("report.html")
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import os
import re
from pathlib import Path
from typing import Any

from discoverly._version import __version__
from discoverly.dependencies import require

__all__ = ["HtmlReport", "check_report_target", "new_figure"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{padding:.3em .7em;border-bottom:1px solid #e5e5e5;
text-align:left}th{background:#f5f5f7}.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}img{max-width:100%}
.meta{color:#666;font-size:.85em}.note{background:#fff8e1;border-left:4px solid #f5b700;padding:.5em .8em}
"""


def new_figure(width: float = 7.0, height: float = 3.6) -> tuple[Any, Any]:
    """A matplotlib figure and axes on the non-interactive Agg backend."""
    matplotlib = require("matplotlib", extra="report", purpose="report figures")
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


class HtmlReport:
    """Collects parts in order and writes one HTML file (atomically)."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self.parts: list[str] = []
        if subtitle:
            self.parts.append(f"<p>{html.escape(subtitle)}</p>")

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def text(self, text: str, *, note: bool = False) -> None:
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def html(self, raw: str) -> None:
        """Raw HTML (callers escape their own content)."""
        self.parts.append(raw)

    def table(self, frame: Any, *, floats: str = "{:.4f}", max_rows: int = 200) -> None:
        """A table from a polars or pandas DataFrame or a list of dicts."""
        rows, cols = _rows(frame)
        if not rows:  # an empty table is a row of headers over nothing: say there is nothing instead
            self.parts.append("<p class='meta'>No rows.</p>")
            return
        shown = [[_fmt(r.get(c), floats) for c in cols] for r in rows[:max_rows]]
        # numbers are right-aligned (digits line up), text left (a right-aligned sentence is hard to read)
        align = ["" if j == 0 or not all(_NUMBER.match(row[j]) or not row[j] for row in shown) else " class='n'"
                 for j in range(len(cols))]
        head = "".join(f"<th{a}>{html.escape(str(c))}</th>" for a, c in zip(align, cols, strict=True))
        body = ["<tr>" + "".join(f"<td{a}>{html.escape(v)}</td>" for a, v in zip(align, row, strict=True)) + "</tr>"
                for row in shown]
        more = f"<p class='meta'>… {len(rows) - max_rows:,} more rows</p>" if len(rows) > max_rows else ""
        self.parts.append(f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                          f"</table></div>{more}")

    def figure(self, fig: Any, caption: str | None = None) -> None:
        """Embed a matplotlib figure as a PNG and close it."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        import matplotlib.pyplot as plt

        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img alt="{html.escape(caption or "figure")}" '
                          f'src="data:image/png;base64,{data}">{cap}</figure>')

    def render(self) -> str:
        now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")  # local time, named
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width,initial-scale=1'><title>{html.escape(self.title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                f"<p class='meta'>discoverly {__version__} · {now}</p>{''.join(self.parts)}</body></html>")

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report (atomically: a temporary file, then a rename); a path that cannot be
        written is an :class:`~discoverly.errors.ArtifactError`."""
        from discoverly.artifacts import write_text_file

        check_report_target(path)
        return write_text_file(path, self.render(), what="the report")


def check_report_target(path: str | os.PathLike[str]) -> None:
    """Refuse a report path that is a folder, lies below a file, or in a folder that cannot be
    written, before any work is done (the commands call it first, so a long run does not end in a
    failed write)."""
    from discoverly.artifacts import check_file_target

    check_file_target(path, what="the report")


def _rows(frame: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if isinstance(frame, list):
        cols = list(frame[0].keys()) if frame else []
        return frame, cols
    if hasattr(frame, "to_dicts"):  # polars
        return frame.to_dicts(), list(frame.columns)
    if hasattr(frame, "to_dict"):  # pandas
        return frame.to_dict("records"), [str(c) for c in frame.columns]
    raise TypeError(f"cannot render a {type(frame).__name__} as a table")


_NUMBER = re.compile(r"[-+−]?(\d[\d,]*(\.\d*)?|\.\d+|nan|inf)(e[-+]?\d+)?%?( \[.*\])?$|–$")


def _fmt(value: Any, floats: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return floats.format(value)
    return str(value)
