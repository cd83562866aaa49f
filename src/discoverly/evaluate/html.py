"""The HTML report of an evaluation: leaderboards with intervals, plots, breakdowns, paired tests.

Built with :class:`discoverly.report.HtmlReport`, so it is one self-contained file (figures are
embedded PNGs) that opens offline. Sections, per variant: the leaderboard at the primary cutoff,
each metric with its 95% interval per model (error bars), hit rate by customer activity and by
item popularity, the metric over cutoffs (when there are several, with the pooled summary), the
paired tests on the headline metric, and what the data loader did (its notes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from discoverly.evaluate.evaluation import POOLED, Evaluation
from discoverly.evaluate.protocol import Variant
from discoverly.report import HtmlReport, new_figure

__all__ = ["format_estimate", "write_report"]

_VARIANT_TEXT = {
    "new-items": "new items only: targets are items the customer had not bought before the cutoff, "
                 "and recommendations leave out what the customer already bought",
    "any-item": "any item: every item bought in the window is a target and repeat purchases may be "
                "recommended",
}


def format_estimate(value: float, low: float, high: float, digits: int = 3) -> str:
    """``0.213 [0.197, 0.230]``; a dash for a missing value."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _colors(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _model_colors(ev: Evaluation) -> dict[str, Any]:
    """One colour per model, the same in every figure of the report (by the order the models were
    given, not by their rank, which differs between variants and cutoffs)."""
    return dict(zip(ev.models, _colors(len(ev.models)), strict=True))


def _leaderboard_rows(ev: Evaluation, cutoff: str, variant: Variant) -> list[dict[str, Any]]:
    board = ev.leaderboard(cutoff, variant)
    names = [c for c in board.columns if c not in ("model", "fit seconds") and not c.endswith((" low", " high"))]
    rows = []
    for r in board.to_dicts():
        row: dict[str, Any] = {"model": r["model"]}
        for n in names:
            row[n] = format_estimate(r[n], r[f"{n} low"], r[f"{n} high"])
        row["fit seconds"] = f"{r['fit seconds']:.2f}"
        rows.append(row)
    return rows


