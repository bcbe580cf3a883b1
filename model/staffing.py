"""Staff sizing: the fewest advisers that keep the wait for a place within W weeks with probability P.

The wait is measured from the admission decision (the end of the assessment) to the programme start, for
every person found eligible during the intake period; a person who gives up while waiting counts as not
served within W. For each adviser count the scenario is simulated with that staff (all projects scaled in
proportion to their planned staff), with common random numbers across counts.

The Erlang-C cross-check treats the intake period as a steady M/M/c queue: arrivals λ = the simulated rate
of positive decisions, service = the mean time in the programme, c = advisers × caseload places; then
P(wait ≤ t) = 1 − C(c, λ/μ)·exp(−(cμ − λ)t). It applies where referrals are steady and the programme has
run long enough to fill; for a young project it is a rough guide, not the answer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from numba import njit

from model.cba import PERSPECTIVES, evaluate_parameters
from model.engine import E as EVENT
from model.engine import simulate
from model.outcomes import month_starts
from model.parameters import ParameterSet
from model.population import days_since, draw_population
from model.rng import Streams
from model.scenario import Scenario, StaffChange


def with_advisers(scenario: Scenario, advisers: float) -> Scenario:
    """The scenario with ``advisers`` FTE in all, spread over its projects in proportion to their peak
    planned staff, held from each project's first staff date."""
    peaks = np.array([max(c.advisers_fte for c in p.staff) for p in scenario.projects], dtype=float)
    weights = peaks / peaks.sum() if peaks.sum() > 0 else np.full(len(peaks), 1 / len(peaks))
    projects = tuple(
        dataclasses.replace(p, staff=(StaffChange(p.staff[0].date, float(advisers * w)),), staff_reported=True)
        for p, w in zip(scenario.projects, weights, strict=True)
    )
    follow = dataclasses.replace(scenario.follow_up, staff_sized_for_caseload=None)
    return dataclasses.replace(scenario, projects=projects, follow_up=follow, name=f"{scenario.name} ({advisers:g} advisers)")


def erlang_c(c: int, load: float) -> float:
    """Erlang-C probability of waiting with ``c`` servers and offered load ``load`` (= λ/μ); 1 if unstable."""
    if c <= 0 or load >= c:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= load / k
        total += term
    last = term * load / c
    last_c = last * c / (c - load)
    return last_c / (total + last_c)


def erlang_p_within(c: int, arrival_per_day: float, service_days: float, wait_days: float) -> float:
    """P(wait ≤ ``wait_days``) in M/M/c."""
    mu = 1.0 / service_days
    load = arrival_per_day * service_days
    if load >= c:
        return 0.0
    return 1.0 - erlang_c(c, load) * math.exp(-(c * mu - arrival_per_day) * wait_days)


@dataclasses.dataclass(frozen=True)
class WaitStats:
    """Waits of one adviser count over the replications."""

    advisers: float
    p_wait_within: float
    mean_wait_weeks: float
    p90_wait_weeks: float
    decided: int
    arrival_per_day: float
    service_days: float
    caseload: float
    utilisation: float


