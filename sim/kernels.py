"""The compiled loops of the batch engine (:mod:`sim.batch`), with numba.

Only exact arithmetic happens here: the SplitMix64 hash of the keyed uniforms (integer
operations and one exact conversion, the same bits as :func:`sim.plan.keyed_uniforms`), and
the queue recursions of the heap engine (:mod:`sim.engine`), which add, compare and subtract
floats in the same order. Inverse CDFs (``exp``, ``log1p``, ``ndtri``) stay in numpy and scipy,
in :mod:`sim.batch`, so every draw is the very value the other engines compute.

This module imports numba (about 0.3 s) and its functions are compiled once per machine
(``cache=True``: the machine code is kept beside this file in ``__pycache__``); only
:mod:`sim.batch` imports it, and only when a run is large enough to gain from it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_ULP = 2.0**-53

#: Outcome codes (:class:`sim.plan.Outcome`), as constants the compiler folds.
_ASSEMBLED, _EN_ROUTE = 0, 4
_N_OUTCOMES = 6
#: Stages of the critical vehicle, in :data:`sim.records.STAGES` order.
_N_STAGES = 6

jit = numba.njit(cache=True, nogil=True)


@jit
def mix64(x):  # pragma: no cover - compiled
    """SplitMix64's output function on one ``uint64`` (:func:`sim.plan.mix64`)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def _uniform(key, salt):  # pragma: no cover - compiled
    return np.float64((mix64(key ^ salt) >> _S11) + _ONE) * _ULP


@jit
def uniforms(keys, salts):  # pragma: no cover - compiled
    """``u[r, j]``: the uniform of vehicle key ``keys[j]`` in the stream whose salt (the
    ``mix64`` of its key, :func:`sim.plan.keyed_uniforms`) is ``salts[r]``."""
    out = np.empty((salts.size, keys.size))
    for r in range(salts.size):
        for j in range(keys.size):
            out[r, j] = _uniform(keys[j], salts[r])
    return out


@jit
def uniforms_at(keys, salts, rows, cols):  # pragma: no cover - compiled
    """The uniforms of :func:`uniforms` at ``(rows[i], cols[i])`` of its result only."""
    out = np.empty(rows.size)
    for i in range(rows.size):
        out[i] = _uniform(keys[cols[i]], salts[rows[i]])
    return out


# numpy's SeedSequence (numpy/random/bit_generator.pyx): hash constants and multipliers.
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_M32, _S16, _S32 = np.uint64(0xFFFFFFFF), np.uint64(16), np.uint64(32)


