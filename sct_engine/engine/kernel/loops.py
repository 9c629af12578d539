"""The kernel's jitted loops: draw, apply every scheme, accumulate, one block at a time.

Same draws and same rules as ``engine/reference.py``, without ever holding an array
of draws x organisations. Blocks (``rng.BLOCK_DRAWS`` draws, each with its own
generators) are processed in waves of ``WAVE_BLOCKS``; inside a wave, blocks
run in parallel (``prange``). Float sums are kept per block and added into the
totals in block order after the wave, and integer counts are kept per thread
(integer addition does not depend on order), so results are identical for any
number of threads.

The scalar work per draw mirrors the reference expression by expression
(``plan + sd * (sqrt(a) Z + l_i Z_s + c_i E)``, the Cholesky rows of systems with
a correlation matrix summed in the same order, the histogram bin formula), so the
two agree bit for bit on organisation outcomes and counts. System and national
losses in year-end mode are summed differently (see below): they agree with the
reference to rounding, far inside the 1e-9 slack of the histogram bin formula.
An organisation's funding lost under a scheme takes one of eight values
(own test, system test, A&E element: passed or not), so per organisation the
kernel only counts outcome codes per class of schemes (schemes sharing
redistribution, system test and gateway); sums, squares and histograms are read
off the counts at the end. A scheme's system loss is linear in its
``system_linked_share`` given the class's codes, so the same pass over the members
yields every scheme's system and national losses (``_score_draw``). The knapsack cover is the very function of ``rules/cover.py``
(``cover_shortfalls_into``, with per-block scratch from ``_redistribution_scratch``),
compiled in place.

The year end is the one-period case of the quarterly pass (rule 6): both
entries, ``run_wave`` and ``run_wave_quarterly``, take the same named structures
(:mod:`.inputs`, period first: one period at year end, four quarters' year to
date) and call the same ``inline="always"`` helpers for drawing
(``_draw_paths``), lever positions (``_move_lever``, ``_restore_lever``), the
tests (``_period_tests``), the cover (``_cover_groups``), the run's year-end
counts and the decision and contagion tail (``_decision_tail``). Only scoring
differs: at year end an organisation's loss takes one of eight values, counted
as outcome codes per class (``_score_draw``); four year-to-date tests make it one
of many, so the quarterly pass (``_pay_quarters``) accumulates losses, squares
and funding paid per organisation and block (floats, merged in block order like
every float sum) and counts the loss histogram per thread with the same
``_loss_bin``. The quarterly payment shares are read from 16-entry tables per
organisation (one entry per pattern of four passes, with the PSF or CSF weights
and recovery of its kind) built with the very functions of ``rules/payments.py``
the reference calls (:mod:`.tables`).

Memory: the quarterly path keeps an organisation loss histogram per thread,
``threads x schemes x organisations x (HIST_BINS + 1)`` int64 (about 8 kB per
organisation, scheme and thread), where the year-end path needs only eight
outcome counts.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from sct_engine import rules
from sct_engine.engine.model import DISTRIBUTION_CODES
from sct_engine.engine.stats import (
    FIXED_POINT,
    SYSTEM_LOSS_ABS,
    SYSTEM_LOSS_SHARE,
    ZERO_LOSS,
)

_NORMAL = DISTRIBUTION_CODES["normal"]
_STUDENT_T = DISTRIBUTION_CODES["student_t"]
_NONE = rules.REDISTRIBUTION_CODES["none"]
_FULL = rules.REDISTRIBUTION_CODES["full"]
_EVERY_MEMBER = rules.SYSTEM_TEST_CODES["every_member"]
_AE_GATE_NONE = rules.AE_GATE_NONE
_AE_GATE_OWN = rules.AE_GATE_OWN
_AE_GATE_SYSTEM = rules.AE_GATE_SYSTEM

_cover_into = rules.cover_shortfalls_into

#: Phases of the per-thread profile (``KernelRun(profile=True)``), in the order of its columns:
#: drawing (factors, events, A&E uniforms, outturns), the own and system tests, the cover
#: (redistribution), scoring (outcome codes, payments, system and national losses, and the
#: run's accumulators), the bonus, the decision statistics and traces, and the whole block.
PHASES = ("drawing", "tests", "cover", "scoring", "bonus", "decision", "block")
_DRAWING, _TESTS, _COVER, _SCORING, _BONUS, _DECISION, _BLOCK = range(len(PHASES))


@intrinsic
def _cycle_counter(typingctx):
    """The CPU's time-stamp counter (``llvm.readcyclecounter``): a few ns, no system call."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.int64(), codegen


@njit(inline="always")
def _lap(prof, tid, phase, since):
    """Adds the cycles since ``since`` to thread ``tid``'s ``phase`` (when ``prof`` has rows,
    i.e. profiling is on) and returns the counter now, the start of the next phase."""
    now = _cycle_counter()
    if prof.shape[0] > 0:
        prof[tid, phase] += now - since
    return now


@njit
def cycle_counter():
    """The time-stamp counter from Python, to convert the profile's cycles to seconds."""
    return _cycle_counter()


@njit(inline="always")
def _variate(g, dist, dof, t_scale, delta, root, mean, scale):
    """One standard variate, consuming the stream exactly as ``uncertainty.standard_variates``.

    The normal case is inlined; the others are a call. With Student-t and skew-normal
    code inlined too, the normal path ran at about half speed in the hot loop.
    """
    if dist == _NORMAL:
        return g.standard_normal()
    return _other_variate(g, dist, dof, t_scale, delta, root, mean, scale)


@njit
def _other_variate(g, dist, dof, t_scale, delta, root, mean, scale):
    """Student-t (scaled to unit variance) or standardised skew-normal, for ``_variate``."""
    if dist == _STUDENT_T:
        return g.standard_t(dof) * t_scale
    u0 = g.standard_normal()
    u1 = g.standard_normal()
    return (delta * abs(u0) + root * u1 - mean) / scale


@njit(inline="always")
def _loss_bin(lost, cap, bins):
    """Histogram bin of a loss, exactly as ``stats.loss_bins``."""
    safe = cap if cap > 0.0 else 1.0
    scaled = lost / safe
    if scaled <= ZERO_LOSS:
        return 0
    k = math.ceil(scaled * bins - 1e-9)
    if k < 1:
        return 1
    if k > bins:
        return bins
    return k


