"""The speed-ups give the same numbers as the plain code they replace (exact equality, not tolerances).

Each optimised function is compared with a straightforward reference (the pandas/NumPy formulation it
replaced, kept here) on real tables of a small scenario and on randomised variants of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.cba import _mean_arm_difference, economic_policy, mean_effects
from model.economics.discounting import discount_factors
from model.economics.ledger import (
    PARTIES,
    arm_effects,
    count_states,
    ledger_from_counts,
    transfers_net,
)
from model.economics.perspectives import EVALUATION_COLUMNS, evaluate, perspective_ledger
from model.economics.sums import groupby_sum
from model.engine import EventLog, simulate
from model.outcomes import Timeline, _month_grid, _state_matrix, tidy
from model.population import draw_population
from model.rng import Streams, _name_key
from model.runner import run_replication, scenario_parameters
from model.scenario import load_scenario
from model.vocabulary import STATES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tables():
    scen = load_scenario(ROOT / "tests" / "data" / "two_projects.toml")
    params = scenario_parameters(scen)
    outs = [run_replication(scen, params, 4, r) for r in range(3)]
    persons = pd.concat([o.persons for o in outs], ignore_index=True)
    pm = pd.concat([o.person_months for o in outs], ignore_index=True)
    events = pd.concat([o.events for o in outs], ignore_index=True)
    staff = pd.concat([o.staff_months for o in outs], ignore_index=True)
    part = persons.loc[persons["participant"], ["replication", "person"]]
    pm_part = pm.merge(part, on=["replication", "person"], how="inner")
    policy = economic_policy(scen, staff)
    ledger = ledger_from_counts(count_states(persons[persons["participant"]], pm_part, events), policy, params)
    return {"scen": scen, "params": params, "persons": persons, "pm": pm, "events": events, "part": part, "policy": policy,
            "ledger": ledger, "effects": arm_effects(ledger)}


# ------------------------------------------------------------------------------------------ rng
@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**70 + 3])
@pytest.mark.parametrize("replication", [0, 7, 2**32 + 1])
def test_batched_stream_seeding_equals_numpy_seed_sequences(seed, replication):
    names = [f"population.P{i}.attribute{j}" for i in range(6) for j in range(5)]
    streams = Streams(seed, replication)
    streams.prefetch(names)
    for name in names:
        ref = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(replication, _name_key(name)))))
        assert np.array_equal(streams.generator(name).random(8), ref.random(8)), name
        assert np.array_equal(streams.uniform(name, 3), Streams(seed, replication).uniform(name, 3))


# ------------------------------------------------------------------------------------------ groupby
def test_groupby_sum_equals_pandas_groupby():
    rng = np.random.default_rng(5)
    for t in range(60):
        n = int(rng.integers(1, 300))
        df = pd.DataFrame({
            "r": rng.integers(0, 3, n).astype(np.int32),
            "y": rng.integers(2000, 2010, n).astype(np.int32),
            "f": pd.Categorical.from_codes(rng.integers(0, 5, n), categories=list("abcde")),
            "e": rng.random(n) < 0.3,
            "a": rng.normal(0, 1, n) * 10 ** rng.uniform(-2, 8, n),
            "b": rng.normal(0, 1, n),
        })
        if t % 3 == 0:  # sorted rows: pandas sums contiguous groups differently; so must groupby_sum
            df = df.sort_values(["r", "y", "f", "e"])
        keys = ["r", "y", "f", "e"] if t % 2 else ["y", "f", "e"]
        ref = df.groupby(keys, observed=True, sort=True, as_index=False)[["a", "b"]].sum()
        pd.testing.assert_frame_equal(groupby_sum(df, keys, ["a", "b"]), ref, check_exact=True)


# ------------------------------------------------------------------------------------------ economics
def reference_events_counts(events: pd.DataFrame) -> pd.DataFrame:
    """count_states' money-event counts as first written (string columns, sort, drop_duplicates, groupby)."""
    ev_all = events.assign(event=events["event"].astype(str), arm=events["arm"].astype(str))
    inc = ev_all[ev_all["event"] == "incentive_milestone"]
    inc = inc.assign(detail=inc["detail"].astype(str)).sort_values("time").drop_duplicates(["replication", "arm", "person", "detail"])
    in_prog = ev_all[ev_all["arm"] == "programme"]
    assess = in_prog[in_prog["event"] == "assessment_started"]
    if assess.empty:
        assess = in_prog[in_prog["event"] == "referred"]
    ev = pd.concat([inc, assess.assign(event="assessment")], ignore_index=True)
    out = (
        pd.DataFrame({
            "replication": ev["replication"].to_numpy(np.int64),
            "arm": np.where(ev["arm"].to_numpy() == "programme", 0, 1).astype(np.int64),
            "year": pd.to_datetime(ev["time"]).dt.year.to_numpy(np.int64),
            "event": ev["event"].to_numpy(dtype=object),
        })
        .groupby(["replication", "arm", "year", "event"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )
    out["count"] = out["count"].astype(float)
    return out


def test_money_event_counts_equal_the_reference(tables):
    persons, pm, events = tables["persons"], tables["pm"], tables["events"]
    repeat = events[events["event"] == "incentive_milestone"].assign(time=lambda d: d["time"] + pd.Timedelta(days=400))
    for ev in (events, events.assign(event=events["event"].astype(str), arm=events["arm"].astype(str)), pd.concat([events, repeat])):
        got = count_states(persons, pm, ev).events
        pd.testing.assert_frame_equal(got.astype({"event": object}), reference_events_counts(ev).astype({"event": object}),
                                      check_exact=True)


def reference_transfers_net(ledger: pd.DataFrame) -> float:
    money = ledger[ledger["kind"].astype(str) == "transfer"]
    recv = money["amount_nok"].where(money["receiver"].astype(str).isin(PARTIES))
    pay = (-money["amount_nok"]).where(money["payer"].astype(str).isin(PARTIES))
    return float(pd.concat([recv.dropna(), pay.dropna()], ignore_index=True).sum())


def test_transfers_net_equals_the_reference(tables):
    rng = np.random.default_rng(2)
    for frame in (tables["ledger"], tables["effects"]):
        for t in range(5):
            f = frame.assign(amount_nok=frame["amount_nok"] * rng.uniform(0.5, 1.5, len(frame)))
            assert transfers_net(f) == reference_transfers_net(f), t


def reference_mean_arm_difference(frame: pd.DataFrame, column: str) -> float:
    emp = frame.pivot_table(index="replication", columns="arm", values=column, observed=True)
    return float((emp["programme"] - emp["counterfactual"]).mean())


def test_mean_arm_difference_equals_the_pivot():
    rng = np.random.default_rng(3)
    for t in range(40):
        rows = [(r, a, rng.normal() * 10.0 ** rng.integers(-3, 6)) for r in range(int(rng.integers(1, 12)))
                for a in ("programme", "counterfactual") if rng.random() < 0.9 or a == "programme"]
        df = pd.DataFrame(rows, columns=["replication", "arm", "v"]).sample(frac=1.0, random_state=t)
        if "counterfactual" not in set(df["arm"]):
            continue
        ref, got = reference_mean_arm_difference(df, "v"), _mean_arm_difference(df, "v")
        assert ref == got or (np.isnan(ref) and np.isnan(got))


def reference_evaluate(effects, policy, params, perspectives=("society", "state", "municipality", "participant")):
    """model.economics.perspectives.evaluate as first written (multi-key groupbys, pivot, joins)."""
    pl = perspective_ledger(effects, policy, params)
    base = int(pl.attrs["base_year"])
    pl = pl[pl["perspective"].isin(set(perspectives) | {"public"})]
    by_line = pl.groupby(["replication", "perspective", "flow"], observed=True)["pv_nok"].sum()
    gains = by_line.clip(lower=0.0).groupby(level=[0, 1], observed=True).sum()
    costs = (-by_line.clip(upper=0.0)).groupby(level=[0, 1], observed=True).sum()
    npv = by_line.groupby(level=[0, 1], observed=True).sum()
    res = pd.DataFrame({"npv_nok": npv, "pv_gains_nok": gains, "pv_costs_nok": costs})
    with np.errstate(divide="ignore", invalid="ignore"):
        res["bcr"] = np.where(res["pv_costs_nok"] > 0, res["pv_gains_nok"] / res["pv_costs_nok"].where(res["pv_costs_nok"] > 0, 1.0),
                              np.where(res["pv_gains_nok"] > 0, np.inf, np.nan))
    by_year = pl.groupby(["replication", "perspective", "year"], observed=True, as_index=False)["pv_nok"].sum()
    wide = by_year.pivot_table(index=["replication", "perspective"], columns="year", values="pv_nok", aggfunc="sum",
                               fill_value=0.0, observed=True)
    years = wide.columns.to_numpy()
    nonpos = np.cumsum(wide.to_numpy(), axis=1) <= 0.0
    last = np.where(nonpos.any(axis=1), nonpos.shape[1] - 1 - np.argmax(nonpos[:, ::-1], axis=1), -1)
    payback = pd.Series(pd.array([int(years[i]) if i < len(years) else pd.NA for i in last + 1], dtype="Int64"),
                        index=wide.index, name="payback_year")
    res = res.join(payback)
    reps = np.unique(effects["replication"].to_numpy())
    emp = effects[effects["flow"].astype(str) == "employed_person_years"]
    d_emp = discount_factors(emp["year"].to_numpy() - base, policy.discounting, params)
    emp_pv = (emp["person_years"] * d_emp).groupby(emp["replication"].to_numpy()).sum().reindex(reps, fill_value=0.0)
    emp_total = emp.groupby(emp["replication"].to_numpy())["person_years"].sum().reindex(reps, fill_value=0.0)
    public = pl[pl["perspective"] == "public"]
    prog_cost = -public[public["group"].astype(str) == "programme"].groupby("replication")["pv_nok"].sum()
    prog_cost = prog_cost.reindex(reps, fill_value=0.0)
    public_npv = public.groupby("replication")["pv_nok"].sum().reindex(reps, fill_value=0.0)
    annuity = float(discount_factors(np.arange(policy.analysis_horizon_years), policy.discounting, params).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_per = np.where(emp_pv.to_numpy() > 0, prog_cost.to_numpy() / emp_pv.to_numpy(), np.nan)
    rep_metrics = pd.DataFrame({
        "cost_per_extra_employed_person_year_nok": cost_per,
        "net_budget_effect_nok_per_year": public_npv.to_numpy() / annuity,
        "extra_employed_person_years": emp_total.to_numpy(),
        "programme_cost_public_pv_nok": prog_cost.to_numpy(),
    }, index=pd.Index(reps, name="replication"))
    res = res.reset_index()
    res["perspective"] = res["perspective"].astype(str)
    res = res[res["perspective"].isin(perspectives)]
    full = pd.MultiIndex.from_product([reps, list(perspectives)], names=["replication", "perspective"])
    res = res.set_index(["replication", "perspective"]).reindex(full).reset_index()
    res[["npv_nok", "pv_gains_nok", "pv_costs_nok"]] = res[["npv_nok", "pv_gains_nok", "pv_costs_nok"]].fillna(0.0)
    res["payback_year"] = res["payback_year"].astype("Int64")
    res = res.merge(rep_metrics, left_on="replication", right_index=True, how="left")
    res["perspective"] = pd.Categorical(res["perspective"].astype(str), categories=list(perspectives))
    res["replication"] = res["replication"].astype(np.int32)
    res = res.sort_values(["replication", "perspective"], ignore_index=True)
    return res[list(EVALUATION_COLUMNS)]


def test_evaluate_and_mean_effects_equal_the_reference(tables):
    effects, policy, params = tables["effects"], tables["policy"], tables["params"]
    rng = np.random.default_rng(11)
    persp_sets = [("society", "state", "municipality", "participant"), ("society",), ("state", "society", "public")]
    for t in range(6):
        f = pd.concat([effects.assign(replication=(effects["replication"] + 3 * j).astype(np.int32),
                                      amount_nok=effects["amount_nok"] * rng.uniform(0.2, 1.8, len(effects)))
                       for j in range(1 + t % 3)], ignore_index=True)
        if t % 2:
            f = f.sample(frac=0.9, random_state=t)
        f.attrs.update(effects.attrs)
        keys = [c for c in f.columns if c not in ("replication", "amount_nok", "person_years")]
        ref_mean = f.groupby(keys, observed=True, as_index=False)[["amount_nok", "person_years"]].sum()
        ref_mean[["amount_nok", "person_years"]] /= f["replication"].nunique()
        ref_mean.insert(0, "replication", 5)
        pd.testing.assert_frame_equal(mean_effects(f, 5), ref_mean, check_exact=True)
        for frame in (f, mean_effects(f, 5)):
            persp = persp_sets[t % 3]
            pd.testing.assert_frame_equal(evaluate(frame, policy, params, persp), reference_evaluate(frame, policy, params, persp),
                                          check_exact=True)


# ------------------------------------------------------------------------------------------ outcomes
def reference_state_matrix(log, n, mid_days, before, persons=None):
    """outcomes._state_matrix as first written (one binary search per person-month)."""
    has = log.state >= 0
    person, day, state = log.person[has], log.day[has], log.state[has]
    order = np.lexsort((np.arange(person.size), day, person))
    person, day, state = person[order], day[order], state[order]
    span = float(max(mid_days.max(initial=0.0), day.max(initial=0.0)) + 10.0)
    keys = person * span + day
    who = np.arange(n) if persons is None else np.asarray(persons)
    query = (who[:, None] * span + mid_days[None, :]).ravel()
    idx = np.searchsorted(keys, query, side="right") - 1
    ok = idx >= 0
    found_person = np.where(ok, person[np.maximum(idx, 0)], -1)
    rows = np.repeat(who, mid_days.size)
    out = np.where(ok & (found_person == rows), state[np.maximum(idx, 0)], before)
    return out.reshape(who.size, mid_days.size).astype(np.int8)


def reference_persons_table(scenario, pop, admitted, replication):
    persons = pd.DataFrame(pop.columns(scenario))
    persons.insert(0, "replication", np.int32(replication))
    persons["participant"] = np.isfinite(admitted)
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    adm = np.where(np.isfinite(admitted), admitted, 0.0)
    persons["admission_date"] = np.where(persons["participant"].to_numpy(), origin64 + np.round(adm * 86400).astype("timedelta64[s]"),
                                         np.datetime64("NaT", "s"))
    return persons


def reference_person_months(replication, states, first_month, month64):
    pi, mi = np.nonzero(np.arange(month64.size)[None, :] >= first_month[:, None])
    return pd.DataFrame({
        "replication": np.int32(replication),
        "arm": pd.Categorical.from_codes(np.repeat(np.arange(2, dtype=np.int8), pi.size), categories=["programme", "counterfactual"]),
        "person": np.tile(pi.astype(np.int32), 2),
        "month": np.tile(month64[mi], 2),
        "state": pd.Categorical.from_codes(np.concatenate([states[arm][pi, mi] for arm in ("programme", "counterfactual")]), categories=list(STATES)),
    })


def reference_participant_states(scenario, matrices, participants, months):
    first = scenario.simulation.start_date  # the panel starts with the simulation (model.outcomes._participant_states)
    start = next(i for i, m in enumerate(months) if (m.year, m.month) >= (first.year, first.month))
    rows, denom = [], max(int(participants.sum()), 1)
    for arm, mat in matrices.items():
        sub = mat[participants][:, start:]
        counts = np.stack([(sub == k).sum(axis=0) for k in range(len(STATES))], axis=1) / denom
        c = {name: counts[:, k] for k, name in enumerate(STATES)}
        rows.append(pd.DataFrame({
            "month": [m.strftime("%Y-%m") for m in months[start:]], "arm": arm, "in_programme": c["in_programme"],
            "employed": c["employed_full_time"] + c["employed_part_time"], "employed_full_time": c["employed_full_time"],
            "education": c["education"], "social_assistance": c["social_assistance"] + c["assessment"] + c["waiting"], "other": c["other"],
        }))
    return pd.concat(rows, ignore_index=True)


def reference_staff_months(scenario, desks, months, mid_days):
    end_day = float((scenario.simulation.referral_end_date - scenario.simulation.start_date).days)
    caseload = scenario.follow_up.caseload_per_adviser
    names = [p.name for p in scenario.projects]
    fte_all = np.zeros((len(names), mid_days.size))
    for pi in range(len(names)):
        rec = desks[desks[:, 1] == pi]
        fte, active = np.zeros(mid_days.size), np.zeros(mid_days.size)
        if rec.size:
            idx = np.searchsorted(rec[:, 0], mid_days, side="right") - 1
            fte = np.where(idx >= 0, rec[np.maximum(idx, 0), 6], 0.0)
            active = np.where(idx >= 0, rec[np.maximum(idx, 0), 3], 0.0)
        fte_all[pi] = np.where(mid_days > end_day, np.minimum(fte, active / caseload), fte)
    month64 = np.array([np.datetime64(m, "s") for m in months], dtype="datetime64[s]")
    return pd.DataFrame({"month": np.tile(month64, len(names)),
                         "project": pd.Categorical.from_codes(np.repeat(np.arange(len(names)), mid_days.size), categories=names),
                         "fte": fte_all.ravel()})


@pytest.fixture(scope="module", params=["tests/data/two_projects.toml", "scenarios/ny_sjanse_2005_2006.toml"])
def simulated(request):
    scen = load_scenario(ROOT / request.param)
    params = scenario_parameters(scen)
    streams = Streams(2, 1)
    pop = draw_population(scen, params, streams)
    return scen, pop, simulate(scen, params, pop, streams)


def test_tidy_tables_equal_the_reference(simulated):
    scen, pop, logs = simulated
    out = tidy(scen, pop, logs, 1)
    months, mid_days, month64, first_month = _month_grid(scen, pop)
    admitted = Timeline.from_log(logs.programme, pop.size).admitted
    matrices = {arm: reference_state_matrix(log, pop.size, mid_days, STATES.index("social_assistance"))
                for arm, log in (("programme", logs.programme), ("counterfactual", logs.counterfactual))}
    pd.testing.assert_frame_equal(out.persons, reference_persons_table(scen, pop, admitted, 1), check_exact=True)
    pd.testing.assert_frame_equal(out.person_months, reference_person_months(1, matrices, first_month, month64), check_exact=True)
    pd.testing.assert_frame_equal(out.participant_states.drop(columns="replication"),
                                  reference_participant_states(scen, matrices, np.isfinite(admitted), months), check_exact=True)
    pd.testing.assert_frame_equal(out.staff_months.drop(columns="replication"), reference_staff_months(scen, logs.desks, months, mid_days),
                                  check_exact=True)


def test_state_matrix_equals_the_reference_with_ties():
    rng = np.random.default_rng(8)
    mid_days = np.arange(14.0, 14.0 + 30.4 * 40, 30.4).round()
    for t in range(40):
        n, records = int(rng.integers(1, 30)), int(rng.integers(0, 400))
        day = np.where(rng.random(records) < 0.3, rng.choice(mid_days, records), rng.uniform(-5.0, 1250.0, records))
        day = np.where(rng.random(records) < 0.2, np.round(day), day)  # same-day records: log order decides
        log = EventLog(person=rng.integers(0, n, records).astype(np.int32), day=day, event=np.zeros(records, np.int16),
                       detail=np.zeros(records, np.int16), state=rng.integers(-1, len(STATES), records).astype(np.int8), sim_events=0)
        if not (log.state >= 0).any():
            continue
        persons = None if t % 2 else np.flatnonzero(rng.random(n) < 0.6)
        assert np.array_equal(_state_matrix(log, n, mid_days, 6, persons), reference_state_matrix(log, n, mid_days, 6, persons)), t


def _desk_months_loop(scenario, desks: pd.DataFrame) -> np.ndarray:
    """The plain reading of ``desk_months``: one desk at a time, a step function at the mid-months."""
    from model.outcomes import month_starts

    first = min(p.intake_start_date for p in scenario.projects)
    months = month_starts(first, scenario.simulation.horizon_date)
    mids = np.array([np.datetime64(m, "s") + np.timedelta64(14, "D") for m in months])
    cols = ["active", "capacity", "waiting", "filled_fte"]
    total = np.zeros((len(mids), len(cols)))
    for _, rec in desks.groupby(["replication", "project"], observed=True, sort=False):
        idx = np.searchsorted(rec["time"].to_numpy().astype("datetime64[s]"), mids, side="right") - 1
        total += np.where((idx >= 0)[:, None], rec[cols].to_numpy(dtype=float)[np.maximum(idx, 0)], 0.0)
    return total / desks["replication"].nunique()


@pytest.mark.parametrize("path", ["scenarios/ny_sjanse_2005_2006.toml", "scenarios/jobbsjansen_sarpsborg.toml"])
def test_desk_months_equals_the_loop_over_desks(path: str) -> None:
    from model.runner import run_scenario, scenario_parameters
    from model.scenario import load_scenario
    from model.staffing import desk_months

    scen = load_scenario(ROOT / path)
    desks = run_scenario(scen, 3, 5, scenario_parameters(scen), tables=False).table("desks")
    got = desk_months(scen, desks)[["active", "capacity", "waiting", "filled_fte"]].to_numpy()
    np.testing.assert_array_equal(got, _desk_months_loop(scen, desks))


@pytest.mark.parametrize("mean", [0.0, 0.4, 1.05, 1.7, 3.0])
def test_poisson_quantile_equals_scipy(mean: float) -> None:
    from scipy import stats

    from model.population import MAX_CHILDREN, _poisson_quantile

    u = np.random.default_rng(7).random(200_000)
    means = np.where(u > 0.5, mean, mean + 0.3)
    expected = np.minimum(stats.poisson.ppf(u, means).astype(int), MAX_CHILDREN + 1)
    np.testing.assert_array_equal(np.minimum(_poisson_quantile(u, means), MAX_CHILDREN + 1), expected)
