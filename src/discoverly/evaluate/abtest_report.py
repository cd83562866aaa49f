"""An HTML report of an A/B analysis, with plots (``discoverly experiment analyze NAME --report``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from discoverly.evaluate.abtest import ABTestResult
from discoverly.report import HtmlReport, new_figure

__all__ = ["write_report"]


def write_report(result: ABTestResult, path: str | os.PathLike[str]) -> Path:
    rep = HtmlReport(f"Experiment {result.experiment}", "A/B analysis: the unit is the customer.")
    if result.srm.mismatch:
        rep.text(f"Sample ratio mismatch (p = {result.srm.p_value:.3g}): the split or the logging is broken; "
                 "do not trust these results.", note=True)
    for n in result.notes:
        rep.text(n, note=True)
    rep.heading("Arms")
    rep.table([{"arm": a.name, "customers": a.users, "converted": a.conversions,
                "conversion": a.conversion.value, "conv. low": a.conversion.low, "conv. high": a.conversion.high,
                "revenue/customer": a.revenue.value, "rev. low": a.revenue.low, "rev. high": a.revenue.high}
               for a in result.arms])
    for metric, attr in (("conversion", "conversion"), ("revenue per customer", "revenue")):
        fig, ax = new_figure(6.5, 0.6 + 0.5 * len(result.arms))
        ests = [getattr(a, attr) for a in result.arms]
        ys = range(len(ests))
        err = [[max(0.0, e.value - e.low) for e in ests], [max(0.0, e.high - e.value) for e in ests]]
        ax.errorbar([e.value for e in ests], ys, xerr=err, fmt="o", capsize=4)
        ax.set_yticks(list(ys), [a.name for a in result.arms])
        ax.set_ylim(len(ests) - 0.5, -0.5)  # the arms top to bottom, as in the table, clear of the frame
        ax.set_xlabel(f"{metric} (95% CI)")
        kind = "Wilson score intervals for 0/1 conversions" if attr == "conversion" else "bootstrap intervals"
        rep.figure(fig, caption=f"{metric} per arm with 95% {kind}")
    rep.heading("Differences against the control")
    if result.comparisons:
        rep.figure(_difference_figure(result), caption="each arm minus the control with its 95% interval; "
                   "the dashed line is no difference")
    rep.table([{"metric": c.metric, "arm": c.arm, "control": c.control, "difference": c.difference,
                "low": c.low, "high": c.high, "p-value": c.p_value} for c in result.comparisons])
    srm = result.srm
    observed = ", ".join(f"{a} {n:,}" for a, n in srm.observed.items())
    shares = ", ".join(f"{a} {s:.0%}" for a, s in srm.expected_shares.items())
    rep.text(f"Sample ratio check: customers per arm {observed}; expected shares {shares}; "
             f"chi2 = {srm.chi2:.2f}, p = {srm.p_value:.3g}.")
    return rep.write(path)


def _difference_figure(result: ABTestResult) -> Any:
    metrics = list(dict.fromkeys(c.metric for c in result.comparisons))
    rows = max(sum(c.metric == m for c in result.comparisons) for m in metrics)
    fig, _ = new_figure(1.6 + 3.4 * len(metrics), 0.9 + 0.5 * rows)
    fig.clf()
    for ax, metric in zip(np.atleast_1d(fig.subplots(1, len(metrics), sharey=True)), metrics, strict=True):
        comps = [c for c in result.comparisons if c.metric == metric]
        ax.errorbar([c.difference for c in comps], range(len(comps)), fmt="o", capsize=4,
                    xerr=[[max(0.0, c.difference - c.low) for c in comps],
                          [max(0.0, c.high - c.difference) for c in comps]])
        ax.axvline(0.0, color="#c00", ls="--", lw=1)
        ax.set_yticks(range(len(comps)), [f"{c.arm} − {c.control}" for c in comps])
        ax.set_ylim(len(comps) - 0.5, -0.5)
        ax.set_xlabel(f"difference in {metric} (95% CI)")
    return fig
