"""`sct batch` on a real Dask LocalCluster: manifest, sweeps, kills and resumes, worker counts,
batches sharing one folder, seeds beyond 64 bits, bad output folders.

One set of 19 scenario files (16 plain, a 2 x 2 sweep, a malformed YAML, one
that fails validation: 22 runs) is run once with two workers; the other tests
compare against that batch. Compiled kernels are kept in pytest's cache folder
so that only the first session on a machine pays for compiling them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil  # installed with distributed (a core dependency)
import pytest
import yaml

import sct_engine
from sct_engine import cli
from sct_engine.batch import (
    DONE,
    FAILED,
    MANIFEST_CSV,
    RESULT_TABLES,
    RUNS_DIR,
    read_manifest,
    read_results,
    run_batch,
)
from sct_engine.engine.results import TABLES
from sct_engine.engine.simulate import simulate
from sct_engine.scenario import load_scenario
from tests.factories import small_scenario as make_small_scenario

pytestmark = pytest.mark.integration

DRAWS = 40_000  # about 0.1 s a run: long enough to stop a batch between runs
PLAIN = 16
SWEEP = {"uncertainty.national_share": [0.1, 0.3], "schemes[2].system_linked_share": [0.25, 0.75]}
SORT_KEYS = {
    "organisations": ["run_id", "scheme", "organisation"],
    "systems": ["run_id", "scheme", "system"],
    "national": ["run_id", "scheme"],
}
#: Manifest columns that legitimately differ between two runs of the same batch.
TIMING_COLUMNS = ["wall_time_s", "simulate_time_s", "host", "finished_utc", "batch_id"]
#: The first line of the summary `sct batch` prints.
SUMMARY = re.compile(r"(\d+) runs: (\d+) done \((\d+) already done before[^)]*\), (\d+) failed")


def small_scenario(k: int) -> dict:
    """The k-th small test scenario (seed 100 + k)."""
    return make_small_scenario(k, draws=DRAWS, seed=100 + k, name=f"small {k}", skew=-2.0)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    for k in range(PLAIN):
        (folder / f"plain_{k:02d}.yaml").write_text(
            yaml.safe_dump(small_scenario(k), sort_keys=False)
        )
    swept = small_scenario(99)
    swept["uncertainty"] = {"distribution": "normal"}  # national_share comes from the sweep
    (folder / "sweep_grid.yaml").write_text(
        yaml.safe_dump({**swept, "sweep": SWEEP}, sort_keys=False)
    )
    (folder / "broken.yaml").write_text("name: broken\nsystems: [\n  - id: a\n")
    invalid = small_scenario(50)
    invalid["systems"][0]["organisations"][1]["sd"] = -2.0
    (folder / "invalid.yaml").write_text(yaml.safe_dump(invalid, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def numba_cache(request, tmp_path_factory) -> Path:
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("sct_batch_numba") if cache else tmp_path_factory.mktemp("numba")


def sct_batch(*args: str) -> int:
    """The `sct` command in this process, with the batch commands registered."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "COMMAND_MODULES", ("sct_engine.batch",))
        return cli.main(list(args))


def batch_args(
    inputs: Path, out: Path, numba_cache: Path, workers: int = 2, quiet: bool = True
) -> list[str]:
    return [str(inputs / "*.yaml"), "--out", str(out), "--workers", str(workers),
            "--numba-cache", str(numba_cache), *(["--quiet"] if quiet else [])]  # fmt: skip


