"""Calibration: fit the spread of outturn and the large-adverse-event tail to history.

A history is one row per organisation and year with its plan, outturn and
turnover (£m). The deviation from plan as a percentage of turnover,

    r = 100 * (outturn - plan) / turnover,

is modelled as ``r = sd_pct_k * eps - J * L`` with, independently,
``eps ~ N(0, 1)``, ``J ~ Bernoulli(tail.probability)`` and
``L ~ LogNormal(log(tail.median_pct), tail.sigma)``: a normal spread whose
``sd_pct_k`` depends on the organisation's ``kind``, plus now and then a large
adverse event of size ``L`` % of turnover (the tail parameters are shared by all
kinds unless ``tail_by_kind``). This is the tail model of the simulator's
``uncertainty.tail`` block, so a fit can be pasted straight into a scenario.

The density of ``r`` is the mixture

    (1 - p) N(r; 0, sd) + p * integral N(r + l; 0, sd) LogNormal(l) dl.

The integral is a convolution of a normal and a lognormal, evaluated by the
trapezoid rule on nodes that resolve both factors at once: evenly spaced in
``log l`` where ``l`` is small (so the lognormal is resolved), and evenly spaced
in ``l``, at most half an ``sd`` apart, where ``l`` is large (so the normal
kernel of a large event is resolved), blended smoothly by a softplus map (see
:func:`_tail_nodes`). The nodes move smoothly with the parameters, so the
likelihood and its analytic gradient are smooth, which the optimiser and the
finite-difference Hessian rely on; the log density agrees with adaptive
quadrature to 1e-8 (tests/unit/test_calibration.py). A per-kind tail separates
the likelihood by kind, so each kind is then fitted on its own.

Estimates are maximum likelihood (L-BFGS-B with an analytic gradient on
``log sd``, ``logit p``, ``log median``, ``log sigma``), from a few starting
points. Standard errors come from the inverse of a finite-difference Hessian on
that scale, mapped back by the delta method; 95% intervals are Wald intervals on
that scale mapped back, so they stay inside each parameter's range. The normal
fit (no tail) has closed form, and the tail is kept only when a likelihood-ratio
test against it rejects "no tail".

Limits, stated plainly in the output where they bite: organisation-years are
treated as independent (a common national or system shock in a year makes the
standard errors too small), and the likelihood-ratio test of ``p = 0`` lies on
the edge of the parameter space with the tail's size undefined under "no tail",
so its chi-squared p-value is approximate.
"""

from __future__ import annotations

import argparse
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from sct_engine.errors import Problem, ScenarioError

#: Fewer organisation-years than this cannot be calibrated at all.
MIN_ROWS = 10
#: Fewer rows of one kind than this give no usable sd_pct for it.
MIN_ROWS_PER_KIND = 3
#: Fewer organisation-years than this are too few to fit a tail (its size rests on a handful of events).
MIN_ROWS_FOR_TAIL = 50
#: A tail resting on fewer expected events than this is flagged as fragile.
MIN_TAIL_EVENTS = 5.0
#: Significance level of the likelihood-ratio test of tail vs no tail.
TAIL_TEST_LEVEL = 0.05

REQUIRED_COLUMNS = ("organisation", "kind", "year", "plan", "outturn", "turnover")
OPTIONAL_COLUMNS = ("control_total",)
_COLUMN_HELP = {
    "organisation": "organisation id or name",
    "kind": "kind of organisation, e.g. acute, mental_health, ccg",
    "year": "financial year, e.g. 2018 or 2018/19",
    "plan": "planned surplus(+)/deficit(-) before sustainability funding, £m",
    "outturn": "year-end surplus(+)/deficit(-) before sustainability funding, £m",
    "turnover": "annual turnover, £m",
    "control_total": "control total, £m (optional)",
}
_MONEY_COLUMNS = ("plan", "outturn", "turnover", "control_total")

TailMode = Literal["shared", "by_kind", "none"]

# Quadrature of the tail integral (see _tail_nodes): step in the blended variable v;
# past l_c = _LINEAR_FROM * sd / sigma the nodes are evenly spaced in l,
# _LINEAR_FROM * _V_STEP * sd apart; the lognormal is integrated within _LOG_SPAN
# sigma of its median, the normal kernel to _KERNEL_SPAN sd from its centre.
_V_STEP = 0.1
_LINEAR_FROM = 5.0
_LOG_SPAN = 8.0
_KERNEL_SPAN = 10.0
# Expectations over a standard normal: weights on an even grid, normalised to sum to 1.
_NORMAL_NODES = np.arange(-8.0, 8.05, 0.1)
_NORMAL_LOG_WEIGHTS = -0.5 * _NORMAL_NODES**2 - special.logsumexp(-0.5 * _NORMAL_NODES**2)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Search box on the fitting scale; an estimate on its edge is reported as such.
_BOUNDS_LOG_SD = (math.log(1e-3), math.log(1e3))
_BOUNDS_LOGIT_P = (special.logit(1e-4), special.logit(0.5))
_BOUNDS_LOG_MEDIAN = (math.log(1e-2), math.log(1e3))
_BOUNDS_LOG_SIGMA = (math.log(0.02), math.log(3.0))
_HESSIAN_STEP = 1e-4
_Z95 = float(stats.norm.ppf(0.975))

TAIL_PARAMETERS = ("probability", "median_pct", "sigma")


