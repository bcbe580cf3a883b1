"""Invariants of the engine and the tidy tables, for random small scenarios (hypothesis).

For any scenario: every referred person is in exactly one state in every month from the referral
month to the horizon, in both arms; nobody is admitted beyond the places; waits are never negative;
both arms see the same persons; the flow identities of IMDi 4-2007 table 3 hold; the monthly state
shares of the participants sum to one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.engine import STATES
from model.outcomes import FLOW_KEYS, month_starts
from model.runner import run_replication, scenario_parameters
from model.scenario import scenario_from_document

HERE = (
    Path(__file__).parent / "data" / "hypothesis_scenario.toml"
)  # only names the document in errors
START, HORIZON = "2005-01-01", "2008-06-30"
COUNTERFACTUAL_STATES = {
    "employed_full_time",
    "employed_part_time",
    "education",
    "social_assistance",
    "other",
}


@st.composite
def scenarios(draw):
    caseload = draw(st.integers(1, 12))
    fte = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
    later_fte = draw(st.sampled_from([0.0, 0.5, 1.0, 2.5]))  # staff may fall, even to nobody
    length = draw(st.integers(1, 36))
    rate = draw(st.floats(0.5, 10.0))
    with_groups = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    projects = [
        {
            "name": "Continuous",
            "cohort": 2005,
            "intake_start_date": "2005-02-01",
            "referrals_per_month": rate,
            "staff": [
                {"date": "2005-01-15", "advisers_fte": fte},
                {"date": "2006-03-01", "advisers_fte": later_fte},
            ],
        }
    ]
    if with_groups:
        projects.append(
            {
                "name": "Groups",
                "cohort": 2005,
                "intake_start_date": "2005-03-01",
                "intake": "groups",
                "staff": [{"date": "2005-03-01", "advisers_fte": 1.0}],
                "groups": [
                    {"name": "G1", "start_date": "2005-05-01", "size": draw(st.integers(1, 8))},
                    {
                        "name": "G2",
                        "start_date": "2006-02-01",
                        "size": 4,
                        "referrals": draw(st.integers(0, 10)),
                    },
                ],
            }
        )
    doc = {
        "name": "hypothesis",
        "simulation": {
            "start_date": START,
            "horizon_date": HORIZON,
            "report_dates": ["2006-06-01", "2007-03-01"],
        },
        "programme": {"length_months": length},
        "follow_up": {"caseload_per_adviser": caseload},
        "projects": projects,
    }
    return scenario_from_document(doc, HERE), seed


def check_person_months(out, n: int, months: list) -> None:
    pm = out.person_months
    month_index = {np.datetime64(m, "s"): i for i, m in enumerate(months)}
    referral_month = (
        pd.to_datetime(out.persons["referral_date"])
        .dt.to_period("M")
        .dt.to_timestamp()
        .to_numpy()
        .astype("datetime64[s]")
    )
    first = np.array([month_index[m] for m in referral_month])
    expected_rows = len(months) - first  # referral month .. horizon month, inclusive
    for arm in ("programme", "counterfactual"):
        sub = pm[pm["arm"] == arm]
        assert not sub.duplicated(["person", "month"]).any(), (
            f"{arm}: a person in two states in one month"
        )
        assert sub["state"].notna().all()
        assert set(sub["person"].unique()) == set(range(n)), f"{arm}: persons differ"
        counts = sub.groupby("person").size().reindex(range(n), fill_value=0).to_numpy()
        assert (counts == expected_rows).all(), (
            f"{arm}: gaps between the referral month and the horizon"
        )
        first_seen = (
            sub.groupby("person")["month"]
            .min()
            .reindex(range(n))
            .to_numpy()
            .astype("datetime64[s]")
        )
        assert (first_seen == referral_month).all()
        if arm == "counterfactual":
            assert set(sub["state"].astype(str)) <= COUNTERFACTUAL_STATES
        assert set(sub["state"].astype(str)) <= set(STATES)


def check_desks(out, scen=None) -> None:
    desks = out.desks
    adm = desks[desks["kind"] == "admitted"]
    # A group project admits its group on the group date whatever the places (issue 12 item 1): there
    # admissions happen only on group dates and at most the group's size each.
    grouped = {p.name: p for p in scen.projects if p.intake == "groups"} if scen is not None else {}
    cont = adm[~adm["project"].astype(str).isin(list(grouped))]
    assert (cont["active"] <= cont["capacity"]).all(), "admitted beyond the places"
    for name, project in grouped.items():
        days = adm[adm["project"].astype(str) == name]["time"].dt.date
        sizes = {g.start_date: g.size for g in project.groups}
        counts = days.value_counts()
        assert all(d in sizes and c <= sizes[d] for d, c in counts.items()), "group admission off a group date or beyond its size"
    assert (
        (desks["active"] >= 0).all()
        and (desks["waiting"] >= 0).all()
        and (desks["capacity"] >= 0).all()
    )


def check_events(out, n: int) -> None:
    ev = out.events
    prog = ev[ev["arm"] == "programme"]
    cf = ev[ev["arm"] == "counterfactual"]

    def first(frame, event):
        sel = frame[frame["event"] == event]
        assert not sel.duplicated("person").any(), f"{event} twice for a person"
        return sel.set_index("person")["time"]

    referred, waiting, admitted, rejected = (
        first(prog, e) for e in ("referred", "waiting_started", "admitted", "rejected")
    )
    assert set(referred.index) == set(range(n))
    # Both arms: the same persons, referred at the same moments.
    cf_referred = first(cf, "referred")
    assert cf_referred.sort_index().equals(referred.sort_index())
    assert set(cf["person"]) <= set(range(n))
    # Waits never negative; admission never before referral; nobody both admitted and rejected.
    both = admitted.index.intersection(waiting.index)
    assert ((admitted[both] - waiting[both]) >= pd.Timedelta(0)).all(), "negative wait"
    assert ((admitted - referred[admitted.index]) >= pd.Timedelta(0)).all()
    assert admitted.index.intersection(rejected.index).empty
    # The persons table agrees with the events.
    persons = out.persons.set_index("person")
    assert (persons["participant"] == persons.index.isin(admitted.index)).all()


def check_flows(scen, out) -> None:
    for date, entry in out.flows.items():
        groups = list(entry.get("groups", {}).values())
        for f in (entry["all"], entry["women"], entry["men"], *groups):
            assert set(f) == set(FLOW_KEYS)
            assert all(v >= 0 for v in f.values()), (date, f)
            assert (
                f["referred"]
                == f["participants"] + f["not_admitted"] + f["under_assessment"] + f["waiting"]
            )
            assert f["participants"] == (
                f["active"]
                + f["work_or_education"]
                + f["broke_off"]
                + f["discharged_other"]
                + f["completed"]
            )
        for k in FLOW_KEYS:
            assert entry["all"][k] == entry["women"][k] + entry["men"][k]
        assert sum(entry["not_admitted_reasons"].values()) == entry["all"]["not_admitted"]
        assert sum(entry["broke_off_reasons"].values()) == entry["all"]["broke_off"]
        if groups:
            total_group_referred = sum(g["referred"] for g in groups)
            assert total_group_referred <= entry["all"]["referred"]
    # Flows grow with the report date for the cumulative counts.
    a, b = (out.flows[d.isoformat()]["all"] for d in scen.simulation.report_dates)
    for k in (
        "referred",
        "participants",
        "not_admitted",
        "work_or_education",
        "broke_off",
        "discharged_other",
        "completed",
    ):
        assert a[k] <= b[k]


def check_participant_states(out) -> None:
    ps = out.participant_states
    parts = ["in_programme", "employed", "education", "social_assistance", "other"]
    total = ps[parts].sum(axis=1).to_numpy()
    any_participant = bool(out.persons["participant"].any())
    assert np.allclose(total, 1.0 if any_participant else 0.0, atol=1e-12)
    assert (ps["employed_full_time"] <= ps["employed"] + 1e-12).all()
    assert (ps[parts].to_numpy() >= 0).all()
    per_arm = ps.groupby("arm", observed=True)["month"].apply(list)
    assert per_arm["programme"] == per_arm["counterfactual"]
    assert (ps.loc[ps["arm"] == "counterfactual", "in_programme"] == 0).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_for_random_small_scenarios(case):
    scen, seed = case
    params = scenario_parameters(scen)
    months = month_starts(scen.simulation.start_date, scen.simulation.horizon_date)
    for replication in (0, 1):
        out = run_replication(scen, params, seed, replication)
        n = len(out.persons)
        check_person_months(out, n, months)
        check_desks(out, scen)
        check_events(out, n)
        check_flows(scen, out)
        check_participant_states(out)
