"""An HTML report of an A/B analysis, with plots (``discoverly experiment analyze NAME --report``)."""

from __future__ import annotations

import os
from pathlib import Path

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
        err = [[e.value - e.low for e in ests], [e.high - e.value for e in ests]]
        ax.errorbar([e.value for e in ests], ys, xerr=err, fmt="o", capsize=4)
        ax.set_yticks(list(ys), [a.name for a in result.arms])
        ax.set_xlabel(f"{metric} (95% CI)")
        kind = "Wilson score intervals for 0/1 conversions" if attr == "conversion" else "bootstrap intervals"
        rep.figure(fig, caption=f"{metric} per arm with 95% {kind}")
    rep.heading("Differences against the control")
    rep.table([{"metric": c.metric, "arm": c.arm, "control": c.control, "difference": c.difference,
                "low": c.low, "high": c.high, "p-value": c.p_value} for c in result.comparisons])
    rep.text(f"Sample ratio check: observed {result.srm.observed}, expected shares {result.srm.expected_shares}, "
             f"chi2 = {result.srm.chi2:.2f}, p = {result.srm.p_value:.3g}.")
    return rep.write(path)
