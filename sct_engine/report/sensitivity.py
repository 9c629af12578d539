"""The sensitivity table's data: how the answer moves with each assumption variant.

The runs are :mod:`sct_engine.analysis.sensitivity`'s (the scenario as assumed and under each
variant of :data:`~sct_engine.analysis.sensitivity.ASSUMPTIONS`, on the same draws); this
module lays them out for the board pack (does each system's recommendation survive?), the
national page (how the signing counts and the national loss move) and the workbook's two
sheets. The HTML is :mod:`.sensitivity_html`.
"""

from __future__ import annotations

import pandas as pd

from sct_engine.analysis.paired import Z95
from sct_engine.analysis.sensitivity import AS_ASSUMED, SURVIVES, Sensitivity
from sct_engine.report.data import ReportData


def report_sensitivity(data: ReportData) -> Sensitivity | None:
    """The report's sensitivity runs, or None when the report was made without them."""
    return data.sensitivity


def sensitivity_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The workbook's sensitivity sheets: per run and option (signing counts, national loss)
    and per run and system (the recommendation and whether it survives); none without runs."""
    sens = report_sensitivity(data)
    if sens is None:
        return {}
    return {
        "sensitivity_options": sens.options_table(),
        "sensitivity_systems": sens.systems_table(),
    }


def national_sensitivity(sens: Sensitivity) -> pd.DataFrame:
    """One row per run (as assumed first): ``variant``, ``assumption``, ``setting``,
    ``recommended`` (how many systems are recommended each option, as text), then per option
    ``systems_sign:<option>`` and ``expected_funding_lost:<option>`` (every system signs it)
    with ``ci95:<option>`` (its 95% half-width)."""
    table = sens.options_table()
    rows = []
    for run in sens.runs:
        sub = table[table["variant"] == run.name]
        counts = [
            f"{r.scheme} {r.systems_recommended}"
            for r in sub.itertuples(index=False)
            if r.systems_recommended
        ]
        row: dict[str, object] = {
            "variant": run.name,
            "assumption": run.label,
            "setting": run.setting,
            "recommended": ", ".join(counts),
        }
        for r in sub.itertuples(index=False):
            row[f"systems_sign:{r.scheme}"] = r.systems_sign
            row[f"expected_funding_lost:{r.scheme}"] = r.expected_funding_lost
            row[f"ci95:{r.scheme}"] = Z95 * r.se_expected_funding_lost
        rows.append(row)
    return pd.DataFrame(rows)


def system_sensitivity(sens: Sensitivity, system: str) -> pd.DataFrame:
    """One system's rows of the sensitivity table (as assumed first): the option recommended
    under each run, its gain against the baseline with its 95% half-width, the options too
    close to call and whether the report's recommendation survives."""
    table = sens.systems_table()
    out = table[table["system"] == system].copy()
    out["ci95_gain"] = Z95 * out["se_gain"]
    return out.reset_index(drop=True)


def survival_line(sens: Sensitivity, system: str) -> str:
    """One sentence for a summary: how many assumption variants the system's recommendation
    survives, and which move it (e.g. for the board pack's first page)."""
    frame = system_sensitivity(sens, system)
    variants = frame[frame["variant"] != AS_ASSUMED]
    kept = variants["survives"] == SURVIVES
    reference = sens.reference[system]
    if not len(variants):
        return f"No assumption variant applies to this scenario; {reference} is as simulated."
    line = (
        f"The recommendation ({reference}) survives {int(kept.sum())} of the {len(variants)} "
        "assumption variants tried (spread of outturn, variance shares, chance of earning the "
        "A&E element, A&E gateway)"
    )
    moved = [f"{r.assumption}: {r.survives}" for r in variants[~kept].itertuples(index=False)]
    return line + ("; " + "; ".join(moved) + "." if moved else ".")


def draws_note(sens: Sensitivity, report_draws: int) -> str:
    """How the runs were made, in one sentence for a caption (names reduced draws)."""
    reduced = (
        f", fewer than the {report_draws:,} of the main analysis to keep the report quick "
        "(`sct report --sensitivity-draws N` sets them)"
        if sens.draws < report_draws
        else ""
    )
    return (
        f"Each variant re-runs the whole analysis with one assumption changed, on the same "
        f"{sens.draws:,} simulated years (seed {sens.seed}){reduced}: common random numbers, so "
        "what moves between runs moves because of the assumption, not fresh noise. The decision "
        "rule gets no extra draws here, so a comparison these draws cannot settle is too close "
        "to call."
    )


def skipped_note(sens: Sensitivity) -> str:
    """The variants not run, and why (empty when every variant ran)."""
    if not sens.skipped:
        return ""
    parts = [f"{s.assumption.label} ({s.reason})" for s in sens.skipped]
    return "Variants not run for this scenario: " + "; ".join(parts) + "."


__all__ = [
    "draws_note",
    "national_sensitivity",
    "report_sensitivity",
    "sensitivity_tables",
    "skipped_note",
    "survival_line",
    "system_sensitivity",
]