# --- history -----------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """Organisation-years of plan and outturn, one array entry per row."""

    source: str
    organisation: np.ndarray
    kind: np.ndarray
    year: np.ndarray
    plan: np.ndarray
    outturn: np.ndarray
    turnover: np.ndarray
    control_total: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.plan.size)

    @property
    def deviation_pct(self) -> np.ndarray:
        """Outturn minus plan as % of turnover (negative = worse than plan)."""
        return 100.0 * (self.outturn - self.plan) / self.turnover

    @property
    def kinds(self) -> list[str]:
        return sorted(set(self.kind.tolist()))

    @property
    def years(self) -> str:
        """``2014-2018``, or one year."""
        first, last = int(self.year.min()), int(self.year.max())
        return f"{first}-{last}" if first != last else str(first)

    def describe(self) -> str:
        """``1000 organisation-years, 200 organisations, 2014-2018``."""
        orgs = len(set(self.organisation.tolist()))
        return f"{self.n} organisation-years, {orgs} organisations, {self.years}"


def load_history(path: str | Path) -> History:
    """Read and check a history CSV; every problem found is raised in one :class:`ScenarioError`."""
    file = str(path)
    try:
        raw = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(file, "", "file not found", _fix_file())]) from None
    except OSError as exc:
        raise ScenarioError(
            [Problem(file, "", f"cannot be read ({exc.strerror})", _fix_file())]
        ) from None
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [Problem(file, "", f"is not a readable CSV table ({exc})", _fix_file())]
        ) from None
    return history_from_frame(frame, source=file)


def history_from_frame(frame: pd.DataFrame, source: str = "<table>") -> History:
    """Check a table of text or numbers with the history columns and build a :class:`History`.

    ``source`` names the table in problems (a file name, normally).
    """
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ScenarioError(
            [
                Problem(
                    source,
                    column,
                    "required column is missing",
                    f"add a `{column}` column ({_COLUMN_HELP[column]}) to the header row",
                )
                for column in missing
            ]
        )
    columns = [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)]
    problems: list[Problem] = []
    if len(frame) < MIN_ROWS:
        raise ScenarioError(
            [
                Problem(
                    source,
                    "",
                    f"has {len(frame)} rows; calibration needs at least {MIN_ROWS} organisation-years",
                    "add more organisations or years (one row per organisation and year)",
                )
            ]
        )
    values: dict[str, list[object]] = {c: [] for c in columns}
    seen: dict[tuple[str, int], int] = {}
    for index, record in enumerate(frame[columns].to_dict("records")):
        number = index + 2  # the header is row 1, as a spreadsheet shows it
        org = str(record["organisation"]).strip()
        label = f"{source} row {number}" + (f" (organisation={org})" if org else "")
        row_problems = _row_problems(label, record)
        problems += row_problems
        for column in columns:
            values[column].append(_cell_value(column, record[column]))
        if not row_problems:
            key = (org, _year(str(record["year"]).strip()) or 0)
            if key in seen:
                problems.append(
                    Problem(
                        label,
                        "year",
                        f"repeats organisation {org} in year {key[1]} (first at row {seen[key]})",
                        "keep one row per organisation and year",
                    )
                )
            seen.setdefault(key, number)
    if problems:
        raise ScenarioError(problems)
    history = History(
        source=source,
        organisation=np.array(values["organisation"], dtype=object),
        kind=np.array(values["kind"], dtype=object),
        year=np.array(values["year"], dtype=np.int64),
        plan=np.array(values["plan"], dtype=float),
        outturn=np.array(values["outturn"], dtype=float),
        turnover=np.array(values["turnover"], dtype=float),
        control_total=(
            np.array(values["control_total"], dtype=float) if "control_total" in values else None
        ),
    )
    _check_kinds(history)
    return history


def _fix_file() -> str:
    return (
        "give a CSV file with a header row and the columns "
        + ", ".join(REQUIRED_COLUMNS)
        + " (optional: control_total)"
    )


def _row_problems(label: str, record: dict[str, object]) -> list[Problem]:
    problems = []
    for column in ("organisation", "kind"):
        if not str(record[column]).strip():
            problems.append(Problem(label, column, "is empty", f"write the {_COLUMN_HELP[column]}"))
    year = str(record["year"]).strip()
    if _year(year) is None:
        problems.append(
            Problem(
                label,
                "year",
                f"must be a year (got {year!r})",
                "write the financial year as 2018 or 2018/19",
            )
        )
    for column in _MONEY_COLUMNS:
        if column not in record:
            continue
        text = str(record[column]).strip()
        if not text:
            problems.append(Problem(label, column, "is empty", f"write the {_COLUMN_HELP[column]}"))
            continue
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            problems.append(
                Problem(
                    label,
                    column,
                    f"must be a number (got {text!r})",
                    "write a plain number in £m, e.g. -3.5, without units",
                )
            )
            continue
        if not math.isfinite(value):
            problems.append(
                Problem(
                    label,
                    column,
                    f"must be a finite number (got {text!r})",
                    "write a plain number in £m",
                )
            )
        elif column == "turnover" and value <= 0:
            problems.append(
                Problem(
                    label,
                    "turnover",
                    f"must be greater than 0 (got {text})",
                    "write the organisation's annual turnover in £m, e.g. 420",
                )
            )
    return problems


def _year(text: str) -> int | None:
    """``2018`` or ``2018/19`` (the financial year 2018/19) as 2018; None if neither."""
    match = re.fullmatch(r"(\d{4})(?:\.0*)?(?:\s*[/-]\s*(\d{2}|\d{4}))?", text)
    if match is None:
        return None
    first = int(match.group(1))
    second = match.group(2)
    if second is not None and int(second) % 100 != (first + 1) % 100:
        return None
    return first


def _cell_value(column: str, text: object) -> object:
    text = str(text).strip()
    if column == "organisation":
        return text
    if column == "kind":
        return text.lower()
    if column == "year":
        return _year(text) or 0
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return math.nan


