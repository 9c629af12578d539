"""Building blocks of the report's HTML pages: the stylesheet, escaping, figures and tables.

The board report (``html.py``), its national page (``national_html.py``) and the sweep
comparison (``sweep_html.py``) are written from these, so the pages look and print alike.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np

#: The stylesheet of every page: screen and A4 print rules.
STYLESHEET = """
:root { --ink:#1d1d1b; --muted:#5b5b5b; --line:#d5d9de; --accent:#005eb8; --soft:#eef4fa;
        --green:#d9f0dd; --amber:#fff0c2; --red:#f8d5d3; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; line-height: 1.45; font-size: 15px; }
h1 { color: var(--accent); font-size: 28px; margin: 0 0 6px; }
h2 { color: var(--accent); border-bottom: 2px solid var(--accent); padding-bottom: 4px; margin-top: 40px; }
h3 { margin: 18px 0 6px; }
p.lede { font-size: 17px; margin: 4px 0; }
p.meta, p.note, figcaption, .small { color: var(--muted); font-size: 13px; }
nav { background: var(--soft); padding: 10px 16px; border-radius: 6px; margin: 18px 0; }
nav ol { margin: 0; padding-left: 20px; columns: 2; }
nav a { color: var(--accent); text-decoration: none; }
.card { border-left: 6px solid var(--accent); background: var(--soft); padding: 12px 18px; margin: 14px 0;
        break-inside: avoid; }
.card h3 { margin-top: 4px; }
.card .big { font-size: 20px; font-weight: 600; margin: 4px 0 8px; }
.card.warnings { border-left-color: #ffb81c; background: #fff8e5; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums;
        margin: 8px 0 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: right; vertical-align: top; }
th { background: #f5f6f7; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.num { white-space: nowrap; }  /* a figure never splits after its sign */
tr.group td { background: #f5f6f7; font-weight: 600; text-align: left; }
.tl-green { background: var(--green); }
.tl-amber { background: var(--amber); }
.tl-red { background: var(--red); }
.tl-label { font-size: 10px; color: var(--muted); margin-left: 3px; }
.worse { background: var(--red); }
.better { background: var(--green); }
.close { background: var(--amber); }
.muted { background: #f0f0f0; color: var(--muted); }
.key { border-left: 12px solid; padding-left: 4px; margin-right: 10px; white-space: nowrap; }
.se { color: var(--muted); font-size: 11px; }
.flag { font-weight: 600; }
figure { margin: 14px 0; break-inside: avoid; }
svg.chart { width: 100%; height: auto; max-width: 860px; display: block; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; word-break: break-all; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
.cols2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
.members { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 18px; }
figure.member { margin: 6px 0; }
figure.member figcaption { margin-top: -2px; }
code { font-size: 0.92em; }
@page { size: A4; margin: 13mm 12mm 15mm;
        @bottom-right { content: counter(page) " / " counter(pages); font: 8pt sans-serif; color: #5b5b5b; } }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; line-height: 1.35; }
  nav { display: none; }
  h1 { font-size: 18pt; }
  h2 { break-after: avoid; margin-top: 16pt; font-size: 13.5pt; }
  h3 { break-after: avoid; font-size: 10.5pt; }
  /* No table is cut: a table short enough for a page is kept whole, a longer one breaks
     between rows with its header repeated; cells wrap rather than run off the page. */
  table { font-size: 7.5pt; break-inside: avoid; table-layout: auto; width: 100%; }
  thead { display: table-header-group; }
  tr, figure, .card, dl.prov, caption { break-inside: avoid; }
  th, td { padding: 2px 4px; overflow-wrap: break-word; }
  td.num { white-space: nowrap; }
  p.note, p.small { break-inside: avoid; }
  p.note { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg.chart { max-width: 100%; }
  .members { gap: 0 10px; }
}
"""


def escape(value: Any) -> str:
    """Any value as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def option_header(name: str) -> str:
    """An option's name for a table header: escaped, with line-break chances after ``_``,
    ``[``, ``=`` and ``,`` so that long names wrap instead of widening the table."""
    return re.sub(r"([_\[=,])", r"\1<wbr>", escape(name))


def money(value: float, dp: int = 2, sign: bool = False) -> str:
    """£m with thousands separators, e.g. ``£1,234.50m``; ``sign`` adds + or -."""
    text = f"£{abs(value):,.{dp}f}m"
    return ("+" if value >= 0 else "-") + text if sign else text


def plus_minus(half: float, dp: int = 2) -> str:
    """A 95% half-width as ``± 0.12``: a real interval is never rounded to ``± 0.00``, it gets
    the digits it needs (``± 0.004``), or ``± < 0.0001`` below that; an exact zero (the same
    money in every simulated year) is ``± 0``."""
    if not np.isfinite(half):
        return "&ndash;"
    half = abs(float(half))
    if half == 0.0:
        return "± 0"
    if round(half, dp) > 0:
        return f"± {half:.{dp}f}"
    digits = max(dp, -int(np.floor(np.log10(half))))
    return f"± {half:.{digits}f}" if digits <= 4 else "± &lt; 0.0001"


def percent(p: float | None, dp: int = 0) -> str:
    """A probability as a percentage; a dash where it is missing or not finite."""
    return "&ndash;" if p is None or not np.isfinite(p) else f"{100 * p:.{dp}f}%"


def table(head: list[str], rows: list[Any], caption: str = "") -> str:
    """An HTML table; cells are HTML already (a cell may carry attributes as ``(attrs, html)``)."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption class='small'>{caption}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        if isinstance(row, str):
            out.append(row)
            continue
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                cells.append(f"<td {cell[0]}>{cell[1]}</td>")
            else:
                cells.append(f"<td>{cell}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)
