"""The programme arm's shared part, compiled: referral to the end of participation at every project.

What persons share is a project's desk: its places (filled adviser FTE × caseload), its FCFS waiting list
and its adviser positions (turnover, vacancies, contact-person changes). :mod:`model.engine` runs this in
SimPy (the reference); this module runs the same event loop compiled with Numba, for the fast path.

It is the SimPy run re-stated, not approximated: one event queue per project ordered by (time, priority,
sequence number) exactly as ``simpy.Environment`` orders it, the same events created in the same order
(process initialisations and ends, timeouts, the places' success events, the engine's lean timers), the
same floating-point operations, and each desk's Exp(1) draws taken in the same order from the same
generator. So every person's records, the desk records and the event count are those of SimPy
(``tests/test_fast_path.py`` pins them, replication by replication).

Inputs are plain arrays (see :func:`run_projects`); event, detail and state codes come in ``codes`` so
that the compiled code holds no vocabulary of its own (a cached compilation never goes stale).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

# Signatures of the helpers (each compiles once; callers' integers convert to float where a row is float).
_ROWS = types.float64[:, ::1]
_I = types.int64
_F = types.float64
_IS = types.int64[::1]
_B = types.boolean

INF = math.inf

# Positions in ``codes`` (the engine's vocabulary codes, passed in).
C_REFERRED, C_REJECTED, C_WAITING_STARTED, C_ADMITTED, C_STAGE_ENDED = 0, 1, 2, 3, 4
C_EXIT_WORK_OR_EDUCATION, C_BROKE_OFF, C_DISCHARGED_OTHER, C_COMPLETED, C_CONTACT_CHANGED = 5, 6, 7, 8, 9
C_LEFT_SA, C_RETURNED = 10, 11
C_D_WORK, C_D_EDUCATION, C_D_ASSISTANCE, C_D_MOVED_AWAY, C_D_OTHER_SPELL, C_D_OTHER_MEASURES = 12, 13, 14, 15, 16, 17
C_S_ASSESSMENT, C_S_WAITING, C_S_IN_PROGRAMME, C_S_ASSISTANCE, C_S_OTHER, C_NO_STATE = 18, 19, 20, 21, 22, 23
C_K_CAPACITY, C_K_ADMITTED, C_K_LEFT, C_K_GAVE_UP = 24, 25, 26, 27
N_CODES = 28

# Life-course entry states (as model.lifecourse.ENTRY_STATES) and "job or education, by the person's draw".
ASSISTANCE, JOB, EDUCATION, OTHER_SPELL, GONE = 0, 1, 2, 3, 4
JOB_OR_EDUCATION = -1
# Kinds of a programme exit cause.
EXIT_WORK_OR_EDUCATION, EXIT_DISCHARGED, EXIT_BROKE_OFF = 0, 1, 2

# SimPy priorities.
_URGENT, _NORMAL = 0.0, 1.0
# Event kinds.
_INIT_STAFF, _INIT_GROUPS, _INIT_REFER, _STAFF, _GROUP, _PROCESS_END = 0, 1, 2, 3, 4, 5
_REFER, _ASSESSED, _COMPETING, _PATIENCE, _PLACE, _LEFT, _VACATE, _FILL = 6, 7, 8, 9, 10, 11, 12, 13
# A person's place: not yet triggered, admitted, given up.
_PENDING, _GRANTED, _CANCELLED = 0, 1, 2


# -------------------------------------------------------------------------------------------- buffers
@njit(_ROWS(_ROWS), cache=True)
def _grow(buf):
    """``buf`` in an array of twice the rows (element by element: a slice assignment compiles far slower)."""
    out = np.empty((buf.shape[0] * 2, buf.shape[1]))
    for i in range(buf.shape[0]):
        for j in range(buf.shape[1]):
            out[i, j] = buf[i, j]
    return out


@njit(types.Tuple((_ROWS, _I))(_ROWS, _I, _F, _F, _F, _F, _F), cache=True)
def _row5(buf, n, a, b, c, d, e):
    if n == buf.shape[0]:
        buf = _grow(buf)
    buf[n, 0] = a
    buf[n, 1] = b
    buf[n, 2] = c
    buf[n, 3] = d
    buf[n, 4] = e
    return buf, n + 1


# ---------------------------------------------------------------------------------------- event queue
@njit(types.boolean(_ROWS, _I, _I), cache=True)
def _before(h, i, j):
    """Whether heap entry i comes before entry j: (time, priority, sequence number)."""
    if h[i, 0] != h[j, 0]:
        return h[i, 0] < h[j, 0]
    if h[i, 1] != h[j, 1]:
        return h[i, 1] < h[j, 1]
    return h[i, 2] < h[j, 2]


@njit(types.void(_ROWS, _I, _I), cache=True)
def _swap(h, i, j):
    for c in range(5):
        t = h[i, c]
        h[i, c] = h[j, c]
        h[j, c] = t


@njit(types.Tuple((_ROWS, _I))(_ROWS, _I, _F, _F, _F, _F, _F), cache=True)
def _push(h, n, at, priority, eid, kind, arg):
    h, n = _row5(h, n, at, priority, eid, kind, arg)
    k = n - 1
    while k > 0:
        parent = (k - 1) >> 1
        if _before(h, k, parent):
            _swap(h, k, parent)
            k = parent
        else:
            break
    return h, n


@njit(_I(_ROWS, _I), cache=True)
def _pop(h, n):
    """Move the first entry to row ``n - 1`` (read it there) and restore the heap on the rest."""
    n -= 1
    _swap(h, 0, n)
    k = 0
    while True:
        left = 2 * k + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and _before(h, left + 1, left):
            child = left + 1
        if _before(h, child, k):
            _swap(h, k, child)
            k = child
        else:
            break
    return n


# ---------------------------------------------------------------------------------------- the run
@njit(cache=True)
def run_projects(
    persons, bounds, referral_day,
    assess, competing, competing_reason, decision, give_up, exit_days, exit_cause, to_education, completion,
    staff_bounds, staff_day, staff_fte, group_bounds, group_day, group_size, grouped,
    turnover_rate, vacancy_days, exps,
    caseload, length_days, boost_days, stage_at, stop,
    competing_detail, not_admitted_detail, detail_entry, exit_kind, exit_detail, exit_entry, codes,
):
    """Run every project's desk and persons, each project in its own event queue (projects share no
    person, place or adviser; within a project the events keep the order one SimPy environment for all
    would give them), in project order.

    Args:
        persons: person ids by project (``bounds[p]:bounds[p + 1]`` are project ``p``'s, ascending).
        referral_day … completion: per person (by id), the plan (see ``engine.ProgrammePlan``).
        staff_bounds, staff_day, staff_fte: each project's staff schedule (FTE already scaled).
        group_bounds, group_day, group_size, grouped: group intakes (``grouped``: the project takes groups).
        turnover_rate, vacancy_days: per project (turnover per day, with the project's frailty).
        exps: per project, its desk generator's Exp(1) draws in order.
        caseload, length_days, boost_days, stage_at, stop: the programme's scalars and stage ends.
        competing_detail, not_admitted_detail: detail codes of the competing reasons and decisions.
        detail_entry: per detail code, the life-course entry of a person not admitted for that reason.
        exit_kind, exit_detail, exit_entry: per programme exit cause.
        codes: the engine's codes (positions ``C_*``).

    Returns:
        ``(log, desks, handover, events, exhausted)``: the records (person, day, event, detail, state),
        the desk records (day, project, kind, active, places, waiting, filled FTE), the life courses to
        start (person, entry state, day, boost until, via the programme), the events processed per
        project, and whether a project needed more than ``exps`` holds (then the results are void).
    """
    n_people = referral_day.shape[0]
    log = np.empty((max(16, 8 * persons.shape[0]), 5))
    n_log = 0
    desk = np.empty((max(16, 4 * persons.shape[0]), 7))
    n_desk = 0
    hand = np.empty((max(16, persons.shape[0]), 5))
    n_hand = 0
    n_projects = bounds.shape[0] - 1
    events = np.zeros(n_projects, dtype=np.int64)
    place = np.zeros(n_people, dtype=np.int8)
    waits = np.zeros(n_people, dtype=np.bool_)  # the person waits for the place (a callback is attached)
    competing_first = np.zeros(n_people, dtype=np.bool_)
    position_of = np.full(n_people, -1, dtype=np.int64)
    no_state = codes[C_NO_STATE]
    heap = np.empty((64, 5))

    for p in range(n_projects):
        b0, b1 = bounds[p], bounds[p + 1]
        m = b1 - b0
        chained = True  # referrals come in order (then they enter the queue one at a time)
        for k in range(b0 + 1, b1):
            if referral_day[persons[k]] < referral_day[persons[k - 1]]:
                chained = False
        s0, s1 = staff_bounds[p], staff_bounds[p + 1]
        g0, g1 = group_bounds[p], group_bounds[p + 1]
        groups = grouped[p]
        # adviser positions: ids in creation order; ``plist`` is the desk's list of positions
        cap = 1
        for c in range(s0, s1):
            cap += int(math.ceil(staff_fte[c] - 1e-9))
        p_filled = np.zeros(cap, dtype=np.bool_)
        p_fte = np.zeros(cap)
        p_removed = np.zeros(cap, dtype=np.bool_)
        p_count = np.zeros(cap, dtype=np.int64)
        plist = np.empty(cap, dtype=np.int64)
        n_pos = 0
        created = 0
        queue = np.empty(max(m, 1), dtype=np.int64)
        q_head = 0
        q_tail = 0
        active = 0
        waiting = 0
        places = 0
        filled_fte = 0.0
        group_places = 0
        rate = turnover_rate[p]
        vacancy = vacancy_days[p]
        used = 0
        exhausted = False
        now = 0.0
        eid = 0
        n_heap = 0
        count = 0
        first_referral = 0
        # process initialisations (urgent, at time 0): staff schedule, group gates, referrals
        heap, n_heap = _push(heap, n_heap, 0.0, _URGENT, eid, _INIT_STAFF, 0)
        eid += 1
        if groups:
            heap, n_heap = _push(heap, n_heap, 0.0, _URGENT, eid, _INIT_GROUPS, 0)
            eid += 1
        heap, n_heap = _push(heap, n_heap, 0.0, _URGENT, eid, _INIT_REFER, 0)
        eid += 1

        while n_heap > 0 and heap[0, 0] <= stop:
            n_heap = _pop(heap, n_heap)
            now = heap[n_heap, 0]
            kind = int(heap[n_heap, 3])
            arg = int(heap[n_heap, 4])
            count += 1
            # What the event's callbacks do; several steps below queue work on ``todo`` (a small stack
            # machine keeps the code flat): actions are encoded as (action, argument).
            # Actions: 1 set_fte(change arg) then continue the staff schedule from arg + 1;
            #          2 continue the staff schedule from arg; 3 open group arg then continue from arg + 1;
            #          4 continue the group gates from arg.
            action, a_arg = 0, 0
            person = -1
            if kind == _INIT_STAFF:
                action, a_arg = 2, s0
            elif kind == _STAFF:
                action, a_arg = 1, arg
            elif kind == _INIT_GROUPS:
                action, a_arg = 4, g0
            elif kind == _GROUP:
                action, a_arg = 3, arg
            elif kind == _INIT_REFER:
                if chained:
                    if m > 0:
                        first_referral = eid
                        eid += m
                        at = now + referral_day[persons[b0]]
                        if at <= stop:
                            heap, n_heap = _push(heap, n_heap, at, _NORMAL, first_referral, _REFER, 0)
                else:
                    for k in range(m):
                        at = now + referral_day[persons[b0 + k]]
                        if at <= stop:
                            heap, n_heap = _push(heap, n_heap, at, _NORMAL, eid, _REFER, k)
                            eid += 1
                heap, n_heap = _push(heap, n_heap, now, _NORMAL, eid, _PROCESS_END, 0)
                eid += 1
            elif kind == _REFER:
                if chained and arg + 1 < m:
                    at = 0.0 + referral_day[persons[b0 + arg + 1]]
                    if at <= stop:
                        heap, n_heap = _push(heap, n_heap, at, _NORMAL, first_referral + arg + 1, _REFER, arg + 1)
                i = persons[b0 + arg]
                log, n_log = _row5(log, n_log, i, now, codes[C_REFERRED], 0, codes[C_S_ASSESSMENT])
                if competing[i] < assess[i]:
                    heap, n_heap, eid = _after(heap, n_heap, eid, now, competing[i], stop, _COMPETING, i)
                else:
                    heap, n_heap, eid = _after(heap, n_heap, eid, now, assess[i], stop, _ASSESSED, i)
            elif kind == _PROCESS_END:
                pass
            else:
                person = arg

            # -------- steps that may admit from the waiting list (each followed by ``admit``) --------
            # Encoded inline: the staff schedule, group gates, persons and positions.
            while action != 0:
                if action == 1:  # set_fte(change)
                    fte = staff_fte[a_arg]
                    n_target = int(math.ceil(fte - 1e-9))
                    while n_pos > n_target:
                        chosen = -1
                        for q in range(n_pos):
                            if not p_filled[plist[q]]:
                                chosen = q
                                break
                        if chosen < 0:
                            chosen = 0
                            for q in range(1, n_pos):
                                if p_count[plist[q]] < p_count[plist[chosen]]:
                                    chosen = q
                        pos = plist[chosen]
                        for q in range(chosen, n_pos - 1):
                            plist[q] = plist[q + 1]
                        n_pos -= 1
                        p_removed[pos] = True
                        if p_count[pos] > 0:
                            log, n_log = _reassign(log, n_log, pos, plist, n_pos, p_filled, p_count, position_of,
                                                   persons, b0, b1, now, codes)
                    while n_pos < n_target:
                        pos = created
                        created += 1
                        p_filled[pos] = True
                        plist[n_pos] = pos
                        n_pos += 1
                        e, used, exhausted = _draw(exps, p, used, exhausted)  # hold(): a holder's tenure
                        heap, n_heap, eid = _after(heap, n_heap, eid, now, e / rate if rate > 0 else INF, stop, _VACATE, pos)
                    for q in range(n_pos):
                        p_fte[plist[q]] = fte / n_target if n_target else 0.0
                    filled_fte, places = _fte(plist, n_pos, p_filled, p_fte, caseload)  # refresh_fte()
                    desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_CAPACITY], active, places, waiting, filled_fte)
                    heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                        heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                        groups, group_places, place, now, p, codes, filled_fte)
                    action, a_arg = 2, a_arg + 1
                elif action == 3:  # a group date: its places open, then close
                    group_places = group_size[a_arg]
                    heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                        heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                        groups, group_places, place, now, p, codes, filled_fte)
                    group_places = 0
                    action, a_arg = 4, a_arg + 1
                else:  # 2: the staff schedule from change a_arg; 4: the group gates from group a_arg
                    staff = action == 2
                    heap, n_heap, eid, due = _next_date(heap, n_heap, eid, now, staff_day if staff else group_day, a_arg,
                                                        s1 if staff else g1, _STAFF if staff else _GROUP)
                    action = (1 if staff else 3) if due else 0

            if person < 0:
                continue
            i = person
            # -------- a person's or a position's event --------
            participate = False
            reject = -1  # detail code of a not-admitted reason
            if kind == _COMPETING:
                reject = competing_detail[competing_reason[i]]
            elif kind == _ASSESSED:
                if decision[i] >= 0:
                    reject = not_admitted_detail[decision[i]]
                else:
                    queue[q_tail] = i
                    q_tail += 1
                    waiting += 1
                    heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                        heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                        groups, group_places, place, now, p, codes, filled_fte)
                    if place[i] == _GRANTED:
                        participate = True
                    else:
                        log, n_log = _row5(log, n_log, i, now, codes[C_WAITING_STARTED], 0, codes[C_S_WAITING])
                        competing_left = competing[i] - assess[i]
                        patience = min(competing_left, give_up[i])
                        if patience < INF:
                            heap, n_heap, eid = _after(heap, n_heap, eid, now, patience, stop, _PATIENCE, i)
                        waits[i] = True
                        competing_first[i] = competing_left <= give_up[i]
            elif kind == _PATIENCE:
                if place[i] == _PENDING:  # gives up: the place fires with nothing
                    place[i] = _CANCELLED
                    heap, n_heap = _push(heap, n_heap, now, _NORMAL, eid, _PLACE, i)
                    eid += 1
                    waiting -= 1
                    desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_GAVE_UP], active, places, waiting, filled_fte)
            elif kind == _PLACE:
                if waits[i]:
                    if place[i] == _CANCELLED:
                        reject = competing_detail[competing_reason[i]] if competing_first[i] else codes[C_D_OTHER_MEASURES]
                    else:
                        participate = True
            elif kind == _LEFT:
                pos = position_of[i]
                if pos >= 0:
                    p_count[pos] -= 1
                    position_of[i] = -1
                active -= 1
                desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_LEFT], active, places, waiting, filled_fte)
                heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                    heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                    groups, group_places, place, now, p, codes, filled_fte)
                boost_until = now + boost_days
                entry, via = GONE, False
                if exit_days[i] < length_days:
                    c = exit_cause[i]
                    if exit_kind[c] == EXIT_WORK_OR_EDUCATION:
                        education = to_education[i]
                        detail = codes[C_D_EDUCATION] if education else codes[C_D_WORK]
                        log, n_log = _row5(log, n_log, i, now, codes[C_EXIT_WORK_OR_EDUCATION], detail, no_state)
                        entry, via = (EDUCATION if education else JOB), True
                    elif exit_kind[c] == EXIT_DISCHARGED:
                        log, n_log = _row5(log, n_log, i, now, codes[C_DISCHARGED_OTHER], 0, no_state)
                        entry = OTHER_SPELL
                    else:
                        log, n_log = _row5(log, n_log, i, now, codes[C_BROKE_OFF], exit_detail[c], no_state)
                        entry = exit_entry[c]
                else:
                    outcome = completion[i]
                    if outcome == 0:
                        log, n_log = _row5(log, n_log, i, now, codes[C_COMPLETED], codes[C_D_WORK], no_state)
                        entry, via = JOB, True
                    elif outcome == 1:
                        log, n_log = _row5(log, n_log, i, now, codes[C_COMPLETED], codes[C_D_EDUCATION], no_state)
                        entry = EDUCATION
                    else:
                        log, n_log = _row5(log, n_log, i, now, codes[C_COMPLETED], codes[C_D_ASSISTANCE], no_state)
                        entry = ASSISTANCE
                log, n_log, hand, n_hand = _enter(log, n_log, hand, n_hand, i, entry, now, boost_until, via, True, codes)
            elif kind == _VACATE:
                pos = i
                if not p_removed[pos]:
                    p_filled[pos] = False
                    filled_fte, places = _fte(plist, n_pos, p_filled, p_fte, caseload)  # refresh_fte()
                    desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_CAPACITY], active, places, waiting, filled_fte)
                    heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                        heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                        groups, group_places, place, now, p, codes, filled_fte)
                    log, n_log = _reassign(log, n_log, pos, plist, n_pos, p_filled, p_count, position_of,
                                           persons, b0, b1, now, codes)
                    e, used, exhausted = _draw(exps, p, used, exhausted)
                    heap, n_heap, eid = _after(heap, n_heap, eid, now, e * vacancy, stop, _FILL, pos)
            elif kind == _FILL:
                pos = i
                if not p_removed[pos]:
                    p_filled[pos] = True
                    for k in range(b0, b1):  # participants who waited for a new holder meet them now
                        if position_of[persons[k]] == pos:
                            log, n_log = _row5(log, n_log, persons[k], now, codes[C_CONTACT_CHANGED], 0, no_state)
                    filled_fte, places = _fte(plist, n_pos, p_filled, p_fte, caseload)  # refresh_fte()
                    desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_CAPACITY], active, places, waiting, filled_fte)
                    heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places = _admit(
                        heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
                        groups, group_places, place, now, p, codes, filled_fte)
                    e, used, exhausted = _draw(exps, p, used, exhausted)  # hold()
                    heap, n_heap, eid = _after(heap, n_heap, eid, now, e / rate if rate > 0 else INF, stop, _VACATE, pos)

            if reject >= 0:
                entry = detail_entry[reject]
                if entry == JOB_OR_EDUCATION:
                    entry = EDUCATION if to_education[i] else JOB
                state = codes[C_S_ASSISTANCE] if entry == ASSISTANCE else no_state
                log, n_log = _row5(log, n_log, i, now, codes[C_REJECTED], reject, state)
                log, n_log, hand, n_hand = _enter(log, n_log, hand, n_hand, i, entry, now, -1.0, False, False, codes)
            if participate:
                log, n_log = _row5(log, n_log, i, now, codes[C_ADMITTED], 0, codes[C_S_IN_PROGRAMME])
                # assign(): the first least-loaded of the filled positions (of all, if none is filled)
                best = -1
                any_filled = False
                for q in range(n_pos):
                    if p_filled[plist[q]]:
                        any_filled = True
                        break
                for q in range(n_pos):
                    pos = plist[q]
                    if any_filled and not p_filled[pos]:
                        continue
                    if best < 0 or p_count[pos] < p_count[best]:
                        best = pos
                if best >= 0:
                    p_count[best] += 1
                    position_of[i] = best
                stay = min(exit_days[i], length_days)
                for at in stage_at:
                    if at < stay:
                        log, n_log = _row5(log, n_log, i, now + at, codes[C_STAGE_ENDED], 0, no_state)
                heap, n_heap, eid = _after(heap, n_heap, eid, now, stay, stop, _LEFT, i)
        events[p] = count
        if exhausted:
            return log[:n_log], desk[:n_desk], hand[:n_hand], events, True
    return log[:n_log], desk[:n_desk], hand[:n_hand], events, False


@njit(types.Tuple((_ROWS, _I, _I))(_ROWS, _I, _I, _F, _F, _F, _F, _F), cache=True)
def _after(heap, n_heap, eid, now, delay, stop, kind, arg):
    """The engine's lean timer: an event ``delay`` from now, unless it falls after ``stop`` (then it is
    not scheduled and takes no sequence number, as the SimPy run does)."""
    at = now + delay
    if at <= stop:
        heap, n_heap = _push(heap, n_heap, at, _NORMAL, eid, kind, arg)
        eid += 1
    return heap, n_heap, eid


@njit(types.Tuple((_ROWS, _I, _I, _B))(_ROWS, _I, _I, _F, types.float64[::1], _I, _I, _F), cache=True)
def _next_date(heap, n_heap, eid, now, days, k, end, kind):
    """A schedule process (staff changes, group dates) at its step ``k`` of ``end``: whether that step is
    due now; else it waits for it (a timeout of ``kind``), or the process ends (its end event)."""
    if k < end:
        delay = days[k] - now
        if delay <= 0:
            return heap, n_heap, eid, True
        heap, n_heap = _push(heap, n_heap, now + delay, _NORMAL, eid, kind, k)
    else:
        heap, n_heap = _push(heap, n_heap, now, _NORMAL, eid, _PROCESS_END, 0)
    return heap, n_heap, eid + 1, False


@njit(types.Tuple((_F, _I, _B))(types.float64[:, ::1], _I, _I, _B), cache=True)
def _draw(exps, p, used, exhausted):
    """Desk ``p``'s next Exp(1) draw, how many are used, and whether they ran out (then inf: nothing
    more is scheduled, and the caller runs again with more draws)."""
    if used < exps.shape[1]:
        return exps[p, used], used + 1, exhausted
    return INF, used, True


@njit(types.Tuple((_F, _I))(_IS, _I, types.boolean[::1], types.float64[::1], _F), cache=True)
def _fte(plist, n_pos, p_filled, p_fte, caseload):
    """Filled FTE (summed over the positions in list order) and the places it gives."""
    filled = 0.0
    for q in range(n_pos):
        if p_filled[plist[q]]:
            filled += p_fte[plist[q]]
    return filled, int(math.floor(filled * caseload + 1e-9))


@njit(types.Tuple((_ROWS, _I))(_ROWS, _I, _F, _F, _F, _F, _F, _F, _F), cache=True)
def _desk_row(desk, n, now, p, kind, active, places, waiting, filled_fte):
    if n == desk.shape[0]:
        desk = _grow(desk)
    desk[n, 0] = now
    desk[n, 1] = p
    desk[n, 2] = kind
    desk[n, 3] = active
    desk[n, 4] = places
    desk[n, 5] = waiting
    desk[n, 6] = filled_fte
    return desk, n + 1


@njit(types.Tuple((_ROWS, _I, _I, _ROWS, _I, _I, _I, _I, _I))(
    _ROWS, _I, _I, _ROWS, _I, _IS, _I, _I, _I, _I, _I, _B, _I, types.int8[::1], _F, _I, _IS, _F), cache=True)
def _admit(heap, n_heap, eid, desk, n_desk, queue, q_head, q_tail, active, waiting, places,
           groups, group_places, place, now, p, codes, filled_fte):
    """Admit from the head of the waiting list while there are places (at group projects: group places,
    whatever the places); persons who gave up are skipped."""
    while q_head < q_tail and (active < places or groups):
        if groups and group_places <= 0:
            break
        i = queue[q_head]
        q_head += 1
        if place[i] != _PENDING:
            continue
        active += 1
        waiting -= 1
        if groups:
            group_places -= 1
        place[i] = _GRANTED
        heap, n_heap = _push(heap, n_heap, now, _NORMAL, eid, _PLACE, i)
        eid += 1
        desk, n_desk = _desk_row(desk, n_desk, now, p, codes[C_K_ADMITTED], active, places, waiting, filled_fte)
    return heap, n_heap, eid, desk, n_desk, q_head, active, waiting, group_places


@njit(types.Tuple((_ROWS, _I))(_ROWS, _I, _I, _IS, _I, types.boolean[::1], _IS, _IS, _IS, _I, _I, _F, _IS), cache=True)
def _reassign(log, n_log, exclude, plist, n_pos, p_filled, p_count, position_of, persons, b0, b1, now, codes):
    """Give the participants of position ``exclude`` (ascending) a new contact person: the first
    least-loaded of the other filled positions; nobody moves if there is none."""
    others = 0
    for q in range(n_pos):
        if p_filled[plist[q]] and plist[q] != exclude:
            others += 1
    if others == 0:
        return log, n_log
    moving = np.empty(b1 - b0, dtype=np.int64)
    n_moving = 0
    for k in range(b0, b1):
        if position_of[persons[k]] == exclude:
            moving[n_moving] = persons[k]
            n_moving += 1
    for j in range(n_moving):
        i = moving[j]
        p_count[exclude] -= 1
        best = -1
        for q in range(n_pos):
            pos = plist[q]
            if not p_filled[pos] or pos == exclude:
                continue
            if best < 0 or p_count[pos] < p_count[best]:
                best = pos
        p_count[best] += 1
        position_of[i] = best
        log, n_log = _row5(log, n_log, i, now, codes[C_CONTACT_CHANGED], 0, codes[C_NO_STATE])
    return log, n_log


@njit(types.Tuple((_ROWS, _I, _ROWS, _I))(_ROWS, _I, _ROWS, _I, _I, _I, _F, _F, _B, _B, _IS), cache=True)
def _enter(log, n_log, hand, n_hand, i, entry, now, boost_until, via, announce, codes):
    """Continue person ``i``'s life course in ``entry``: log the state entered, and note the life course
    to run (none for persons who are gone)."""
    if entry == GONE:
        log, n_log = _row5(log, n_log, i, now, codes[C_LEFT_SA], codes[C_D_MOVED_AWAY], codes[C_S_OTHER])
        return log, n_log, hand, n_hand
    if entry == OTHER_SPELL:
        log, n_log = _row5(log, n_log, i, now, codes[C_LEFT_SA], codes[C_D_OTHER_SPELL], codes[C_S_OTHER])
    elif entry == ASSISTANCE and announce:
        log, n_log = _row5(log, n_log, i, now, codes[C_RETURNED], 0, codes[C_S_ASSISTANCE])
    hand, n_hand = _row5(hand, n_hand, i, entry, now, boost_until, 1.0 if via else 0.0)
    return log, n_log, hand, n_hand
