"""The kernel's host-side tables: outcome classes, outcome codes, quarterly payment shares, levers.

Built once per model with numpy, from the very rule functions the reference
calls (:mod:`sct_engine.rules`), so that what the jitted loops read off them is
bit-identical to the reference's arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sct_engine import rules
from sct_engine.engine.kernel.loops import WORD_BITS
from sct_engine.engine.model import QUARTERS, Lever, Model, with_lever
from sct_engine.engine.stats import HIST_BINS, loss_bins


def outcome_classes(model: Model) -> tuple[np.ndarray, ...]:
    """Group schemes whose outcome codes coincide: same redistribution, system test and A&E
    gate code (``Model.ae_gate_codes``: which tests open the A&E element).

    Returns ``(group_mode, group_cap, class_group, class_test, class_gate, scheme_class)``:
    redistribution is computed once per group, codes are counted once per class.
    """
    sa = model.schemes
    gates = model.ae_gate_codes()
    groups: list[tuple[int, float]] = []
    classes: list[tuple[int, int, int]] = []
    scheme_class = np.empty(len(sa), dtype=np.int64)
    for k in range(len(sa)):
        mode = int(sa.redistribution[k])
        cap = float(sa.share_cap[k]) if mode == rules.REDISTRIBUTION_CODES["capped"] else 1.0
        if (mode, cap) not in groups:
            groups.append((mode, cap))
        key = (groups.index((mode, cap)), int(sa.system_test[k]), int(gates[k]))
        if key not in classes:
            classes.append(key)
        scheme_class[k] = classes.index(key)
    return (
        np.array([m for m, _ in groups], dtype=np.int64),
        np.array([c for _, c in groups], dtype=np.float64),
        np.array([g for g, _, _ in classes], dtype=np.int64),
        np.array([t for _, t, _ in classes], dtype=np.int64),
        np.array([gate for _, _, gate in classes], dtype=np.int64),
        scheme_class,
    )


#: Outcome codes of one organisation under one scheme in one draw:
#: bit 0 own finance test passed (after redistribution), bit 1 system test passed,
#: bit 2 A&E element paid. Its funding lost is one of these eight values.
N_CODES = 8


def outcome_tables(model: Model, bins: int = HIST_BINS) -> tuple[np.ndarray, ...]:
    """Funding paid, funding lost, loss-histogram bin and unearned finance element of every
    outcome code, each of shape ``(K, N, 8)``.

    Same expressions as ``rules.finance_paid + rules.ae_paid`` and ``stats.loss_bins``,
    so an organisation's loss and bin read from the table are bit-identical to the
    reference's (the organisation statistics are read off the code counts with them).
    """
    codes = np.arange(N_CODES)
    org_q = (codes & 1).astype(bool)
    sys_q = (codes & 2).astype(bool)
    ae_q = (codes & 4).astype(bool)
    sa = model.schemes
    paid = np.empty((len(sa), model.n_orgs, N_CODES))
    unearned = np.empty_like(paid)
    for k in range(len(sa)):
        share = float(sa.system_linked_share[k])
        fin = rules.finance_paid(model.finance[:, None], share, org_q[None, :], sys_q[None, :])
        paid[k] = fin + model.ae[:, None] * ae_q[None, :]
        unearned[k] = model.finance[:, None] - fin
    lost = model.funding[None, :, None] - paid
    bin_index = loss_bins(lost, model.funding[None, :, None], bins)
    return paid, lost, bin_index, unearned


def class_loss_bits(scheme_class: np.ndarray, bin_index: np.ndarray) -> tuple[np.ndarray, ...]:
    """Schemes by outcome class, and which of them leave a member a loss, as bit sets.

    Returns ``(class_start, class_schemes, lossy)``: class ``c``'s schemes are
    ``class_schemes[class_start[c]:class_start[c + 1]]`` (in scheme order), and bit ``j``
    of ``lossy[c, i, code]`` (words of ``WORD_BITS``, shape ``(C, N, 8, words)``) is set
    when that class's ``j``-th scheme puts member ``i`` with outcome ``code`` in a non-zero
    loss bin (``bin_index`` of ``outcome_tables``), exactly the reference's "lost funding".
    """
    n_classes = int(scheme_class.max()) + 1 if scheme_class.size else 0
    class_schemes = np.argsort(scheme_class, kind="stable").astype(np.int64)
    class_start = np.zeros(n_classes + 1, dtype=np.int64)
    np.cumsum(np.bincount(scheme_class, minlength=n_classes), out=class_start[1:])
    widest = int(np.diff(class_start).max()) if n_classes else 0
    words = max(1, -(-widest // WORD_BITS))
    lossy = np.zeros((n_classes, bin_index.shape[1], N_CODES, words), dtype=np.int64)
    for c in range(n_classes):
        for j, k in enumerate(class_schemes[class_start[c] : class_start[c + 1]]):
            lossy[c, ..., j // WORD_BITS] |= (bin_index[k] > 0).astype(np.int64) << (j % WORD_BITS)
    return class_start, class_schemes, lossy


def quarterly_tables(model: Model) -> tuple[np.ndarray, ...]:
    """Rule 6 payment shares of every pattern of four quarterly passes (bit ``q`` = quarter ``q + 1``).

    Returns ``(share, instalments, ae_share, ae_instalments)`` of shapes ``(N, 16)``,
    ``(N, 16, 4)``, ``(16,)`` and ``(16, 4)``: each organisation's finance shares with its
    kind's weights and recovery (PSF for trusts, CSF for commissioners:
    ``Model.quarter_weight_percent`` and ``Model.quarter_recovery``), and the A&E shares
    (PSF weights, never recovered). Built with ``rules.quarterly_share`` and
    ``rules.quarterly_instalments``, so they are bit-identical to the reference's.
    """
    patterns = (np.arange(2**QUARTERS)[:, None] >> np.arange(QUARTERS)) & 1 == 1
    per_org = np.broadcast_to(patterns[None], (model.n_orgs, *patterns.shape))
    weights = model.quarter_weight_percent()[:, None, :]
    recovery = model.quarter_recovery()[:, None]
    return (
        np.ascontiguousarray(rules.quarterly_share(per_org, recovery, weights)),
        np.ascontiguousarray(rules.quarterly_instalments(per_org, recovery, weights)),
        rules.quarterly_share(patterns, recovery=False),
        rules.quarterly_instalments(patterns, recovery=False),
    )


def lever_tables(model: Model, levers: Sequence[Lever] | None) -> tuple[np.ndarray, ...]:
    """Each lever position's member, its plan and its mitigation, as the loops read them.

    Returns ``(member, plan, mitigation)`` of shapes ``(L,)``, ``(L, P)`` and ``(L,)``: the
    plan is the year-end plan (``P = 1``) or, in quarterly mode, the year-to-date plan row
    (``P = 4``). Read off ``with_lever(model, ...)`` itself, so a member's figures at a
    position are bit-identical to a run of the moved model. Without levers: one position,
    member -1 (the model as it is).
    """
    width = QUARTERS if model.quarterly else 1
    if not levers:
        return np.full(1, -1, dtype=np.int64), np.zeros((1, width)), np.zeros(1)
    member = np.array([lever.organisation for lever in levers], dtype=np.int64)
    if np.any((member < 0) | (member >= model.n_orgs)):
        raise ValueError(f"a lever's organisation must be 0 to {model.n_orgs - 1} (got {member})")
    plan = np.empty((len(levers), width))
    mitigation = np.empty(len(levers))
    for p, lever in enumerate(levers):
        moved = with_lever(model, *lever)
        j = lever.organisation
        plan[p] = moved.ytd_plan()[j] if model.quarterly else moved.plan[j]
        mitigation[p] = moved.mitigation[j]
    return member, plan, mitigation