def _metric_figure(ev: Evaluation, cutoff: str, variant: Variant) -> Any:
    k0, k1 = ev.ks[0], ev.ks[-1]
    names = [f"HitRate@{k0}", f"Recall@{k1}", f"NDCG@{k1}", f"Coverage@{k0}"]
    board = ev.leaderboard(cutoff, variant)
    names = [n for n in names if n in board.columns]
    models = board["model"].to_list()[::-1]  # best on top
    fig, _ = new_figure(width=3.0 * len(names), height=0.45 * len(models) + 1.4)
    fig.clf()
    axs = fig.subplots(1, len(names), sharey=True)
    axs = np.atleast_1d(axs)
    colors = _model_colors(ev)
    y = np.arange(len(models))
    rows = {r["model"]: r for r in board.to_dicts()}
    for ax, name in zip(axs, names, strict=True):
        for i, m in enumerate(models):
            r = rows[m]
            v, lo, hi = r[name], r[f"{name} low"], r[f"{name} high"]
            if v is None or not np.isfinite(v):
                continue
            ax.errorbar([v], [i], xerr=[[max(0.0, v - lo)], [max(0.0, hi - v)]], fmt="o", color=colors[m],
                        capsize=3)
        ax.set_title(name, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.set_yticks(y, models)
    axs[0].set_ylim(-0.6, len(models) - 0.4)
    return fig


def _bucket_figure(ev: Evaluation, cutoff: str, variant: Variant, kind: str) -> Any | None:
    cells = [ev.cells[(m, cutoff, variant)] for m in ev.models]
    if not cells or kind not in cells[0].buckets:
        return None
    labels = cells[0].buckets[kind].labels
    fig, ax = new_figure(width=max(6.5, 1.4 * len(labels) + 3), height=3.8)
    x = np.arange(len(labels))
    n = len(cells)
    offsets = (np.arange(n) - (n - 1) / 2) * (0.6 / max(1, n))
    colors = _model_colors(ev)
    for off, cell in zip(offsets, cells, strict=True):
        color = colors[cell.model]
        b = cell.buckets[kind]
        v = np.array([e.value for e in b.estimates])
        lo = np.array([e.low for e in b.estimates])
        hi = np.array([e.high for e in b.estimates])
        ok = np.isfinite(v)
        ax.errorbar(x[ok] + off, v[ok], yerr=[np.maximum(0, v[ok] - lo[ok]), np.maximum(0, hi[ok] - v[ok])],
                    fmt="o-", color=color, capsize=2, label=cell.model, lw=1, ms=4)
    sizes = [e.n for e in cells[0].buckets[kind].estimates]
    ax.set_xticks(x, [f"{lab}\n(n={s:,})" for lab, s in zip(labels, sizes, strict=True)], fontsize=8)
    ax.set_ylabel(f"HitRate@{ev.ks[0]}")
    ax.set_xlabel("customers by distinct items bought before the cutoff (light → heavy)" if kind == "activity"
                  else "target items by distinct buyers before the cutoff (popular → niche)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=2 if n > 4 else 1, loc="best")
    return fig


def _cutoff_figure(ev: Evaluation, variant: Variant) -> Any:
    n_cut, n = len(ev.cutoffs), len(ev.models)
    fig, ax = new_figure(width=min(10.0, max(7.0, 0.95 * n_cut + 1.5)), height=3.8)  # room for the dates
    x = np.arange(n_cut)
    colors = _model_colors(ev)
    offsets = (np.arange(n) - (n - 1) / 2) * (0.3 / max(1, n))  # models side by side: equal results stay visible
    for off, m in zip(offsets, ev.models, strict=True):
        ests = [ev.metric(m, ev.primary_metric, c, variant) for c in ev.cutoffs]
        v = np.array([e.value for e in ests])
        lo, hi = np.array([e.low for e in ests]), np.array([e.high for e in ests])
        ax.errorbar(x + off, v, yerr=[np.maximum(0, v - lo), np.maximum(0, hi - v)], fmt="o-", color=colors[m],
                    capsize=2, label=m, lw=1, ms=4)
    if n_cut > 8:
        ax.set_xticks(x, ev.cutoffs, rotation=40, ha="right")
    else:
        ax.set_xticks(x, ev.cutoffs)
    ax.set_ylabel(ev.primary_metric)
    ax.set_xlabel("cutoff")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=2 if len(ev.models) > 4 else 1)
    return fig


def _paired_rows(ev: Evaluation, cutoff: str | None, variant: Variant) -> list[dict[str, Any]]:
    rows = []
    for p in ev.paired_table(cutoff=cutoff, variant=variant):
        d = p.test.difference
        rows.append({"A": p.a, "B": p.b, f"A − B ({p.metric})": format_estimate(d.value, d.low, d.high),
                     "p-value": f"{p.test.p_value:.4f}", "users": f"{d.n:,}"})
    return rows


def write_report(ev: Evaluation, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write the HTML report of ``ev`` to ``path`` (atomically) and return the path."""
    name = ev.dataset or "an interaction log"
    rep = HtmlReport(title or f"Evaluation on {name}",
                     f"Cutoff{'s' if len(ev.cutoffs) > 1 else ''} {', '.join(ev.cutoffs)}; window "
                     f"{ev.window_days:g} days; lists of {', '.join(map(str, ev.ks))}; 95% bootstrap intervals "
                     f"over users ({ev.n_boot} resamples, seed {ev.seed}).")
    rep.heading("Protocol")
    rep.text("For each cutoff T every model is fitted on the events before T. Test users bought something "
             "before T and something in the window after it; their targets are the window's items. "
             f"HitRate@{ev.ks[0]} is the share of test users with at least one target among the top "
             f"{ev.ks[0]}. Short lists are completed with the recent bestsellers, as served.")
    rep.table([{"cutoff": d["cutoff"], "variant": d["variant"], "test users": f"{d['n_users']:,}",
                "targets": f"{d['n_targets']:,}", "repeat-only users": f"{d['n_repeat_only']:,}",
                "training events": f"{d['train_events']:,}",
                "window truncated": "yes" if d["truncated_window"] else "no"} for d in ev.splits.values()])
    for variant in ev.variants:
        rep.heading(f"Variant: {variant}")
        rep.text(_VARIANT_TEXT.get(variant, variant) + ".")
        rep.heading(f"Leaderboard at {ev.primary_cutoff}", level=3)
        rep.table(_leaderboard_rows(ev, ev.primary_cutoff, variant))
        rep.figure(_metric_figure(ev, ev.primary_cutoff, variant),
                   caption=f"Each metric with its 95% interval per model ({variant}, cutoff {ev.primary_cutoff}).")
        for kind, caption in (("activity", "Hit rate by customer activity, light to heavy buyers"),
                              ("popularity", "Hit rate by the popularity of the target items, popular to niche")):
            fig = _bucket_figure(ev, ev.primary_cutoff, variant, kind)
            if fig is not None:
                rep.figure(fig, caption=f"{caption} ({variant}, cutoff {ev.primary_cutoff}; 95% intervals).")
        if len(ev.cutoffs) > 1:
            rep.heading("Over cutoffs", level=3)
            rep.figure(_cutoff_figure(ev, variant),
                       caption=f"{ev.primary_metric} at each cutoff with its 95% interval ({variant}).")
            rep.text("Pooled over all cutoffs (a user tested at several cutoffs is resampled as one cluster):")
            rep.table(_leaderboard_rows(ev, POOLED, variant))
        if len(ev.models) > 1:
            rep.heading(f"Paired tests on {ev.primary_metric} at {ev.primary_cutoff}", level=3)
            rep.text("Difference A − B over the same test users with its 95% bootstrap interval; two-sided "
                     "p-value of a paired sign-flip permutation test.")
            rep.table(_paired_rows(ev, None, variant))
            if len(ev.cutoffs) > 1:
                rep.heading(f"Paired tests on {ev.primary_metric}, pooled over cutoffs", level=3)
                rep.table(_paired_rows(ev, POOLED, variant))
    if ev.notes:
        rep.heading("The data")
        rep.table([{"what": str(k), "value": _note(v)} for k, v in ev.notes.items()])
    models = ev.config.get("models", {})
    if models:
        rep.heading("Model settings")
        rep.table([{"model": m, "class": c.get("class", ""), "config": ", ".join(
            f"{k}={v}" for k, v in c.get("config", {}).items())} for m, c in models.items()])
    return rep.write(path)


def _note(v: Any) -> str:
    if isinstance(v, bool):  # before int: True is an int, and the synthetic store's flag read "synthetic: 1"
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_note(x)}" for k, x in v.items())
    return str(v)
