"""Progress of long runs: a bar with draws done and time left on a terminal, silence otherwise."""

from __future__ import annotations

import sys
from types import TracebackType

from tqdm import tqdm


class ProgressBar:
    """Context manager whose ``update(n)`` reports ``n`` more draws finished.

    Shown only when stderr is a terminal, so logs, pipes and CI stay clean.
    """

    def __init__(self, total: int, label: str = "", enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = (
            tqdm(
                total=total,
                desc=label,
                unit=" draws",
                unit_scale=True,
                leave=False,
                file=sys.stderr,
            )
            if self.enabled
            else None
        )

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
