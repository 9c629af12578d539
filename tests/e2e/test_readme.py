"""The README's code blocks work as written: YAML parses as a scenario, Python runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    found = [
        body for lang, body in BLOCK.findall((ROOT / "README.md").read_text()) if lang == language
    ]
    assert found, f"README.md has no {language} block"
    return found


@pytest.mark.parametrize("text", blocks("yaml"))
def test_yaml_blocks_are_valid_scenario_fragments(text):
    data = yaml.safe_load(text)
    data.setdefault("name", "readme")
    scenario = parse_scenario(data)
    assert scenario.warnings == [] or all("CSF" in w.message for w in scenario.warnings)


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(code, tmp_path):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
