"""The ``sct batch`` and ``sct batch-summary`` commands, registered into ``sct`` by its CLI.

Dask is imported only when a batch runs, so registering them keeps ``sct`` fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from sct_engine.batch.driver import run_batch
from sct_engine.batch.plan import BatchInputError
from sct_engine.batch.store import BatchOutputError
from sct_engine.batch.summary import batch_summary_text


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` and ``batch-summary`` subcommands to the ``sct`` parser."""
    from sct_engine.cli import draws_arg, positive_int

    batch = subparsers.add_parser(
        "batch",
        help="run many scenarios (and sweeps) on Dask; resumable",
        description="Run every scenario file (and every point of its sweep) on Dask distributed. "
        "Running the same command again skips finished runs and completes the rest. "
        "The exit status is the number of failed runs (130 if interrupted).",
    )
    batch.add_argument(
        "inputs", nargs="+", metavar="PATH_OR_GLOB", help="scenario files, folders or globs"
    )
    batch.add_argument(
        "--out", required=True, metavar="DIR", help="batch folder (runs, manifest, results)"
    )
    batch.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local worker processes (default: one per core)",
    )
    batch.add_argument(
        "--threads-per-worker",
        type=positive_int,
        default=1,
        metavar="T",
        help="threads per local worker, for the simulation kernel (default 1)",
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use an existing Dask cluster: scheduler address (tcp://host:8786) or scheduler file",
    )
    batch.add_argument(
        "--numba-cache",
        metavar="DIR",
        help="folder for compiled kernels (default: $NUMBA_CACHE_DIR, else your per-user cache, "
        "as sct run uses)",
    )
    batch.add_argument(
        "--draws",
        type=draws_arg,
        help="draws for every run instead of each scenario's own (e.g. a quick first pass); "
        "a run done earlier with other draws is run again",
    )
    batch.add_argument("--force", action="store_true", help="rerun runs that are already done")
    batch.add_argument("--quiet", action="store_true", help="print nothing but errors")
    batch.set_defaults(func=_cmd_batch)

    summary = subparsers.add_parser("batch-summary", help="summarise a batch folder")
    summary.add_argument("out", metavar="DIR", help="the --out folder of a batch")
    summary.add_argument(
        "--rows", type=positive_int, default=20, metavar="N", help="most runs to list (default 20)"
    )
    summary.set_defaults(func=_cmd_batch_summary)


def _cmd_batch(args: argparse.Namespace) -> int:
    if args.scheduler and args.workers:
        print(
            "note: --workers is ignored with --scheduler (the cluster has its own)", file=sys.stderr
        )
    previous = _raise_on_sigterm()
    try:
        summary = run_batch(
            args.inputs,
            args.out,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            scheduler=args.scheduler,
            force=args.force,
            numba_cache=args.numba_cache,
            progress=None if not args.quiet else False,
            draws=args.draws,
        )
    except (BatchInputError, BatchOutputError) as err:
        print(f"sct batch: {err}", file=sys.stderr)
        return 2
    finally:
        _restore_sigterm(previous)
    if not args.quiet or summary.failed or summary.interrupted:
        print(summary.text(), file=sys.stdout if not args.quiet else sys.stderr)
    return summary.exit_status


def _cmd_batch_summary(args: argparse.Namespace) -> int:
    try:
        text = batch_summary_text(args.out, max_rows=args.rows)
    except BatchOutputError as err:
        print(f"sct batch-summary: {err}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _raise_on_sigterm() -> Any:
    """Treat SIGTERM like Ctrl-C, so a terminated batch writes its manifest before leaving."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sct_engine.batch batch ...``: the batch commands without the rest of ``sct``."""
    parser = argparse.ArgumentParser(
        prog="sct", description="Batch runs of many scenarios on Dask."
    )
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
