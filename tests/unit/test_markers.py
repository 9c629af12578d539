"""The suite refuses a test without exactly one kind marker (unit / integration / e2e) of its folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def run_suite(tmp_path: Path, folder: str, body: str) -> subprocess.CompletedProcess[str]:
    """pytest over a throwaway suite holding this conftest and one test file."""
    tests = tmp_path / "tests"
    (tests / folder).mkdir(parents=True)
    shutil.copy(CONFTEST, tests / "conftest.py")
    (tests / folder / "test_one.py").write_text("import pytest\n\n" + body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("folder", "body", "says"),
    [
        ("unit", "def test_plain():\n    pass\n", "carries none"),
        (
            "unit",
            "pytestmark = pytest.mark.unit\n\n@pytest.mark.e2e\ndef test_two():\n    pass\n",
            "carries e2e, unit",
        ),
        (
            "unit",
            "pytestmark = pytest.mark.e2e\n\ndef test_moved():\n    pass\n",
            "lives in tests/unit/",
        ),
    ],
)
def test_wrong_markers_stop_the_run(tmp_path, folder, body, says):
    done = run_suite(tmp_path, folder, body)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "exactly one of the markers unit / integration / e2e" in output
    assert "test_one.py::" in output and says in output


def test_one_marker_of_its_folder_runs(tmp_path):
    done = run_suite(
        tmp_path,
        "integration",
        "pytestmark = pytest.mark.integration\n\ndef test_ok():\n    pass\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
