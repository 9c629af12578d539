"""The fused numba kernel: draw, apply every scheme, accumulate, one block at a time.

Same draws and same rules as ``reference.py``, without ever holding an array
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
yields every scheme's system and national losses (``_score_draw``). The knapsack cover is the very function of ``schemes.py``
(``cover_shortfalls_into``, with per-block scratch from ``_redistribution_scratch``),
compiled in place.

Quarterly mode (rule 6) is a second code path, ``_run_wave_quarterly``: four
year-to-date tests per draw make an organisation's loss one of many values, so
there it accumulates losses, squares and funding paid per organisation and block
(floats, merged in block order like every float sum) and counts the loss
histogram per thread with the same ``_loss_bin``. The quarterly payment shares
are read from 16-entry tables (one per pattern of four passes) built with the
very functions of ``schemes.py`` the reference calls. Both paths share the
helpers that draw factors, apply year-end events, test systems, accumulate
system and national losses and pay the bonus.

Memory: the quarterly path keeps an organisation loss histogram per thread,
``threads x schemes x organisations x (HIST_BINS + 1)`` int64 (about 8 kB per
organisation, scheme and thread), where the year-end path needs only eight
outcome counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from numba import njit, prange
from numba.typed import List

from sct_engine import schemes
from sct_engine.model import DISTRIBUTION_CODES, QUARTERS, Model
from sct_engine.rng import (
    AE_STREAM,
    BLOCK_DRAWS,
    SHOCK_STREAM,
    TAIL_OCCURS_STREAM,
    TAIL_SIZE_STREAM,
    block_generator,
    block_sizes,
)
from sct_engine.stats import HIST_BINS, ZERO_LOSS, Accumulator, loss_bins
from sct_engine.uncertainty import skew_normal_constants

#: Blocks per wave: fixed, so the order of float reductions never depends on threads.
WAVE_BLOCKS = 16

_NORMAL = DISTRIBUTION_CODES["normal"]
_STUDENT_T = DISTRIBUTION_CODES["student_t"]
_NONE = schemes.REDISTRIBUTION_CODES["none"]
_FULL = schemes.REDISTRIBUTION_CODES["full"]
_EVERY_MEMBER = schemes.SYSTEM_TEST_CODES["every_member"]

_cover_into = schemes.cover_shortfalls_into


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
    (``schemes.cover_shortfalls_into``: covered, order, values, takes)."""
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
def _group_passes(mode, cap, lo, hi, x, ct, fin, meets, system_meets, out, q, scratch):
    """Members of one system passing their finance test after redistribution (writes ``out[q, lo:hi]``).

    ``scratch`` comes from ``_redistribution_scratch``.
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
    _cover_into(fbuf[:m], dbuf[:m], headroom, covered, order, values, takes)
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
def _draw_factors(g, dp, dependence, org_system, start, z_sys, e, f):
    """One period's factor model in stream order (national, one per system, one per
    organisation), then every organisation's combined factor into ``f``."""
    sa, system_loading, own_loading, correlated, corr_root = dependence
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
def _year_end_events(xi, has_tails, gu, gz, tail_p, tail_mu, tail_sigma, turnover, ct, mitigation):
    """One organisation's large adverse event, then management actions, exactly as
    ``reference.year_end_events``: one uniform and one normal whenever the model has tails.

    Scalars rather than the arrays: unpacking a tuple of arrays per organisation costs
    reference counting in the hottest loop (about 15% of the year-end kernel). The
    event itself is a call, for the reason given in ``_variate``.
    """
    if has_tails:
        xi = _adverse_event(xi, gu, gz, tail_p, tail_mu, tail_sigma, turnover)
    shortfall = ct - xi
    if shortfall > 0:
        xi = ct if shortfall <= mitigation else xi + mitigation
    return xi