@jit
def seed_words(entropy, reps, n_words):  # pragma: no cover - compiled
    """``SeedSequence`` state words: row ``i`` is ``generate_state(n_words, uint64)`` of the
    seed sequence whose assembled entropy is ``entropy`` (32-bit words in ``uint64``: the
    run entropy padded to the pool size of 4, then the spawn key) followed by ``reps[i]``.

    numpy's algorithm on 32-bit words, computed in 64 bits and masked after every product
    and difference (the same words).
    """
    n_rep = reps.size
    n_ent = entropy.size + 1
    out = np.empty((n_rep, n_words), dtype=np.uint64)
    pool = np.empty(4, dtype=np.uint64)
    for r in range(n_rep):
        h = _INIT_A
        for i in range(n_ent):
            value = entropy[i] if i < n_ent - 1 else reps[r]
            if i < 4:
                value = value ^ h
                h = (h * _MULT_A) & _M32
                value = (value * h) & _M32
                pool[i] = value ^ (value >> _S16)
        for i_src in range(4):
            for i_dst in range(4):
                if i_src != i_dst:
                    value = pool[i_src] ^ h
                    h = (h * _MULT_A) & _M32
                    value = (value * h) & _M32
                    value = value ^ (value >> _S16)
                    mixed = (_MIX_L * pool[i_dst] - _MIX_R * value) & _M32
                    pool[i_dst] = mixed ^ (mixed >> _S16)
        for i_src in range(4, n_ent):
            for i_dst in range(4):
                value = entropy[i_src] if i_src < n_ent - 1 else reps[r]
                value = value ^ h
                h = (h * _MULT_A) & _M32
                value = (value * h) & _M32
                value = value ^ (value >> _S16)
                mixed = (_MIX_L * pool[i_dst] - _MIX_R * value) & _M32
                pool[i_dst] = mixed ^ (mixed >> _S16)
        h = _INIT_B
        for i in range(2 * n_words):
            value = pool[i % 4] ^ h
            h = (h * _MULT_B) & _M32
            value = (value * h) & _M32
            value = value ^ (value >> _S16)
            if i % 2 == 0:
                out[r, i // 2] = value
            else:
                out[r, i // 2] |= value << _S32
    return out


@jit
def _code(ua, ur, uc, availability, reach, accept):  # pragma: no cover - compiled
    if ua > availability:
        return 3  # UNAVAILABLE
    if ur > reach:
        return 2  # UNREACHABLE
    if uc > accept:
        return 1  # DECLINED
    return _EN_ROUTE


@jit
def callout_codes(
    keys, salts, availability, reach_day, reach_night, accept, need, block
):  # pragma: no cover
    """Outcome codes of the calls of one class, by day and by night, up to the longest prefix
    that can be placed (the heap engine's ``last``: through the ``need``-th candidate who
    accepts by day and by night), rounded up to a multiple of ``block`` (a platform's batch
    size; 1 on the phone), per replication.

    ``salts[r]`` holds the replication's availability, reach and accept salts. Returns
    ``(codes_day, codes_night, last)``; columns past ``last[r]`` are left unset.
    """
    n_rep, n = salts.shape[0], keys.size
    day = np.empty((n_rep, n), dtype=np.int8)
    night = np.empty((n_rep, n), dtype=np.int8)
    last = np.full(n_rep, n, dtype=np.int64)
    for r in range(n_rep):
        sa, sr, sc = salts[r, 0], salts[r, 1], salts[r, 2]
        hits = 0
        end = n
        for j in range(n):
            if j >= end:
                break
            k = keys[j]
            ua, ur, uc = _uniform(k, sa), _uniform(k, sr), _uniform(k, sc)
            cd = _code(ua, ur, uc, availability, reach_day, accept)
            cn = _code(ua, ur, uc, availability, reach_night, accept)
            day[r, j] = cd
            night[r, j] = cn
            if cd == _EN_ROUTE and cn == _EN_ROUTE:
                hits += 1
                if hits == need:
                    end = min(n, (j + block) // block * block)
        last[r] = end
    return day, night, last


@jit
def positions(day, night, last, offset, accepting):  # pragma: no cover - compiled
    """Rows and columns ``(r, offset + j)`` of the columns ``j < last[r]`` of one class (its
    placeable prefix) in a ``(replication, column)`` array, in row-major order; with
    ``accepting``, only those whose call is accepted by day or by night (``day``, ``night``:
    the codes of :func:`callout_codes`)."""
    n_rep, w = day.shape
    rows = np.empty(n_rep * w, dtype=np.int64)
    cols = np.empty(n_rep * w, dtype=np.int64)
    n = 0
    for r in range(n_rep):
        for j in range(min(last[r], w)):
            if not accepting or day[r, j] == _EN_ROUTE or night[r, j] == _EN_ROUTE:
                rows[n] = r
                cols[n] = offset + j
                n += 1
    return rows[:n], cols[:n]


@jit
def _heapreplace(h, lo, hi, x):  # pragma: no cover - compiled
    """Replace the smallest of the min-heap ``h[lo:hi]`` by ``x`` (as ``heapq.heapreplace``:
    the heap holds the same multiset of values afterwards)."""
    n = hi - lo
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and h[lo + c + 1] < h[lo + c]:
            c += 1
        if h[lo + c] < x:
            h[lo + i] = h[lo + c]
            i = c
        else:
            break
    h[lo + i] = x


@jit
def _heappush(h, n, x):  # pragma: no cover - compiled
    i = n
    while i > 0:
        p = (i - 1) // 2
        if x < h[p]:
            h[i] = h[p]
            i = p
        else:
            break
    h[i] = x
    return n + 1


@jit
def _heappop(h, n):  # pragma: no cover - compiled
    top = h[0]
    n -= 1
    if n > 0:
        _heapreplace(h, 0, n, h[n])
    return top, n


@jit
def _before(a, b, i, j):  # pragma: no cover - compiled
    """Whether item ``i`` comes before item ``j`` in the order of ``(a, b, index)``."""
    if a[i] != a[j]:
        return a[i] < a[j]
    if b[i] != b[j]:
        return b[i] < b[j]
    return i < j


@jit
def _order(a, b, n, out, count):  # pragma: no cover - compiled
    """``out[:n]``: the indices ``0..n-1`` sorted by ``(a, b, index)``.

    A bucket pass by ``a`` (``n`` buckets over its range; ``count`` holds ``n`` integers)
    leaves only the items of a bucket out of order, and an insertion sort by the full key
    finishes: expected linear time for times spread over an interval, and the order is the
    full key's whatever the buckets (they only make the insertion sort short).
    """
    if n == 0:
        return
    lo = a[0]
    hi = a[0]
    for i in range(1, n):
        if a[i] < lo:
            lo = a[i]
        if a[i] > hi:
            hi = a[i]
    scale = (n - 1) / (hi - lo) if hi > lo else 0.0
    for k in range(n):
        count[k] = 0
    for i in range(n):
        count[min(max(int((a[i] - lo) * scale), 0), n - 1)] += 1
    start = 0
    for k in range(n):
        c = count[k]
        count[k] = start
        start += c
    for i in range(n):
        k = min(max(int((a[i] - lo) * scale), 0), n - 1)
        out[count[k]] = i
        count[k] += 1
    for i in range(1, n):
        x = out[i]
        j = i - 1
        while j >= 0 and _before(a, b, x, out[j]):
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = x


@jit
def _is_night(minutes, clock_hour, start, end):  # pragma: no cover - compiled
    """:meth:`sim.plan.IncidentPlan.night_at` for a plan with a clock."""
    hour = clock_hour + minutes / 60.0
    if not (hour >= 0.0 and hour < 24.0):  # else ``% 24.0`` leaves it as it is
        hour = hour % 24.0
    if start <= end:
        return start <= hour and hour < end
    return hour >= start or hour < end


@jit
def _accepted(r, c, ta, platform, e_t, e_rep, e_col, e_plat, n_e):  # pragma: no cover
    """Vehicle ``c`` of replication ``r`` accepts at ``ta`` (for a ``platform`` candidate:
    responds at ``ta``, and accepts once confirmed): its acceptance joins the flat list of
    acceptances (:func:`callouts`); returns the new length."""
    e_t[n_e] = ta
    e_rep[n_e] = r
    e_col[n_e] = c
    e_plat[n_e] = platform
    return n_e + 1


@jit
def callouts(
    alert_end,
    t0,
    col_off,
    need,
    n_cand,
    last,
    clocked,
    codes_day,
    codes_night,
    ops,
    calls,
    disp_off,
    platform,
    p_size,
    p_interval,
    cand_ops,
    cand_off,
    class_ops,
    class_ops_off,
    up,
    resp,
    clock,
    log,
):  # pragma: no cover - compiled
    """The call-outs of every replication of a plan without checkpoints, up to the
    acceptances: the heap engine's ``_callout`` (or the platform push of :mod:`sim.model`,
    :func:`_push`); :func:`staging` continues.

    Classes occupy the columns ``col_off[k]:col_off[k + 1]`` of the per-vehicle arrays, in
    rank order; ``clock`` is ``(has clock, clock hour, night start, night end)``. A class with
    ``platform[k]`` is pushed by the platform of each of its operators ``o``, in batches of
    ``p_size[o]`` every ``p_interval[o]`` minutes from ``up[r]`` (``cand_ops[cand_off[k]:
    cand_off[k + 1]]``: the operators of all the class's candidates, in rank order;
    ``class_ops[class_ops_off[k]:class_ops_off[k + 1]]``: each of them once; ``resp``:
    response minutes); the others are called by phone (``calls``).

    Returns the acceptances, replication by replication in the order accepted (the staging
    order's tie-break): flat lists of their times ``e_t`` (for a platform, the response time:
    the confirmation, drawn only for the vehicles that get one, is added after), their
    replications ``e_rep`` and columns ``e_col``, and whether they came from a platform, with
    the offsets ``e_off`` of each replication's; per replication, the latest call or response
    time, the outcome tallies (``called`` first; an acceptance counts as assembled: every
    acceptance registers at the staging point) and whether a platform would have pushed past
    the columns given (``last``; it must run again with every candidate); and the per-vehicle
    call times and outcome codes (every replication's with ``log``, else one row of scratch).
    """
    n_rep, width = calls.shape
    n_cls = col_off.size - 1
    rows = n_rep if log else 1  # per-vehicle times: every replication's, or one row reused
    clock_hour, night0, night1 = clock[1], clock[2], clock[3]
    v_called = np.full((rows, width), np.nan)
    v_out = np.full((rows, width), -1, dtype=np.int8)
    tally = np.zeros((n_rep, n_cls, _N_OUTCOMES + 1), dtype=np.int64)
    last_end = np.empty(n_rep)
    short = np.zeros(n_rep, dtype=np.bool_)
    e_t = np.empty(n_rep * width)
    e_rep = np.empty(n_rep * width, dtype=np.int64)
    e_col = np.empty(n_rep * width, dtype=np.int64)
    e_plat = np.empty(n_rep * width, dtype=np.bool_)
    e_off = np.zeros(n_rep + 1, dtype=np.int64)
    n_ops = disp_off.size - 1
    op_now = np.empty(n_ops)
    op_batch = np.empty(n_ops, dtype=np.int64)
    op_ev = np.empty(n_ops, dtype=np.int64)
    op_out = np.empty(n_ops, dtype=np.bool_)
    ev_t = np.empty(width + n_ops)
    ev_beyond = np.empty(width + n_ops, dtype=np.bool_)
    ev_start = np.empty(width + n_ops + 1, dtype=np.int64)
    ev_idx = np.empty(width + n_ops, dtype=np.int64)
    ev_tmp = np.empty(width + n_ops, dtype=np.int64)
    ev_of = np.empty(width, dtype=np.int64)
    ev_pos = np.empty(width, dtype=np.int64)
    resp_t = np.empty(width)
    resp_col = np.empty(width, dtype=np.int64)
    lanes = np.empty(disp_off[-1])
    failures = np.empty(width)
    begin_at = np.empty(width)
    done_at = np.empty(width)
    idx = np.empty(width, dtype=np.int64)
    tmp_idx = np.empty(width, dtype=np.int64)
    n_e = 0
    for r in range(n_rep):
        # (Without the log, the scratch row's cells are read only once written for this
        # replication: no reset.)
        w = r if log else 0
        a_end = alert_end[r]
        lanes[:] = -np.inf
        last_call_end = -np.inf
        for k in range(n_cls):
            off = col_off[k]
            if n_cand[k] == 0 or need[k] <= 0:
                continue
            if platform[k]:
                n_e, last_call_end = _push(
                    r, w, off, last[r, k], n_cand[k], need[k], p_size, p_interval,
                    cand_ops[cand_off[k]:cand_off[k + 1]],
                    class_ops[class_ops_off[k]:class_ops_off[k + 1]],
                    a_end, up[r], t0, clocked[k], clock,
                    ops, codes_day, codes_night, resp, tally[r, k],
                    v_called, v_out, e_t, e_rep, e_col, e_plat, n_e, last_call_end,
                    short, op_now, op_batch, resp_t, resp_col, idx, tmp_idx,
                    op_ev, op_out, ev_t, ev_beyond, ev_start, ev_idx, ev_tmp, ev_of, ev_pos,
                )  # fmt: skip
                continue
            n_fail = 0
            placed = 0
            for pos in range(last[r, k]):
                if pos < need[k]:
                    t = a_end
                elif n_fail > 0:
                    t, n_fail = _heappop(failures, n_fail)
                else:
                    break
                c = off + pos
                lo, hi = disp_off[ops[c]], disp_off[ops[c] + 1]
                free = lanes[lo]
                begin = t if t >= free else free
                done = begin + calls[r, c]
                _heapreplace(lanes, lo, hi, done)
                begin_at[pos] = begin
                done_at[pos] = done
                if clocked[k] and _is_night(begin - t0, clock_hour, night0, night1):
                    code = codes_night[r, c]
                else:
                    code = codes_day[r, c]
                v_out[w, c] = code
                if code != _EN_ROUTE:
                    n_fail = _heappush(failures, n_fail, done)
                    tally[r, k, 1 + code] += 1
                placed = pos + 1
            for pos in range(placed):
                c = off + pos
                if done_at[pos] > last_call_end:
                    last_call_end = done_at[pos]
                v_called[w, c] = begin_at[pos]
                if v_out[w, c] == _EN_ROUTE:
                    n_e = _accepted(r, c, done_at[pos], False, e_t, e_rep, e_col, e_plat, n_e)
                    v_out[w, c] = _ASSEMBLED
                    tally[r, k, 1 + _ASSEMBLED] += 1
            tally[r, k, 0] += placed
        last_end[r] = last_call_end
        e_off[r + 1] = n_e
    return (
        (e_t[:n_e], e_rep[:n_e], e_col[:n_e], e_plat[:n_e], e_off),
        (last_end, tally, short, v_called, v_out),
    )


@jit
def night_flags(e_t, t0, clock):  # pragma: no cover - compiled
    """Whether each acceptance time of ``e_t`` falls in the night (``clock``: as in
    :func:`callouts`; never without a clock): it picks the mobilisation."""
    out = np.zeros(e_t.size, dtype=np.bool_)
    if clock[0] > 0:
        for i in range(e_t.size):
            out[i] = _is_night(e_t[i] - t0, clock[1], clock[2], clock[3])
    return out


@jit
def staging(
    alert_end,
    t0,
    horizon,
    width,
    col_off,
    leg,
    e_t,
    e_col,
    e_off,
    mob,
    trip,
    service,
    last_end,
    tally,
    staging_lanes,
    deadline,
    success_fraction,
    all_accepted,
    by_count,
    requested,
    log,
):  # pragma: no cover - compiled
    """Every replication's staging from the acceptances of :func:`callouts` (the heap
    engine's ``_staging_only``), then :meth:`sim.records.Trace.result`'s per-class figures.

    ``e_t``, ``e_col``, ``e_off``: the acceptances, their times (confirmations added) and
    columns, by replication; ``mob``, ``trip``, ``service``: each acceptance's mobilisation,
    trip multiplier and registration minutes; ``last_end``, ``tally``: of :func:`callouts`.

    Returns per-vehicle times ``(accepted, rolling, registered, travel, staging wait)``
    (every replication's with ``log``, else one row of scratch that each replication reuses:
    the per-class figures need no more), and per class the completion, the critical column
    (-1: none), its stages and the arrivals by the deadline, the sorted registration times
    with their counts, and whether a replication ran past the horizon (it must run on SimPy).
    """
    n_rep = alert_end.size
    n_cls = col_off.size - 1
    rows = n_rep if log else 1
    nan, inf = np.nan, np.inf
    v_acc = np.full((rows, width), nan)
    v_roll = np.full((rows, width), nan)
    v_reg = np.full((rows, width), nan)
    v_travel = np.full((rows, width), nan)
    v_wait = np.full((rows, width), nan)
    comp = np.empty((n_rep, n_cls))
    crit = np.full((n_rep, n_cls), -1, dtype=np.int64)
    stages = np.full((n_rep, n_cls, _N_STAGES), nan)
    arrived = np.zeros((n_rep, n_cls), dtype=np.int64)
    registered = np.empty((n_rep, width))
    n_registered = np.zeros(n_rep, dtype=np.int64)
    past = np.zeros(n_rep, dtype=np.bool_)
    stage = np.empty(staging_lanes)
    times = np.empty(width)
    idx = np.empty(width, dtype=np.int64)
    tmp_idx = np.empty(width, dtype=np.int64)
    col_cls = np.empty(width, dtype=np.int64)
    for k in range(n_cls):
        col_cls[col_off[k] : col_off[k + 1]] = k
    n_done = np.zeros(n_cls, dtype=np.int64)
    k_reg = np.empty((n_cls, width))
    k_col = np.empty((n_cls, width), dtype=np.int64)
    for r in range(n_rep):
        w = r if log else 0
        a_end = alert_end[r]
        lo, hi = e_off[r], e_off[r + 1]
        n_acc = hi - lo
        acc_t = e_t[lo:hi]
        n_done[:] = 0
        # Staging only: arrivals in time order, ties in acceptance order (acceptances in time
        # order, ties in the order accepted), each to the lane that frees first.
        for i in range(n_acc):
            c = e_col[lo + i]
            roll = acc_t[i] + mob[lo + i]
            dt = leg[c] * trip[lo + i]
            v_acc[w, c] = acc_t[i]
            v_roll[w, c] = roll
            v_travel[w, c] = 0.0 + dt
            times[i] = roll + dt
        _order(times, acc_t, n_acc, idx, tmp_idx)
        stage[:] = -inf
        top = a_end
        for i in range(n_acc):
            j = idx[i]
            c = e_col[lo + j]
            t = times[j]
            free = stage[0]
            end = (t if t >= free else free) + service[lo + j]
            _heapreplace(stage, 0, staging_lanes, end)
            v_reg[w, c] = end
            v_wait[w, c] = end - t
            if end > top:
                top = end
            if acc_t[j] > top:
                top = acc_t[j]
            # Every registered vehicle is assembled. Registrations end nearly in the order
            # the vehicles arrive, so an insertion sort keeps them sorted in about one step
            # each (numba's np.sort, a quicksort, took a tenth of the kernel).
            reg = end - t0
            m = i
            while m > 0 and registered[r, m - 1] > reg:
                registered[r, m] = registered[r, m - 1]
                m -= 1
            registered[r, m] = reg
            # Each class's registrations sorted likewise, ties by rank (column): its
            # need-th is a stable sort's by time.
            k = col_cls[c]
            if reg <= deadline:
                arrived[r, k] += 1
            m = n_done[k]
            while m > 0 and (
                k_reg[k, m - 1] > reg or (k_reg[k, m - 1] == reg and k_col[k, m - 1] > c)
            ):
                k_reg[k, m] = k_reg[k, m - 1]
                k_col[k, m] = k_col[k, m - 1]
                m -= 1
            k_reg[k, m] = reg
            k_col[k, m] = c
            n_done[k] += 1
        past[r] = last_end[r] > horizon or top > horizon
        n_registered[r] = n_acc
        # Trace.result: per class, the need-th registration.
        for k in range(n_cls):
            n_accepted = tally[r, k, 1 + _ASSEMBLED] + tally[r, k, 1 + _EN_ROUTE]
            basis = n_accepted if all_accepted[k] else requested[k]
            want = math.ceil(success_fraction * basis - 1e-9)
            if want == 0 and by_count[k]:
                comp[r, k] = 0.0
                continue
            if want == 0 or n_done[k] < want:
                comp[r, k] = inf
                continue
            c = k_col[k, want - 1]
            comp[r, k] = v_reg[w, c] - t0
            crit[r, k] = c
            stages[r, k, 0] = a_end - t0
            stages[r, k, 1] = v_acc[w, c] - a_end
            stages[r, k, 2] = v_roll[w, c] - v_acc[w, c]
            stages[r, k, 3] = v_travel[w, c]
            stages[r, k, 4] = 0.0
            stages[r, k, 5] = v_wait[w, c]
    return (
        (v_acc, v_roll, v_reg, v_travel, v_wait),
        (comp, crit, stages, arrived, registered, n_registered, past),
    )


@jit
def _departure(now, up, b, interval):  # pragma: no cover - compiled
    """When a platform whose clock reads ``now`` pushes batch ``b`` (due ``up + b *
    interval``): SimPy's ``now + (leave - now)`` when it has to wait, else ``now``."""
    leave = up + b * interval
    return now + (leave - now) if now < leave else now


@jit
def _push(
    r, w, off, width, n_cand, target, sizes, intervals, cops, kops, a_end, up, t0, clocked,
    clock,
    ops, codes_day, codes_night, resp, tally,
    v_called, v_out, e_t, e_rep, e_col, e_plat, n_e, last_end,
    short, op_now, op_batch, resp_t, resp_col, idx, tmp,
    op_ev, op_out, ev_t, ev_beyond, ev_start, ev_idx, ev_tmp, ev_of, ev_pos,
):  # fmt: skip  # pragma: no cover - compiled
    """The platforms of one class push its first ``width`` candidates (``_Caller._push`` and
    ``_respond`` of :mod:`sim.model`); returns the length of the acceptance list and the
    latest push or response time.

    The platform of each operator ``o`` pushes batch ``pos // sizes[o]`` (``pos``: the rank
    among the class's candidates) at its own clock (``now + (leave - now)``, as SimPy's
    timeouts add up), unless the class has ``target`` responses by then; a pushed driver who
    would accept responds ``resp`` minutes later, and the first ``target`` responses join the
    acceptances (confirmed after them, :func:`callouts`). The batches leave in time order
    (ties in the order of their first candidate, which no response can tell apart); a batch
    with candidates past the ``width`` given, or the first batch past it, leaving before the
    class has its responses marks the replication ``short`` (it must run again with every
    candidate). ``cops``: the operators of all ``n_cand`` candidates (``kops``: each once);
    ``tally``: the class's
    outcome tallies in this replication (``called`` first), counted as the calls go.
    """
    hour, night0, night1 = clock[1], clock[2], clock[3]
    for o in kops:
        op_batch[o] = -1
        op_now[o] = a_end
        op_out[o] = False
    # The batches of the prefix, each leaving by its operator's own clock.
    n_ev = 0
    for pos in range(width):
        o = ops[off + pos]
        b = pos // sizes[o]
        if op_batch[o] != b:
            op_batch[o] = b
            now = _departure(op_now[o], up, b, intervals[o])
            op_now[o] = now
            ev_t[n_ev] = now
            ev_beyond[n_ev] = False
            ev_start[n_ev] = 0
            op_ev[o] = n_ev
            n_ev += 1
        ev_of[pos] = op_ev[o]
    # Candidates past the prefix: the batch they would leave in is a straddling one of the
    # prefix, or the operator's next batch (a sentinel; later ones leave later still).
    n_out = 0
    for pos in range(width, n_cand):
        if n_out == kops.size:
            break  # every operator's first candidate past the prefix seen
        o = cops[pos]
        if op_out[o]:
            continue
        op_out[o] = True
        n_out += 1
        b = pos // sizes[o]
        if op_batch[o] == b:
            ev_beyond[op_ev[o]] = True
            continue
        ev_t[n_ev] = _departure(op_now[o], up, b, intervals[o])
        ev_beyond[n_ev] = True
        ev_start[n_ev] = 0
        n_ev += 1
    # Each batch's candidates, in rank order (counting sort by batch).
    for pos in range(width):
        ev_start[ev_of[pos]] += 1
    start = 0
    for e in range(n_ev):
        c = ev_start[e]
        ev_start[e] = start
        start += c
    ev_start[n_ev] = start
    for pos in range(width):
        e = ev_of[pos]
        ev_pos[ev_start[e]] = pos
        ev_start[e] += 1
    for e in range(n_ev - 1, 0, -1):
        ev_start[e] = ev_start[e - 1]
    ev_start[0] = 0
    _order(ev_t, ev_t, n_ev, ev_idx, ev_tmp)
    # The class stops pushing once it has ``target`` responses before a batch leaves. The
    # batches leave in time order, so each response counts from the first batch that leaves
    # after it (``arrivals[i]``: responses first counted at the ``i``-th): the counts of a
    # heap of pending responses, without the heap.
    arrivals = ev_tmp
    arrivals[:n_ev] = 0
    got = 0
    n_resp = 0
    stopped = False
    for i in range(n_ev):
        e = ev_idx[i]
        now = ev_t[e]
        got += arrivals[i]
        if got >= target:
            stopped = True
            break
        if ev_beyond[e]:
            short[r] = True  # a batch with candidates past the prefix would leave now
            break
        if now > last_end:
            last_end = now
        at_night = clocked and _is_night(now - t0, hour, night0, night1)
        for j in range(ev_start[e], ev_start[e + 1]):
            c = off + ev_pos[j]
            v_called[w, c] = now
            code = codes_night[r, c] if at_night else codes_day[r, c]
            v_out[w, c] = code
            if code != _EN_ROUTE:
                tally[1 + code] += 1
                tally[0] += 1
            else:
                tr = now + resp[r, c]
                p = i + 1
                while p < n_ev and not ev_t[ev_idx[p]] > tr:
                    p += 1
                if p < n_ev:
                    arrivals[p] += 1
                resp_t[n_resp] = tr
                resp_col[n_resp] = c
                n_resp += 1
                if tr > last_end:
                    last_end = tr
    if not stopped and width < n_cand:
        short[r] = True
    _order(resp_t, resp_t, n_resp, idx, tmp)  # by time, ties in push order
    for i in range(n_resp):
        j = idx[i]
        c = resp_col[j]
        if i < target:  # confirmed later (:func:`callouts`)
            n_e = _accepted(r, c, resp_t[j], True, e_t, e_rep, e_col, e_plat, n_e)
            v_out[w, c] = _ASSEMBLED
            tally[1 + _ASSEMBLED] += 1
            tally[0] += 1
        else:  # turned away: not counted as called
            v_out[w, c] = -1
            v_called[w, c] = np.nan
    return n_e, last_end
