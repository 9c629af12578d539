"""The board report: its data computed once, rendered as HTML and as an Excel workbook.

Flow: scenario file or ``sct run`` folder -> decision analysis, incentive
gradient and solvers (:mod:`.data`) -> one self-contained HTML page
(:mod:`.html`, with the SVG charts of :mod:`.charts`) and the same tables in a
workbook (:mod:`.workbook`). :mod:`.commands` holds ``sct compare`` and
``sct report``.

This package re-exports the public names of those modules. matplotlib and
openpyxl are imported only when a chart or a workbook is made.
"""

from sct_engine.report.charts import (
    SCHEME_COLOURS,
    attribution_svg,
    figure_svg,
    funding_at_risk_svg,
    loss_exceedance_svg,
    scheme_colour,
)
from sct_engine.report.commands import register_cli
from sct_engine.report.data import (
    ReportData,
    ReportSettings,
    ReportSourceError,
    prepare_report,
    provenance_fields,
    report_tables,
    resolve_source,
)
from sct_engine.report.html import SECTIONS, TRAFFIC_LIGHTS, money, render_html, write_html
from sct_engine.report.workbook import write_workbook

__all__ = [
    "SCHEME_COLOURS",
    "SECTIONS",
    "TRAFFIC_LIGHTS",
    "ReportData",
    "ReportSettings",
    "ReportSourceError",
    "attribution_svg",
    "figure_svg",
    "funding_at_risk_svg",
    "loss_exceedance_svg",
    "money",
    "prepare_report",
    "provenance_fields",
    "register_cli",
    "render_html",
    "report_tables",
    "resolve_source",
    "scheme_colour",
    "write_html",
    "write_workbook",
]
