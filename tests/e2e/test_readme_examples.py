"""The README's and docs' examples are what the commands do today: the shipped scenarios named,
the `sct compare` quote and the `sct run` table printed by running them, and no page saying a
feature is missing that the commands have (issue 25)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sct_engine.cli as cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def sct(argv: list[str], capsys) -> str:
    """The command as the README writes it, run from the repository's root (its paths are
    relative to it), wherever pytest was started."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
        assert cli.main(argv) == 0
    return capsys.readouterr().out


def test_the_shipped_scenario_list_names_every_shipped_scenario():
    shipped = README[README.index("Shipped:") :]
    shipped = shipped[: shipped.index(". ")]
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert f"`scenarios/{path.name}`" in shipped, path.name


def test_the_compare_quote_is_what_the_readme_command_prints(capsys):
    """The command of "Which option should we sign?" at the scenario's own draws and seed."""
    command = re.search(r"^sct (compare scenarios/example_ics\.yaml [^\n#]*)", README, re.M)
    assert command is not None
    quote = re.search(r'\("(flexible_25 [^"]+)"\)', README, re.S)
    assert quote is not None
    out = sct(command.group(1).split(), capsys)
    assert " ".join(quote.group(1).split()) in " ".join(out.split()), out[:800]


def test_the_run_table_is_what_sct_run_prints(capsys, tmp_path):
    """The example output after "Example output (`example_ics.yaml`, 100,000 draws ...":
    `sct run scenarios/example_ics.yaml` at the scenario's own draws and seed."""
    start = README.index("Example output (`example_ics.yaml`")
    block = re.search(r"```\n(National funding lost by scheme\n.*?)```", README[start:], re.S)
    assert block is not None
    out = sct(["run", "scenarios/example_ics.yaml", "--out", str(tmp_path / "run")], capsys)
    printed = [" ".join(line.split()) for line in out.splitlines()]
    for line in block.group(1).splitlines():
        assert " ".join(line.split()) in printed, line


def test_no_page_says_the_sweep_report_is_missing():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "not written yet" not in page.read_text(encoding="utf-8"), page.name


def test_the_compile_time_reads_the_same_everywhere():
    words = "from half a minute to a few minutes"
    assert words in README
    assert words in " ".join((ROOT / "docs" / "architecture.md").read_text().split())
