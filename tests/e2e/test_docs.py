import pytest

pytestmark = pytest.mark.e2e

# The documentation in docs/: it builds, it covers every scenario field, and every pointer to
# it exists.
#
# - `mkdocs build --strict` passes (broken links, anchors and nav entries are errors; see
#   `validation` in mkdocs.yml) and the API page is rendered from the docstrings;
# - every field of the scenario models, found by walking the pydantic models from `Scenario`,
#   has a row in its model's section of docs/scenario-format.md stating the model's default,
#   and every row there names a real field;
# - every `docs/...` path named in README.md, the scenarios' README and example, and the
#   source of sct_engine (error messages, docstrings) exists;
# - the complete examples in docs/scenario-format.md are valid scenarios.

import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, get_args  # noqa: E402

import yaml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402

from sct_engine.scenario import Scenario, parse_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FORMAT = DOCS / "scenario-format.md"

#: A repository-relative ``docs/...md`` path, optionally written ``../docs/...`` from a
#: sub-folder, and an optional ``(Section)`` after it. Not preceded by a path character, so
#: ``/somewhere/docs/x.md`` is not taken for the repository's docs folder.
DOC_PATH = re.compile(r"(?<![\w/.-])(?:\.\./)?(docs/[\w./-]+?\.md)(?:\s*\(([^)]*)\))?")

#: Files whose ``docs/...`` paths must exist, besides the sources of sct_engine.
POINTING_FILES = ("README.md", "scenarios/README.md", "scenarios/example_ics.yaml")


def test_api_page_covers_every_public_package():
    """docs/api.md has a `::: sct_engine.<package>` section for every sub-package of sct_engine."""
    packages = sorted(
        p.parent.name for p in (ROOT / "sct_engine").glob("*/__init__.py") if p.parent.name != "cli"
    )
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: sct_engine\.(\w+)\s*$", api, flags=re.MULTILINE))
    missing = [name for name in packages if name not in documented]
    assert not missing, f"docs/api.md has no section for sct_engine.{', sct_engine.'.join(missing)}"


# --- mkdocs --------------------------------------------------------------------------------


def test_mkdocs_build_strict_passes(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for anchor in ("sct_engine.load_scenario", "sct_engine.Scenario", "sct_engine.Result"):
        assert f'id="{anchor}"' in api, f"the API page has no entry for {anchor}"
    assert 'id="sct_engine.analysis.analyse"' in api
    # one entry of each public package, rendered from its docstring
    for anchor in (
        "sct_engine.rules.builtin_menu",
        "sct_engine.scenario.load_variants",
        "sct_engine.engine.simulate_reference",
        "sct_engine.report.write_workbook",
        "sct_engine.calibration.fit_history",
        "sct_engine.batch.run_batch",
    ):
        assert f'id="{anchor}"' in api, f"the API page has no entry for {anchor}"
    assert "Simulate every scheme option of a scenario on common random numbers" in api
    for page in ("rules-2018-19", "scenario-format", "results", "calibration", "batch"):
        assert (site / page / "index.html").is_file(), f"{page}.md was not built"


# --- every scenario field is documented --------------------------------------------------------


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: itself, or inside lists, optionals and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in nested_models(arg)]


def scenario_models() -> dict[str, type[BaseModel]]:
    """Every model reachable from Scenario through its fields, by class name."""
    found: dict[str, type[BaseModel]] = {}

    def visit(model: type[BaseModel]) -> None:
        if model.__name__ in found:
            return
        found[model.__name__] = model
        for info in model.model_fields.values():
            for inner in nested_models(info.annotation):
                visit(inner)

    visit(Scenario)
    return found


MODELS = scenario_models()
FIELDS = [(name, field) for name, model in MODELS.items() for field in model.model_fields]


def section(text: str, model_name: str) -> str:
    """The text under the heading marked ``{#model-<name>}``, up to the next heading as high."""
    anchor = f"{{#model-{model_name.lower()}}}"
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("#") and anchor in line), None
    )
    assert start is not None, f"{FORMAT.name} has no section marked {anchor} for {model_name}"
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def field_rows(text: str) -> dict[str, list[str]]:
    """Rows of the tables whose first header cell is ``field``: field name -> cells."""
    rows: dict[str, list[str]] = {}
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table and _cells(table[0])[:1] == ["field"]:
            for row in table[2:]:
                cells = _cells(row)
                match = re.fullmatch(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[0])
                assert match, f"a field row must start with the field in backticks: {row}"
                rows[match.group(1)] = cells
        table = []
    return rows


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


@pytest.fixture(scope="module")
def format_text() -> str:
    return FORMAT.read_text(encoding="utf-8")


def test_the_walk_reaches_every_scenario_model():
    assert {
        "Scenario",
        "Simulation",
        "Uncertainty",
        "Tail",
        "Regime",
        "SchemeOption",
        "System",
        "Correlation",
        "Organisation",
    } <= set(MODELS)


