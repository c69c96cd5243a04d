"""The KPI chart of the weekly report: the funnel and the KPI trend against their targets, as a PNG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from sop.kpi import KpiReport, headline


def _nan(value: float | None) -> float:
    """None as NaN, so matplotlib leaves a gap."""
    return math.nan if value is None else value


def render_chart(
    report: KpiReport,
    funnel: Sequence[tuple[str, int]],
    trend: Sequence[KpiReport],
    path: str | Path,
) -> Path:
    """Write one PNG: the funnel (left) and the KPI trend with dashed targets (right); returns the path.

    Uses the Agg canvas directly (no pyplot, no display, safe in worker threads).
    CSAT and retention share a percent axis; onboarding days get their own small panel below.
    """
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(13, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 1.25), height_ratios=(1.6, 1))
    ax_funnel = fig.add_subplot(grid[:, 0])
    ax_pct = fig.add_subplot(grid[0, 1])
    ax_days = fig.add_subplot(grid[1, 1], sharex=ax_pct)

    t, c, r = report.onboarding_time, report.csat, report.retention_90d
    fig.suptitle(
        f"Client onboarding KPIs as of {report.as_of:%d %b %Y}   |   "
        f"onboarding time {headline(t.mean_days, 'days', t.met)}   CSAT {headline(c.percent, '%', c.met)}   "
        f"90-day retention {headline(r.percent, '%', r.met)}",
        fontsize=11,
    )

    # Funnel: leads on top.
    names = [name for name, _ in funnel]
    counts = [count for _, count in funnel]
    leads = counts[0] if counts else 0
    bars = ax_funnel.barh(names, counts, color="#4C72B0")
    ax_funnel.invert_yaxis()
    for bar, count in zip(bars, counts):
        share = f" ({100 * count / leads:.0f}%)" if leads else ""
        ax_funnel.annotate(
            f"{count}{share}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            xytext=(4, 0), textcoords="offset points", va="center", fontsize=10,
        )
    ax_funnel.set_xlim(0, max(counts or [0]) * 1.25 or 1)
    ax_funnel.set_title("Onboarding funnel (clients per stage)")
    ax_funnel.set_xlabel("Clients")
    ax_funnel.xaxis.get_major_locator().set_params(integer=True)

    # Trend.
    x = [row.as_of for row in trend]
    csat_color, ret_color, days_color = "#DD8452", "#55A868", "#8172B3"
    ax_pct.plot(x, [_nan(row.csat.percent) for row in trend], marker="o", color=csat_color,
                label=f"CSAT (% scores >= {report.satisfied_score})")
    ax_pct.plot(x, [_nan(row.retention_90d.percent) for row in trend], marker="s", color=ret_color,
                label="90-day retention (%)")
    ax_pct.axhline(c.target_percent, color=csat_color, linestyle="--", linewidth=1,
                   label=f"CSAT target {c.target_percent:g}%")
    ax_pct.axhline(r.target_percent, color=ret_color, linestyle="--", linewidth=1,
                   label=f"Retention target {r.target_percent:g}%")
    ax_pct.set_ylim(0, 105)
    ax_pct.set_ylabel("Percent")
    ax_pct.set_title("KPI trend (as of the end of each week)")
    ax_pct.legend(loc="lower left", fontsize=8, ncols=2)
    ax_pct.grid(alpha=0.3)
    ax_pct.tick_params(labelbottom=False)

    ax_days.plot(x, [_nan(row.onboarding_time.mean_days) for row in trend], marker="o", color=days_color,
                 label="Mean onboarding time (days)")
    ax_days.axhline(t.target_days, color=days_color, linestyle="--", linewidth=1,
                    label=f"Target {t.target_days} days")
    days = [row.onboarding_time.mean_days for row in trend if row.onboarding_time.mean_days is not None]
    ax_days.set_ylim(0, max([t.target_days, *days]) * 1.25)
    ax_days.set_ylabel("Days")
    ax_days.set_xlabel("Week ending")
    ax_days.legend(loc="lower left", fontsize=8, ncols=2)
    ax_days.grid(alpha=0.3)
    if x:
        locator = mdates.AutoDateLocator(maxticks=10)
        ax_days.xaxis.set_major_locator(locator)
        ax_days.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        ax_days.set_xticks([])
        for ax in (ax_pct, ax_days):
            ax.text(0.5, 0.5, "no trend data", transform=ax.transAxes, ha="center", va="center", color="grey")

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