@njit
def _adverse_event(xi, gu, gz, tail_p, tail_mu, tail_sigma, turnover):
    """Outturn after a lognormal large adverse event with probability ``tail_p``."""
    occurs = gu.random() < tail_p
    z = gz.standard_normal()
    if occurs:
        xi = xi - turnover * math.exp(tail_mu + tail_sigma * z) / 100.0
    return xi


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
    earned,
    start,
    fin,
    ae,
    sys_funding,
    sys_fin,
    nat_funding,
    bins,
    class_group,
    class_test,
    class_gate,
    class_start,
    class_schemes,
    share,
    lossy,
    codes,
    nat_lost,
    any_words,
    i_org_code,
    i_sys_test,
    out,
):
    """Year-end mode, one draw: every class's outcome codes, then every scheme's system and
    national statistics (writes ``codes``; ``nat_lost`` and ``any_words`` are scratch).

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
    n_words = any_words.shape[0]
    for k in range(nat_lost.shape[0]):
        nat_lost[k] = 0.0
    for c in range(class_group.shape[0]):
        q = class_group[c]
        ungated = not class_gate[c]
        every = class_test[c] == _EVERY_MEMBER
        for s in range(sys_funding.shape[0]):
            lo = start[s]
            hi = start[s + 1]
            ok = sys_meets[s]
            if every:
                ok = True
                for i in range(lo, hi):
                    if not passes[q, i]:
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
            for i in range(lo, hi):
                # Branch-free: adding 0.0 leaves a float sum bit for bit unchanged.
                p = passes[q, i]
                got_ae = earned[i] & (p | ungated)
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
                    continue
                linked = share[k]
                sys_lost = sys_funding[s] - (
                    (1.0 - linked) * fin_kept + linked * system_paid + ae_paid
                )
                _record_system_loss(k, s, b, tid, sys_lost, True, sys_funding[s], bins, out)
                nat_lost[k] += sys_lost
    for k in range(nat_lost.shape[0]):
        _record_national_loss(k, b, tid, nat_lost[k], nat_funding, bins, out)


@njit(inline="always")
def _pay_bonus(k, b, unearned, passed, funding, bonus_share, f_org_bonus, f_org_bonus2):
    """Rule 8 for one draw and scheme, exactly as ``reference.bonus_paid``: the finance funding
    left ``unearned`` by each organisation pooled and paid to those that ``passed``."""
    pool = 0.0
    weight = 0.0
    for i in range(funding.shape[0]):
        pool += unearned[i]
        if passed[i]:
            weight += funding[i]
    if weight > 0.0:
        ratio = bonus_share * pool / weight
        for i in range(funding.shape[0]):
            if passed[i]:
                share = ratio * funding[i]
                f_org_bonus[b, k, i] += share
                f_org_bonus2[b, k, i] += share * share


@njit(parallel=True, cache=True)
def _run_wave(
    shock_gens,
    ae_gens,
    tail_occurs_gens,
    tail_size_gens,
    block_n,
    dp,
    dependence,
    events,
    plan,
    ct,
    sd,
    fin,
    ae,
    p_ae,
    funding,
    org_system,
    start,
    sct,
    sys_funding,
    sys_fin,
    nat_funding,
    bins,
    bonus,
    bonus_share,
    group_mode,
    group_cap,
    class_group,
    class_test,
    class_gate,
    class_start,
    class_schemes,
    scheme_class,
    share,
    lossy,
    unearned_table,
    f_org_outturn,
    f_org_bonus,
    f_org_bonus2,
    loss_out,
    i_org_meet,
    i_sys_meet,
    i_org_code,
    i_sys_test,
):
    n_orgs = plan.shape[0]
    has_tails, turnover, tail_p, tail_mu, tail_sigma, mitigation = events
    n_sys = sct.shape[0]
    n_groups = group_mode.shape[0]
    n_classes = class_group.shape[0]
    n_schemes = scheme_class.shape[0]
    for b in prange(block_n.shape[0]):
        tid = numba.get_thread_id()
        bi = np.int64(b)  # prange indices are unsigned; typed lists want signed
        g = shock_gens[bi]
        ga = ae_gens[bi]
        gu = tail_occurs_gens[bi]
        gz = tail_size_gens[bi]
        x = np.empty(n_orgs)
        e = np.empty(n_orgs)
        f = np.empty(n_orgs)
        meets = np.empty(n_orgs, dtype=np.bool_)
        earned = np.empty(n_orgs, dtype=np.bool_)
        z_sys = np.empty(n_sys)
        sys_meets = np.empty(n_sys, dtype=np.bool_)
        passes = np.empty((n_groups, n_orgs), dtype=np.bool_)
        codes = np.empty((n_classes, n_orgs), dtype=np.int64)
        nat_lost = np.empty(n_schemes)
        any_words = np.empty(lossy.shape[3], dtype=np.int64)
        unearned = np.empty(n_orgs)
        passed = np.empty(n_orgs, dtype=np.bool_)
        scratch = _redistribution_scratch(start)
        for _ in range(block_n[b]):
            # Shocks in stream order: national, one per system, one per organisation.
            _draw_factors(g, dp, dependence, org_system, start, z_sys, e, f)
            for i in range(n_orgs):
                earned[i] = ga.random() < p_ae[i]  # its own stream: order among streams is free
            for i in range(n_orgs):
                xi = plan[i] + sd[i] * f[i]
                x[i] = _year_end_events(
                    xi,
                    has_tails,
                    gu,
                    gz,
                    tail_p[i],
                    tail_mu[i],
                    tail_sigma[i],
                    turnover[i],
                    ct[i],
                    mitigation[i],
                )
                meets[i] = x[i] >= ct[i]
                f_org_outturn[b, i] += x[i]
                if meets[i]:
                    i_org_meet[tid, i] += 1
            _system_meets(x, start, sct, sys_meets)
            for s in range(n_sys):
                if sys_meets[s]:
                    i_sys_meet[tid, s] += 1
            for q in range(n_groups):
                for s in range(n_sys):
                    _group_passes(
                        group_mode[q],
                        group_cap[q],
                        start[s],
                        start[s + 1],
                        x,
                        ct,
                        fin,
                        meets,
                        sys_meets[s],
                        passes,
                        q,
                        scratch,
                    )
            _score_draw(
                b,
                tid,
                passes,
                sys_meets,
                earned,
                start,
                fin,
                ae,
                sys_funding,
                sys_fin,
                nat_funding,
                bins,
                class_group,
                class_test,
                class_gate,
                class_start,
                class_schemes,
                share,
                lossy,
                codes,
                nat_lost,
                any_words,
                i_org_code,
                i_sys_test,
                loss_out,
            )
            if bonus:
                for k in range(n_schemes):
                    c = scheme_class[k]
                    for i in range(n_orgs):
                        unearned[i] = unearned_table[k, i, codes[c, i]]
                        passed[i] = (codes[c, i] & 1) != 0
                    _pay_bonus(
                        k, b, unearned, passed, funding, bonus_share, f_org_bonus, f_org_bonus2
                    )


@njit(parallel=True, cache=True)
def _run_wave_quarterly(
    shock_gens,
    ae_gens,
    tail_occurs_gens,
    tail_size_gens,
    block_n,
    dp,
    dependence,
    events,
    ytd_plan,
    quarter_sd,
    ytd_ct,
    ct,
    sys_ytd_ct,
    fin,
    ae,
    p_ae,
    funding,
    org_system,
    start,
    sys_funding,
    nat_funding,
    bins,
    bonus,
    bonus_share,
    group_mode,
    group_cap,
    scheme_group,
    scheme_test,
    scheme_gate,
    scheme_share,
    share_table,
    instalment_table,
    ae_share_table,
    ae_instalment_table,
    f_org,
    i_org,
    loss_out,
):
    """Rule 6, as ``reference.apply_schemes_quarterly``: YTD arrays are ``(4, N)`` / ``(4, S)``.

    A pattern of quarterly passes is a 4-bit number (bit ``q`` for quarter ``q + 1``)
    indexing the payment tables of ``quarterly_tables``. Per draw: four quarters of
    shocks, year-end events on Q4, the tests and redistribution per quarter, then per
    scheme and organisation the year's payment, its split by quarter and the loss.
    """
    f_org_outturn, f_org_paid, f_org_lost, f_org_lost2, f_org_paid_q, f_org_bonus, f_org_bonus2 = (
        f_org
    )
    i_org_meet, i_sys_meet, i_org_pass, i_org_any, i_org_hist, i_sys_test = i_org
    has_tails, turnover, tail_p, tail_mu, tail_sigma, mitigation = events
    n_q = ytd_plan.shape[0]
    n_orgs = ytd_plan.shape[1]
    n_sys = sys_ytd_ct.shape[1]
    n_groups = group_mode.shape[0]
    n_schemes = scheme_group.shape[0]
    year_end = n_q - 1
    year_end_bit = 1 << year_end
    all_quarters = (1 << n_q) - 1
    for b in prange(block_n.shape[0]):
        tid = numba.get_thread_id()
        bi = np.int64(b)
        g = shock_gens[bi]
        ga = ae_gens[bi]
        gu = tail_occurs_gens[bi]
        gz = tail_size_gens[bi]
        x = np.empty((n_q, n_orgs))
        e = np.empty(n_orgs)
        f = np.empty(n_orgs)
        running = np.empty(n_orgs)
        meets = np.empty((n_q, n_orgs), dtype=np.bool_)
        earned_bits = np.empty(
            n_orgs, dtype=np.int64
        )  # bit q: A&E earned on performance in quarter q + 1
        z_sys = np.empty(n_sys)
        sys_meets = np.empty((n_q, n_sys), dtype=np.bool_)
        passes = np.empty((n_groups, n_q, n_orgs), dtype=np.bool_)
        pass_bits = np.empty((n_groups, n_orgs), dtype=np.int64)  # bit q: passed in quarter q + 1
        sys_meet_bits = np.empty(n_sys, dtype=np.int64)  # bit q: system outturn met its YTD total
        sys_lost = np.empty(n_sys)
        sys_any = np.empty(n_sys, dtype=np.bool_)
        unearned = np.empty(n_orgs)
        passed = np.empty(n_orgs, dtype=np.bool_)
        scratch = _redistribution_scratch(start)
        for _ in range(block_n[b]):
            # Each quarter's whole factor model in stream order; YTD = profiled plan + running increments.
            running[:] = 0.0
            for q in range(n_q):
                _draw_factors(g, dp, dependence, org_system, start, z_sys, e, f)
                for i in range(n_orgs):
                    running[i] += quarter_sd[q, i] * f[i]
                    x[q, i] = ytd_plan[q, i] + running[i]
            for i in range(n_orgs):
                x[year_end, i] = _year_end_events(
                    x[year_end, i],
                    has_tails,
                    gu,
                    gz,
                    tail_p[i],
                    tail_mu[i],
                    tail_sigma[i],
                    turnover[i],
                    ct[i],
                    mitigation[i],
                )
                f_org_outturn[b, i] += x[year_end, i]
            for q in range(n_q):
                for i in range(n_orgs):
                    meets[q, i] = x[q, i] >= ytd_ct[q, i]
                _system_meets(x[q], start, sys_ytd_ct[q], sys_meets[q])
            for i in range(n_orgs):
                if meets[year_end, i]:
                    i_org_meet[tid, i] += 1
            for s in range(n_sys):
                if sys_meets[year_end, s]:
                    i_sys_meet[tid, s] += 1
                bits = 0
                for q in range(n_q):
                    if sys_meets[q, s]:
                        bits |= 1 << q
                sys_meet_bits[s] = bits
            earned_bits[:] = 0
            for q in range(n_q):
                for i in range(n_orgs):
                    if ga.random() < p_ae[i]:
                        earned_bits[i] |= 1 << q
            for r in range(n_groups):
                for q in range(n_q):
                    for s in range(n_sys):
                        _group_passes(
                            group_mode[r],
                            group_cap[r],
                            start[s],
                            start[s + 1],
                            x[q],
                            ytd_ct[q],
                            fin,
                            meets[q],
                            sys_meets[q, s],
                            passes[r],
                            q,
                            scratch,
                        )
                for i in range(n_orgs):
                    bits = 0
                    for q in range(n_q):
                        if passes[r, q, i]:
                            bits |= 1 << q
                    pass_bits[r, i] = bits
            for k in range(n_schemes):
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
                    if (sys_bits & year_end_bit) != 0:
                        i_sys_test[tid, k, s] += 1
                    y_share = share_table[sys_bits]
                    sys_lost_s = 0.0
                    sys_any_s = False
                    for i in range(lo, hi):
                        org_bits = pass_bits[r, i]
                        ae_bits = earned_bits[i] & org_bits if gate else earned_bits[i]
                        fin_i = fin[i]
                        ae_i = ae[i]
                        fin_paid = fin_i * (own * share_table[org_bits] + linked * y_share)
                        paid = fin_paid + ae_i * ae_share_table[ae_bits]
                        for q in range(n_q):
                            fin_q = (
                                own * instalment_table[org_bits, q]
                                + linked * instalment_table[sys_bits, q]
                            )
                            f_org_paid_q[b, k, i, q] += (
                                fin_i * fin_q + ae_i * ae_instalment_table[ae_bits, q]
                            )
                        loss = funding[i] - paid
                        loss_bin = _loss_bin(loss, funding[i], bins)
                        sys_lost_s += loss
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
                    sys_lost[s] = sys_lost_s
                    sys_any[s] = sys_any_s
                _add_scheme_losses(
                    k, b, tid, sys_lost, sys_any, sys_funding, nat_funding, bins, loss_out
                )
                if bonus:
                    _pay_bonus(
                        k, b, unearned, passed, funding, bonus_share, f_org_bonus, f_org_bonus2
                    )


def _outcome_classes(model: Model) -> tuple[np.ndarray, ...]:
    """Group schemes whose outcome codes coincide: same redistribution, system test and gateway.

    Returns ``(group_mode, group_cap, class_group, class_test, class_gate, scheme_class)``:
    redistribution is computed once per group, codes are counted once per class.
    """
    sa = model.schemes
    groups: list[tuple[int, float]] = []
    classes: list[tuple[int, int, bool]] = []
    scheme_class = np.empty(len(sa), dtype=np.int64)
    for k in range(len(sa)):
        mode = int(sa.redistribution[k])
        cap = float(sa.share_cap[k]) if mode == schemes.REDISTRIBUTION_CODES["capped"] else 1.0
        if (mode, cap) not in groups:
            groups.append((mode, cap))
        key = (groups.index((mode, cap)), int(sa.system_test[k]), bool(sa.ae_gateway[k]))
        if key not in classes:
            classes.append(key)
        scheme_class[k] = classes.index(key)
    return (
        np.array([m for m, _ in groups], dtype=np.int64),
        np.array([c for _, c in groups], dtype=np.float64),
        np.array([g for g, _, _ in classes], dtype=np.int64),
        np.array([t for _, t, _ in classes], dtype=np.int64),
        np.array([gate for _, _, gate in classes], dtype=np.bool_),
        scheme_class,
    )


#: Outcome codes of one organisation under one scheme in one draw:
#: bit 0 own finance test passed (after redistribution), bit 1 system test passed,
#: bit 2 A&E element paid. Its funding lost is one of these eight values.
N_CODES = 8


def outcome_tables(model: Model, bins: int = HIST_BINS) -> tuple[np.ndarray, ...]:
    """Funding paid, funding lost, loss-histogram bin and unearned finance element of every
    outcome code, each of shape ``(K, N, 8)``.

    Same expressions as ``schemes.finance_paid + schemes.ae_paid`` and ``stats.loss_bins``,
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
        fin = schemes.finance_paid(model.finance[:, None], share, org_q[None, :], sys_q[None, :])
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


