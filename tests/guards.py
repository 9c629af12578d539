"""Clock-free proofs for tests: which paths a call opens, and a liveness guard.

Performance is never a timed assertion in tests/ (it lives in benchmarks/). What a
protection promises is shown without the clock: a file refused by its type is never
opened (:func:`opened_paths`); where only a hang could show that a protection is
missing, :func:`finishes` runs the call under a generous limit and fails saying it hung.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Seconds a call may take before the liveness guard calls it hung (not a speed bound).
HANG_S = 120.0


@contextmanager
def opened_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Record, in the list yielded, every path ``os.open`` is called on inside the block."""
    real_open = os.open
    seen: list[Path] = []

    def recording(path: Any, *args: Any, **kwargs: Any) -> int:
        seen.append(Path(os.path.abspath(path)))
        return real_open(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", recording)
        yield seen


def finishes(call: Callable[[], Any], what: str, seconds: float = HANG_S) -> Any:
    """``call()``'s result (or its exception), failing if it has not returned within
    ``seconds``: a guard against hangs, far above any normal time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"{what} hung: no answer after {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
