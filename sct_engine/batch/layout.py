"""The layout of a batch folder and the run statuses every part of a batch shares.

Names of the folders and files under ``--out``, and :class:`TaskContext`, the
paths each worker task is given, so that the driver and the workers agree on
where a batch lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RUNS_DIR = "runs"
RESULTS_DIR = "results"
MANIFEST_PARQUET = "manifest.parquet"
MANIFEST_CSV = "manifest.csv"
STATUS_FILE = "status.json"
#: The tables of a run (``results.TABLES``, named here to keep this module's import light).
RESULT_TABLES = ("organisations", "systems", "national")

DONE, FAILED, PENDING = "done", "failed", "pending"


@dataclass(frozen=True)
class TaskContext:
    """What every worker task needs besides its own input: where the batch lives, and which.

    ``out_dir`` must be the same path on every worker (a shared filesystem on a
    multi-machine cluster), and so must ``numba_cache`` unless it is ``""`` (each
    worker's own per-user kernel cache, the one ``sct run`` uses).
    """

    out_dir: str
    numba_cache: str
    force: bool = False
    #: This invocation's id, recorded with every run it writes (``batch_id`` column).
    batch_id: str = ""
    #: When this invocation started (UTC, ISO 8601): a run another batch finished
    #: after it is taken as it is, never redone (see :mod:`.claims`).
    started_utc: str = ""
    #: Draws for every run instead of each scenario's own (``sct batch --draws``); None: its own.
    draws: int | None = None

    @property
    def runs(self) -> Path:
        return Path(self.out_dir) / RUNS_DIR