@njit(inline="always")
def _redistribution_scratch(start):
    """One block's buffers for ``_group_passes``, sized for the largest system: the failing
    members' finance, shortfall and index, then the knapsack's own scratch
    (``rules.cover_shortfalls_into``: covered, order, values, takes)."""
    n = 0
    for s in range(start.shape[0] - 1):
        n = max(n, start[s + 1] - start[s])
    return (
        np.empty(n),
        np.empty(n),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.bool_),
        np.empty(n, dtype=np.int64),
        np.empty((2, n)),
        np.empty((2, n), dtype=np.bool_),
    )


@njit(inline="always")
def _group_passes(mode, cap, lo, hi, x, ct, fin, meets, system_meets, slack, out, q, scratch):
    """Members of one system passing their finance test after redistribution (writes ``out[q, lo:hi]``).

    ``slack``: the system control total's room below the members' (``Model.system_slack``),
    added to the headroom as ``rules.redistribute`` adds it. ``scratch`` comes from
    ``_redistribution_scratch``.
    """
    fbuf, dbuf, ibuf, covered, order, values, takes = scratch
    all_meet = True
    for i in range(lo, hi):
        out[q, i] = meets[i]
        if not meets[i]:
            all_meet = False
    if mode == _NONE or all_meet:
        return
    if mode == _FULL and system_meets:
        for i in range(lo, hi):
            out[q, i] = True
        return
    headroom = 0.0
    m = 0
    for i in range(lo, hi):
        if meets[i]:
            give = x[i] - ct[i]
            headroom += give * cap if mode != _FULL else give
        else:
            fbuf[m] = fin[i]
            dbuf[m] = ct[i] - x[i]
            ibuf[m] = i
            m += 1
    _cover_into(fbuf[:m], dbuf[:m], headroom + slack, covered, order, values, takes)
    for j in range(m):
        if covered[j]:
            out[q, ibuf[j]] = True


@njit(inline="always")
def _common_factors(g, dp, z_sys):
    """The national variate, then one per system, in stream order: fills ``z_sys``, returns ``Z_nat``."""
    dist, dof, t_scale, delta, root, mean, scale = dp
    z_nat = _variate(g, dist, dof, t_scale, delta, root, mean, scale)
    for s in range(z_sys.shape[0]):
        z_sys[s] = _variate(g, dist, dof, t_scale, delta, root, mean, scale)
    return z_nat


@njit(inline="always")
def _own_variates(g, dp, e):
    """Every organisation's own standard variate, in stream order (after the common factors)."""
    dist, dof, t_scale, delta, root, mean, scale = dp
    for i in range(e.shape[0]):
        e[i] = _variate(g, dist, dof, t_scale, delta, root, mean, scale)


@njit(inline="always")
def _factor(i, lo, sa, z_nat, z_s, system_loading, own_loading, correlated, corr_root, e):
    """Organisation ``i``'s ``sqrt(a) Z_nat + l_i Z_s + c_i own_i`` from the variates ``e``.

    In a system with a correlation matrix (first member ``lo``), ``own_i`` is the Cholesky
    row times the members' variates up to ``i``, summed in order as
    ``uncertainty.correlated_variates``. Drawing (``_own_variates``) and arithmetic are
    separate loops: the arithmetic loop has no calls in it.
    """
    own = e[i]
    if correlated[i]:
        own = 0.0
        for j in range(lo, i + 1):
            own += corr_root[i, j - lo] * e[j]
    return sa * z_nat + system_loading[i] * z_s + own_loading[i] * own


@njit(inline="always")
def _draw_factors(g, dp, dependence, org_system, start, z_sys, e, f, common, b, d, q):
    """One period's factor model in stream order (national, one per system, one per
    organisation), then every organisation's combined factor into ``f``. With Sobol'
    sampling (``common`` has elements) the national and system variates of block ``b``,
    draw ``d``, period ``q`` are read from ``common`` and only the own variates are drawn."""
    sa, system_loading, own_loading, correlated, corr_root = dependence
    if common.shape[0] > 0:
        z_nat = common[b, d, q, 0]
        for s in range(z_sys.shape[0]):
            z_sys[s] = common[b, d, q, 1 + s]
    else:
        z_nat = _common_factors(g, dp, z_sys)
    _own_variates(g, dp, e)
    for i in range(f.shape[0]):
        home = org_system[i]
        f[i] = _factor(
            i,
            start[home],
            sa,
            z_nat,
            z_sys[home],
            system_loading,
            own_loading,
            correlated,
            corr_root,
            e,
        )


@njit(inline="always")
def _year_end_events(xi, event_loss, ct, mitigation):
    """One organisation's outturn after its large adverse event (``event_loss`` from
    ``_adverse_event``; negative: none), then management actions, exactly as
    ``reference.year_end_events``.

    Scalars rather than the arrays: unpacking a tuple of arrays per organisation costs
    reference counting in the hottest loop (about 15% of the year-end kernel). The event
    is drawn apart, so a lever moving the plan or the mitigation re-applies it unchanged.
    """
    if event_loss >= 0.0:
        xi = xi - event_loss
    shortfall = ct - xi
    if shortfall > 0:
        xi = ct if shortfall <= mitigation else xi + mitigation
    return xi


@njit
def _adverse_event(gu, gz, tail_p, tail_mu, tail_sigma, turnover):
    """Size (£m) of a lognormal large adverse event occurring with probability ``tail_p``, or
    -1 when none occurs: one uniform and one normal, as ``uncertainty.draw_tail_losses``.
    A call rather than inlined, for the reason given in ``_variate``."""
    occurs = gu.random() < tail_p
    z = gz.standard_normal()
    if occurs:
        return turnover * math.exp(tail_mu + tail_sigma * z) / 100.0
    return -1.0


@njit(inline="always")
def _system_meets(x, start, sct, out):
    """System test of every system: members' outturn summed in order against ``sct`` (writes ``out``)."""
    for s in range(sct.shape[0]):
        total = 0.0
        for i in range(start[s], start[s + 1]):
            total += x[i]
        out[s] = total >= sct[s]


@njit(inline="always")
def _record_system_loss(k, s, b, tid, lost, any_lost, funding, bins, out):
    """Statistics of scheme ``k``'s loss ``lost`` in system ``s`` (of ``funding`` at stake) in
    one draw; ``any_lost``: some member lost funding. ``out``: the system and national
    accumulators (floats per block ``b``, counts per thread ``tid``)."""
    f_sys_lost, f_sys_lost2, f_sys_hsum, _, _, _, i_sys_hist, _, i_sys_any, i_sys_all = out
    f_sys_lost[b, k, s] += lost
    f_sys_lost2[b, k, s] += lost * lost
    sbin = _loss_bin(lost, funding, bins)
    i_sys_hist[tid, k, s, sbin] += 1
    f_sys_hsum[b, k, s, sbin] += lost
    if any_lost:
        i_sys_any[tid, k, s] += 1
    if funding > 0.0 and lost >= funding * (1.0 - 1e-9):
        i_sys_all[tid, k, s] += 1


