"""What a batch did, in words: the summary a batch returns, and the summary of a batch folder.

Kept apart from the driver so that ``sct batch-summary`` can report on a folder
without Dask.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sct_engine.batch.layout import DONE, FAILED, MANIFEST_CSV, PENDING, RESULTS_DIR, RUNS_DIR
from sct_engine.batch.store import BatchOutputError, read_manifest, read_results

#: Failures listed in full by ``BatchSummary.text``; the manifest has them all.
FAILURES_SHOWN = 20


@dataclass
class BatchSummary:
    """What a batch did: counts of runs, the failures, where the outputs are."""

    out: Path
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    wall_time_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Rows of the manifest written: this batch's runs and every other run folder under ``out``.
    listed: int = 0
    #: Done runs left out of the combined results because their tables could not be read.
    unreadable: list[str] = field(default_factory=list)
    #: Holders of runs this batch found claimed: other batches writing into ``out`` meanwhile.
    shared_with: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    @property
    def exit_status(self) -> int:
        """130 when interrupted, else the number of failed runs (at most 125)."""
        return 130 if self.interrupted else min(self.failed, 125)

    def text(self) -> str:
        """What the batch did, the failures, and where its outputs are (only those that exist)."""
        lines = [
            f"{self.total} runs: {self.done} done ({self.skipped} already done before or by "
            f"another batch), {self.failed} failed, {self.pending} not run; "
            f"{self.wall_time_s:.1f} s",
        ]
        lines += [f"FAILED {run_id}: {error}" for run_id, error in self.failures[:FAILURES_SHOWN]]
        if len(self.failures) > FAILURES_SHOWN:
            lines.append(f"... and {len(self.failures) - FAILURES_SHOWN} more failures")
        if self.unreadable:
            lines.append(
                f"warning: {len(self.unreadable)} done runs are not in the combined results, "
                f"their tables cannot be read: {', '.join(self.unreadable[:5])}"
                + (" ..." if len(self.unreadable) > 5 else "")
                + f". Fix: delete those folders under {self.out / RUNS_DIR} and run again"
            )
        if self.shared_with:
            lines.append(
                "Runs were shared with "
                + "; ".join(self.shared_with[:3])
                + (f" and {len(self.shared_with) - 3} more" if len(self.shared_with) > 3 else "")
            )
        if self.interrupted:
            lines.append("Interrupted: run the same command again to finish the remaining runs.")
        lines.append(self._where())
        return "\n".join(lines)

    def _where(self) -> str:
        manifest, results = self.out / MANIFEST_CSV, self.out / RESULTS_DIR
        others = self.listed - self.total
        parts = []
        if manifest.is_file():
            listing = f" (also {others} runs of other batches)" if others > 0 else ""
            parts.append(f"Manifest: {manifest}{listing}")
        if results.is_dir():
            stale = " (not updated by this batch)" if self.interrupted else ""
            parts.append(f"results: {results}/{stale}")
        return "; ".join(parts) if parts else f"Nothing written yet in {self.out}"


def batch_summary_text(out: str | os.PathLike[str], max_rows: int = 20) -> str:
    """Counts by status, the failures, and national expected funding lost per run and scheme."""
    import pandas as pd

    out = Path(out)
    manifest = read_manifest(out)
    counts = manifest["status"].value_counts()
    lines = [
        f"{out}: {len(manifest)} runs, "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in (DONE, FAILED, PENDING)),
    ]
    failed = manifest[manifest["status"] == FAILED]
    for row in failed.head(max_rows).itertuples():
        lines.append(f"  FAILED {row.run_id}: {(str(row.error).splitlines() or [''])[0]}")
    if (out / RESULTS_DIR / "national").is_dir():
        national = read_results(out, "national")
        if not {"run_id", "scheme", "expected_funding_lost"} <= set(national.columns):
            raise BatchOutputError(
                f"{out / RESULTS_DIR / 'national'}: is not a batch's combined national table. "
                f"Fix: run the batch command again with --out {out}: it rebuilds it"
            )
        table = national.pivot(index="run_id", columns="scheme", values="expected_funding_lost")
        table = table[list(pd.unique(national["scheme"]))]
        lines += [
            "",
            "National expected funding lost (£m) by run and scheme",
            table.head(max_rows).to_string(float_format=lambda v: f"{v:,.3f}"),
        ]
        if len(table) > max_rows:
            lines.append(f"... {len(table) - max_rows} more runs: see {out / RESULTS_DIR}/national")
    return "\n".join(lines)