def quarterly_tables(recovery: bool) -> tuple[np.ndarray, ...]:
    """Rule 6 payment shares of every pattern of four quarterly passes (bit ``q`` = quarter ``q + 1``).

    Returns ``(share, instalments, ae_share, ae_instalments)`` of shapes ``(16,)`` and
    ``(16, 4)``: the finance shares with ``recovery`` as the model has it, the A&E
    shares never recovered. Built with ``schemes.quarterly_share`` and
    ``schemes.quarterly_instalments``, so they are bit-identical to the reference's.
    """
    patterns = (np.arange(2**QUARTERS)[:, None] >> np.arange(QUARTERS)) & 1 == 1
    return (
        schemes.quarterly_share(patterns, recovery),
        schemes.quarterly_instalments(patterns, recovery),
        schemes.quarterly_share(patterns, recovery=False),
        schemes.quarterly_instalments(patterns, recovery=False),
    )


class KernelRun:
    """Runs a model wave by wave, keeping totals; ``extend`` adds more draws deterministically."""

    def __init__(self, model: Model, seed: int, bins: int = HIST_BINS) -> None:
        self.model = model
        self.seed = seed
        self.bins = bins
        k, n, s, b1 = len(model.schemes), model.n_orgs, model.n_systems, bins + 1
        self.totals = Accumulator.zeros(k, n, s, bins)
        self._classes = _outcome_classes(model)
        n_classes = self._classes[2].shape[0]
        t, w = numba.get_num_threads(), WAVE_BLOCKS
        # Integer counts per thread (order-free); float partial sums per block of a wave.
        # Names are Accumulator fields, except the year-end path's per-class outcome codes.
        self._ints = {
            "org_meet": np.zeros((t, n), np.int64),
            "system_meet": np.zeros((t, s), np.int64),
            "system_all_lost": np.zeros((t, k, s), np.int64),
            "system_any_lost": np.zeros((t, k, s), np.int64),
            "system_hist": np.zeros((t, k, s, b1), np.int64),
            "national_hist": np.zeros((t, k, b1), np.int64),
        }
        self._floats = {
            "org_outturn_sum": np.zeros((w, n)),
            "system_lost_sum": np.zeros((w, k, s)),
            "system_lost_sumsq": np.zeros((w, k, s)),
            "system_hist_sum": np.zeros((w, k, s, b1)),
            "national_lost_sum": np.zeros((w, k)),
            "national_lost_sumsq": np.zeros((w, k)),
            "national_hist_sum": np.zeros((w, k, b1)),
            "org_bonus_sum": np.zeros((w, k, n)),
            "org_bonus_sumsq": np.zeros((w, k, n)),
        }
        if model.quarterly:
            self._ints |= {
                "org_pass": np.zeros((t, k, n), np.int64),
                "org_any_lost": np.zeros((t, k, n), np.int64),
                # Bin first: the no-loss bin of every organisation and scheme is one contiguous
                # row, so the commonest increments stay in cache (bin last made the kernel ~35% slower).
                "org_hist": np.zeros((t, b1, k, n), np.int64),
                "system_test_pass": np.zeros((t, k, s), np.int64),
            }
            self._floats |= {
                "org_paid_sum": np.zeros((w, k, n)),
                "org_lost_sum": np.zeros((w, k, n)),
                "org_lost_sumsq": np.zeros((w, k, n)),
                "org_paid_quarter_sum": np.zeros((w, k, n, QUARTERS)),
            }
            self._tables = quarterly_tables(model.recovery)
        else:
            self._ints |= {
                "org_code": np.zeros((t, n_classes, n, N_CODES), np.int64),
                "system_test_pass": np.zeros((t, n_classes, s), np.int64),
            }
            self._paid, self._lost, self._bin, self._unearned = outcome_tables(model, bins)
            self._class_bits = class_loss_bits(self._classes[-1], self._bin)
        self.draws = 0
        self.next_block = 0

    def _wave(self, blocks: list[tuple[int, int]]) -> None:
        m = self.model
        shock_gens, ae_gens, occurs_gens, size_gens = List(), List(), List(), List()
        for block, _ in blocks:
            shock_gens.append(block_generator(self.seed, block, SHOCK_STREAM))
            ae_gens.append(block_generator(self.seed, block, AE_STREAM))
            if m.has_tails:
                occurs_gens.append(block_generator(self.seed, block, TAIL_OCCURS_STREAM))
                size_gens.append(block_generator(self.seed, block, TAIL_SIZE_STREAM))
        if not m.has_tails:  # never drawn from; the kernel only needs lists of the right type
            occurs_gens, size_gens = ae_gens, ae_gens
        block_n = np.array([n for _, n in blocks], dtype=np.int64)
        for arr in self._floats.values():
            arr[...] = 0.0
        t_scale = math.sqrt((m.dof - 2.0) / m.dof) if m.dof > 2 else 1.0
        dp = (m.distribution, m.dof, t_scale, *skew_normal_constants(m.skew))
        dependence = (
            math.sqrt(m.national_share),
            m.system_loading,
            m.own_loading,
            m.correlated,
            m.correlation_root,
        )
        events = (
            m.has_tails,
            m.turnover,
            m.tail_probability,
            m.tail_log_median,
            m.tail_sigma,
            m.mitigation,
        )
        f, i = self._floats, self._ints
        loss_out = (
            f["system_lost_sum"],
            f["system_lost_sumsq"],
            f["system_hist_sum"],
            f["national_lost_sum"],
            f["national_lost_sumsq"],
            f["national_hist_sum"],
            i["system_hist"],
            i["national_hist"],
            i["system_any_lost"],
            i["system_all_lost"],
        )
        group_mode, group_cap, class_group, class_test, class_gate, scheme_class = self._classes
        common = (shock_gens, ae_gens, occurs_gens, size_gens, block_n, dp, dependence, events)
        totals = (
            m.system_funding(),
            float(m.funding.sum()),
            self.bins,
            m.bonus,
            m.bonus_share,
            group_mode,
            group_cap,
        )
        if m.quarterly:
            sa = m.schemes
            _run_wave_quarterly(  # type: ignore[call-arg]  # numba Dispatcher: typed at run time
                *common,
                np.ascontiguousarray(m.ytd_plan().T),
                np.ascontiguousarray(m.quarter_sd().T),
                np.ascontiguousarray(m.ytd_control_total().T),
                m.control_total,
                np.ascontiguousarray(m.system_ytd_control_total().T),
                m.finance,
                m.ae,
                m.p_ae,
                m.funding,
                m.org_system,
                m.system_start,
                *totals,
                class_group[scheme_class],
                sa.system_test,
                sa.ae_gateway,
                sa.system_linked_share,
                *self._tables,
                (
                    f["org_outturn_sum"],
                    f["org_paid_sum"],
                    f["org_lost_sum"],
                    f["org_lost_sumsq"],
                    f["org_paid_quarter_sum"],
                    f["org_bonus_sum"],
                    f["org_bonus_sumsq"],
                ),
                (
                    i["org_meet"],
                    i["system_meet"],
                    i["org_pass"],
                    i["org_any_lost"],
                    i["org_hist"],
                    i["system_test_pass"],
                ),
                loss_out,
            )
        else:
            _run_wave(  # type: ignore[call-arg]  # numba Dispatcher: typed at run time
                *common,
                m.plan,
                m.control_total,
                m.sd,
                m.finance,
                m.ae,
                m.p_ae,
                m.funding,
                m.org_system,
                m.system_start,
                m.system_control_total,
                totals[0],
                m.system_finance(),
                *totals[1:],
                class_group,
                class_test,
                class_gate,
                *self._class_bits[:2],
                scheme_class,
                m.schemes.system_linked_share,
                self._class_bits[2],
                self._unearned,
                f["org_outturn_sum"],
                f["org_bonus_sum"],
                f["org_bonus_sumsq"],
                loss_out,
                i["org_meet"],
                i["system_meet"],
                i["org_code"],
                i["system_test_pass"],
            )
        # Float partial sums enter the totals in block order, as in the reference.
        for j in range(len(blocks)):
            for name, arr in self._floats.items():
                getattr(self.totals, name)[...] += arr[j]
        self.draws += int(block_n.sum())

    def extend(self, draws: int, progress: Callable[[int], None] | None = None) -> None:
        """Add ``draws`` more draws (whole blocks from ``next_block`` on, the last one possibly short)."""
        pending = [(self.next_block + b, n) for b, n in block_sizes(draws, BLOCK_DRAWS)]
        for w in range(0, len(pending), WAVE_BLOCKS):
            wave = pending[w : w + WAVE_BLOCKS]
            self._wave(wave)
            if progress is not None:
                progress(sum(n for _, n in wave))
        self.next_block += len(pending)

    def accumulator(self) -> Accumulator:
        """The statistics so far: thread counts summed; in year-end mode the organisation
        statistics are read off the outcome-code counts."""
        acc = Accumulator(**{name: value.copy() for name, value in self.totals.arrays().items()})
        ints = {name: arr.sum(axis=0) for name, arr in self._ints.items()}
        if self.model.quarterly:
            ints["org_hist"] = ints["org_hist"].transpose(1, 2, 0)
        else:
            self._read_outcome_codes(acc, ints)
        for name, value in ints.items():
            getattr(acc, name)[...] = value
        acc.draws[...] = self.draws
        return acc

    def _read_outcome_codes(self, acc: Accumulator, ints: dict[str, np.ndarray]) -> None:
        """Year-end mode: per-class counts to per-scheme ones, and organisation statistics from codes."""
        scheme_class = self._classes[-1]
        codes = ints.pop("org_code")[scheme_class]  # per class -> per scheme, (K, N, 8)
        ints["system_test_pass"] = ints["system_test_pass"][scheme_class]
        acc.org_pass[...] = codes[..., 1::2].sum(axis=-1)
        acc.org_paid_sum[...] = (codes * self._paid).sum(axis=-1)
        acc.org_paid_quarter_sum[..., -1] = acc.org_paid_sum  # everything paid at year end
        acc.org_lost_sum[...] = (codes * self._lost).sum(axis=-1)
        acc.org_lost_sumsq[...] = (codes * self._lost * self._lost).sum(axis=-1)
        acc.org_any_lost[...] = (codes * (self._bin > 0)).sum(axis=-1)
        k_idx, n_idx, _ = np.indices(codes.shape)
        np.add.at(acc.org_hist, (k_idx, n_idx, self._bin), codes)


def simulate_kernel(
    model: Model, draws: int, seed: int, progress: Callable[[int], None] | None = None
) -> Accumulator:
    """Run ``draws`` draws with the numba kernel; same statistics as ``simulate_reference``."""
    run = KernelRun(model, seed)
    run.extend(draws, progress)
    return run.accumulator()
