"""The text a calibration prints: a table of every fit with its uncertainty, and a YAML snippet.

The table is for reading (estimates, standard errors, intervals, tests, a check
of fitted against observed tail shares); the snippet is for pasting into a
scenario, so it uses the scenario's field names and leaves out any tail that the
history does not support.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sct_engine.calibration.likelihood import prob_worse_than
from sct_engine.rules.organisations import SD_GROUPS

if TYPE_CHECKING:  # the fit module calls this one, so its types are for annotations only
    from sct_engine.calibration.fit import Calibration, Estimate, Fit


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


def calibration_table(cal: Calibration) -> str:
    """A readable report of every fit, its uncertainty and the tests."""
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


def _check_lines(cal: Calibration) -> list[str]:
    """Observed vs fitted share of organisation-years more than 2, 5, 10% of turnover adverse."""
    history = cal.history
    r = history.deviation_pct
    kinds, kind_index = history.kinds, history.kind_index
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


def calibration_snippet(cal: Calibration) -> str:
    """YAML to paste into a scenario: ``uncertainty.sd_pct_by_type`` and ``uncertainty.tail``.

    Kinds in the scenario's words (a provider type, ``provider``,
    ``commissioner``) go into ``sd_pct_by_type``; any other kind is listed as a
    comment, since a scenario has no organisation to give it to.
    """
    history = cal.history
    lines = [
        f"# sct calibrate {Path(history.source).name} (n={history.n} organisation-years, {history.years}); "
        "paste into your scenario",
        "# (if your scenario already has an uncertainty: block, put these fields under it)",
    ]
    lines += [f"# {test}" for test in cal.tests]
    best = cal.best
    known = {k: est for k, est in best.sd_pct.items() if k in SD_GROUPS}
    other = {k: est for k, est in best.sd_pct.items() if k not in SD_GROUPS}
    body: list[str] = []
    if known:
        body.append("  sd_pct_by_type:   # for organisations without sd or sd_pct of their own")
        for kind, est in known.items():
            value = f"{kind}: {_number(est.value, est.se)}"
            body.append(f"    {value:<26} # SE {_se_text(est.se)}")
    if cal.tail_detected and cal.shared is not None:
        body.append("  tail:")
        for name, est in cal.shared.tail["all"].as_dict().items():
            value = f"{name}: {_number(est.value, est.se)}"
            body.append(f"    {value:<26} # SE {_se_text(est.se)}")
    else:
        reason = cal.notes[0] if cal.notes else "no tail fitted"
        lines.append(f"# no tail: {reason}; leave uncertainty.tail out")
    if body:
        lines += ["uncertainty:", *body]
    if other:
        lines.append(
            "# kinds that are not a provider_type, provider or commissioner (give these sd_pct "
            "to the matching organisations yourself):"
        )
        for kind, est in other.items():
            lines.append(f"#   {kind}: {_number(est.value, est.se)}   # SE {_se_text(est.se)}")
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
    return "\n".join(lines) + "\n"
