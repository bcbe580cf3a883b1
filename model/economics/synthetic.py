"""Small synthetic tables in the shape of docs/data_model.md, for tests, examples and benchmarks.

Nothing here is a model of behaviour: the states are written down (:func:`scripted_tables`) or drawn
uniformly (:func:`random_tables`) so that the economics can be checked by hand and at scale without
running the simulator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from model.economics.ledger import ARMS, STATES

#: The four scripted persons: (married, children 0-5, 6-10, 11-17, age at referral).
SCRIPTED_PERSONS: tuple[tuple[bool, int, int, int, float], ...] = (
    (False, 0, 0, 0, 30.0),  # 0: single adult
    (True, 1, 1, 0, 40.0),  # 1: couple with two children
    (False, 0, 0, 0, 22.0),  # 2: single, under 25 throughout
    (True, 0, 0, 2, 35.0),  # 3: couple with two teenagers
)


def _persons(
    n_reps: int, attrs: Sequence[tuple[bool, int, int, int, float]], start: pd.Timestamp
) -> pd.DataFrame:
    rows = []
    for r in range(n_reps):
        for i, (married, c0, c1, c2, age) in enumerate(attrs):
            rows.append(
                {
                    "replication": r,
                    "person": i,
                    "project": "synthetic",
                    "group": "",
                    "sex": "female" if i % 2 else "male",
                    "age_at_referral_years": age,
                    "married": married,
                    "children_0_5": c0,
                    "children_6_10": c1,
                    "children_11_17": c2,
                    "schooling": "over_8",
                    "work_experience_home": "none",
                    "work_experience_norway": "none",
                    "years_in_norway": 8.0,
                    "years_in_municipality": 5.0,
                    "social_assistance_years": 3.0,
                    "referral_date": start,
                    "participant": True,
                    "admission_date": start + pd.DateOffset(months=2),
                }
            )
    df = pd.DataFrame(rows)
    df = df.astype(
        {
            "replication": np.int32,
            "person": np.int32,
            "children_0_5": np.int8,
            "children_6_10": np.int8,
            "children_11_17": np.int8,
        }
    )
    df["referral_date"] = df["referral_date"].astype("datetime64[s]")
    df["admission_date"] = df["admission_date"].astype("datetime64[s]")
    for col in (
        "project",
        "group",
        "sex",
        "schooling",
        "work_experience_home",
        "work_experience_norway",
    ):
        df[col] = df[col].astype("category")
    return df


def _person_months(rows: list[tuple[int, str, int, pd.Timestamp, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["replication", "arm", "person", "month", "state"])
    df["replication"] = df["replication"].astype(np.int32)
    df["person"] = df["person"].astype(np.int32)
    df["arm"] = pd.Categorical(df["arm"], categories=ARMS)
    df["month"] = df["month"].astype("datetime64[s]")
    df["state"] = pd.Categorical(df["state"], categories=STATES)
    return df


def _events(rows: list[tuple[int, str, int, pd.Timestamp, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["replication", "arm", "person", "time", "event", "detail"])
    df["replication"] = df["replication"].astype(np.int32)
    df["person"] = df["person"].astype(np.int32)
    df["arm"] = pd.Categorical(df["arm"], categories=ARMS)
    df["time"] = df["time"].astype("datetime64[s]")
    df["event"] = df["event"].astype("category")
    df["detail"] = df["detail"].astype("category")
    return df


def scripted_state(arm: str, person: int, k: int) -> str:
    """The scripted state of ``person`` in month ``k`` (0-based from the referral month)."""
    if arm == "programme":
        if k < 2:
            return "assessment"
        if k < 14:
            return "in_programme"
        return (
            "employed_full_time",
            "employed_full_time",
            "employed_part_time",
            "social_assistance",
        )[person]
    if person == 0 and k >= 18:
        return "employed_part_time"
    return "social_assistance"


def scripted_tables(
    n_reps: int = 1, start: str = "2006-01-01", n_months: int = 24
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four persons with written-down careers, identical in every replication.

    Programme arm: assessment in months 0–1, in the programme in months 2–13, then persons 0 and 1
    in full-time jobs, person 2 part-time, person 3 back on social assistance. Counterfactual arm:
    social assistance throughout, except person 0 who works part-time from month 18. Events:
    ``assessment_started`` for all four in month 0 (programme arm) and ``incentive_milestone``
    ``6_months`` / ``12_months`` six and twelve months after persons 0 and 1 start their full-time
    job (if before the horizon).

    Args:
        n_reps: number of replications (all identical).
        start: the referral month of all four (first of a month).
        n_months: number of simulated months.

    Returns:
        ``(persons, person_months, events)``.
    """
    t0 = pd.Timestamp(start)
    months = [t0 + pd.DateOffset(months=k) for k in range(n_months)]
    persons = _persons(n_reps, SCRIPTED_PERSONS, t0)
    pm_rows, ev_rows = [], []
    for r in range(n_reps):
        for arm in ARMS:
            for p in range(len(SCRIPTED_PERSONS)):
                for k, m in enumerate(months):
                    pm_rows.append((r, arm, p, m, scripted_state(arm, p, k)))
        for p in range(len(SCRIPTED_PERSONS)):
            ev_rows.append((r, "programme", p, t0, "referred", ""))
            ev_rows.append((r, "programme", p, t0 + pd.Timedelta(days=3), "assessment_started", ""))
            ev_rows.append((r, "counterfactual", p, t0, "referred", ""))
        for p in (0, 1):
            for lag, detail in ((6, "6_months"), (12, "12_months")):
                k = 14 + lag
                if k < n_months:
                    ev_rows.append(
                        (
                            r,
                            "programme",
                            p,
                            months[k] + pd.Timedelta(days=14),
                            "incentive_milestone",
                            detail,
                        )
                    )
    return persons, _person_months(pm_rows), _events(ev_rows)


