"""The sensitivity tables as HTML: the board pack's (does the recommendation survive each
assumption variant?) and the national page's (how the signing counts and the national loss
move). Their data is :mod:`.sensitivity`'s."""

from __future__ import annotations

from sct_engine.analysis.sensitivity import AS_ASSUMED, SURVIVES, TOO_CLOSE, Sensitivity
from sct_engine.report.data import ReportData
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money
from sct_engine.report.html_parts import option_header as _opt
from sct_engine.report.html_parts import table as _table
from sct_engine.report.sensitivity import (
    draws_note,
    national_sensitivity,
    report_sensitivity,
    skipped_note,
    survival_line,
    system_sensitivity,
)

#: What the board pack says when the report was made with ``--no-sensitivity``.
LEFT_OUT = (
    "Left out of this report (`sct report --no-sensitivity`): how the recommendation moves "
    "with the spread of outturn, the variance shares, the chance of earning the A&E element "
    "and the A&E gateway is not shown."
)


def _survival_cell(text: str) -> tuple[str, str]:
    if text == SURVIVES:
        return "class='better text'", "yes"
    if text == TOO_CLOSE:
        return "class='close text'", "too close to call"
    return "class='worse text'", _e(text)


def _variant_label(label: str, setting: str) -> str:
    if label == AS_ASSUMED:
        return "<strong>As assumed</strong>"
    return f"{_e(label[:1].upper() + label[1:])}<br><span class='se'>{_e(setting)}</span>"


def _notes(sens: Sensitivity, report_draws: int) -> str:
    skipped = skipped_note(sens)
    return f"<p class='note'>{_e(draws_note(sens, report_draws))}</p>" + (
        f"<p class='small'>{_e(skipped)}</p>" if skipped else ""
    )


def _one_system(sens: Sensitivity, system: str, money_word: str) -> str:
    rows = []
    frame = system_sensitivity(sens, system)
    for r in frame.itertuples(index=False):
        rows.append(
            [
                ("class='text'", _variant_label(r.assumption, r.setting)),
                ("class='text'", f"<strong>{_opt(r.recommended_scheme)}</strong>"),
                f"{money(r.gain_vs_baseline, sign=True)} "
                f"<span class='se'>± {money(r.ci95_gain)}</span>",
                ("class='text'", _e(r.too_close_to_call) or "&ndash;"),
                _survival_cell(r.survives),
            ]
        )
    reference = sens.reference[system]
    return f"<p>{_e(survival_line(sens, system))}</p>" + _table(
        [
            "Assumption",
            "Recommended",
            f"Expected {money_word} vs {_e(sens.baseline)}",
            "<span class='text'>Too close to call</span>",
            f"<span class='text'>Does {_e(reference)} survive?</span>",
        ],
        rows,
    )


def _many_systems(sens: Sensitivity) -> str:
    table = sens.systems_table()
    runs = list(sens.runs)
    head = ["System", "<span class='text'>Recommended</span>"] + [
        "<strong>As assumed</strong>" if run.name == AS_ASSUMED else _e(run.heading) for run in runs
    ]
    rows = []
    whole = 0
    for system, sub in table.groupby("system", sort=False):
        marks = dict(zip(sub["variant"], sub["survives"], strict=True))
        whole += all(v == SURVIVES for v in marks.values())
        rows.append(
            [
                _e(sub["system_name"].iloc[0]),
                ("class='text'", f"<strong>{_opt(sens.reference[str(system)])}</strong>"),
                *(_survival_cell(marks[run.name]) for run in runs),
            ]
        )
    return (
        f"<p>{whole} of the {len(rows)} systems keep their recommendation in every run below; "
        "each cell says whether it survives the run: yes, changes to another option, or too "
        "close to call.</p>" + _table(head, rows) + _settings_list(sens)
    )


def _settings_list(sens: Sensitivity) -> str:
    """What each column's variant set, for the grid of many systems."""
    items = "".join(
        f"<li><strong>{_e(run.heading)}</strong>: {_e(run.label)} ({_e(run.setting)})</li>"
        for run in sens.runs
        if run.name != AS_ASSUMED
    )
    return f"<ul class='small'>{items}</ul>" if items else ""


def sensitivity_section(data: ReportData) -> str:
    """The board pack's sensitivity section: per system, the option recommended under each
    assumption variant and whether the report's recommendation survives it."""
    sens = report_sensitivity(data)
    if sens is None:
        return f"<p class='note'>{_e(LEFT_OUT)}</p>"
    a = data.analysis
    money_word = a.gain_word
    body = (
        _one_system(sens, a.model.system_ids[0], money_word)
        if a.model.n_systems == 1
        else _many_systems(sens)
    )
    return body + _notes(sens, a.draws)


def national_sensitivity_html(data: ReportData) -> str:
    """The national page's sensitivity table: per run, how many systems are recommended each
    option, and per option how many systems would sign it and the national funding lost if
    every system signs it (one joint simulation). Empty without sensitivity runs."""
    sens = report_sensitivity(data)
    if sens is None:
        return ""
    frame = national_sensitivity(sens)
    names = [c.split(":", 1)[1] for c in frame.columns if c.startswith("systems_sign:")]
    records = frame.to_dict("records")
    first = records[0]  # as assumed: a cell that differs from it is shaded

    def shade(differs: bool) -> str:
        return "class='close'" if differs else ""

    rows = []
    for r in records:
        moved = r["recommended"] != first["recommended"]
        cells: list[object] = [
            ("class='text'", _variant_label(str(r["assumption"]), str(r["setting"]))),
            (f"class='text{' close' if moved else ''}'", _e(r["recommended"]) or "&ndash;"),
        ]
        for name in names:
            signs = int(r[f"systems_sign:{name}"])
            cells.append(
                (
                    shade(signs != int(first[f"systems_sign:{name}"])),
                    f"{signs} sign<br>{money(float(r[f'expected_funding_lost:{name}']), 1)}",
                )
            )
        rows.append(cells)
    widest = max(
        (float(frame[c].max()) for c in frame.columns if c.startswith("ci95:")), default=0.0
    )
    return (
        "<h3>Sensitivity: how the answer moves with the assumptions</h3>"
        + _table(
            ["Assumption", "<span class='text'>Recommended (systems)</span>"]
            + [_opt(name) for name in names],
            rows,
        )
        + "<p class='note'>Per option: the systems that would sign it under the decision rule, "
        "shaded where the count differs from the run as assumed, "
        "and the national PSF/CSF lost a year if every system signs it (one joint simulation of "
        f"every system, as in the table of funding at risk; 95% half-widths at most "
        f"{money(widest, 1)}). {_e(draws_note(sens, data.analysis.draws))}</p>"
        + (f"<p class='small'>{_e(skipped_note(sens))}</p>" if sens.skipped else "")
    )


__all__ = ["LEFT_OUT", "national_sensitivity_html", "sensitivity_section"]
