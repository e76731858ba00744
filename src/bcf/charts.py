"""Charts for the national and monitoring reports, drawn with matplotlib as inline SVG (text stays text).

Every chart is drawn at a fixed width that fits A4 portrait, and the page never scales it up or down in
print, so its text prints at the font size set here (9 pt; the report's test holds it at 8 pt or more).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bcf.words import Category  # noqa: E402

WIDTH = 6.8  # inches: A4 less the report's margins is 7.0
plt.rcParams.update({"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9, "figure.constrained_layout.use": True,
                     "axes.spines.top": False, "axes.spines.right": False})
CLAIMED, CREDIBLE, EXPECTED, TREND = "#d4351c", "#00703c", "#1d70b8", "#505a5f"
CATEGORY_COLOURS = {c.value: c.colour for c in reversed(Category)}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def claimed_vs_credible(by_region: pd.DataFrame, year: str) -> str:
    """Horizontal bars per region: what plans claim against what their evidence supports (£m)."""
    df = by_region.sort_values("claimed")
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(df) + 1))
    y = range(len(df))
    ax.barh([i + 0.2 for i in y], df["claimed"] / 1000, height=0.4, color=CLAIMED, label="Claimed")
    ax.barh([i - 0.2 for i in y], df["credible"] / 1000, height=0.4, color=CREDIBLE, label="Backed by evidence")
    ax.set_yticks(list(y), df["region_name"])
    ax.set_xlabel(f"Savings claimed for {year}, £m")
    ax.legend(frameon=False, loc="lower right")
    return _svg(fig)


def nel_distribution(r_pct: pd.Series, expected: float, trend_growth: float) -> str:
    """How many plans plan each size of cut in emergency admissions, against 3.5% and the trend."""
    fig, ax = plt.subplots(figsize=(WIDTH, 2.8))
    ax.hist(r_pct.dropna(), bins=[x / 2 for x in range(-2, 17)], color="#b1b4b6", edgecolor="white")
    ax.axvline(expected, color=EXPECTED, linewidth=2, label=f"{expected}% expected")
    ax.axvline(-trend_growth * 100, color=TREND, linestyle="--", linewidth=2,
               label=f"Trend: admissions rise {trend_growth * 100:.0f}% a year")
    ax.set_xlabel("Planned cut in emergency admissions, %")
    ax.set_ylabel("Plans")
    ax.legend(frameon=False, loc="upper right")
    return _svg(fig)


def categories_by_region(counts: pd.DataFrame) -> str:
    """Stacked bars: plans per assurance category in each region."""
    table = counts.pivot_table(index="region_name", columns="category", values="plans", fill_value=0)
    table = table[[c for c in CATEGORY_COLOURS if c in table.columns]]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(table) + 1.2))
    left = pd.Series(0, index=table.index)
    for category in table.columns:
        ax.barh(table.index, table[category], left=left, color=CATEGORY_COLOURS[category], label=category)
        left += table[category]
    ax.set_xlabel("Plans")
    ax.legend(frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return _svg(fig)


def planned_vs_actual(by_quarter: pd.DataFrame) -> str:
    """Emergency admissions by quarter: baseline, plan and actual, nationally (thousands)."""
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    x = list(range(len(by_quarter)))
    ax.plot(x, by_quarter["baseline"] / 1000, color=TREND, linestyle="--", marker="o", label="Baseline year")
    ax.plot(x, by_quarter["planned"] / 1000, color=EXPECTED, marker="o", label="Planned")
    ax.plot(x, by_quarter["actual"] / 1000, color=CLAIMED, marker="o", linewidth=2.5, label="Actual")
    ax.set_xticks(x, by_quarter["period"])
    ax.set_ylabel("Admissions, thousands")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    return _svg(fig)


def variance_by_region(by_region: pd.DataFrame, label: str = "Actual emergency admissions against plan to date, %") -> str:
    """Horizontal bars: each region's admissions against plan to date, %."""
    df = by_region.assign(pct=100 * (by_region["actual"] - by_region["planned"]) / by_region["planned"]).sort_values("pct")
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(df) + 1))
    ax.barh(df["region_name"], df["pct"], color=[CLAIMED if v > 0 else CREDIBLE for v in df["pct"]])
    ax.axvline(0, color="#0b0c0c", linewidth=1)
    ax.set_xlabel(label)
    return _svg(fig)


def variance_distribution(pct: pd.Series, explain: float,
                          label: str = "Actual emergency admissions against plan to date, %") -> str:
    """How many plans are how far from plan to date, with the band inside which no explanation is needed."""
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.hist(pct.dropna(), bins=24, color="#b1b4b6", edgecolor="white")
    ax.axvspan(-explain, explain, color=CREDIBLE, alpha=0.12, label=f"Within {explain:g}% of plan")
    ax.set_xlabel(label)
    ax.set_ylabel("Plans")
    ax.legend(frameon=False, loc="upper left")
    return _svg(fig)


def money_at_risk(plans: pd.DataFrame) -> str:
    """Money at risk (pay for performance not earned, or the cost of admissions above plan) against contingency
    funds, by region (£m)."""
    df = plans.groupby("region_name")[["at_risk_000", "contingency"]].sum().sort_values("at_risk_000")
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(df) + 1))
    y = range(len(df))
    ax.barh([i + 0.2 for i in y], df["at_risk_000"] / 1000, height=0.4, color=CLAIMED, label="At risk (projected)")
    ax.barh([i - 0.2 for i in y], df["contingency"] / 1000, height=0.4, color=CREDIBLE, label="Contingency funds")
    ax.set_yticks(list(y), df.index)
    ax.set_xlabel("£m")
    ax.legend(frameon=False, loc="lower right")
    return _svg(fig)