@pytest.fixture(scope="module")
def two_workers(inputs, numba_cache, tmp_path_factory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("two_workers") / "batch"
    return sct_batch("batch", *batch_args(inputs, out, numba_cache)), out


def expected_run_ids() -> set[str]:
    plain = {f"plain_{k:02d}" for k in range(PLAIN)}
    swept = {
        f"sweep_grid__uncertainty.national_share={a}__schemes.2.system_linked_share={b}"
        for a in SWEEP["uncertainty.national_share"]
        for b in SWEEP["schemes[2].system_linked_share"]
    }
    return plain | swept | {"broken", "invalid"}


def combined_results(out: Path) -> dict[str, pd.DataFrame]:
    """Each combined table in a fixed row order, without the column naming the batch."""
    return {
        table: read_results(out, table)
        .drop(columns="batch_id")
        .sort_values(SORT_KEYS[table])
        .reset_index(drop=True)
        for table in RESULT_TABLES
    }


def assert_same_results(a: Path, b: Path) -> None:
    left, right = combined_results(a), combined_results(b)
    for table in RESULT_TABLES:
        pd.testing.assert_frame_equal(left[table], right[table], check_exact=True)
    manifest_a = read_manifest(a).drop(columns=TIMING_COLUMNS)
    manifest_b = read_manifest(b).drop(columns=TIMING_COLUMNS)
    pd.testing.assert_frame_equal(manifest_a, manifest_b)


def done_records(out: Path) -> dict[str, str]:
    """status.json text of every finished run, by run id."""
    records = {}
    for status in (out / RUNS_DIR).glob("*/status.json"):
        if status.parent.name.startswith("."):
            continue  # a hidden temporary folder: a run still being written, not yet published
        try:
            text = status.read_text()
        except FileNotFoundError:
            continue  # replaced by a newer copy of the same run between listing and reading
        if json.loads(text)["status"] == DONE:
            records[status.parent.name] = text
    return records


# --- one batch, inspected -------------------------------------------------------------------


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_manifest_records_every_run_and_the_failures(two_workers, inputs):
    status, out = two_workers
    assert status == 2, "the exit status is the number of failed runs"
    manifest = read_manifest(out)
    assert sorted(manifest["run_id"]) == sorted(expected_run_ids())
    by_id = manifest.set_index("run_id")
    assert set(by_id.index[by_id["status"] == FAILED]) == {"broken", "invalid"}
    broken, invalid = by_id.loc["broken", "error"], by_id.loc["invalid", "error"]
    assert str(inputs / "broken.yaml") in broken and "YAML syntax error at line" in broken
    assert str(inputs / "invalid.yaml") in invalid and "systems[0].organisations[1].sd" in invalid

    done = manifest[manifest["status"] == DONE]
    assert len(done) == PLAIN + 4 and done["error"].isna().all()
    assert done["engine_version"].str.startswith(sct_engine.__version__ + "+src.").all()
    assert (done["draws"] == DRAWS).all() and (done["wall_time_s"] > 0).all()
    for k in range(PLAIN):
        row = by_id.loc[f"plain_{k:02d}"]
        scenario = load_scenario(inputs / f"plain_{k:02d}.yaml")
        assert row["scenario_hash"] == scenario.content_hash
        assert row["seed"] == str(100 + k) and row["scenario_name"] == f"small {k}"
    readable = pd.read_csv(out / MANIFEST_CSV)
    assert list(readable["run_id"]) == list(manifest["run_id"])
    assert list(readable["status"]) == list(manifest["status"])
    leftovers = [p.name for p in (out / RUNS_DIR).iterdir() if p.name.startswith(".")]
    assert leftovers == [], "temporary folders must be renamed or removed"


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_each_run_holds_what_simulating_its_file_gives(two_workers, inputs):
    _, out = two_workers
    for run_id in ("plain_00", "plain_07"):
        result = simulate(load_scenario(inputs / f"{run_id}.yaml"))
        for table, frame in result.tables().items():
            stored = pd.read_parquet(out / RUNS_DIR / run_id / f"{table}.parquet")
            pd.testing.assert_frame_equal(stored, frame, check_exact=True)
        provenance = json.loads((out / RUNS_DIR / run_id / "run.json").read_text())
        assert provenance["scenario_hash"] == result.provenance["scenario_hash"]


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_combined_results_are_every_done_run_with_run_columns(two_workers):
    _, out = two_workers
    assert tuple(TABLES) == RESULT_TABLES
    manifest = read_manifest(out)
    done = manifest.loc[manifest["status"] == DONE, "run_id"]
    for table in TABLES:
        combined = read_results(out, table)
        assert set(combined["run_id"]) == set(done)
        one = combined[combined["run_id"] == "plain_03"].drop(
            columns=[
                "run_id",
                "file",
                "sweep",
                "batch_id",
                *[c for c in combined if c.startswith("sweep.")],
            ]
        )
        stored = pd.read_parquet(out / RUNS_DIR / "plain_03" / f"{table}.parquet")
        pd.testing.assert_frame_equal(one.reset_index(drop=True), stored, check_exact=True)


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_sweep_expands_into_named_runs_with_their_values(two_workers):
    _, out = two_workers
    manifest = read_manifest(out)
    swept = manifest[manifest["run_id"].str.startswith("sweep_grid__")]
    assert len(swept) == 4 and (swept["status"] == DONE).all()
    pairs = set(
        zip(
            swept["sweep.uncertainty.national_share"],
            swept["sweep.schemes[2].system_linked_share"],
            strict=True,
        )
    )
    assert pairs == {(a, b) for a in (0.1, 0.3) for b in (0.25, 0.75)}
    assert (
        manifest.loc[manifest["run_id"] == "plain_00", "sweep.uncertainty.national_share"]
        .isna()
        .all()
    )
    assert swept["scenario_hash"].nunique() == 4

    national = read_results(out, "national")
    national = national[national["run_id"].str.startswith("sweep_grid__")]
    # The swept option carries its value in its name, in the combined results too.
    labelled = national[national["scheme"].str.startswith("all_or_nothing_strict")]
    pairs = zip(labelled["scheme"], labelled["sweep.schemes[2].system_linked_share"], strict=True)
    assert set(pairs) == {
        (f"all_or_nothing_strict[system_linked_share={b}]", b) for b in (0.25, 0.75)
    }
    national = national.assign(scheme=national["scheme"].str.split("[").str[0])
    lost = national.pivot_table(
        index=["sweep.uncertainty.national_share", "scheme"],
        columns="sweep.schemes[2].system_linked_share",
        values="expected_funding_lost",
    )
    # Common random numbers: changing option 2's share changes option 2's result only.
    option_2 = "all_or_nothing_strict"
    for share in (0.1, 0.3):
        at_share = lost.loc[share]
        others = at_share.drop(index=option_2)
        assert (others[0.25] == others[0.75]).all()
        assert at_share.loc[option_2, 0.25] != at_share.loc[option_2, 0.75]
    # The national share reaches every option.
    assert lost.loc[(0.1, "organisation_only"), 0.25] != lost.loc[(0.3, "organisation_only"), 0.25]


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_batch_summary_prints_counts_failures_and_a_table(two_workers, capsys):
    _, out = two_workers
    capsys.readouterr()
    assert sct_batch("batch-summary", str(out)) == 0
    printed = capsys.readouterr().out
    assert "22 runs, 20 done, 2 failed" in printed
    assert "FAILED invalid" in printed and "plain_00" in printed


# --- the same batch again, other ways -------------------------------------------------------


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_an_existing_cluster_with_one_worker_gives_the_same_results(
    two_workers, inputs, numba_cache, tmp_path
):
    from distributed import Client, LocalCluster

    def numba_settings() -> tuple[str, int]:
        import numba

        return numba.config.CACHE_DIR, numba.config.NUMBA_NUM_THREADS

    one = tmp_path / "one_worker"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        summary = run_batch(
            [inputs / "*.yaml"],
            one,
            scheduler=cluster.scheduler_address,
            numba_cache=numba_cache,
            progress=False,
        )
        with Client(cluster) as client:
            settings = list(client.run(numba_settings).values())
    assert settings == [(str(numba_cache), 1)], "workers use the shared cache and their own threads"
    assert any(numba_cache.rglob("*.nbi")), "the kernel is cached in the shared folder"
    assert (summary.total, summary.done, summary.failed) == (22, 20, 2)
    assert summary.exit_status == 2
    _, two = two_workers
    assert_same_results(one, two)


def start_batch(
    inputs: Path, out: Path, numba_cache: Path, workers: int = 2, quiet: bool = True
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "sct_engine.batch",
        "batch",
        *batch_args(inputs, out, numba_cache, workers, quiet),
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def wait_for_done_runs(
    out: Path, process: subprocess.Popen, count: int, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while len(done_records(out)) < count:
        if process.poll() is not None:
            pytest.fail(
                f"batch ended before {count} runs were done: {process.stderr.read().decode()}"
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"fewer than {count} runs done after {timeout} s")
        time.sleep(0.01)


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_a_stopped_batch_resumes_without_losing_or_repeating_runs(
    two_workers, inputs, numba_cache, tmp_path
):
    out = tmp_path / "stopped"
    # 1. SIGTERM the driver: it stops cleanly, listing what it did not run.
    process = start_batch(inputs, out, numba_cache, quiet=False)
    wait_for_done_runs(out, process, count=2)
    process.send_signal(signal.SIGTERM)
    printed, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors.decode()
    manifest = read_manifest(out)
    assert "pending" in set(manifest["status"])
    terminated = done_records(out)
    # The manifest is written last, from the run folders: every finished run is in it.
    assert set(manifest.loc[manifest["status"] == DONE, "run_id"]) == set(terminated)
    assert manifest["run_id"].is_unique
    # The message names only what exists: no results were built by an interrupted batch.
    last = printed.decode().strip().splitlines()[-1]
    assert str(out / MANIFEST_CSV) in last and "results" not in last, last

    # 2. Run it again and SIGKILL the driver and its workers at once, part-way.
    process = start_batch(inputs, out, numba_cache)
    wait_for_done_runs(out, process, count=len(terminated) + 2)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    killed = done_records(out)
    assert len(killed) < PLAIN + 4, (
        "the batch must be killed part-way for this test to mean anything"
    )

    # 3. Run it again to the end.
    assert sct_batch("batch", *batch_args(inputs, out, numba_cache)) == 2
    finished = done_records(out)
    assert set(finished) == expected_run_ids() - {"broken", "invalid"}
    for earlier in (terminated, killed):
        for run_id, text in earlier.items():
            assert finished[run_id] == text, f"{run_id} was already done and must not run again"
    manifest = read_manifest(out)
    assert manifest["run_id"].is_unique and len(manifest) == len(expected_run_ids())
    _, uninterrupted = two_workers
    assert_same_results(out, uninterrupted)


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_killing_a_worker_loses_nothing(two_workers, inputs, numba_cache, tmp_path):
    out = tmp_path / "worker_killed"
    process = start_batch(inputs, out, numba_cache)
    wait_for_done_runs(out, process, count=2)
    workers = [
        child
        for child in psutil.Process(process.pid).children(recursive=True)
        if "spawn_main" in " ".join(child.cmdline())
    ]
    assert workers, "expected worker processes under the batch"
    workers[0].send_signal(signal.SIGKILL)
    assert process.wait(timeout=120) == 2, process.stderr.read().decode()
    _, uninterrupted = two_workers
    assert_same_results(out, uninterrupted)


# --- batches sharing one folder -----------------------------------------------------------


def published_by(printed: bytes) -> int:
    """Runs a batch wrote itself, from its summary: done and failed, less those it reused."""
    match = SUMMARY.search(printed.decode())
    assert match, printed.decode()
    _, done, reused, failed = map(int, match.groups())
    return done + failed - reused


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_two_batches_at_once_split_the_runs(two_workers, inputs, numba_cache, tmp_path):
    out = tmp_path / "shared"
    first = start_batch(inputs, out, numba_cache, workers=1, quiet=False)
    wait_for_done_runs(out, first, count=1)
    # Freeze the first batch mid-way (most likely in the middle of a run), start a second
    # one on the same folder and let it make progress, then let both finish together.
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        second = start_batch(inputs, out, numba_cache, workers=1, quiet=False)
        wait_for_done_runs(out, second, count=len(done_records(out)) + 1)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    printed = {}
    for name, process in (("first", first), ("second", second)):
        printed[name], errors = process.communicate(timeout=300)
        assert process.returncode == 2, errors.decode()  # broken.yaml and invalid.yaml
        assert b"Traceback" not in errors, errors.decode()
    # Every run was written exactly once, by one batch or the other, and both took part.
    written = {name: published_by(text) for name, text in printed.items()}
    assert sum(written.values()) == len(expected_run_ids()), written
    assert min(written.values()) >= 1, written
    manifest = read_manifest(out)
    assert manifest["batch_id"].nunique() == 2
    assert set(manifest.loc[manifest["status"] == FAILED, "run_id"]) == {"broken", "invalid"}
    assert not any(p.name.startswith(".") for p in (out / RUNS_DIR).iterdir())
    _, uninterrupted = two_workers
    assert_same_results(out, uninterrupted)


def write_scenarios(folder: Path, scenarios: dict[str, dict]) -> Path:
    folder.mkdir()
    for name, scenario in scenarios.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    return folder


def test_batches_one_after_another_are_all_in_the_manifest_and_results(numba_cache, tmp_path):
    first = write_scenarios(
        tmp_path / "first", {"a_0": small_scenario(0), "a_1": small_scenario(1)}
    )
    second = write_scenarios(tmp_path / "second", {"b_0": small_scenario(2)})
    out = tmp_path / "out"
    (out / RUNS_DIR / "notes").mkdir(parents=True)  # a folder that is not a run
    (out / RUNS_DIR / "junk").mkdir()
    (out / RUNS_DIR / "junk" / "status.json").write_text("[1, 2]")  # not a run record
    (out / "manifest.parquet").write_text("not parquet")  # a damaged manifest is rebuilt
    assert sct_batch("batch", *batch_args(first, out, numba_cache, workers=1)) == 0
    assert sct_batch("batch", *batch_args(second, out, numba_cache, workers=1)) == 0
    manifest = read_manifest(out)
    assert sorted(manifest["run_id"]) == ["a_0", "a_1", "b_0"]
    assert (manifest["status"] == DONE).all()
    batches = manifest.set_index("run_id")["batch_id"]
    assert batches["a_0"] == batches["a_1"] != batches["b_0"]
    for table in RESULT_TABLES:
        combined = read_results(out, table)
        assert set(combined["run_id"]) == {"a_0", "a_1", "b_0"}
        assert dict(zip(combined["run_id"], combined["batch_id"], strict=True)) == dict(batches)
    assert sct_batch("batch-summary", str(out)) == 0


def test_draws_flag_runs_every_scenario_with_that_many_and_never_stands_for_a_full_run(
    numba_cache, tmp_path
):
    """`--draws N` (a quick pass) overrides each file's draws; runs are redone when N changes."""
    inputs = write_scenarios(tmp_path / "in", {"a": small_scenario(5)})
    out = tmp_path / "out"
    args = batch_args(inputs, out, numba_cache, workers=1)
    assert sct_batch("batch", *args, "--draws", "3000") == 0
    quick = read_manifest(out).set_index("run_id")
    assert quick.loc["a", "draws"] == 3000 and quick.loc["a", "status"] == DONE
    expected = simulate(load_scenario(inputs / "a.yaml"), draws=3000).tables()["national"]
    stored = read_results(out, "national")[list(expected.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected, check_exact=True, check_dtype=False)
    assert sct_batch("batch", *args) == 0  # the file's own draws: the quick run is not reused
    full = read_manifest(out).set_index("run_id")
    assert (
        full.loc["a", "draws"] == DRAWS and full.loc["a", "batch_id"] != quick.loc["a", "batch_id"]
    )
    assert sct_batch("batch", *args) == 0  # same draws again: reused
    assert read_manifest(out).loc[0, "batch_id"] == full.loc["a", "batch_id"]


def test_seeds_beyond_64_bits_are_kept_exactly(numba_cache, tmp_path):
    top = 2**64 - 1
    swept = {**small_scenario(3), "sweep": {"simulation.seed": [2**63, top]}}
    big = small_scenario(4)
    big["simulation"]["seed"] = top
    inputs = write_scenarios(tmp_path / "seeds", {"big": big, "swept": swept})
    out = tmp_path / "out"
    assert sct_batch("batch", *batch_args(inputs, out, numba_cache, workers=1)) == 0
    manifest = read_manifest(out).set_index("run_id")
    point = f"swept__simulation.seed={top}"
    assert manifest.loc["big", "seed"] == str(top)
    assert manifest.loc[point, "seed"] == str(top)
    assert manifest.loc[f"swept__simulation.seed={2**63}", "sweep.simulation.seed"] == str(2**63)
    assert (manifest["status"] == DONE).all() and len(manifest) == 3
    assert pd.read_csv(out / MANIFEST_CSV, dtype={"seed": str})["seed"].tolist() == [
        str(top)
    ] * 2 + [str(2**63)]
    national = read_results(out, "national")
    assert set(national["run_id"]) == set(manifest.index)
    expected = simulate(load_scenario(inputs / "big.yaml")).tables()["national"]
    stored = national[national["run_id"] == "big"][list(expected.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected, check_exact=True, check_dtype=False)


# --- the command line without a cluster -------------------------------------------------------


def test_a_glob_matching_nothing_is_an_error(tmp_path, capsys):
    assert sct_batch("batch", str(tmp_path / "nothing*.yaml"), "--out", str(tmp_path / "out")) == 2
    assert "no scenario files match" in capsys.readouterr().err


def only_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_an_out_that_is_a_file_gets_one_line_naming_it(tmp_path, capsys):
    scenario = write_scenarios(tmp_path / "in", {"a": small_scenario(0)}) / "a.yaml"
    out = tmp_path / "taken.txt"
    out.write_text("someone's notes")
    assert sct_batch("batch", str(scenario), "--out", str(out)) == 2
    line = only_line(capsys.readouterr().err)
    assert str(out) in line and "is a file" in line and "Fix:" in line
    assert out.read_text() == "someone's notes"


def test_a_garbage_manifest_gets_one_line_naming_it(tmp_path, capsys):
    out = tmp_path / "batch"
    out.mkdir()
    (out / "manifest.parquet").write_bytes(b"PAR1 this is not parquet")
    assert sct_batch("batch-summary", str(out)) == 2
    line = only_line(capsys.readouterr().err)
    assert str(out / "manifest.parquet") in line and "Fix:" in line
    assert "--out" in line


def test_importing_the_batch_module_does_not_load_dask():
    code = (
        "import sys, sct_engine.batch; "
        "print(sorted(m for m in ('distributed', 'dask') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
