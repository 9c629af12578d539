"""Headless Chromium for the report tests: open a page, dump its DOM, screenshot, print to PDF."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: A4 in PostScript points (210 x 297 mm), as Chromium writes a PDF's MediaBox.
A4_POINTS = (595.92, 842.88)


def browser() -> str:
    """The browser's path; a skip where none is installed, a failure on CI (which installs it)."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    message = "headless Chromium is not installed (apt-get install -y chromium, as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it: a missing browser there is a broken pipeline
    pytest.skip(message)


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``page`` with its own profile folder and ``extra`` switches."""
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def console_problems(stderr: str) -> list[str]:
    """Lines of Chromium's log (``--enable-logging=stderr``) that report a page error."""
    return [
        line
        for line in stderr.splitlines()
        if re.search(r"Uncaught|CONSOLE|Failed to load resource|net::ERR_", line)
    ]


def screenshot_problems(page: Path, profile: Path, shot: Path) -> list[str]:
    """Open ``page``, screenshot it, and say what went wrong: console errors, a blank page."""
    import matplotlib.image as mpimg

    run = chromium(
        page,
        profile,
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
    )
    if run.returncode != 0:
        return [run.stderr[-2000:]]
    problems = console_problems(run.stderr)
    pixels = mpimg.imread(shot)[..., :3]
    if pixels.std() <= 0.05:
        problems.append("blank screenshot")
    if (pixels.min(axis=-1) < 0.5).mean() <= 0.01:
        problems.append("almost nothing drawn")
    return problems


#: Appended to a copy of a report: lays the page out at A4's printable width (210 mm less the
#: @page margins of 12 mm each side) under the print rules, then lists every table, figure and
#: chart whose right edge passes the page's, as the body's data-cut attribute.
_MEASURE = """
<style>html, body { width: 186mm !important; max-width: 186mm !important; margin: 0 !important;
padding: 0 !important; }</style>
<script>
const edge = document.body.getBoundingClientRect().right + 0.5;
const cut = [...document.querySelectorAll('table, figure, svg, pre, dl')]
  .filter(e => e.getBoundingClientRect().right > edge || e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.closest('section') || {id: 'header'}).id + ':' + e.tagName.toLowerCase());
document.body.setAttribute('data-cut', JSON.stringify(cut));
</script>
"""


def cut_on_a4(page: Path, folder: Path) -> list[str]:
    """The elements of ``page`` wider than an A4 page's printable width, under its print rules
    (section id and tag each); Chromium lays out a copy with the print rules applied on screen."""
    import json

    text = page.read_text(encoding="utf-8").replace("@media print", "@media all")
    copy = folder / f"a4-{page.name}"
    copy.write_text(text.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(copy, folder / "profile-a4", "--dump-dom", "--window-size=1600,1200")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'data-cut="([^"]*)"', dom.stdout)
    assert found, "the measuring script did not run"
    return json.loads(found[1].replace("&quot;", '"'))


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Every page's size in points, from the MediaBox entries of a PDF Chromium printed."""
    data = pdf.read_bytes().decode("latin-1")
    boxes = re.findall(r"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    return [(float(w), float(h)) for w, h in boxes]