def _check_kinds(history: History) -> None:
    problems = []
    r = history.deviation_pct
    for kind in history.kinds:
        rows = history.kind == kind
        if rows.sum() < MIN_ROWS_PER_KIND:
            problems.append(
                Problem(
                    history.source,
                    "kind",
                    f"kind '{kind}' has {int(rows.sum())} row(s); each kind needs at least "
                    f"{MIN_ROWS_PER_KIND} to estimate its sd_pct",
                    "merge it with a similar kind (e.g. write provider) or drop those rows",
                )
            )
        elif np.all(r[rows] == 0):
            problems.append(
                Problem(
                    history.source,
                    "outturn",
                    f"every row of kind '{kind}' has outturn equal to plan, so its spread is zero",
                    "check that outturn holds the year-end figure, not a copy of plan",
                )
            )
    if problems:
        raise ScenarioError(problems)


# --- the model -----------------------------------------------------------------------


def log_density(
    r: ArrayLike,
    sd_pct: ArrayLike,
    probability: ArrayLike = 0.0,
    median_pct: ArrayLike = 1.0,
    sigma: ArrayLike = 1.0,
) -> np.ndarray:
    """Log density of the deviation ``r`` (% of turnover) under the tail model; broadcasts."""
    r_, sd, p, median, sig = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (r, sd_pct, probability, median_pct, sigma))
    )
    shape = r_.shape
    r_, sd, p, median, sig = (a.ravel() for a in (r_, sd, p, median, sig))
    log_normal = -0.5 * (r_ / sd) ** 2 - np.log(sd) - _HALF_LOG_2PI
    out = log_normal.copy()
    rows = np.flatnonzero(p > 0)
    if rows.size:
        log_tail = np.empty(rows.size)
        combos, which = np.unique(
            np.stack([sd[rows], median[rows], sig[rows]], axis=1), axis=0, return_inverse=True
        )
        for c, (sd_c, median_c, sigma_c) in enumerate(combos):
            these = np.flatnonzero(which.ravel() == c)
            log_tail[these] = _tail_terms(
                r_[rows[these]], sd_c, math.log(median_c), sigma_c, gradient=False
            )[0]
        out[rows] = np.logaddexp(np.log1p(-p[rows]) + log_normal[rows], np.log(p[rows]) + log_tail)
    return out.reshape(shape)


