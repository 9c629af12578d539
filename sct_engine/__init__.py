"""sct_engine: how much sustainability funding (PSF/CSF) each NHS organisation and
integrated care system is likely to lose under the 2018/19 system control total
risk-sharing options.

>>> from sct_engine import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/example_ics.yaml"), draws=20_000)  # doctest: +SKIP
>>> result.systems  # doctest: +SKIP

The sub-packages, in the order data flows (each imports only those before it):
:mod:`~sct_engine.rules` (the 2018/19 rules), :mod:`~sct_engine.scenario`
(scenario files), :mod:`~sct_engine.engine` (the simulation),
:mod:`~sct_engine.analysis` (which option to sign) and
:mod:`~sct_engine.report` (the board report); beside them
:mod:`~sct_engine.calibration` (fitting the uncertainty to history) and
:mod:`~sct_engine.batch` (many scenarios on Dask). See docs/architecture.md.
"""

from sct_engine.analysis import analyse, compare
from sct_engine.engine import Result, simulate
from sct_engine.scenario import Scenario, load_scenario
from sct_engine.version import __version__

__all__ = [
    "Result",
    "Scenario",
    "__version__",
    "analyse",
    "compare",
    "load_scenario",
    "simulate",
]