def wait_statistics(scenario: Scenario, params: ParameterSet, seed: int, replications: int, max_wait_days: float) -> WaitStats:
    """Simulate the programme arm and measure waits for decisions made during the intake period."""
    origin = scenario.simulation.start_date
    intake_end = days_since(origin, scenario.simulation.referral_end_date)
    waits, within, decided_total = [], 0, 0
    admitted_days, stays, busy, capacity = [], [], [], []
    for r in range(replications):
        streams = Streams(seed, r)
        pop = draw_population(scenario, params, streams)
        logs = simulate(scenario, params, pop, streams, counterfactual=False)
        log = logs.programme
        n = pop.size
        admitted = np.full(n, np.inf)
        waiting = np.full(n, np.inf)
        gave_up = np.zeros(n, dtype=bool)
        ended = np.full(n, np.inf)
        m = log.event == EVENT["admitted"]
        admitted[log.person[m]] = log.day[m]
        m = log.event == EVENT["waiting_started"]
        waiting[log.person[m]] = log.day[m]
        m = log.event == EVENT["rejected"]
        gave_up[log.person[m]] = True
        for ev in ("exit_work_or_education", "broke_off", "discharged_other", "completed"):
            m = log.event == EVENT[ev]
            ended[log.person[m]] = log.day[m]
        # the decision day: the waiting start, or the admission when there was no wait
        decision = np.where(np.isfinite(waiting), waiting, admitted)
        in_period = np.isfinite(decision) & (decision <= intake_end)
        wait = np.full(n, np.inf)
        ok = np.isfinite(admitted)
        wait[ok] = admitted[ok] - decision[ok]
        waits.extend(wait[in_period & np.isfinite(wait)].tolist())
        served = in_period & (wait <= max_wait_days)
        within += int(served.sum())
        decided_total += int(in_period.sum())
        admitted_days.append(np.isfinite(decision[in_period]).sum() / max(intake_end - days_since(origin, min(p.intake_start_date for p in scenario.projects)), 1.0))
        stay = np.minimum(ended, days_since(origin, scenario.simulation.horizon_date)) - admitted
        stays.extend(stay[np.isfinite(admitted) & np.isfinite(ended)].tolist())
        d = logs.desks
        period = (d[:, 0] <= intake_end) & (d[:, 0] >= 0)
        busy.append(d[period, 3].mean() if period.any() else 0.0)
        capacity.append(d[period, 4].mean() if period.any() else 0.0)
    w = np.asarray(waits) / 7.0
    fte = scenario.total_fte_on(scenario.simulation.referral_end_date)
    return WaitStats(
        advisers=fte,
        p_wait_within=within / max(decided_total, 1),
        mean_wait_weeks=float(w.mean()) if w.size else 0.0,
        p90_wait_weeks=float(np.quantile(w, 0.9)) if w.size else 0.0,
        decided=decided_total,
        arrival_per_day=float(np.mean(admitted_days)),
        service_days=float(np.mean(stays)) if stays else float("nan"),
        caseload=float(np.mean(busy)) / fte if fte > 0 else float("nan"),
        utilisation=float(np.mean(busy) / np.mean(capacity)) if np.mean(capacity) > 0 else float("nan"),
    )