@pytest.mark.parametrize(("model", "field"), FIELDS, ids=[f"{m}.{f}" for m, f in FIELDS])
def test_every_scenario_field_is_documented_with_its_default(format_text, model, field):
    rows = field_rows(section(format_text, model))
    assert field in rows, f"docs/scenario-format.md: the {model} section has no row for `{field}`"
    cells = rows[field]
    assert len(cells) == 7, f"`{field}`: a row has 7 cells (field to meaning): {cells}"
    assert cells[1], f"`{field}` has no type"
    assert cells[5], f"`{field}` has no example"
    assert cells[6], f"`{field}` has no meaning"
    problem = default_problem(MODELS[model].model_fields[field], cells[3])
    assert problem is None, f"{model}.{field}: {problem}"


def default_problem(info: FieldInfo, written: str) -> str | None:
    """Why the default column does not state the model's default, or None if it does."""
    if info.is_required():
        return None if written.startswith("required") else f"is required, the page says {written!r}"
    if info.default_factory is not None:
        return None  # a nested section or the built-in menu, described in words
    default = info.default
    if default is None:
        return (
            None if written.startswith("null") else f"defaults to null, the page says {written!r}"
        )
    if isinstance(default, bool):
        expected = "true" if default else "false"
        return None if written == expected else f"defaults to {expected}, the page says {written!r}"
    if isinstance(default, str):
        return None if written == f"`{default}`" else f"defaults to {default}, page: {written!r}"
    try:
        stated = float(written.split()[0].replace(",", ""))
    except (ValueError, IndexError):
        return f"defaults to {default!r}, the page says {written!r}"
    return None if stated == default else f"defaults to {default!r}, the page says {written!r}"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_documented_field_exists(format_text, model):
    documented = field_rows(section(format_text, model))
    stale = sorted(set(documented) - set(MODELS[model].model_fields))
    assert not stale, f"docs/scenario-format.md documents fields {model} does not have: {stale}"


def test_complete_examples_in_the_format_page_are_valid_scenarios(format_text, tmp_path):
    blocks = re.findall(r"^```(\w+)\n(.*?)^```", format_text, re.S | re.M)
    tables = [body for lang, body in blocks if lang == "csv"]
    scenarios = [yaml.safe_load(body) for lang, body in blocks if lang == "yaml"]
    complete = [data for data in scenarios if "name" in data and "systems" in data]
    assert len(complete) >= 2, "the page should show a complete scenario and a CSV one"
    for data in complete:
        for system in data["systems"]:
            if "organisations_csv" in system:
                (tmp_path / system["organisations_csv"]).write_text(tables[0])
        scenario = parse_scenario(data, source=tmp_path / "example.yaml")
        assert scenario.systems and all(s.organisations for s in scenario.systems)


# --- every pointer into docs/ exists ---------------------------------------------------------


def doc_references(text: str) -> list[tuple[str, str]]:
    """``(path, section)`` for every docs path in ``text``; section is "" when none is named."""
    return [(m.group(1), m.group(2) or "") for m in DOC_PATH.finditer(text)]


def pointing_sources() -> dict[str, str]:
    """Text of the files that point users to docs/: the README files, the example, the engine."""
    sources = {name: (ROOT / name).read_text(encoding="utf-8") for name in POINTING_FILES}
    for path in sorted((ROOT / "sct_engine").rglob("*.py")):
        sources[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return sources


def test_pointers_are_found_where_expected():
    """The scan itself works: README and the engine's error messages do point into docs/."""
    sources = pointing_sources()
    assert ("docs/scenario-format.md", "") in doc_references(sources["README.md"])
    engine = [
        ref
        for name, text in sources.items()
        if name.startswith("sct_engine")
        for ref in doc_references(text)
    ]
    assert ("docs/scenario-format.md", "") in engine
    assert ("docs/batch.md", "Sweeps") in engine


@pytest.mark.parametrize("name", sorted(pointing_sources()))
def test_every_docs_path_named_exists(name):
    text = pointing_sources()[name]
    for path, section_name in doc_references(text):
        target = ROOT / path
        assert target.is_file(), f"{name} names {path}, which does not exist"
        # "see docs/batch.md (Sweeps)": a capitalised name in brackets is a section of the page.
        if section_name[:1].isupper():
            headings = [
                line.lstrip("#").split("{#")[0].strip()
                for line in target.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")
            ]
            assert section_name in headings, f"{name} names section {section_name!r} of {path}"


def test_no_file_points_to_shared():
    """Reference material outside the repository is not the user's: only docs/ is cited.

    Every tracked text file is scanned (this test file excepted: it names the pattern).
    """
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    suffixes = {".md", ".yaml", ".yml", ".py", ".toml", ".ipynb", ".csv", ".txt", ""}
    files = [
        ROOT / name
        for name in listed
        if Path(name).suffix in suffixes and Path(name) != Path(__file__).relative_to(ROOT)
    ]
    offending = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in files
        if p.is_file()
        for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if re.search(r"(?<![\w-])shared/", line)
    ]
    assert not offending, f"these lines point to shared/: {offending}"


def test_docs_index_shows_the_readme_commands():
    """The home page's two commands are the README's, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"^```bash\n(.*?)^```", readme, re.S | re.M)
    assert first_block is not None
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for command in first_block.group(1).strip().splitlines():
        assert command in index, f"docs/index.md lacks the README command: {command}"