@njit(inline="always")
def _record_national_loss(k, b, tid, lost, funding, bins, out):
    """Statistics of scheme ``k``'s national loss in one draw (see ``_record_system_loss``)."""
    _, _, _, f_nat_lost, f_nat_lost2, f_nat_hsum, _, i_nat_hist, _, _ = out
    f_nat_lost[b, k] += lost
    f_nat_lost2[b, k] += lost * lost
    nbin = _loss_bin(lost, funding, bins)
    i_nat_hist[tid, k, nbin] += 1
    f_nat_hsum[b, k, nbin] += lost


@njit
def _add_scheme_losses(k, b, tid, sys_lost, sys_any, sys_funding, nat_funding, bins, out):
    """Quarterly mode: system and national statistics of scheme ``k``'s losses in one draw,
    from each system's loss (members' losses summed in order) and whether any member lost.

    A plain call, not inlined: inlined into the ``prange`` body, numba 0.68 lost the
    national accumulation (caught by the parity tests); one call per scheme and draw is cheap.
    """
    nat_lost = 0.0
    for s in range(sys_funding.shape[0]):
        _record_system_loss(k, s, b, tid, sys_lost[s], sys_any[s], sys_funding[s], bins, out)
        nat_lost += sys_lost[s]
    _record_national_loss(k, b, tid, nat_lost, nat_funding, bins, out)


#: Schemes per word of the ``lossy`` bit sets (int64 words; bit 63 left clear).
WORD_BITS = 63