def size(
    scenario: Scenario,
    params: ParameterSet,
    max_wait_weeks: float,
    service_level: float,
    seed: int,
    replications: int,
    economics_replications: int = 4,
    max_advisers: int = 60,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The ``size.json`` document: the fewest advisers meeting the service level, the table along the
    adviser count (caseload, utilisation, waits, NPV per perspective, marginal NPV of one more adviser) and
    the Erlang-C answer."""
    say = progress or (lambda _m: None)
    max_days = max_wait_weeks * 7.0
    caseload = scenario.follow_up.caseload_per_adviser
    rows: list[dict] = []
    answer = None
    n = 1
    while n <= max_advisers:
        say(f"{n} advisers")
        st = wait_statistics(with_advisers(scenario, n), params, seed, replications, max_days)
        rows.append({"advisers": n, **{k: v for k, v in dataclasses.asdict(st).items() if k != "advisers"}})
        if st.p_wait_within >= service_level:
            answer = n
            break
        n += 1
    if answer is None:
        answer = max_advisers
    # Economics along the count: from two below to two above the answer.
    counts = sorted({max(1, answer - 2), max(1, answer - 1), answer, answer + 1, answer + 2})
    for k in counts:
        if not any(r["advisers"] == k for r in rows):
            say(f"{k} advisers")
            st = wait_statistics(with_advisers(scenario, k), params, seed, replications, max_days)
            rows.append({"advisers": k, **{kk: v for kk, v in dataclasses.asdict(st).items() if kk != "advisers"}})
    rows.sort(key=lambda r: r["advisers"])
    npv = {}
    for k in counts:
        say(f"economics at {k} advisers")
        ev = evaluate_parameters(with_advisers(scenario, k), params, seed, economics_replications)
        pooled = ev.pooled().set_index("perspective")
        npv[k] = {p: float(pooled.loc[p, "npv_nok"]) for p in PERSPECTIVES}
    for r in rows:
        k = r["advisers"]
        if k in npv:
            for p in PERSPECTIVES:
                r[f"{p}_npv_nok"] = npv[k][p]
            if k + 1 in npv:
                r["marginal_society_npv_of_one_more_adviser_nok"] = npv[k + 1]["society"] - npv[k]["society"]
    at = next(r for r in rows if r["advisers"] == answer)
    lam, service = at["arrival_per_day"], at["service_days"]
    erlang = None
    if math.isfinite(service) and service > 0:
        for c_adv in range(1, 10 * max_advisers):
            if erlang_p_within(int(math.floor(c_adv * caseload)), lam, service, max_days) >= service_level:
                erlang = c_adv
                break
    return {
        "scenario": scenario.name,
        "max_wait_weeks": max_wait_weeks,
        "service_level": service_level,
        "advisers": answer,
        "p_wait_within": at["p_wait_within"],
        "erlang_c_advisers": erlang,
        "erlang_c_inputs": {"arrival_per_day": lam, "mean_stay_days": service, "places_per_adviser": caseload},
        "replications": replications,
        "seed": seed,
        "table": rows,
        "notes": (
            "Waits are from the admission decision to the programme start, for decisions during the intake "
            "period; give-ups count as not served within the limit. Erlang-C assumes a steady M/M/c queue."
        ),
    }


@njit(cache=True)
def _desk_steps(desk, secs, values, mid_secs):
    """Sum over desks (numbered 0 … in order) of each desk's ``values`` as a step function of time read
    at ``mid_secs`` (0 before its first record; records of a desk come in time order, ties in table
    order: the last counts), added desk after desk."""
    n_desks = desk.max() + 1
    start = np.zeros(n_desks + 1, dtype=np.int64)
    for r in range(desk.size):
        start[desk[r] + 1] += 1
    for d in range(n_desks):
        start[d + 1] += start[d]
    at = start[:-1].copy()
    rows = np.empty(desk.size, dtype=np.int64)
    for r in range(desk.size):
        rows[at[desk[r]]] = r
        at[desk[r]] += 1
    total = np.zeros((mid_secs.size, values.shape[1]))
    for d in range(n_desks):
        k, last = start[d], -1
        for m in range(mid_secs.size):
            while k < start[d + 1] and secs[rows[k]] <= mid_secs[m]:
                last = rows[k]
                k += 1
            for c in range(values.shape[1]):
                total[m, c] += values[last, c] if last >= 0 else 0.0
    return total


def desk_months(scenario: Scenario, desks: pd.DataFrame) -> pd.DataFrame:
    """Places, caseload and the waiting list over time, all projects together (programme arm).

    Each project's desk records are read as a step function on the 15th of every month from the first
    intake to the horizon, summed over the projects and averaged over the replications.

    Args:
        scenario: the scenario that was run.
        desks: the ``desks`` tables of the replications (``ReplicationOutcome.desks`` concatenated).

    Returns:
        One row per month: ``month`` (first day), ``active`` (participants in the programme),
        ``capacity`` (places), ``waiting`` (on the waiting list), ``filled_fte`` (adviser FTE in post),
        ``caseload_per_adviser`` (active / filled FTE; NaN without advisers) and ``utilisation``
        (active / places; NaN without places); means over replications.
    """
    first = min(p.intake_start_date for p in scenario.projects)
    months = month_starts(first, scenario.simulation.horizon_date)
    mids = np.array([np.datetime64(m, "s") + np.timedelta64(14, "D") for m in months])
    cols = ["active", "capacity", "waiting", "filled_fte"]
    reps = np.unique(desks["replication"].to_numpy()) if len(desks) else np.array([0])
    total = np.zeros((len(mids), len(cols)))
    if len(desks):
        # Every (replication, project) desk as a step function read at the mid-months; desks numbered in
        # the order they first appear and added one after another (the same sums as a loop over the groups).
        project = desks["project"]
        project_code = project.cat.codes.to_numpy(np.int64) if isinstance(project.dtype, pd.CategoricalDtype) else pd.factorize(project)[0]
        pair = desks["replication"].to_numpy(np.int64) * (int(project_code.max()) + 1) + project_code
        desk, _ = pd.factorize(pair)  # numbered in order of first appearance, as the groups of a loop
        secs = desks["time"].to_numpy().astype("datetime64[s]").view(np.int64)
        total += _desk_steps(desk.astype(np.int64), secs, desks[cols].to_numpy(dtype=float), mids.astype("datetime64[s]").view(np.int64))
    mean = total / len(reps)
    out = pd.DataFrame(mean, columns=cols)
    out.insert(0, "month", pd.DatetimeIndex([np.datetime64(m, "s") for m in months]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["caseload_per_adviser"] = np.where(out["filled_fte"] > 0, out["active"] / out["filled_fte"], np.nan)
        out["utilisation"] = np.where(out["capacity"] > 0, out["active"] / out["capacity"], np.nan)
    return out


__all__ = ["WaitStats", "desk_months", "erlang_c", "erlang_p_within", "size", "wait_statistics", "with_advisers"]
