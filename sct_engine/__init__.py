"""sct_engine: how much sustainability funding (PSF/CSF) each NHS organisation and
integrated care system is likely to lose under the 2018/19 system control total
risk-sharing options.

>>> from sct_engine import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/example_ics.yaml"), draws=20_000)  # doctest: +SKIP
>>> result.systems  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("sct_engine")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# The public API, imported on first use so that `import sct_engine.schemes` (in
# worker processes, or the kernel) does not pay for pandas and pydantic.
_API = {
    "Result": "sct_engine.results",
    "Scenario": "sct_engine.scenario",
    "load_scenario": "sct_engine.scenario",
    "simulate": "sct_engine.simulate",
}

__all__ = ["Result", "Scenario", "__version__", "load_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'sct_engine' has no attribute {name!r}")
