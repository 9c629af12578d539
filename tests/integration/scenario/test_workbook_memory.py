"""A workbook's memory is bounded whatever it says its size is (issue 22).

One stray cell at the bottom-right of a sheet, or a Notes sheet of millions of empty cells,
once cost gigabytes: the reader now streams only the layout's sheets, only as wide as the
layout, down to the first band of blank rows. Each workbook is read in a child process whose
address space is capped, and its peak memory is measured.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sct_engine.scenario import load_scenario
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
#: The child's address space: far above a bounded read, far below what an unbounded one takes.
ADDRESS_SPACE = 3 * 1024**3
#: Most resident memory a read of these small workbooks may take (the interpreter, pandas,
#: pydantic and openpyxl included).
PEAK_MB = 600
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
MEMBERS = sum(len(system.organisations) for system in load_scenario(EXAMPLE).systems)

READ = """
import json, sys
from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario
try:
    scenario = load_scenario(sys.argv[1])
    outcome = {"members": sum(len(s.organisations) for s in scenario.systems)}
except ScenarioError as err:
    outcome = {"problems": [str(p) for p in err.problems]}
# The peak of this process's own memory since exec (VmHWM): ru_maxrss would also count the
# pages of the test process this child was forked from, which grow as the suite runs.
with open("/proc/self/status") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
outcome["peak_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(outcome))
"""


def read_capped(path: Path) -> dict:
    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    done = subprocess.run(
        [sys.executable, "-c", READ, str(path)],
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def rewritten(source: Path, target: Path, sheet: str, change) -> Path:
    """A copy of a workbook with one sheet's XML changed by ``change(xml) -> xml``."""
    with zipfile.ZipFile(source) as book:
        names = book.namelist()
        workbook = book.read("xl/workbook.xml").decode()
        rels = book.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet[^>]*name="{sheet}"[^>]*r:id="(rId\d+)"', workbook)[1]
        found = re.search(rf'<Relationship[^>]*Target="/?(?:xl/)?([^"]+)"[^>]*Id="{rid}"', rels)
        part = f"xl/{found[1]}"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for name in names:
                data = book.read(name)
                if name == part:
                    data = change(data.decode()).encode()
                out.writestr(name, data)
    return target


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.xlsx"
    write_scenario_workbook(path, load_scenario(EXAMPLE))
    return path


def stray_cell(reference: str):
    row = re.sub(r"[A-Z]+", "", reference)

    def change(xml: str) -> str:
        cell = f'<row r="{row}"><c r="{reference}" t="inlineStr"><is><t xml:space="preserve"> </t></is></c></row>'
        xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
        return xml.replace("</sheetData>", cell + "</sheetData>")

    return change


@pytest.mark.parametrize(
    ("sheet", "cell"), [("Organisations", "A1048576"), ("Correlation", "XFD1048576")]
)
def test_one_space_at_the_end_of_a_sheet_costs_nothing(sheet, cell, book, tmp_path):
    path = rewritten(book, tmp_path / "stray.xlsx", sheet, stray_cell(cell))
    outcome = read_capped(path)
    assert outcome.get("members") == MEMBERS, outcome
    assert outcome["peak_mb"] < PEAK_MB, outcome


def test_an_unread_notes_sheet_of_millions_of_empty_cells_is_never_loaded(book, tmp_path):
    from openpyxl import load_workbook

    with_notes = tmp_path / "notes.xlsx"
    workbook = load_workbook(book)
    workbook.create_sheet("Notes workings")["A1"] = "my workings"
    workbook.save(with_notes)
    rows = "".join(f'<row r="{r}">' + "<c/>" * 4000 + "</row>" for r in range(1, 1001))

    def empty_cells(xml: str) -> str:  # 4 million empty cells
        xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
        return re.sub(r"<sheetData>.*</sheetData>", f"<sheetData>{rows}</sheetData>", xml)

    path = rewritten(with_notes, tmp_path / "big_notes.xlsx", "Notes workings", empty_cells)
    assert path.stat().st_size < 1_000_000  # a small file...
    outcome = read_capped(path)  # ...that once unpacked to 4 million cell objects
    assert outcome.get("members") == MEMBERS, outcome
    assert outcome["peak_mb"] < PEAK_MB, outcome