def _tail_nodes(
    mu: float, sigma: float, sd: float, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes ``l_j`` and log weights of ``integral g(l) LogNormal(l; mu, sigma) dl``.

    The integration variable ``v`` maps to ``l = l_c * softplus(mu + sigma v - log l_c)``
    with ``l_c = _LINEAR_FROM * sd / sigma``. For ``l << l_c`` this is
    ``l = exp(mu + sigma v)`` (``v`` is the lognormal's standard score); for
    ``l >> l_c`` it is linear in ``v`` with ``dl/dv = _LINEAR_FROM * sd``. With
    ``v`` evenly spaced by ``_V_STEP``, a normal kernel of width ``sd`` and the
    lognormal are both sampled finely wherever they matter. Nodes sit on a fixed
    lattice in ``v`` from ``_LOG_SPAN`` sigma below the median to the smaller
    of ``_LOG_SPAN`` sigma above it and ``reach`` (beyond which the kernel
    vanishes for every row), so only negligible end nodes come and go as the
    parameters change.

    Returns ``l`` and ``log w`` (shape ``(J,)``) and their derivatives with
    respect to ``(log sd, mu, log sigma)`` (shape ``(J, 3)``).
    """
    log_lc = math.log(_LINEAR_FROM * sd / sigma)
    lc = math.exp(log_lc)

    def v_of(size: float) -> float:
        y = size / lc
        return (y + math.log(-math.expm1(-y)) + log_lc - mu) / sigma  # softplus inverse

    low = math.exp(mu - _LOG_SPAN * sigma)
    high = max(min(math.exp(mu + _LOG_SPAN * sigma), reach), low * math.exp(sigma))
    first, last = math.floor(v_of(low) / _V_STEP), math.ceil(v_of(high) / _V_STEP)
    v = np.arange(first, last + 1) * _V_STEP
    s = mu + sigma * v - log_lc
    log_sp = np.where(s < -30.0, s, np.log(np.logaddexp(0.0, np.maximum(s, -30.0))))
    log_sg = -np.logaddexp(0.0, -s)
    log_l = log_lc + log_sp
    size = np.exp(log_l)
    z = (log_l - mu) / sigma
    # w = dv * LogNormal(l) * dl/dv = dv * phi(z) * sigmoid(s) / softplus(s)
    log_w = math.log(_V_STEP) - _HALF_LOG_2PI - 0.5 * z * z + log_sg - log_sp
    sg = np.exp(log_sg)
    ratio = np.exp(log_sg - log_sp)  # d log softplus / ds
    ds = np.stack([np.full_like(v, -1.0), np.ones_like(v), sigma * v + 1.0], axis=1)
    d_log_l = np.array([1.0, 0.0, -1.0]) + ratio[:, None] * ds
    dz = d_log_l / sigma
    dz[:, 1] -= 1.0 / sigma
    dz[:, 2] -= z
    d_log_w = -z[:, None] * dz + ((1.0 - sg) - ratio)[:, None] * ds
    return size, log_w, size[:, None] * d_log_l, d_log_w


def _tail_terms(
    r: np.ndarray, sd: float, mu: float, sigma: float, gradient: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``log integral N(r + l; 0, sd) LogNormal(l; mu, sigma) dl`` for rows sharing parameters.

    Returns the log density per row and, when ``gradient``, its derivatives
    with respect to ``(log sd, mu, log sigma)`` (shape ``(n, 3)``; zeros otherwise).
    """
    reach = max(0.0, -float(r.min())) + _KERNEL_SPAN * sd
    size, log_w, d_size, d_log_w = _tail_nodes(mu, sigma, sd, reach)
    # In place where it helps: these (rows x nodes) arrays are the whole cost of a fit.
    x = size / sd + (r / sd)[:, None]
    a = np.square(x)
    a *= -0.5
    a += log_w
    m = a.max(axis=1)
    a -= m[:, None]
    q = np.exp(a, out=a)
    total = q.sum(axis=1)
    log_t = m + np.log(total) - math.log(sd) - _HALF_LOG_2PI
    derivatives = np.zeros((r.size, 3))
    if gradient:
        q /= total[:, None]
        qx = q * x
        derivatives = q @ d_log_w - (qx @ d_size) / sd
        derivatives[:, 0] += np.einsum("ij,ij->i", qx, x) - 1.0
    return log_t, derivatives


# --- fitting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter: estimate, standard error, 95% interval, and the rows it rests on."""

    value: float
    se: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class TailFit:
    """The large-adverse-event tail of one group of organisations."""

    probability: Estimate
    median_pct: Estimate
    sigma: Estimate
    #: False when the probability is at its lower limit: no tail, and its size is undefined.
    identified: bool = True

    def as_dict(self) -> dict[str, Estimate]:
        return {name: getattr(self, name) for name in TAIL_PARAMETERS}


@dataclass(frozen=True)
class Fit:
    """One fitted model: ``sd_pct`` per kind and a tail per group (none for the normal model)."""

    sd_pct: dict[str, Estimate]
    tail: dict[str, TailFit]
    log_likelihood: float
    n_parameters: int
    converged: bool = True
    notes: tuple[str, ...] = ()

    @property
    def has_tail(self) -> bool:
        return bool(self.tail)


@dataclass(frozen=True)
class LikelihoodRatio:
    """Likelihood-ratio test of a simpler model against a richer one."""

    name: str
    statistic: float
    df: int
    p_value: float
    caveat: str = ""

    def __str__(self) -> str:
        p = "p < 0.0001" if self.p_value < 1e-4 else f"p = {self.p_value:.3g}"
        return f"{self.name}: LR = {self.statistic:.1f} on {self.df} df, {p}"

    def explained(self) -> str:
        return f"{self} ({self.caveat})" if self.caveat else str(self)


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`fit_history`.

    ``normal`` is always fitted; ``shared`` (one tail for all kinds) unless the
    tail was switched off or there were too few rows; ``by_kind`` only when asked.
    ``tail_detected`` says whether the shared tail passed its likelihood-ratio
    test; :attr:`best` is the model to use.
    """

    history: History
    normal: Fit
    shared: Fit | None
    by_kind: Fit | None
    tests: tuple[LikelihoodRatio, ...]
    tail_detected: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def best(self) -> Fit:
        return self.shared if self.tail_detected and self.shared is not None else self.normal

    def table(self) -> str:
        """A readable report of every fit, its uncertainty and the tests."""
        return _table(self)

    def snippet(self) -> str:
        """YAML to paste into a scenario: ``uncertainty.tail`` and a commented sd_pct guide."""
        return _snippet(self)


def fit_history(
    history: History, tail: TailMode = "shared", alpha: float = TAIL_TEST_LEVEL
) -> Calibration:
    """Fit the normal model and, unless ``tail="none"``, the tail model by maximum likelihood.

    ``tail="by_kind"`` fits the shared tail and a tail per kind, and tests one
    against the other. The shared tail is kept when the likelihood-ratio test
    against the normal model has p-value below ``alpha`` and there are at least
    :data:`MIN_ROWS_FOR_TAIL` rows; otherwise the result says why and falls back
    to the normal fit.
    """
    r = history.deviation_pct
    kinds = history.kinds
    kind_index = np.searchsorted(kinds, history.kind.astype(str))
    normal = _fit_normal(r, kind_index, kinds)
    notes: list[str] = []
    tests: list[LikelihoodRatio] = []
    shared = by_kind = None
    detected = False
    if tail == "none":
        notes.append("tail not fitted (--no-tail): normal model only")
    elif history.n < MIN_ROWS_FOR_TAIL:
        notes.append(
            f"only {history.n} organisation-years: too few to fit a tail (need at least "
            f"{MIN_ROWS_FOR_TAIL}); fell back to the normal model"
        )
    else:
        shared = _fit_tail(r, kind_index, kinds)
        test = _lr_test(
            "tail vs no tail",
            normal,
            shared,
            "chi-squared reference approximate: 'no tail' lies on the edge of the parameter space",
        )
        tests.append(test)
        detected = test.p_value < alpha and shared.converged
        if detected:
            tail_fit = shared.tail["all"]
            events = tail_fit.probability.value * history.n
            if events < MIN_TAIL_EVENTS:
                notes.append(
                    f"the tail rests on about {events:.1f} events: its size (median_pct, sigma) "
                    "is poorly determined; treat it as a rough guide"
                )
            widest = max(est.value for est in shared.sd_pct.values())
            if tail_fit.median_pct.value < 2.0 * widest:
                notes.append(
                    f"the fitted 'large' events are small (median {tail_fit.median_pct.value:.2g}% "
                    f"of turnover, against sd_pct up to {widest:.2g}%): the history may rather be "
                    "biased (outturn below plan on average) or heavy-tailed on both sides; check "
                    "the mean deviation above before using this tail"
                )
        elif test.p_value >= alpha:
            unsure = "" if shared.converged else " (the tail fit did not fully converge)"
            notes.append(
                f"no evidence of a large-adverse-event tail ({test}; need p < {alpha:g}){unsure}; "
                "fell back to the normal model"
            )
        else:
            notes.append(
                f"the tail fit did not converge ({test}); fell back to the normal model: "
                "try --no-tail, or check the history for extreme rows"
            )
        if tail == "by_kind":
            by_kind = _fit_tail(r, kind_index, kinds, by_kind=True)
            tests.append(_lr_test("tail by kind vs shared tail", shared, by_kind))
    return Calibration(history, normal, shared, by_kind, tuple(tests), detected, tuple(notes))


def calibrate(
    path: str | Path, tail: TailMode = "shared", alpha: float = TAIL_TEST_LEVEL
) -> Calibration:
    """:func:`load_history` then :func:`fit_history`."""
    return fit_history(load_history(path), tail=tail, alpha=alpha)


def _lr_test(name: str, simple: Fit, rich: Fit, caveat: str = "") -> LikelihoodRatio:
    # The richer model nests the simpler one, so a negative statistic is only optimiser noise.
    statistic = max(0.0, 2.0 * (rich.log_likelihood - simple.log_likelihood))
    df = rich.n_parameters - simple.n_parameters
    return LikelihoodRatio(name, statistic, df, float(stats.chi2.sf(statistic, df)), caveat)


def _fit_normal(r: np.ndarray, kind_index: np.ndarray, kinds: Sequence[str]) -> Fit:
    """Closed form: ``sd_k^2 = mean(r^2)`` over kind k; SE of log sd is ``1 / sqrt(2 n_k)``."""
    counts = np.bincount(kind_index, minlength=len(kinds))
    sd = np.sqrt(np.bincount(kind_index, weights=r * r, minlength=len(kinds)) / counts)
    loglik = float(
        np.sum(-0.5 * (r / sd[kind_index]) ** 2 - np.log(sd[kind_index]) - _HALF_LOG_2PI)
    )
    estimates = {
        kind: _estimate(math.log(sd[k]), 1.0 / math.sqrt(2.0 * counts[k]), np.exp, int(counts[k]))
        for k, kind in enumerate(kinds)
    }
    return Fit(estimates, {}, loglik, len(kinds))


@dataclass
class _Design:
    """Which parameter each observation uses: ``sd`` by kind, tail by group."""

    r: np.ndarray
    sd_group: np.ndarray
    tail_group: np.ndarray
    n_sd: int
    n_tail: int
    #: (sd group, tail group, rows) for each pair that occurs: rows of a pair share the nodes.
    pairs: list[tuple[int, int, np.ndarray]] = field(init=False)

    def __post_init__(self) -> None:
        key = self.sd_group * self.n_tail + self.tail_group
        self.pairs = [
            (int(k) // self.n_tail, int(k) % self.n_tail, np.flatnonzero(key == k))
            for k in np.unique(key)
        ]

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        k, g = self.n_sd, self.n_tail
        return theta[:k], theta[k : k + g], theta[k + g : k + 2 * g], theta[k + 2 * g :]


def _negative_log_likelihood(theta: np.ndarray, design: _Design) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the tail model and its gradient in ``theta``."""
    log_sd, logit_p, mu, log_sigma = design.split(theta)
    r, sg, tg = design.r, design.sd_group, design.tail_group
    sd = np.exp(log_sd)[sg]
    p = special.expit(logit_p)[tg]
    x0 = r / sd
    log_normal = -0.5 * x0 * x0 - np.log(sd) - _HALF_LOG_2PI
    sigma = np.exp(log_sigma)
    log_t = np.empty_like(r)
    dt = np.empty((r.size, 3))
    for kind, group, rows in design.pairs:
        sd_k = float(np.exp(log_sd[kind]))
        log_t[rows], dt[rows] = _tail_terms(r[rows], sd_k, float(mu[group]), float(sigma[group]))
    dt_sd, dt_mu, dt_sig = dt.T
    a = np.log1p(-p) + log_normal
    b = np.log(p) + log_t
    log_f = np.logaddexp(a, b)
    share = np.exp(b - log_f)  # posterior probability that the row is a tail event
    grad_sd = (1.0 - share) * (x0 * x0 - 1.0) + share * dt_sd
    k, g = design.n_sd, design.n_tail
    gradient = np.concatenate(
        [
            np.bincount(sg, weights=grad_sd, minlength=k),
            np.bincount(tg, weights=share - p, minlength=g),
            np.bincount(tg, weights=share * dt_mu, minlength=g),
            np.bincount(tg, weights=share * dt_sig, minlength=g),
        ]
    )
    return -float(log_f.sum()), -gradient


def _starts(design: _Design) -> list[np.ndarray]:
    """A few starting points: robust sd per kind, tail sized from the rows far below plan."""
    r, sg, tg = design.r, design.sd_group, design.tail_group
    sd0 = np.array(
        [
            1.4826 * np.median(np.abs(r[sg == k])) or np.std(r[sg == k]) or 1.0
            for k in range(design.n_sd)
        ]
    )
    outlying = r / sd0[sg] < -3.0
    starts = []
    for p_scale, size_scale, sigma0 in ((1.0, 1.0, 0.5), (2.0, 0.5, 1.0), (0.5, 2.0, 0.3)):
        p0, median0 = [], []
        for group in range(design.n_tail):
            rows = tg == group
            far = outlying & rows
            p0.append(min(0.3, max(0.01, p_scale * far.mean() / max(rows.mean(), 1e-12))))
            size = np.median(-r[far]) if far.any() else 3.0 * np.median(sd0[sg[rows]])
            median0.append(size_scale * size)
        theta = np.concatenate(
            [
                np.log(sd0),
                special.logit(np.array(p0)),
                np.log(np.array(median0)),
                np.full(design.n_tail, math.log(sigma0)),
            ]
        )
        starts.append(np.clip(theta, *np.array(_bounds(design)).T))
    return starts


def _bounds(design: _Design) -> list[tuple[float, float]]:
    g = design.n_tail
    return (
        [_BOUNDS_LOG_SD] * design.n_sd
        + [_BOUNDS_LOGIT_P] * g
        + [_BOUNDS_LOG_MEDIAN] * g
        + [_BOUNDS_LOG_SIGMA] * g
    )


@dataclass(frozen=True)
class _Solution:
    """A maximised tail likelihood on the fitting scale."""

    theta: np.ndarray
    se: np.ndarray  # NaN where not available
    on_edge: np.ndarray  # bool: estimate on the edge of its search range
    flat: bool  # the curvature of the free parameters was not positive definite
    log_likelihood: float
    converged: bool


def _fit_tail(
    r: np.ndarray, kind_index: np.ndarray, kinds: Sequence[str], by_kind: bool = False
) -> Fit:
    """The tail model with one tail for all kinds, or one per kind.

    With a tail per kind every parameter belongs to one kind, so the likelihood
    separates and each kind is fitted on its own (much faster than one joint fit).
    """
    k = len(kinds)
    flat_where = ""
    if by_kind:
        parts = []
        for i in range(k):
            rows = r[kind_index == i]
            zeros = np.zeros(rows.size, dtype=np.int64)
            parts.append(_maximise(_Design(rows, zeros, zeros, 1, 1)))
        flat_where = " for " + ", ".join(
            kind for kind, p in zip(kinds, parts, strict=True) if p.flat
        )
        # Each part is [log sd, logit p, log median, log sigma]; lay them out as the joint fit does.
        theta, se, on_edge = (
            np.stack([getattr(p, a) for p in parts]).T.ravel() for a in ("theta", "se", "on_edge")
        )
        solution = _Solution(
            theta,
            se,
            on_edge,
            any(p.flat for p in parts),
            sum(p.log_likelihood for p in parts),
            all(p.converged for p in parts),
        )
        tail_names, tail_group = list(kinds), kind_index
    else:
        tail_names, tail_group = ["all"], np.zeros_like(kind_index)
        solution = _maximise(_Design(r, kind_index, tail_group, k, 1))
    theta, se = solution.theta, solution.se
    g = len(tail_names)
    counts_sd = np.bincount(kind_index, minlength=k)
    counts_tail = np.bincount(tail_group, minlength=g)
    sd_pct = {
        kind: _estimate(theta[i], se[i], np.exp, int(counts_sd[i])) for i, kind in enumerate(kinds)
    }
    tails = {}
    notes = []
    no_tail_groups = [j for j in range(g) if solution.on_edge[k + j] and theta[k + j] < 0]
    for j, name in enumerate(tail_names):
        n = int(counts_tail[j])
        tails[name] = TailFit(
            probability=_estimate(theta[k + j], se[k + j], special.expit, n),
            median_pct=_estimate(theta[k + g + j], se[k + g + j], np.exp, n),
            sigma=_estimate(theta[k + 2 * g + j], se[k + 2 * g + j], np.exp, n),
            identified=j not in no_tail_groups,
        )
        if j in no_tail_groups:
            where = "" if name == "all" else f" for {name}"
            notes.append(
                f"no tail{where}: its probability is at the lower limit, so its size is undefined"
            )
    names = [*(f"sd_pct[{kind}]" for kind in kinds)]
    for prefix in ("probability", "median_pct", "sigma"):
        names += [f"tail.{prefix}" if n == "all" else f"tail[{n}].{prefix}" for n in tail_names]
    undefined = {k + j + offset * g for j in no_tail_groups for offset in range(3)}
    others = [names[i] for i in np.flatnonzero(solution.on_edge) if i not in undefined]
    if others:
        notes.append(
            f"on the edge of the search range, so without an interval: {', '.join(others)}"
        )
    if solution.flat:
        notes.append(
            f"the likelihood is flat in some direction{flat_where} (often: too few tail "
            "events), so standard errors are not available there"
        )
    return Fit(sd_pct, tails, solution.log_likelihood, theta.size, solution.converged, tuple(notes))


def _maximise(design: _Design) -> _Solution:
    """Maximum likelihood from a few starting points, with standard errors."""
    bounds = _bounds(design)
    best = None
    for start in _starts(design):
        result = optimize.minimize(
            _negative_log_likelihood,
            start,
            args=(design,),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-6},
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    se, on_edge, flat = _standard_errors(best.x, design, bounds)
    return _Solution(best.x, se, on_edge, flat, -float(best.fun), _converged(best, bounds))


def _converged(result: optimize.OptimizeResult, bounds: list[tuple[float, float]]) -> bool:
    """Success, or a line search that stalled where the gradient is already flat.

    L-BFGS-B often stops with ABNORMAL_TERMINATION_IN_LNSRCH at an optimum it can
    no longer improve in float precision; a small projected gradient tells that
    apart from a real failure.
    """
    if result.success:
        return True
    lower, upper = np.array(bounds).T
    gradient = np.asarray(result.jac, dtype=float)
    pushing_out = ((result.x <= lower + 1e-9) & (gradient > 0)) | (
        (result.x >= upper - 1e-9) & (gradient < 0)
    )
    return bool(np.all(np.abs(gradient[~pushing_out]) < 1e-3))


def _standard_errors(
    theta: np.ndarray, design: _Design, bounds: list[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Standard errors on the fitting scale from the inverse finite-difference Hessian.

    Estimates on the edge of their range are held fixed (no standard error), as
    are the size of a tail whose probability is at its lower limit (undefined
    without events). Returns the errors, the on-edge mask, and whether the
    remaining curvature was not positive definite (all errors NaN then).
    """
    lower, upper = np.array(bounds).T
    on_edge = np.minimum(theta - lower, upper - theta) < 1e-3
    k, g = design.n_sd, design.n_tail
    no_tail = on_edge[k : k + g] & (theta[k : k + g] < 0)
    fixed = on_edge.copy()
    fixed[k + g : k + 2 * g] |= no_tail
    fixed[k + 2 * g :] |= no_tail
    free = np.flatnonzero(~fixed)
    se = np.full(theta.size, np.nan)
    if free.size == 0:
        return se, on_edge, False
    hessian = np.empty((theta.size, free.size))
    for column, j in enumerate(free):
        step = np.zeros(theta.size)
        step[j] = _HESSIAN_STEP
        upper_grad = _negative_log_likelihood(theta + step, design)[1]
        lower_grad = _negative_log_likelihood(theta - step, design)[1]
        hessian[:, column] = (upper_grad - lower_grad) / (2.0 * _HESSIAN_STEP)
    block = hessian[free]
    block = 0.5 * (block + block.T)
    eigenvalues = np.linalg.eigvalsh(block)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 1e-8 * max(
        1.0, eigenvalues.max()
    ):
        return se, on_edge, True
    se[free] = np.sqrt(np.diag(np.linalg.inv(block)))
    return se, on_edge, False


def _estimate(theta: float, se_theta: float, inverse: Callable[[Any], Any], n: int) -> Estimate:
    """An estimate on its natural scale: delta-method SE, Wald interval mapped back."""
    value = float(inverse(theta))
    step = 1e-6
    slope = float(inverse(theta + step) - inverse(theta - step)) / (2.0 * step)
    se = abs(slope) * se_theta
    low = float(inverse(theta - _Z95 * se_theta))
    high = float(inverse(theta + _Z95 * se_theta))
    return Estimate(value, float(se), low, high, n)


# --- report ---------------------------------------------------------------------------


def _decimals(value: float, se: float) -> int:
    """Decimals that show a value to about two significant figures of its standard error."""
    if math.isfinite(se) and se > 0:
        return min(6, max(1, 1 - math.floor(math.log10(se))))
    return min(6, max(2, 3 - math.floor(math.log10(abs(value)))) if value else 2)


def _number(value: float, se: float) -> str:
    return f"{value:.{_decimals(value, se)}f}"


def _se_text(se: float) -> str:
    """Two significant figures, keeping trailing zeros (0.010, not 0.01)."""
    return f"{se:#.2g}".rstrip(".") if math.isfinite(se) else "n/a"


def _rows(fit: Fit) -> list[tuple[str, Estimate | None]]:
    """Table rows; None for the size of a tail that is not there."""
    rows: list[tuple[str, Estimate | None]] = [
        (f"sd_pct[{kind}]", est) for kind, est in fit.sd_pct.items()
    ]
    for group, tail in fit.tail.items():
        prefix = "tail" if group == "all" else f"tail[{group}]"
        rows += [
            (f"{prefix}.{name}", est if tail.identified or name == "probability" else None)
            for name, est in tail.as_dict().items()
        ]
    return rows


def _fit_table(title: str, fit: Fit) -> list[str]:
    lines = [f"{title} (log-likelihood {fit.log_likelihood:.1f}, {fit.n_parameters} parameters)"]
    header = f"  {'parameter':<30} {'estimate':>9} {'SE':>8}  {'95% CI':<19} {'n':>6}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for name, est in _rows(fit):
        if est is None:
            lines.append(f"  {name:<30} {'n/a':>9} {'n/a':>8}  {'(no tail)':<19}")
            continue
        ci = (
            f"{_number(est.low, est.se)} to {_number(est.high, est.se)}"
            if math.isfinite(est.se)
            else "n/a"
        )
        lines.append(
            f"  {name:<30} {_number(est.value, est.se):>9} {_se_text(est.se):>8}  {ci:<19} {est.n:>6}"
        )
    lines += [f"  note: {note}" for note in fit.notes]
    return lines


def _table(cal: Calibration) -> str:
    history = cal.history
    lines = [f"sct calibrate {history.source}: {history.describe()}"]
    r = history.deviation_pct
    lines.append(
        f"mean outturn - plan: {r.mean():+.2f}% of turnover (SE {r.std(ddof=1) / math.sqrt(r.size):.2f}); "
        f"median {np.median(r):+.2f}%"
    )
    if history.control_total is not None:
        missed = float(np.mean(history.outturn < history.control_total))
        lines.append(f"{missed:.1%} of organisation-years finished below their control total")
    lines.append("")
    if cal.shared is not None:
        lines += [*_fit_table("Normal spread + large-adverse-event tail", cal.shared), ""]
    if cal.by_kind is not None:
        lines += [*_fit_table("Normal spread + a tail per kind", cal.by_kind), ""]
    lines += [*_fit_table("Normal only (no tail)", cal.normal), ""]
    lines += [f"Likelihood-ratio test, {test.explained()}" for test in cal.tests]
    lines += _check_lines(cal)
    verdict = (
        "the history shows a heavy left tail: use the tail fit (snippet below)"
        if cal.tail_detected
        else "use the normal fit (no tail)"
    )
    lines += ["", f"Verdict: {verdict}."]
    lines += [f"Note: {note}." for note in cal.notes]
    lines.append(
        "Note: organisation-years are treated as independent; a shock common to a year "
        "makes these standard errors too small."
    )
    return "\n".join(lines)


def prob_worse_than(
    threshold_pct: float,
    sd_pct: ArrayLike,
    probability: float = 0.0,
    median_pct: float = 1.0,
    sigma: float = 1.0,
) -> np.ndarray:
    """``P(r < -threshold_pct)`` under the tail model, per ``sd_pct``."""
    sd = np.asarray(sd_pct, dtype=float)
    normal = stats.norm.cdf(-threshold_pct / sd)
    if probability <= 0:
        return normal
    # P(sd * e - L < -c) = E_e[P(L > c + sd * e)], with P(L > l) = 1 for l <= 0.
    level = threshold_pct + sd[..., None] * _NORMAL_NODES
    exceed = np.where(
        level > 0,
        stats.norm.sf((np.log(np.where(level > 0, level, 1.0)) - math.log(median_pct)) / sigma),
        1.0,
    )
    tail = (exceed * np.exp(_NORMAL_LOG_WEIGHTS)).sum(axis=-1)
    return (1.0 - probability) * normal + probability * tail


def _check_lines(cal: Calibration) -> list[str]:
    """Observed vs fitted share of organisation-years more than 2, 5, 10% of turnover adverse."""
    history = cal.history
    r = history.deviation_pct
    kinds = history.kinds
    kind_index = np.searchsorted(kinds, history.kind.astype(str))
    lines = ["", "Check: share of organisation-years worse than plan by more than ..."]
    models: list[tuple[str, Fit]] = [("normal", cal.normal)]
    if cal.shared is not None:
        models.insert(0, ("tail", cal.shared))
    header = f"  {'% of turnover':<14} {'observed':>9}" + "".join(
        f" {name:>9}" for name, _ in models
    )
    lines.append(header)
    for threshold in (2.0, 5.0, 10.0):
        observed = float(np.mean(r < -threshold))
        cells = [f"  {threshold:<14g} {observed:>9.3f}"]
        for _, fit in models:
            sd = np.array([fit.sd_pct[k].value for k in kinds])[kind_index]
            if fit.has_tail:
                tail = fit.tail["all"]
                fitted = prob_worse_than(
                    threshold, sd, tail.probability.value, tail.median_pct.value, tail.sigma.value
                )
            else:
                fitted = prob_worse_than(threshold, sd)
            cells.append(f" {float(np.mean(fitted)):>9.3f}")
        lines.append("".join(cells))
    return lines


def _snippet(cal: Calibration) -> str:
    history = cal.history
    lines = [
        f"# sct calibrate {Path(history.source).name} (n={history.n} organisation-years, {history.years}); "
        "paste into your scenario"
    ]
    lines += [f"# {test}" for test in cal.tests]
    if cal.tail_detected and cal.shared is not None:
        tail = cal.shared.tail["all"]
        lines += [
            "# (if your scenario already has an uncertainty: block, put tail: under it)",
            "uncertainty:",
            "  tail:",
        ]
        for name, est in tail.as_dict().items():
            value = f"{name}: {_number(est.value, est.se)}"
            lines.append(f"    {value:<22} # SE {_se_text(est.se)}")
    else:
        reason = cal.notes[0] if cal.notes else "no tail fitted"
        lines.append(f"# no tail: {reason}; leave uncertainty.tail out")
    if cal.by_kind is not None:
        lines.append(
            "# tail by kind, for reference; to use one, give each organisation of that kind"
        )
        lines.append("# `tail: {...}` (it overrides uncertainty.tail for that organisation):")
        for kind, tail in cal.by_kind.tail.items():
            if not tail.identified:
                lines.append(f"#   {kind}: no tail")
                continue
            parts = ", ".join(
                f"{name}: {_number(est.value, est.se)}" for name, est in tail.as_dict().items()
            )
            lines.append(f"#   {kind}: {{{parts}}}")
    best = cal.best
    lines += [
        "# suggested sd_pct by kind (use on each organisation: sd_pct: <value>)",
        "# sd_pct_by_kind:",
    ]
    for kind, est in best.sd_pct.items():
        value = f"{kind}: {_number(est.value, est.se)}"
        lines.append(f"#   {value:<28} # SE {_se_text(est.se)}")
    return "\n".join(lines) + "\n"


# --- command line ---------------------------------------------------------------------


def _cmd_calibrate(args: argparse.Namespace) -> int:
    mode: TailMode = "none" if args.no_tail else "by_kind" if args.tail_by_kind else "shared"
    calibration = calibrate(args.history, tail=mode)
    print(calibration.table())
    snippet = calibration.snippet()
    if args.out:
        try:
            Path(args.out).write_text(snippet, encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(
                [
                    Problem(
                        args.out,
                        "",
                        f"cannot be written ({exc.strerror})",
                        "check that its folder exists",
                    )
                ]
            ) from None
        print(f"\nYAML snippet written to {args.out}")
    else:
        print("\n" + snippet, end="")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sct calibrate HISTORY.csv [--out FILE] [--tail-by-kind | --no-tail]``."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit sd_pct by kind and the large-adverse-event tail to a history of plans and outturns",
        description=(
            "Fit sd as % of turnover by kind and the tail (probability, median_pct, sigma) by "
            "maximum likelihood to HISTORY.csv (columns: "
            + ", ".join(REQUIRED_COLUMNS)
            + "; optional control_total), print the fit with its uncertainty, and write a YAML "
            "snippet to paste into a scenario."
        ),
    )
    parser.add_argument("history", metavar="HISTORY.csv", help="one row per organisation and year")
    parser.add_argument(
        "--out", metavar="FILE", help="write the YAML snippet here (default: print it)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--tail-by-kind",
        action="store_true",
        help="also fit a tail per kind and test it against the shared tail",
    )
    group.add_argument("--no-tail", action="store_true", help="fit the normal model only")
    parser.set_defaults(func=_cmd_calibrate)
