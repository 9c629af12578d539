"""Report charts as inline SVG strings (matplotlib, no pyplot state, no files).

Each function returns a self-contained ``<svg>`` element whose ids are prefixed,
so several charts can share one HTML page without id clashes. matplotlib is
imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sct_engine.engine.results import Result

#: One colour per option, in menu order (colour-blind-safe Okabe-Ito palette).
SCHEME_COLOURS = (
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#009E73",
    "#56B4E9",
    "#E69F00",
    "#F0E442",
    "#000000",
)

_ID = re.compile(r'\bid="([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')


def scheme_colour(index: int) -> str:
    """The colour of option ``index`` in every chart."""
    return SCHEME_COLOURS[index % len(SCHEME_COLOURS)]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def figure_svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element for inlining: no XML prolog, ids prefixed, width fluid."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": prefix, "font.size": 9}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    # Fluid width: keep the viewBox, let CSS size the element.
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="chart"', svg, count=1
    )
    return svg


def funding_at_risk_svg(
    schemes: Sequence[str],
    expected_lost: np.ndarray,
    se: np.ndarray,
    p95: np.ndarray,
    funding: float,
    title: str,
    prefix: str,
) -> str:
    """Horizontal bars of expected funding lost per option with 95% confidence bars and the 1-in-20-year loss."""
    fig = _figure(7.0, 0.45 * len(schemes) + 1.3)
    ax = fig.add_subplot()
    y = np.arange(len(schemes))[::-1]
    colours = [scheme_colour(k) for k in range(len(schemes))]
    ax.barh(
        y,
        expected_lost,
        xerr=1.959963984540054 * np.asarray(se),
        color=colours,
        alpha=0.85,
        error_kw={"ecolor": "black", "capsize": 4, "lw": 1.2},
        label="expected funding lost (95% CI)",
    )
    ax.scatter(
        p95, y, marker="D", color="black", zorder=3, s=22, label="lost in a 1-in-20 bad year (p95)"
    )
    ax.set_yticks(y, list(schemes))
    ax.set_xlim(0, max(funding, float(np.max(p95)) if len(p95) else 0.0) * 1.04 or 1.0)
    ax.set_xlabel("sustainability funding lost, £m a year")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16 - 0.9 / (len(schemes) + 3)),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    return figure_svg(fig, prefix)


def loss_exceedance_svg(result: Result, system: int, prefix: str) -> str:
    """P(system loses more than x) against x, one step curve per option (from the run's histograms)."""
    model, stats = result.model, result.stats
    funding = float(model.system_funding()[system])
    bins = stats.system_hist.shape[-1] - 1
    edges = np.arange(bins + 1) * funding / bins
    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    for k, name in enumerate(result.scheme_names):
        counts = stats.system_hist[k, system].astype(np.float64)
        exceed = 1.0 - np.cumsum(counts) / counts.sum()  # P(loss > upper edge of bin b)
        ax.step(edges, exceed, where="post", color=scheme_colour(k), lw=1.6, label=name)
    ax.set_xlim(0, funding if funding > 0 else 1.0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("funding lost by the system, £m (at least)")
    ax.set_ylabel("probability of losing more")
    ax.set_title(f"{model.system_names[system]}: loss exceedance", loc="left", fontsize=10)
    ax.grid(color="#dddddd", lw=0.6)
    ax.legend(fontsize=8, frameon=False, ncol=2)
    return figure_svg(fig, prefix)


def attribution_svg(attribution: pd.DataFrame, system: str, system_name: str, prefix: str) -> str:
    """Stacked bars per option: each member's share of the system's loss in its worst 5% of years (co-CVaR)."""
    rows = attribution[attribution["system"] == system]
    schemes = list(dict.fromkeys(rows["scheme"]))
    members = list(dict.fromkeys(rows["organisation"]))
    table = rows.pivot(index="scheme", columns="organisation", values="co_cvar").loc[
        schemes, members
    ]
    fig = _figure(7.0, 0.45 * len(schemes) + 1.9)
    ax = fig.add_subplot()
    y = np.arange(len(schemes))[::-1]
    left = np.zeros(len(schemes))
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    for j, member in enumerate(members):
        values = table[member].to_numpy()
        ax.barh(
            y, values, left=left, color=palette(j % 20), label=member, edgecolor="white", lw=0.4
        )
        left += values
    ax.set_yticks(y, schemes)
    ax.set_xlabel("average funding lost in the worst 5% of years, £m, by member (co-CVaR)")
    ax.set_title(f"{system_name}: who bears the tail loss", loc="left", fontsize=10)
    ax.legend(
        fontsize=7,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=min(4, max(1, len(members))),
    )
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    return figure_svg(fig, prefix)


def member_funding_svg(
    schemes: Sequence[str],
    funding: np.ndarray,
    funding_ci: np.ndarray,
    allocation: float,
    title: str,
    prefix: str,
    income: np.ndarray | None = None,
    income_ci: np.ndarray | None = None,
    recommended: int | None = None,
) -> str:
    """One member's expected funding under each option, with 95% confidence bars.

    ``funding_ci`` (and ``income_ci``) are half-widths, drawn around each option's bar (0 for
    the baseline when they are paired intervals of the difference from it). With ``income``
    (funding plus incentive PSF and bonus) a lighter, hatched bar below each funding bar shows
    it. The dashed line is the funding at stake; ``recommended`` names the option whose label is
    bold (the one the system is recommended to sign). The page's text explains the bars, so
    the chart carries no legend.
    """
    import textwrap

    k = len(schemes)
    lines = textwrap.wrap(title, 52) or [""]
    fig = _figure(3.6, 0.22 * k * (1.6 if income is not None else 1) + 0.75 + 0.16 * len(lines))
    ax = fig.add_subplot()
    y = np.arange(k)[::-1].astype(np.float64)
    colours = [scheme_colour(j) for j in range(k)]
    height = 0.4 if income is not None else 0.7
    shift = height / 2 if income is not None else 0.0
    error = {"ecolor": "black", "capsize": 2.5, "lw": 0.9}
    ax.barh(
        y + shift,
        funding,
        height=height,
        xerr=funding_ci,
        color=colours,
        error_kw=error,
    )
    top = float(np.max(np.asarray(funding) + np.asarray(funding_ci), initial=0.0))
    if income is not None and income_ci is not None:
        ax.barh(
            y - shift,
            income,
            height=height,
            xerr=income_ci,
            color=colours,
            alpha=0.4,
            hatch="///",
            edgecolor="#333333",
            lw=0.3,
            error_kw=error,
        )
        top = max(top, float(np.max(np.asarray(income) + np.asarray(income_ci), initial=0.0)))
    right = max(allocation, top) * 1.08 or 1.0
    if allocation > 0:
        ax.axvline(allocation, color="#555555", ls="--", lw=0.9)
        ax.text(
            allocation,
            y[0] + 0.62,
            f"at stake £{allocation:,.1f}m",
            ha="right",
            va="bottom",
            fontsize=7,
            color="#555555",
        )
    for j in range(k):
        ax.text(
            funding[j] + funding_ci[j] + right * 0.01,
            y[j] + shift,
            f"£{funding[j]:,.2f}m",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(y, list(schemes), fontsize=7.5)
    if recommended is not None:
        ax.get_yticklabels()[recommended].set_fontweight("bold")
    ax.set_xlim(0, right * 1.12)
    ax.set_ylim(-0.6, k - 0.4 + 0.5)
    ax.set_xlabel("£m a year", fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("\n".join(lines), x=0.02, ha="left", fontsize=8.5)
    ax.grid(axis="x", color="#e3e3e3", lw=0.5)
    ax.set_axisbelow(True)
    return figure_svg(fig, prefix)


def cash_timing_svg(
    schemes: Sequence[str],
    quarterly: np.ndarray,
    allocation: float,
    title: str,
    prefix: str,
    recommended: int | None = None,
) -> str:
    """One member's expected funding received by the end of each quarter, one line per option.

    ``quarterly`` is ``(K, 4)``: expected funding paid in Q1..Q4 (recovered money in Q4). The
    lines are cumulative, so the gap between two options at a quarter is the cash one option
    pays earlier; the dashed line is the funding at stake. The recommended option's line is
    thicker.
    """
    import textwrap

    lines = textwrap.wrap(title, 52) or [""]
    fig = _figure(3.6, 1.9 + 0.16 * len(lines))
    ax = fig.add_subplot()
    quarters = np.arange(1, 5)
    cumulative = np.cumsum(np.asarray(quarterly, dtype=np.float64), axis=1)
    for k, name in enumerate(schemes):
        ax.plot(
            quarters,
            cumulative[k],
            marker="o",
            ms=2.5,
            lw=2.2 if k == recommended else 1.0,
            color=scheme_colour(k),
            label=name,
        )
    if allocation > 0:
        ax.axhline(allocation, color="#555555", ls="--", lw=0.9)
    top = max(allocation, float(np.max(cumulative, initial=0.0))) * 1.08 or 1.0
    ax.set_ylim(0, top)
    ax.set_xticks(quarters, ["Q1", "Q2", "Q3", "Q4"], fontsize=7.5)
    ax.set_ylabel("£m received by quarter end", fontsize=7.5)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(color="#e3e3e3", lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(fontsize=6, loc="upper left", frameon=False)
    fig.suptitle("\n".join(lines), x=0.02, ha="left", fontsize=8.5)
    return figure_svg(fig, prefix)


def sweep_lines_svg(
    positions: Sequence[float],
    ticks: Sequence[str],
    xlabel: str,
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    marked: Sequence[int],
    title: str,
    ylabel: str,
    prefix: str,
    small: bool = False,
) -> str:
    """One line per option along a sweep, with 95% confidence bars, the chosen option ringed.

    ``series`` holds (option, values at each point, confidence half-widths at each point), in
    menu order (so each option keeps its colour); ``marked[p]`` is the series chosen at point
    ``p`` (-1: none). ``small`` draws a compact chart without a legend, for one member.
    """
    import textwrap

    width, height = (3.6, 2.5) if small else (7.0, 3.8)
    lines = textwrap.wrap(title, 52 if small else 100) or [""]
    fig = _figure(width, height + 0.16 * (len(lines) - 1))
    ax = fig.add_subplot()
    x = np.asarray(positions, dtype=np.float64)
    for j, (name, values, ci) in enumerate(series):
        ax.errorbar(
            x,
            values,
            yerr=ci,
            color=scheme_colour(j),
            marker="o",
            ms=3 if small else 4,
            lw=1.2 if small else 1.6,
            capsize=2,
            label=name,
        )
    chosen = [(x[p], series[j][1][p]) for p, j in enumerate(marked) if j >= 0]
    if chosen:
        cx, cy = zip(*chosen, strict=True)
        ax.scatter(
            cx,
            cy,
            s=90 if small else 150,
            facecolors="none",
            edgecolors="black",
            linewidths=1.4,
            zorder=4,
            label="recommended",
        )
    ax.set_xticks(x, list(ticks), fontsize=7 if small else 8)
    if len(x) > 1:
        pad = 0.06 * float(x.max() - x.min())
        ax.set_xlim(float(x.min()) - pad, float(x.max()) + pad)
    ax.set_xlabel(xlabel, fontsize=7.5 if small else 9)
    ax.set_ylabel(ylabel, fontsize=7.5 if small else 9)
    ax.tick_params(axis="y", labelsize=7 if small else 8)
    ax.grid(color="#e3e3e3", lw=0.5)
    ax.set_axisbelow(True)
    fig.suptitle("\n".join(lines), x=0.02, ha="left", fontsize=8.5 if small else 10)
    if not small:
        ax.legend(
            fontsize=7.5,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    return figure_svg(fig, prefix)


def system_gains_svg(
    systems: Sequence[str],
    gains: dict[str, np.ndarray],
    colours: dict[str, str],
    xlabel: str,
    title: str,
    prefix: str,
) -> str:
    """One row per system (in the order given, first at the top), one marker per option: what
    the option is worth to the system against the baseline (a dot plot, zero marked)."""
    n = len(systems)
    fig = _figure(7.0, 0.16 * n + 1.6)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    markers = "osD^vP*X"
    for j, (name, values) in enumerate(gains.items()):
        ax.scatter(
            values,
            y,
            s=18,
            marker=markers[j % len(markers)],
            color=colours[name],
            label=name,
            zorder=3,
            alpha=0.9,
        )
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y, list(systems), fontsize=6.5)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.grid(axis="y", color="#f0f0f0", lw=0.4)
    ax.set_axisbelow(True)
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0 + 2.0 / (n + 10)),
        ncol=min(4, max(1, len(gains))),
        fontsize=7.5,
        frameon=False,
    )
    return figure_svg(fig, prefix)


def participation_svg(
    schemes: Sequence[str], counts: dict[str, np.ndarray], colours: dict[str, str], prefix: str
) -> str:
    """Stacked horizontal bars per option: how many systems are in each position (would sign,
    too close to call, would not sign), counts written in the bars."""
    fig = _figure(7.0, 0.4 * len(schemes) + 1.2)
    ax = fig.add_subplot()
    y = np.arange(len(schemes))[::-1]
    left = np.zeros(len(schemes))
    for label, values in counts.items():
        values = np.asarray(values, dtype=np.float64)
        ax.barh(y, values, left=left, color=colours[label], label=label, edgecolor="white")
        for yy, x0, v in zip(y, left, values, strict=True):
            if v > 0:
                ax.text(x0 + v / 2, yy, f"{v:.0f}", ha="center", va="center", fontsize=7.5)
        left += values
    ax.set_yticks(y, list(schemes))
    ax.set_xlim(0, max(float(left.max()), 1.0))
    ax.set_xlabel("systems")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3 - 0.9 / (len(schemes) + 3)),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    return figure_svg(fig, prefix)
