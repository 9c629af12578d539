"""The report's tables in an Excel workbook for finance teams (one sheet each, header frozen)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from sct_engine.report.data import ReportData, report_tables


def write_workbook(data: ReportData, path: str | os.PathLike) -> Path:
    """The report's tables in an Excel workbook (one sheet each, header frozen)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for name, frame in report_tables(data).items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for col, title in zip(sheet.columns, frame.columns, strict=False):
                width = max([len(str(title))] + [len(f"{v}") for v in frame[title].head(200)])
                sheet.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
    return out