def random_tables(
    rng: np.random.Generator,
    n_reps: int = 2,
    n_persons: int = 30,
    start: str = "2005-04-01",
    n_months: int = 36,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random persons and states (uniform over the allowed states of each arm), for invariants and
    scale.

    Args:
        rng: the generator (pass ``np.random.default_rng(seed)``; the global RNG is never used).
        n_reps: replications.
        n_persons: persons per replication.
        start: first month.
        n_months: months per person.

    Returns:
        ``(persons, person_months, events)``; events hold ``assessment_started`` and random
        ``incentive_milestone`` rows.
    """
    t0 = pd.Timestamp(start)
    attrs = [
        (
            bool(rng.random() < 0.57),
            int(rng.integers(0, 3)),
            int(rng.integers(0, 3)),
            int(rng.integers(0, 3)),
            float(rng.uniform(19, 55)),
        )
        for _ in range(n_persons)
    ]
    persons = _persons(n_reps, attrs, t0)
    months = pd.date_range(t0, periods=n_months, freq="MS")
    prog_states = np.array(STATES)
    cf_states = np.array(STATES[3:])
    reps = np.repeat(np.arange(n_reps), 2 * n_persons * n_months)
    arms = np.tile(np.repeat(np.array(ARMS), n_persons * n_months), n_reps)
    ppl = np.tile(np.repeat(np.arange(n_persons), n_months), 2 * n_reps)
    mon = np.tile(months.to_numpy(), 2 * n_reps * n_persons)
    n = reps.size
    states = np.where(
        arms == "programme",
        prog_states[rng.integers(0, len(prog_states), n)],
        cf_states[rng.integers(0, len(cf_states), n)],
    )
    pm = _person_months(list(zip(reps, arms, ppl, mon, states, strict=True)))
    ev_rows = []
    for r in range(n_reps):
        for p in range(n_persons):
            ev_rows.append((r, "programme", p, t0, "assessment_started", ""))
            if rng.random() < 0.3:
                k = int(rng.integers(0, n_months))
                ev_rows.append((r, "programme", p, months[k], "incentive_milestone", "6_months"))
    return persons, pm, _events(ev_rows)
