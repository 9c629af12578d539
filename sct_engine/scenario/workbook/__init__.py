"""Scenario workbooks: an Excel workbook as a scenario, read and written with openpyxl.

:mod:`.layout` derives the sheets and columns from the scenario models, :mod:`.reader`
turns a workbook into the fields the YAML loader checks (problems name sheet, cell and
field), :mod:`.writer` writes a scenario as a workbook (``sct template``, ``sct convert``).
openpyxl is imported only when a workbook is read or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sct_engine.scenario.workbook.layout import SHEETS
from sct_engine.scenario.workbook.reader import is_workbook, read_workbook

if TYPE_CHECKING:
    from sct_engine.scenario.workbook.writer import write_scenario_workbook

__all__ = ["SHEETS", "is_workbook", "read_workbook", "write_scenario_workbook"]


def __getattr__(name: str) -> Any:
    """``write_scenario_workbook`` on first use, so that reading YAML never loads openpyxl."""
    if name == "write_scenario_workbook":
        from sct_engine.scenario.workbook.writer import write_scenario_workbook

        return write_scenario_workbook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
