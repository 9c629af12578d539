"""Result tables (the public contract of docs/results.md) and their provenance."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.engine.model import Model
from sct_engine.engine.sampling import max_replicate_error
from sct_engine.engine.stats import (
    HIST_BINS,
    Accumulator,
    hist_cvar,
    hist_quantile,
    max_standard_error,
    mean_and_se,
    proportion_se,
)
from sct_engine.errors import Problem, ScenarioError
from sct_engine.files import write_csv, write_folder_atomically

#: Contract columns, in order. Extra columns follow them.
ORGANISATION_COLUMNS = [
    "scheme",
    "system",
    "organisation",
    "kind",
    "p_meet_control_total",
    "expected_outturn",
    "expected_funding",
    "expected_funding_lost",
    "p_any_funding_lost",
    "funding_lost_p95",
    "se_expected_funding_lost",
]
SYSTEM_COLUMNS = [
    "scheme",
    "system",
    "p_meet_system_control_total",
    "expected_funding",
    "expected_funding_lost",
    "funding_lost_p95",
    "funding_lost_cvar95",
    "p_all_funding_lost",
    "se_expected_funding_lost",
]
NATIONAL_COLUMNS = ["scheme", "expected_funding_lost", "funding_lost_p95", "funding_lost_cvar95"]

TABLES = ("organisations", "systems", "national")
#: The files :meth:`Result.save` writes into its folder.
SAVED_FILES = (*(f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")), "run.json")


@dataclass
class Result:
    """What a run found: streaming statistics plus labels and provenance.

    The tables are pandas DataFrames built on demand from the statistics:
    ``organisations``, ``systems`` and ``national``, one row per scheme and
    organisation / system / scheme.

    ``standard_errors`` (Sobol' sampling, :mod:`~sct_engine.engine.sampling`): the
    replicates' standard errors of the means per draw, by statistic; every ``se_`` column
    then reads them, since the iid formula does not hold for quasi-random draws.
    """

    model: Model
    stats: Accumulator
    provenance: dict[str, Any] = field(default_factory=dict)
    standard_errors: dict[str, np.ndarray] | None = None

    def _mean_se(self, name: str, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean per draw of statistic ``name`` (a sum) and its standard error: the
        replicates' with Sobol' sampling, else the iid formula from ``squares``."""
        total, n = getattr(self.stats, name), self.stats.n
        mean, se = mean_and_se(total, squares, n)
        return mean, se if self.standard_errors is None else self.standard_errors[name]

    def _proportion_se(self, name: str, iid: np.ndarray) -> np.ndarray:
        """Standard error of the proportion counted by statistic ``name``: the replicates'
        with Sobol' sampling, else ``iid`` (the binomial formula)."""
        return iid if self.standard_errors is None else self.standard_errors[name]

    def max_standard_error(self) -> float:
        """Largest standard error of any reported probability or expected loss."""
        if self.standard_errors is None:
            return max_standard_error(self.stats)
        return max_replicate_error(self.standard_errors)

    @property
    def draws(self) -> int:
        return self.stats.n

    @property
    def scheme_names(self) -> tuple[str, ...]:
        return self.model.schemes.names

    @property
    def organisations(self) -> pd.DataFrame:
        """Per scheme and organisation: probabilities, expected funding and losses, p95, SE."""
        m, st, n = self.model, self.stats, self.stats.n
        k, n_orgs = len(self.scheme_names), m.n_orgs
        lost_mean, lost_se = self._mean_se("org_lost_sum", st.org_lost_sumsq)
        p_meet = np.broadcast_to(st.org_meet / n, (k, n_orgs))
        frame = pd.DataFrame(
            {
                "scheme": np.repeat(self.scheme_names, n_orgs),
                "system": np.tile(np.array(m.system_ids)[m.org_system], k),
                "organisation": np.tile(m.org_ids, k),
                "kind": np.tile(m.org_kinds, k),
                "p_meet_control_total": p_meet.ravel(),
                "expected_outturn": np.tile(st.org_outturn_sum / n, k),
                "expected_funding": (st.org_paid_sum / n).ravel(),
                "expected_funding_lost": lost_mean.ravel(),
                "p_any_funding_lost": (st.org_any_lost / n).ravel(),
                "funding_lost_p95": hist_quantile(st.org_hist, m.funding, 0.95).ravel(),
                "se_expected_funding_lost": lost_se.ravel(),
                "organisation_name": np.tile(m.org_names, k),
                "sustainability_funding": np.tile(m.funding, k),
                "p_pass_after_redistribution": (st.org_pass / n).ravel(),
                "se_p_meet_control_total": np.broadcast_to(
                    self._proportion_se("org_meet", proportion_se(p_meet * n, n)), (k, n_orgs)
                ).ravel(),
                "quantile_bin_width": np.tile(m.funding / HIST_BINS, k),
                "control_total_uplift": np.tile(m.control_total_uplift, k),
                "expected_incentive": np.tile(self._expected_incentive(), k),
                "expected_bonus": (st.org_bonus_sum / n).ravel(),
                "se_expected_bonus": self._mean_se("org_bonus_sum", st.org_bonus_sumsq)[1].ravel(),
                # Rule 6: funding paid in each quarter (recovered money in Q4); year-end mode pays all in Q4.
                **{
                    f"expected_funding_q{q + 1}": (st.org_paid_quarter_sum[..., q] / n).ravel()
                    for q in range(st.org_paid_quarter_sum.shape[-1])
                },
            }
        )
        return frame

    def _expected_incentive(self) -> np.ndarray:
        """Rule 7: ``incentive_rate * uplift`` earned when the raised control total is met."""
        m = self.model
        return m.incentive_rate * m.control_total_uplift * self.stats.org_meet / self.stats.n

    @property
    def systems(self) -> pd.DataFrame:
        """Per scheme and system: P(system control total met), expected loss, p95, CVaR95, SE."""
        m, st, n = self.model, self.stats, self.stats.n
        k, n_sys = len(self.scheme_names), m.n_systems
        funding = m.system_funding()
        lost_mean, lost_se = self._mean_se("system_lost_sum", st.system_lost_sumsq)
        paid = np.add.reduceat(st.org_paid_sum, m.system_start[:-1], axis=1) / n
        return pd.DataFrame(
            {
                "scheme": np.repeat(self.scheme_names, n_sys),
                "system": np.tile(m.system_ids, k),
                "p_meet_system_control_total": np.tile(st.system_meet / n, k),
                "expected_funding": paid.ravel(),
                "expected_funding_lost": lost_mean.ravel(),
                "funding_lost_p95": hist_quantile(st.system_hist, funding, 0.95).ravel(),
                "funding_lost_cvar95": hist_cvar(st.system_hist, st.system_hist_sum, 0.95).ravel(),
                "p_all_funding_lost": (st.system_all_lost / n).ravel(),
                "se_expected_funding_lost": lost_se.ravel(),
                "system_name": np.tile(m.system_names, k),
                "sustainability_funding": np.tile(funding, k),
                "system_control_total": np.tile(m.system_control_total, k),
                "p_system_test_passed": (st.system_test_pass / n).ravel(),
                "p_any_member_loses_funding": (st.system_any_lost / n).ravel(),
                "quantile_bin_width": np.tile(funding / HIST_BINS, k),
                "expected_incentive": np.tile(
                    np.add.reduceat(self._expected_incentive(), m.system_start[:-1]), k
                ),
                "expected_bonus": np.add.reduceat(
                    st.org_bonus_sum, m.system_start[:-1], axis=1
                ).ravel()
                / n,
            }
        )

    @property
    def national(self) -> pd.DataFrame:
        """Per scheme, every organisation in the scenario together."""
        m, st, n = self.model, self.stats, self.stats.n
        total = float(m.funding.sum())
        lost_mean, lost_se = self._mean_se("national_lost_sum", st.national_lost_sumsq)
        return pd.DataFrame(
            {
                "scheme": list(self.scheme_names),
                "expected_funding_lost": lost_mean,
                "funding_lost_p95": hist_quantile(st.national_hist, total, 0.95),
                "funding_lost_cvar95": hist_cvar(st.national_hist, st.national_hist_sum, 0.95),
                "sustainability_funding": total,
                "expected_funding": total - lost_mean,
                "se_expected_funding_lost": lost_se,
                "quantile_bin_width": total / HIST_BINS,
                "expected_incentive": float(self._expected_incentive().sum()),
                "expected_bonus": st.org_bonus_sum.sum(axis=1) / n,
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def save(self, out_dir: str | os.PathLike, option: str = "--out") -> Path:
        """Write the three tables as CSV and Parquet plus ``run.json``, all of them or none.

        Every figure is checked to be finite first. The files are written into a
        hidden staging folder and renamed into place, the old versions being put
        back if any rename fails (:func:`~sct_engine.files.write_folder_atomically`),
        so a failure leaves earlier results as they were; ``option`` names the
        destination in the OutputError raised when it cannot be written.
        """
        tables = self.tables()
        self.check_finite(tables=tables)
        files: dict[str, Callable[[Path], object]] = {}
        for name, frame in tables.items():
            files[f"{name}.csv"] = partial(write_csv, frame)
            files[f"{name}.parquet"] = partial(frame.to_parquet, index=False)
        text = json.dumps(self.provenance, indent=2, default=str, allow_nan=False) + "\n"
        files["run.json"] = lambda p: p.write_text(text, encoding="utf-8")
        return write_folder_atomically(out_dir, files, option)

    def check_finite(
        self, file: str | None = None, tables: dict[str, pd.DataFrame] | None = None
    ) -> None:
        """Refuse a result with an infinite or NaN figure in any table or in ``run.json``.

        Scenario limits keep every figure finite; this is the last guard, before
        anything is printed or written. ScenarioError names the table, column and row.
        """
        file = file or str(self.provenance.get("scenario_file") or "<scenario>")
        found = [
            *_non_finite_cells(tables or self.tables()),
            *_non_finite_provenance(self.provenance),
        ]
        if found:
            raise ScenarioError(
                [
                    Problem(
                        file,
                        "",
                        f"the run produced a figure that is not a finite number ({found[0]}"
                        + (f", and {len(found) - 1} more" if len(found) > 1 else "")
                        + "); nothing was written",
                        "check the scenario's £m figures, spreads and tail parameters for values "
                        "far beyond real ones (docs/scenario-format.md#limits); if they are "
                        "realistic, report this with the scenario file",
                    )
                ]
            )

    def summary(self, max_rows: int = 60) -> str:
        """A readable plain-text summary: national and system risk per scheme, organisations' expected loss."""
        fmt = {"float_format": lambda v: f"{v:,.3f}"}
        nat = self.national[
            [
                "scheme",
                "expected_funding_lost",
                "se_expected_funding_lost",
                "funding_lost_p95",
                "funding_lost_cvar95",
            ]
        ]
        sysf = self.systems
        sys_view = sysf[
            [
                "scheme",
                "system",
                "p_meet_system_control_total",
                "p_any_member_loses_funding",
                "expected_funding_lost",
                "funding_lost_p95",
                "funding_lost_cvar95",
            ]
        ]
        org = self.organisations.pivot(
            index="organisation", columns="scheme", values="expected_funding_lost"
        )
        org = org.loc[list(self.model.org_ids), list(self.scheme_names)]
        p = self.provenance
        lines = [
            f"{p.get('scenario_name', '')}: {self.draws:,} draws, seed {p.get('seed')}, "
            f"engine {p.get('engine')}, {p.get('wall_time_s', float('nan')):.2f} s",
            f"Sustainability funding at stake: £{self.model.funding.sum():,.1f}m "
            f"across {self.model.n_orgs} organisations in {self.model.n_systems} system(s). Money in £m.",
            "",
            "National funding lost by scheme",
            nat.to_string(index=False, **fmt),
            "",
            "Systems",
            sys_view.head(max_rows).to_string(index=False, **fmt),
            "",
            "Expected funding lost per organisation (£m) by scheme",
            org.head(max_rows).to_string(**fmt),
        ]
        return "\n".join(lines)


def _non_finite_cells(tables: dict[str, pd.DataFrame]) -> list[str]:
    """``systems.expected_funding_lost = inf (scheme flexible_50, system north)`` per bad cell column."""
    found = []
    for name, frame in tables.items():
        for column in frame.columns:
            values = frame[column]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                continue
            bad = ~np.isfinite(values.to_numpy(dtype=np.float64))
            if bad.any():
                row = frame.loc[bad].iloc[0]
                labels = ", ".join(
                    f"{key} {row[key]}"
                    for key in ("scheme", "system", "organisation")
                    if key in row
                )
                found.append(f"{name}.{column} = {row[column]} ({labels})")
    return found


def _non_finite_provenance(provenance: dict[str, Any]) -> list[str]:
    return [
        f"run.json {key} = {value}"
        for key, value in provenance.items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
