"""Throughput of `sct batch`: scenarios per minute with 1 and 2 workers, and its overhead.

    python benchmarks/bench_batch.py [--scenarios 200] [--draws 20000]

Writes that many small scenario files (two systems of three organisations),
then measures on this machine, with compiled kernels already in a shared cache:

- serial: the same scenarios loaded, simulated and saved one after another in
  this process (numba on one thread, as a worker with one thread has);
- batch with 1 and 2 worker processes: total wall time (cluster start, kernel
  load, runs, manifest, combined results, shutdown), scenarios per minute, the
  fixed cost (a batch of one scenario) and the marginal rate once running;
- the per-scenario overhead of a batch over the serial loop, in total and in
  steady state (a run's wall time minus its simulation, from the manifest).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Before anything imports numba: one kernel thread per process, one shared cache.
os.environ["NUMBA_NUM_THREADS"] = "1"
_CACHE = Path(tempfile.gettempdir()) / "sct_bench_batch_numba"
os.environ.setdefault("NUMBA_CACHE_DIR", str(_CACHE))

import yaml  # noqa: E402

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repository root, for tests.factories

from sct_engine.batch import read_manifest, run_batch  # noqa: E402
from tests.factories import small_scenario  # noqa: E402


def write_scenarios(folder: Path, count: int, draws: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = folder / f"bench_{k:04d}.yaml"
        path.write_text(
            yaml.safe_dump(small_scenario(k, draws, seed=k, name=f"bench {k}"), sort_keys=False)
        )
        paths.append(path)
    return paths


def timed_batch(inputs: list[Path], out: Path, workers: int) -> float:
    started = time.perf_counter()
    summary = run_batch(inputs, out, workers=workers, numba_cache=_CACHE, progress=False)
    seconds = time.perf_counter() - started
    if summary.failed or summary.done != len(inputs):
        sys.exit(f"benchmark batch failed:\n{summary.text()}")
    return seconds


def timed_serial(inputs: list[Path], out: Path) -> float:
    """Load, simulate and save each scenario in this process, one after another."""
    from sct_engine.engine.simulate import simulate
    from sct_engine.scenario import load_scenario

    simulate(load_scenario(inputs[0]), draws=1)  # load the kernel outside the timing
    started = time.perf_counter()
    for path in inputs:
        simulate(load_scenario(path)).save(out / path.stem)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--draws", type=int, default=20_000)
    args = parser.parse_args(argv)
    n = args.scenarios

    with tempfile.TemporaryDirectory(prefix="sct_bench_batch_") as tmp:
        root = Path(tmp)
        inputs = write_scenarios(root / "scenarios", n, args.draws)
        timed_batch(inputs[:1], root / "warm", workers=1)  # compile or load the kernel once

        serial = timed_serial(inputs, root / "serial")
        rows = []
        for workers in (1, 2):
            fixed = timed_batch(inputs[:1], root / f"fixed_{workers}", workers)
            total = timed_batch(inputs, root / f"batch_{workers}", workers)
            manifest = read_manifest(root / f"batch_{workers}")
            steady = (manifest["wall_time_s"] - manifest["simulate_time_s"]).mean()
            marginal = (n - 1) / max(total - fixed, 1e-9) * 60
            rows.append((workers, total, n / total * 60, fixed, marginal, steady))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n} scenarios x {args.draws:,} draws (6 organisations, 6 schemes); "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the end")  # fmt: skip
    print(f"serial, one process:  {serial:7.2f} s  {n / serial * 60:8.0f} scenarios/min  "
          f"({serial / n * 1000:.1f} ms each: load + simulate + save)")  # fmt: skip
    print("workers  total s  scenarios/min  fixed cost s  marginal scenarios/min  "
          "run overhead ms  overhead vs serial ms/scenario")  # fmt: skip
    for workers, total, rate, fixed, marginal, steady in rows:
        overhead = (total * workers - serial) / n * 1000
        print(f"{workers:7d}  {total:7.2f}  {rate:13.0f}  {fixed:12.2f}  {marginal:22.0f}  "
              f"{steady * 1000:15.1f}  {overhead:29.1f}")  # fmt: skip
    print("fixed cost: a batch of one scenario (cluster start, kernel load, results, shutdown); "
          "run overhead: a run task's wall time minus its simulation (reading and validating YAML, writing 8 files); "
          "overhead vs serial: (total x workers - serial) / scenarios, i.e. worker-seconds lost.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