@njit
def _score_draw(
    b,
    tid,
    passes,
    sys_meets,
    earned_bits,
    start,
    fin,
    ae,
    sys_funding,
    sys_fin,
    nat_funding,
    bins,
    tables,
    codes,
    nat_lost,
    any_words,
    i_org_code,
    i_sys_test,
    out,
    sys_lost_out,
    stats,
):
    """Year-end mode, one draw: every class's outcome codes, then every scheme's system and
    national statistics (writes ``codes``, and each scheme's system loss into ``sys_lost_out``;
    ``nat_lost`` and ``any_words`` are scratch). ``passes``: ``(groups, 1, N)``, the year end
    being the one period; ``earned_bits``: bit 0, the A&E element earned; ``tables``:
    ``inputs.YearEndTables``. Without ``stats`` (traces) the system and
    national losses are not recorded; the per-thread code counts still are (cheap, unread).

    One pass over the members per class and system counts their codes and sums the
    finance element of those passing their own test (``fin_kept``) and the A&E element
    paid; a scheme's system loss is then linear in its ``system_linked_share`` ``s``:
    ``funding - ((1 - s) fin_kept + s [system passes] fin + ae_paid)``, the sum of the
    members' losses, so each scheme costs O(1) per system instead of a pass over the
    members. Whether any member lost funding comes from the ``lossy`` bit sets (bit ``j``
    of class ``c``, member ``i``, code: the class's ``j``-th scheme leaves that member a
    loss in a non-zero histogram bin). A system where no member lost loses exactly 0.
    A plain call, not inlined, like ``_add_scheme_losses``.
    """
    _, _, _, _, _, _, i_sys_hist, _, _, _ = out
    class_group = tables.class_group
    class_test = tables.class_test
    class_gate = tables.class_gate
    class_start = tables.class_start
    class_schemes = tables.class_schemes
    share = tables.share
    lossy = tables.lossy
    last = passes.shape[1] - 1
    n_words = any_words.shape[0]
    for k in range(nat_lost.shape[0]):
        nat_lost[k] = 0.0
    for c in range(class_group.shape[0]):
        q = class_group[c]
        gate = class_gate[c]  # rules.ae_gate_code: bit 0 own test, bit 1 system test, 0 none
        ungated = gate == _AE_GATE_NONE
        own_gate = (gate & _AE_GATE_OWN) != 0
        system_gate = (gate & _AE_GATE_SYSTEM) != 0
        every = class_test[c] == _EVERY_MEMBER
        for s in range(sys_funding.shape[0]):
            lo = start[s]
            hi = start[s + 1]
            ok = sys_meets[s]
            if every:
                ok = True
                for i in range(lo, hi):
                    if not passes[q, last, i]:
                        ok = False
                        break
            if ok:
                i_sys_test[tid, c, s] += 1
            fin_kept = 0.0
            ae_paid = 0.0
            any_lost = np.int64(0)  # the first word of the bit sets, kept in a register
            for w in range(1, n_words):
                any_words[w] = 0
            ok_bit = 2 if ok else 0
            opened = ungated | (system_gate & ok)  # the gate opened for every member
            for i in range(lo, hi):
                # Branch-free: adding 0.0 leaves a float sum bit for bit unchanged.
                p = passes[q, last, i]
                earned = (earned_bits[i] & 1) != 0
                got_ae = earned & ((p & own_gate) | opened)
                code = np.int64(p) | ok_bit | (np.int64(got_ae) << 2)
                codes[c, i] = code
                i_org_code[tid, c, i, code] += 1
                fin_kept += fin[i] * p
                ae_paid += ae[i] * got_ae
                any_lost |= lossy[c, i, code, 0]
                for w in range(1, n_words):
                    any_words[w] |= lossy[c, i, code, w]
            any_words[0] = any_lost
            system_paid = sys_fin[s] if ok else 0.0
            for j in range(class_start[c], class_start[c + 1]):
                k = class_schemes[j]
                bit = j - class_start[c]
                if (any_words[bit // WORD_BITS] >> (bit % WORD_BITS)) & 1 == 0:
                    i_sys_hist[tid, k, s, 0] += 1
                    sys_lost_out[k, s] = 0.0
                    continue
                linked = share[k]
                sys_lost = sys_funding[s] - (
                    (1.0 - linked) * fin_kept + linked * system_paid + ae_paid
                )
                sys_lost_out[k, s] = sys_lost
                if stats:
                    _record_system_loss(k, s, b, tid, sys_lost, True, sys_funding[s], bins, out)
                    nat_lost[k] += sys_lost
    if stats:
        for k in range(nat_lost.shape[0]):
            _record_national_loss(k, b, tid, nat_lost[k], nat_funding, bins, out)


@njit(inline="always")
def _pay_bonus(k, b, unearned, passed, funding, provider, bonus_share, f_org_bonus, f_org_bonus2):
    """Rule 8 for one draw and scheme, as ``reference.bonus_paid``: the finance funding left
    ``unearned`` by each trust (``provider``) pooled and paid to the trusts that ``passed``."""
    pool = 0.0
    weight = 0.0
    for i in range(funding.shape[0]):
        if provider[i]:
            pool += unearned[i]
            if passed[i]:
                weight += funding[i]
    if weight > 0.0:
        ratio = bonus_share * pool / weight
        for i in range(funding.shape[0]):
            if provider[i] and passed[i]:
                share = ratio * funding[i]
                f_org_bonus[b, k, i] += share
                f_org_bonus2[b, k, i] += share * share


@njit(inline="always")
def _fixed_point(lost, funding):
    """A loss as an integer in units of ``1 / FIXED_POINT`` of the funding at stake, exactly as
    ``stats.fixed_point_loss``."""
    safe = funding if funding > 0.0 else 1.0
    return np.int64(math.floor(lost / safe * FIXED_POINT + 0.5))


@njit
def _bonus_held_at_baseline(base, unearned, passed, funding, provider, bonus_share, start, out):
    """Rule 8 per option and system with every other system at the baseline, as
    ``reference.bonus_held_at_baseline`` (writes ``out``, ``(K, N)``): the pool of unearned
    trust finance, the recipients' allocations and their count are summed once for the
    baseline, and each (option, system) swaps in its own members' figures, so a draw costs
    O(options x organisations), not O(options x systems x organisations). Paid as
    ``_pay_bonus`` pays: ``bonus_share * pool / weight * funding`` to each trust that passed,
    nothing when no trust with an allocation passed."""
    n_schemes, n_orgs = unearned.shape
    pool_b = 0.0
    weight_b = 0.0
    count_b = 0
    for i in range(n_orgs):
        if provider[i]:
            pool_b += unearned[base, i]
            if passed[base, i] and funding[i] > 0.0:
                weight_b += funding[i]
                count_b += 1
    for k in range(n_schemes):
        for s in range(start.shape[0] - 1):
            lo = start[s]
            hi = start[s + 1]
            pool = pool_b
            weight = weight_b
            count = count_b
            for i in range(lo, hi):
                if provider[i]:
                    pool += unearned[k, i] - unearned[base, i]
                    if funding[i] > 0.0:
                        if passed[k, i]:
                            weight += funding[i]
                            count += 1
                        if passed[base, i]:
                            weight -= funding[i]
                            count -= 1
            ratio = bonus_share * pool / weight if count > 0 else 0.0
            for i in range(lo, hi):
                out[k, i] = ratio * funding[i] if provider[i] and passed[k, i] else 0.0


@njit
def _record_decision(
    b, tid, base, paid, lost, ae_paid, sys_lost, bonus, funding, start, sys_funding, bins, out
):
    """Decision statistics of one draw (``stats.PairedStats``, as ``reference.reduce_paired_block``).

    ``paid``, ``lost``, ``ae_paid`` and ``bonus`` (the bonus with the other systems at the
    baseline, zeros without one) are ``(K, N)``; ``sys_lost`` is each scheme's system loss
    ``(K, S)``, as the run's statistics recorded it. Floats per block ``b``, integer counts and
    fixed-point loss sums per thread ``tid``. A plain call, like ``_add_scheme_losses``.
    """
    f_out, i_out, sys_paid, sys_income, nat_paid = out
    (
        f_dpaid,
        f_dpaid2,
        f_income,
        f_dincome,
        f_dincome2,
        f_ae,
        f_sys_paid,
        f_sys_cross,
        f_sys_income,
        f_sys_income_cross,
        f_nat_cross,
    ) = f_out
    i_hist_sum, i_member, i_over, i_over_only = i_out
    n_schemes, n_orgs = paid.shape
    n_sys = sys_funding.shape[0]
    for k in range(n_schemes):
        for i in range(n_orgs):
            p = paid[k, i]
            income = p + bonus[k, i]
            d = p - paid[base, i]
            d_income = income - (paid[base, i] + bonus[base, i])
            f_dpaid[b, k, i] += d
            f_dpaid2[b, k, i] += d * d
            f_income[b, k, i] += income
            f_dincome[b, k, i] += d_income
            f_dincome2[b, k, i] += d_income * d_income
            f_ae[b, k, i] += ae_paid[k, i]
            q = _fixed_point(lost[k, i], funding[i])
            if q != 0:
                i_hist_sum[tid, _loss_bin(lost[k, i], funding[i], bins), k, i] += q
        for s in range(n_sys):
            lost_s = sys_lost[k, s]
            sbin = _loss_bin(lost_s, sys_funding[s], bins)
            bonus_s = 0.0
            for i in range(start[s], start[s + 1]):
                bonus_s += bonus[k, i]
                q = _fixed_point(lost[k, i], funding[i])
                if q != 0:
                    i_member[tid, sbin, k, i] += q
            sys_paid[k, s] = sys_funding[s] - lost_s
            sys_income[k, s] = sys_paid[k, s] + bonus_s
            f_sys_paid[b, k, s] += sys_paid[k, s]
            f_sys_income[b, k, s] += sys_income[k, s]
            slack = 1e-9 * sys_funding[s]
            base_s = sys_lost[base, s]
            for t in range(2):
                threshold = SYSTEM_LOSS_ABS if t == 0 else SYSTEM_LOSS_SHARE * sys_funding[s]
                mine = lost_s - threshold > slack
                theirs = base_s - threshold > slack
                if mine:
                    i_over[tid, k, s, t] += 1
                    if not theirs:
                        i_over_only[tid, k, s, t, 0] += 1
                elif theirs:
                    i_over_only[tid, k, s, t, 1] += 1
    for s in range(n_sys):
        for k in range(n_schemes):
            for j in range(n_schemes):
                f_sys_cross[b, k, j, s] += sys_paid[k, s] * sys_paid[j, s]
                f_sys_income_cross[b, k, j, s] += sys_income[k, s] * sys_income[j, s]
    for k in range(n_schemes):
        nat_paid[k] = 0.0
        for s in range(n_sys):
            nat_paid[k] += sys_paid[k, s]
    for k in range(n_schemes):
        for j in range(n_schemes):
            f_nat_cross[b, k, j] += nat_paid[k] * nat_paid[j]


@njit
def _record_contagion(tid, x, meets, ct, start, sct, sys_meets, i_miss_miss, i_pivotal):
    """Who puts the system at risk, at year end (the same under every option): the member and
    its system both miss; the system misses but would meet with the member at its own control
    total (others as drawn), as ``reference.reduce_paired_block``."""
    for s in range(sct.shape[0]):
        if sys_meets[s]:
            continue
        total = 0.0
        for i in range(start[s], start[s + 1]):
            total += x[i]
        for i in range(start[s], start[s + 1]):
            if not meets[i]:
                i_miss_miss[tid, i] += 1
            if (total - x[i]) + max(x[i], ct[i]) >= sct[s]:
                i_pivotal[tid, i] += 1


@njit
def _record_trace(row, position, member, paid, passed, sys_lost, outturn, trace):
    """Per-draw outputs for the incentive gradient and the solvers (``KernelRun(trace=True)``),
    row ``row``, lever position ``position``: funding paid and year-end pass ``(K, M)``, system
    loss ``(K, S)`` and year-end outturn ``(M,)``, of every member (``member`` -1: no lever,
    ``M = N``) or of the lever's member alone (``M = 1``)."""
    _, t_paid, t_passed, t_sys_lost, t_outturn = trace
    lo = 0 if member < 0 else member
    for c in range(t_outturn.shape[2]):
        t_outturn[row, position, c] = outturn[lo + c]
    for k in range(paid.shape[0]):
        for c in range(t_paid.shape[3]):
            t_paid[row, position, k, c] = paid[k, lo + c]
            t_passed[row, position, k, c] = passed[k, lo + c]
        for s in range(sys_lost.shape[1]):
            t_sys_lost[row, position, k, s] = sys_lost[k, s]


@njit(inline="always")
def _decision_scratch(n_schemes, n_orgs, n_sys):
    """One block's per-draw buffers for the decision statistics: paid, lost, A&E paid, unearned
    finance, passed (year end), bonus with the other systems at the baseline (``(K, N)``), each
    scheme's system loss, paid and income (``(K, S)``) and national paid (``(K,)``)."""
    return (
        np.zeros((n_schemes, n_orgs)),
        np.zeros((n_schemes, n_orgs)),
        np.zeros((n_schemes, n_orgs)),
        np.zeros((n_schemes, n_orgs)),
        np.zeros((n_schemes, n_orgs), dtype=np.bool_),
        np.zeros((n_schemes, n_orgs)),
        np.zeros((n_schemes, n_sys)),
        np.zeros((n_schemes, n_sys)),
        np.zeros((n_schemes, n_sys)),
        np.zeros(n_schemes),
    )


@njit(inline="always")
def _block_buffers(n_periods, n_orgs, n_sys, n_groups, start):
    """One block's per-draw buffers shared by both passes, period first (see ``inputs.Periods``):
    running increments, outturns, factor scratch, own and system tests, passes after
    redistribution, their bit patterns, the A&E earned bits, the large adverse events, a lever
    member's drawn figures and the cover's scratch."""
    return (
        np.empty((n_periods, n_orgs)),  # running: the increments summed to each period
        np.empty((n_periods, n_orgs)),  # x: outturn (year to date) of each period
        np.empty(n_orgs),  # e: own variates
        np.empty(n_orgs),  # f: combined factors
        np.empty(n_sys),  # z_sys: system variates
        np.empty((n_periods, n_orgs), dtype=np.bool_),  # meets
        np.empty((n_periods, n_sys), dtype=np.bool_),  # sys_meets
        np.empty(n_sys, dtype=np.int64),  # sys_meet_bits: bit q, the system met period q + 1
        np.empty((n_groups, n_periods, n_orgs), dtype=np.bool_),  # passes
        np.empty((n_groups, n_orgs), dtype=np.int64),  # pass_bits: bit q, passed period q + 1
        np.empty(n_orgs, dtype=np.int64),  # earned_bits: bit q, A&E earned in period q + 1
        np.full(n_orgs, -1.0),  # event_loss: this draw's large adverse events (-1: none)
        np.empty(n_periods),  # drawn: a lever member's drawn figures, restored after
        _redistribution_scratch(start),
    )


@njit(inline="always")
def _draw_paths(
    g, ga, gu, gz, dp, dependence, events, org_system, start, plan, sd, ct, p_ae, work, common, b, d
):
    """One draw of every period, as ``reference.draw_block`` and ``block_ytd_outturns``: each
    period's whole factor model in stream order (national, one per system, one per
    organisation; with Sobol' sampling the common factors of block ``b``'s draw ``d`` from
    ``common``), the running sum of the increments (year to date), the year-end events on
    the last period, and the A&E element earned per period (``earned_bits``, its own stream:
    order among streams is free). ``work``: ``_block_buffers``."""
    running, x, e, f, z_sys, _, _, _, _, _, earned_bits, event_loss, _, _ = work
    has_tails, turnover, tail_p, tail_mu, tail_sigma, mitigation = events
    n_periods, n_orgs = plan.shape
    last = n_periods - 1
    for q in range(n_periods):
        _draw_factors(g, dp, dependence, org_system, start, z_sys, e, f, common, b, d, q)
        for i in range(n_orgs):
            before = running[q - 1, i] if q > 0 else 0.0
            running[q, i] = before + sd[q, i] * f[i]
            x[q, i] = plan[q, i] + running[q, i]
    for i in range(n_orgs):
        if has_tails:
            event_loss[i] = _adverse_event(
                gu, gz, tail_p[i], tail_mu[i], tail_sigma[i], turnover[i]
            )
        x[last, i] = _year_end_events(x[last, i], event_loss[i], ct[i], mitigation[i])
    for i in range(n_orgs):
        earned_bits[i] = 0
    for q in range(n_periods):
        for i in range(n_orgs):
            if ga.random() < p_ae[q, i]:
                earned_bits[i] |= 1 << q


@njit
def _move_lever(j, lever_plan, lever_mitigation, ct, running, event_loss, x, drawn):
    """Lever position: member ``j``'s outturns ``x`` with the position's plan (one per period)
    and mitigation, on the same draws (its drawn figures kept in ``drawn``), the drawn large
    adverse event applied again. A plain call, once per position and draw: inlined into the
    ``prange`` body, numba 0.68 dropped the year-end events of the moved member (caught by
    the lever parity tests)."""
    last = x.shape[0] - 1
    for q in range(x.shape[0]):
        drawn[q] = x[q, j]
        x[q, j] = lever_plan[q] + running[q, j]
    x[last, j] = _year_end_events(x[last, j], event_loss[j], ct[j], lever_mitigation)


@njit(inline="always")
def _restore_lever(j, work):
    """Member ``j`` back to its drawn figures, for the next position."""
    _, x, _, _, _, _, _, _, _, _, _, _, drawn, _ = work
    for q in range(x.shape[0]):
        x[q, j] = drawn[q]


@njit(inline="always")
def _period_tests(period_ct, start, sct, work):
    """Own and system tests of every period (``meets``, ``sys_meets``) and each system's bit
    pattern of periods met (``sys_meet_bits``)."""
    _, x, _, _, _, meets, sys_meets, sys_meet_bits, _, _, _, _, _, _ = work
    n_periods, n_orgs = x.shape
    for q in range(n_periods):
        for i in range(n_orgs):
            meets[q, i] = x[q, i] >= period_ct[q, i]
        _system_meets(x[q], start, sct[q], sys_meets[q])
    for s in range(sct.shape[1]):
        bits = 0
        for q in range(n_periods):
            if sys_meets[q, s]:
                bits |= 1 << q
        sys_meet_bits[s] = bits


@njit(inline="always")
def _count_year_end(b, tid, work, org_outturn_sum, org_meet, system_meet):
    """The run's statistics of the year-end outturns and tests (the last period)."""
    _, x, _, _, _, meets, sys_meets, _, _, _, _, _, _, _ = work
    last = x.shape[0] - 1
    for i in range(x.shape[1]):
        org_outturn_sum[b, i] += x[last, i]
        if meets[last, i]:
            org_meet[tid, i] += 1
    for s in range(sys_meets.shape[1]):
        if sys_meets[last, s]:
            system_meet[tid, s] += 1


@njit(inline="always")
def _cover_groups(group_mode, group_cap, start, period_ct, fin, slack, work):
    """Every redistribution group's passes after redistribution in every period and system
    (``passes``), and in quarterly mode each member's bit pattern of periods passed."""
    _, x, _, _, _, meets, sys_meets, _, passes, pass_bits, _, _, _, scratch = work
    n_periods, n_orgs = x.shape
    for r in range(group_mode.shape[0]):
        for q in range(n_periods):
            for s in range(start.shape[0] - 1):
                _group_passes(
                    group_mode[r],
                    group_cap[r],
                    start[s],
                    start[s + 1],
                    x[q],
                    period_ct[q],
                    fin,
                    meets[q],
                    sys_meets[q, s],
                    slack[q, s],
                    passes[r],
                    q,
                    scratch,
                )
        if n_periods > 1:
            for i in range(n_orgs):
                bits = 0
                for q in range(n_periods):
                    if passes[r, q, i]:
                        bits |= 1 << q
                pass_bits[r, i] = bits


@njit(inline="always")
def _decision_tail(b, tid, p, j, row, money, members, period_ct, sct, work, dec_out, scratch):
    """Decision statistics of one draw and lever position from the per-scheme figures in
    ``scratch`` (``_decision_scratch``, filled by the pass's scoring): the bonus with the other
    systems at the baseline, the paired statistics, contagion at year end, and the traces.
    ``dec_out``: the fields of ``inputs.Decision`` after ``on``, unpacked by the entry outside
    its parallel loop (numba 0.68 cannot hand a tuple of arrays read off a named tuple inside
    a ``prange`` body to its threads)."""
    _, x, _, _, _, meets, sys_meets, _, _, _, _, _, _, _ = work
    base, f_dec, i_dec, i_miss_miss, i_pivotal, trace = dec_out
    funding = members.funding
    start = members.system_start
    (
        d_paid,
        d_lost,
        d_ae,
        d_unearned,
        d_passed,
        d_bonus,
        d_sys_lost,
        d_sys_paid,
        d_sys_income,
        d_nat_paid,
    ) = scratch
    last = x.shape[0] - 1
    if money.bonus and base >= 0:
        _bonus_held_at_baseline(
            base,
            d_unearned,
            d_passed,
            funding,
            members.is_provider,
            money.bonus_share,
            start,
            d_bonus,
        )
    if base >= 0:
        _record_decision(
            b,
            tid,
            base,
            d_paid,
            d_lost,
            d_ae,
            d_sys_lost,
            d_bonus,
            funding,
            start,
            money.system_funding,
            money.bins,
            (f_dec, i_dec, d_sys_paid, d_sys_income, d_nat_paid),
        )
        _record_contagion(
            tid,
            x[last],
            meets[last],
            period_ct[last],
            start,
            sct[last],
            sys_meets[last],
            i_miss_miss,
            i_pivotal,
        )
    if trace[1].shape[0] > 0:
        _record_trace(row, p, j, d_paid, d_passed, d_sys_lost, x[last], trace)


@njit(inline="always")
def _year_end_decision_figures(codes, tables, ae, scratch):
    """Year end: each scheme's funding paid, lost, A&E paid, unearned finance and pass for
    the decision statistics, read off the class's outcome codes."""
    d_paid, d_lost, d_ae, d_unearned, d_passed, _, _, _, _, _ = scratch
    scheme_class = tables.scheme_class
    paid_table = tables.paid
    lost_table = tables.lost
    unearned_table = tables.unearned
    for k in range(scheme_class.shape[0]):
        c = scheme_class[k]
        for i in range(codes.shape[1]):
            code = codes[c, i]
            d_paid[k, i] = paid_table[k, i, code]
            d_lost[k, i] = lost_table[k, i, code]
            d_ae[k, i] = ae[i] if (code & 4) != 0 else 0.0
            d_unearned[k, i] = unearned_table[k, i, code]
            d_passed[k, i] = (code & 1) != 0


@njit(inline="always")
def _year_end_bonus(b, codes, tables, members, money, unearned, passed, org_bonus, org_bonus2):
    """Year end: rule 8 for every scheme, each member's unearned finance and pass read off
    its class's outcome code."""
    scheme_class = tables.scheme_class
    unearned_table = tables.unearned
    for k in range(scheme_class.shape[0]):
        c = scheme_class[k]
        for i in range(codes.shape[1]):
            unearned[i] = unearned_table[k, i, codes[c, i]]
            passed[i] = (codes[c, i] & 1) != 0
        _pay_bonus(
            k,
            b,
            unearned,
            passed,
            members.funding,
            members.is_provider,
            money.bonus_share,
            org_bonus,
            org_bonus2,
        )


@njit(inline="always")
def _pay_quarters(b, tid, stats, decision, tables, members, money, work, ms, ss, scratch, sc):
    """Quarterly mode, one draw and lever position: per scheme and organisation the year's
    payment from its pattern of passes (``tables.quarterly_tables``), its split by quarter and
    the loss, each system's loss summed while its members are paid, then the system and
    national statistics and the bonus (rule 8). ``sc``: ``(sys_lost, sys_any, unearned,
    passed)`` scratch; ``scratch``: the decision figures (``_decision_scratch``)."""
    _, x, _, _, _, _, _, sys_meet_bits, _, pass_bits, earned_bits, _, _, _ = work
    sys_lost, sys_any, unearned, passed = sc
    d_paid, d_lost, d_ae, d_unearned, d_passed, _, d_sys_lost, _, _, _ = scratch
    scheme_group = tables.scheme_group
    scheme_test = tables.scheme_test
    scheme_gate = tables.scheme_gate
    scheme_share = tables.share
    share_table = tables.share_table
    instalment_table = tables.instalment_table
    ae_share_table = tables.ae_share_table
    ae_instalment_table = tables.ae_instalment_table
    fin = members.finance
    ae = members.ae
    funding = members.funding
    start = members.system_start
    bins = money.bins
    bonus = money.bonus
    f_org_paid = ms.org_paid_sum
    f_org_lost = ms.org_lost_sum
    f_org_lost2 = ms.org_lost_sumsq
    f_org_paid_q = ms.org_paid_quarter_sum
    i_org_pass = ms.org_pass
    i_org_any = ms.org_any_lost
    i_org_hist = ms.org_hist
    i_sys_test = ms.system_test_pass
    n_q = x.shape[0]
    n_sys = start.shape[0] - 1
    year_end_bit = 1 << (n_q - 1)
    all_quarters = (1 << n_q) - 1
    for k in range(scheme_group.shape[0]):
        r = scheme_group[k]
        gate = scheme_gate[k]
        linked = scheme_share[k]
        own = 1.0 - linked
        for s in range(n_sys):
            lo = start[s]
            hi = start[s + 1]
            if scheme_test[k] == _EVERY_MEMBER:
                sys_bits = all_quarters
                for i in range(lo, hi):
                    sys_bits &= pass_bits[r, i]
            else:
                sys_bits = sys_meet_bits[s]
            if stats and (sys_bits & year_end_bit) != 0:
                i_sys_test[tid, k, s] += 1
            # Rule 1: quarters the gate opens whatever the member's own test.
            opened_bits = all_quarters if gate == _AE_GATE_NONE else 0
            if (gate & _AE_GATE_SYSTEM) != 0:
                opened_bits |= sys_bits
            own_mask = all_quarters if (gate & _AE_GATE_OWN) != 0 else 0
            sys_lost_s = 0.0
            sys_any_s = False
            for i in range(lo, hi):
                org_bits = pass_bits[r, i]
                ae_bits = earned_bits[i] & ((org_bits & own_mask) | opened_bits)
                fin_i = fin[i]
                ae_i = ae[i]
                # Finance shares by the member's kind (PSF or CSF weights and recovery).
                fin_paid = fin_i * (
                    own * share_table[i, org_bits] + linked * share_table[i, sys_bits]
                )
                ae_paid_i = ae_i * ae_share_table[ae_bits]
                paid = fin_paid + ae_paid_i
                loss = funding[i] - paid
                sys_lost_s += loss
                if stats:
                    for q in range(n_q):
                        fin_q = (
                            own * instalment_table[i, org_bits, q]
                            + linked * instalment_table[i, sys_bits, q]
                        )
                        f_org_paid_q[b, k, i, q] += (
                            fin_i * fin_q + ae_i * ae_instalment_table[ae_bits, q]
                        )
                    loss_bin = _loss_bin(loss, funding[i], bins)
                    sys_any_s = sys_any_s or loss_bin > 0
                    f_org_paid[b, k, i] += paid
                    f_org_lost[b, k, i] += loss
                    f_org_lost2[b, k, i] += loss * loss
                    i_org_hist[tid, loss_bin, k, i] += 1
                    if loss_bin > 0:
                        i_org_any[tid, k, i] += 1
                    if (org_bits & year_end_bit) != 0:
                        i_org_pass[tid, k, i] += 1
                    if bonus:
                        unearned[i] = fin_i - fin_paid
                        passed[i] = (org_bits & year_end_bit) != 0
                if decision:
                    d_paid[k, i] = paid
                    d_lost[k, i] = loss
                    d_ae[k, i] = ae_paid_i
                    d_unearned[k, i] = fin_i - fin_paid
                    d_passed[k, i] = (org_bits & year_end_bit) != 0
            sys_lost[s] = sys_lost_s
            sys_any[s] = sys_any_s
            d_sys_lost[k, s] = sys_lost_s
        if stats:
            _add_scheme_losses(
                k,
                b,
                tid,
                sys_lost,
                sys_any,
                money.system_funding,
                money.national_funding,
                bins,
                ss,
            )
            if bonus:
                _pay_bonus(
                    k,
                    b,
                    unearned,
                    passed,
                    funding,
                    members.is_provider,
                    money.bonus_share,
                    ms.org_bonus_sum,
                    ms.org_bonus_sumsq,
                )


@njit(parallel=True, cache=True)
def run_wave(
    streams, shocks, periods, members, money, groups, tables, ms, ss, dec, stats, levers, prof
):
    """Year-end mode (see the module docstring): the one-period case of the quarterly pass
    (``inputs.Periods`` with ``P = 1``), scored by outcome codes per class (``_score_draw``).

    ``dec`` (``inputs.Decision``): when ``on``, the decision statistics against scheme
    ``baseline`` (floats per block, integers per thread, contagion counts), and per-draw
    traces when their arrays have rows, block ``b`` from row ``trace[0][b]`` of the wave
    (``baseline`` -1: traces only), each member's funding paid and lost read off the
    outcome-code tables. ``levers`` (``inputs.Levers``): the rules are applied once per lever
    position to the same draws, with that position's member's plan and mitigation (member -1:
    none, as drawn); traces get one entry per position. ``stats``: keep the run's statistics
    (a plain run: one position, no lever; trace runs keep none). ``prof``: cycles per thread
    and ``PHASES`` (no rows: not profiled)."""
    decision, base, f_dec, i_dec, i_miss_miss, i_pivotal, trace = dec
    tracing = trace[1].shape[0] > 0
    dp, dependence, events = shocks
    plan, sd, period_ct, sct, slack, ct = periods
    fin = members.finance
    ae = members.ae
    start = members.system_start
    lever_member, lever_plan, lever_mitigation = levers
    class_group = tables.class_group
    n_periods, n_orgs = plan.shape
    n_sys = sct.shape[1]
    n_groups = groups.mode.shape[0]
    n_classes = class_group.shape[0]
    n_schemes = tables.scheme_class.shape[0]
    for b in prange(streams.block_n.shape[0]):
        tid = numba.get_thread_id()
        bi = np.int64(b)  # prange indices are unsigned; typed lists want signed
        g = streams.shocks[bi]
        ga = streams.ae[bi]
        gu = streams.tail_occurs[bi]
        gz = streams.tail_size[bi]
        work = _block_buffers(n_periods, n_orgs, n_sys, n_groups, start)
        codes = np.empty((n_classes, n_orgs), dtype=np.int64)
        nat_lost = np.empty(n_schemes)
        any_words = np.empty(tables.lossy.shape[3], dtype=np.int64)
        unearned = np.empty(n_orgs)
        passed = np.empty(n_orgs, dtype=np.bool_)
        scratch = _decision_scratch(n_schemes, n_orgs, n_sys)
        row = trace[0][b]
        block_start = _cycle_counter()
        for d in range(streams.block_n[b]):
            lap = _cycle_counter()
            _draw_paths(
                g, ga, gu, gz, dp, dependence, events, members.org_system, start, plan, sd, ct,
                members.p_ae, work, streams.common, bi, d,
            )  # fmt: skip
            lap = _lap(prof, tid, _DRAWING, lap)
            # Every lever position on the same draws (a plain run: one, without a lever).
            for p in range(lever_member.shape[0]):
                j = lever_member[p]
                if j >= 0:
                    _move_lever(
                        j, lever_plan[p], lever_mitigation[p], ct, work[0], work[11], work[1],
                        work[12],
                    )  # fmt: skip
                _period_tests(period_ct, start, sct, work)
                if stats:
                    _count_year_end(b, tid, work, ms.org_outturn_sum, ms.org_meet, ms.system_meet)
                lap = _lap(prof, tid, _TESTS, lap)
                _cover_groups(groups.mode, groups.cap, start, period_ct, fin, slack, work)
                lap = _lap(prof, tid, _COVER, lap)
                _score_draw(
                    b,
                    tid,
                    work[8],
                    work[6][0],
                    work[10],
                    start,
                    fin,
                    ae,
                    money.system_funding,
                    money.system_finance,
                    money.national_funding,
                    money.bins,
                    tables,
                    codes,
                    nat_lost,
                    any_words,
                    ms.org_code,
                    ms.system_test_pass,
                    ss,
                    scratch[6],
                    stats,
                )
                lap = _lap(prof, tid, _SCORING, lap)
                if decision:
                    _year_end_decision_figures(codes, tables, ae, scratch)
                    _decision_tail(
                        b, tid, p, j, row, money, members, period_ct, sct, work,
                        (base, f_dec, i_dec, i_miss_miss, i_pivotal, trace), scratch,
                    )  # fmt: skip
                lap = _lap(prof, tid, _DECISION, lap)
                if stats and money.bonus:
                    _year_end_bonus(
                        b, codes, tables, members, money, unearned, passed,
                        ms.org_bonus_sum, ms.org_bonus_sumsq,
                    )  # fmt: skip
                lap = _lap(prof, tid, _BONUS, lap)
                if j >= 0:
                    _restore_lever(j, work)
            if tracing:
                row += 1
        _lap(prof, tid, _BLOCK, block_start)


@njit(parallel=True, cache=True)
def run_wave_quarterly(
    streams, shocks, periods, members, money, groups, tables, ms, ss, dec, stats, levers, prof
):
    """Rule 6, as ``reference.apply_schemes_quarterly``: ``inputs.Periods`` with ``P = 4``
    (year to date), the same drawing, lever positions, tests and cover as ``run_wave``, then
    the payments by pattern of quarterly passes (``_pay_quarters``). A pattern is a 4-bit
    number (bit ``q`` for quarter ``q + 1``) indexing the payment tables of
    ``tables.quarterly_tables``. ``dec``, ``stats``, ``levers`` and ``prof`` as in
    ``run_wave`` (a lever position's plan is a YTD row)."""
    decision, base, f_dec, i_dec, i_miss_miss, i_pivotal, trace = dec
    tracing = trace[1].shape[0] > 0
    dp, dependence, events = shocks
    plan, sd, period_ct, sct, slack, ct = periods
    fin = members.finance
    start = members.system_start
    lever_member, lever_plan, lever_mitigation = levers
    n_periods, n_orgs = plan.shape
    n_sys = sct.shape[1]
    n_groups = groups.mode.shape[0]
    n_schemes = tables.scheme_group.shape[0]
    for b in prange(streams.block_n.shape[0]):
        tid = numba.get_thread_id()
        bi = np.int64(b)
        g = streams.shocks[bi]
        ga = streams.ae[bi]
        gu = streams.tail_occurs[bi]
        gz = streams.tail_size[bi]
        work = _block_buffers(n_periods, n_orgs, n_sys, n_groups, start)
        sc = (
            np.empty(n_sys),
            np.empty(n_sys, dtype=np.bool_),
            np.empty(n_orgs),
            np.empty(n_orgs, dtype=np.bool_),
        )
        scratch = _decision_scratch(n_schemes, n_orgs, n_sys)
        row = trace[0][b]
        block_start = _cycle_counter()
        for d in range(streams.block_n[b]):
            lap = _cycle_counter()
            _draw_paths(
                g, ga, gu, gz, dp, dependence, events, members.org_system, start, plan, sd, ct,
                members.p_ae, work, streams.common, bi, d,
            )  # fmt: skip
            lap = _lap(prof, tid, _DRAWING, lap)
            for p in range(lever_member.shape[0]):
                j = lever_member[p]
                if j >= 0:
                    _move_lever(
                        j, lever_plan[p], lever_mitigation[p], ct, work[0], work[11], work[1],
                        work[12],
                    )  # fmt: skip
                _period_tests(period_ct, start, sct, work)
                if stats:
                    _count_year_end(b, tid, work, ms.org_outturn_sum, ms.org_meet, ms.system_meet)
                lap = _lap(prof, tid, _TESTS, lap)
                _cover_groups(groups.mode, groups.cap, start, period_ct, fin, slack, work)
                lap = _lap(prof, tid, _COVER, lap)
                _pay_quarters(
                    b, tid, stats, decision, tables, members, money, work, ms, ss, scratch, sc
                )
                lap = _lap(prof, tid, _SCORING, lap)
                if decision:
                    _decision_tail(
                        b, tid, p, j, row, money, members, period_ct, sct, work,
                        (base, f_dec, i_dec, i_miss_miss, i_pivotal, trace), scratch,
                    )  # fmt: skip
                lap = _lap(prof, tid, _DECISION, lap)
                if j >= 0:
                    _restore_lever(j, work)
            if tracing:
                row += 1
        _lap(prof, tid, _BLOCK, block_start)
