"""sct_engine: how much sustainability funding (PSF/CSF) each NHS organisation and
integrated care system is likely to lose under the 2018/19 system control total
risk-sharing options.

>>> from sct_engine import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/example_ics.yaml"), draws=20_000)  # doctest: +SKIP
>>> result.systems  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sct_engine")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# The public API. Imported eagerly: `simulate` is also the name of the module that
# defines it, and only an explicit import makes the package attribute the function.
from sct_engine.results import Result
from sct_engine.scenario import Scenario, load_scenario
from sct_engine.simulate import simulate

__all__ = ["Result", "Scenario", "__version__", "load_scenario", "simulate"]
