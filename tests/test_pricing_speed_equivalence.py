"""The faster pricing chain gives the numbers of the code it replaced, exactly.

The reference is the pricing code as committed before the speed-up (commit ``PRICED_BY``): its
``model/economics/ledger.py``, ``perspectives.py`` and ``policy.py`` and the pricing functions of
``model/cba.py``, loaded from git into private modules and run beside the current code on the same
simulated counts and parameter draws: a PSA draw (``summarize_parameters``, which now prices,
differences, averages and evaluates on arrays, ``LedgerArrays``) and each public function on its
own, also on shuffled, thinned, rescaled, partly missing, string-typed and hand-made ledgers. Frames
are compared with ``check_exact=True`` (values, dtypes, categories, row order, attrs) and scalars
with ``==``: no tolerance is needed, because the new code adds up the same numbers in the same
order. :func:`model.economics.sums.group_sums` reproduces the two ways pandas adds up a groupby
sum, which the old code used; :func:`test_group_sums_equals_pandas` pins it to pandas itself.
"""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import cba
from model.economics import perspectives as new_perspectives
from model.economics.ledger import (
    FLOW_INDEX,
    StateCounts,
    arm_effects,
    ledger_from_counts,
    transfers_net,
)
from model.economics.sums import group_sums, groupby_sum
from model.engine import simulate
from model.outcomes import economic_counts
from model.population import draw_population
from model.rng import Streams
from model.runner import scenario_parameters
from model.scenario import load_scenario
from model.uncertainty import sample_parameters

ROOT = Path(__file__).resolve().parent.parent
#: The last commit with the previous pricing code.
PRICED_BY = "73e3fee93c3912ee97d6c528bc782027fe1c6779"
SEED = 5
SCENARIOS = ("tests/data/two_projects.toml", "scenarios/ny_sjanse_2005_2006.toml")


def _git_source(path: str) -> str:
    try:
        done = subprocess.run(
            ["git", "show", f"{PRICED_BY}:{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("git is not available: the reference code cannot be loaded")
    if done.returncode != 0:
        pytest.skip(
            f"commit {PRICED_BY[:7]} is not in this checkout: the reference code cannot be loaded"
        )
    return done.stdout


def _module(name: str, source: str, namespace: dict | None = None) -> types.ModuleType:
    """``source`` run as a module registered as ``name`` (imports of the old modules redirected)."""
    for old in ("ledger", "perspectives", "policy"):
        source = source.replace(
            f"from model.economics.{old} import", f"from _reference_{old} import"
        )
    module = types.ModuleType(name)
    module.__dict__.update(namespace or {})
    sys.modules[name] = module
    exec(compile(source, f"<{PRICED_BY[:7]}:{name}>", "exec"), module.__dict__)
    return module


def _functions(source: str, names: tuple[str, ...]) -> str:
    """The source of the top-level functions ``names`` of a module's ``source``."""
    tree = ast.parse(source)
    found = {
        n.name: ast.get_source_segment(source, n)
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
    }
    return "\n\n".join(found[n] for n in names)


@pytest.fixture(scope="module")
def old() -> types.SimpleNamespace:
    """The previous pricing code: ledger, perspectives, policy and the pricing part of model.cba."""
    policy = _module("_reference_policy", _git_source("model/economics/policy.py"))
    ledger = _module("_reference_ledger", _git_source("model/economics/ledger.py"))
    perspectives = _module(
        "_reference_perspectives", _git_source("model/economics/perspectives.py")
    )
    cba_source = _git_source("model/cba.py")
    assert re.search(
        r'^PERSPECTIVES = \("society", "state", "municipality", "participant"\)$', cba_source, re.M
    )
    pricing = _module(
        "_reference_cba",
        _functions(
            cba_source, ("mean_effects", "economic_policy", "_summary_row", "_mean_arm_difference")
        ),
        {
            "np": np,
            "pd": pd,
            "EconomicPolicy": policy.EconomicPolicy,
            "groupby_sum": ledger.groupby_sum,
            "transfers_net": ledger.transfers_net,
            "PERSPECTIVES": cba.PERSPECTIVES,
        },
    )
    return types.SimpleNamespace(
        ledger=ledger, perspectives=perspectives, policy=policy, cba=pricing
    )


@pytest.fixture(scope="module", params=SCENARIOS)
def simulated(request) -> dict:
    """Per scenario: three replications counted for pricing, a few PSA draws of its parameters."""
    scen = load_scenario(ROOT / request.param)
    params = scenario_parameters(scen)
    sample = sample_parameters(params, 3, 5)
    draws = [params, *(params.with_values(dict(row)) for _, row in sample.iterrows())]
    return {"scen": scen, "params": params, "parts": _counted(scen, params, 3), "draws": draws}


def _counted(scen, params, replications: int) -> list:
    """What summarize_parameters(scen, params, SEED, replications) counts before pricing."""
    parts = []
    for r in range(replications):
        streams = Streams(SEED, r)
        pop = draw_population(scen, params, streams)
        parts.append(economic_counts(scen, pop, simulate(scen, params, pop, streams), r))
    return parts


def _old_chain(old, scen, params, parts, label):
    """What summarize_parameters did after simulating: the summary row, the pooled evaluation."""
    counts = StateCounts.concat([p.counts for p in parts])
    policy = old.cba.economic_policy(
        scen, pd.concat([p.staff_months for p in parts], ignore_index=True)
    )
    ledger = old.ledger.ledger_from_counts(counts, policy, params)
    effects = old.ledger.arm_effects(ledger)
    pooled = old.perspectives.evaluate(old.cba.mean_effects(effects, label), policy, params)
    employment = pd.concat([p.employment for p in parts if len(p.employment)], ignore_index=True)
    participants = employment.loc[
        (employment["arm"] == "programme").to_numpy(), "participants"
    ].to_numpy()
    return old.cba._summary_row(pooled, participants, employment, ledger), pooled


def _assert_same_row(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for k, v in expected.items():
        assert type(got[k]) is type(v), k
        assert got[k] == v or (math.isnan(v) and math.isnan(got[k])), (k, got[k], v)


def _assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.attrs == expected.attrs
    for col in got.columns:
        if isinstance(expected[col].dtype, pd.CategoricalDtype):
            pd.testing.assert_index_equal(
                got[col].cat.categories, expected[col].cat.categories, exact=True
            )


def _assert_same_policy(got, expected) -> None:
    pd.testing.assert_series_equal(
        got.staff_fte_by_month, expected.staff_fte_by_month, check_exact=True
    )
    for name in (
        "stipend_level",
        "g_multiple_per_year",
        "under_25_fraction",
        "absence_deduction",
        "income_offset",
        "price_year",
        "analysis_horizon_years",
        "discounting",
        "base_year",
    ):
        assert getattr(got, name) == getattr(expected, name), name


# ----------------------------------------------------------------------------------------- the draw
@pytest.mark.parametrize("replications", [1, 3])
def test_a_psa_draw_equals_the_previous_code(old, simulated, replications):
    scen = simulated["scen"]
    for k, params in enumerate(simulated["draws"]):
        got_row, got_pooled = cba.summarize_parameters(
            scen, params, SEED, replications, label=10 + k
        )
        parts = (
            simulated["parts"][:replications] if k == 0 else _counted(scen, params, replications)
        )
        row, pooled = _old_chain(old, scen, params, parts, 10 + k)
        _assert_same_row(got_row, row)
        _assert_same_frame(got_pooled, pooled)


# ----------------------------------------------------------------------------------- piece by piece
def test_each_piece_equals_the_previous_code(old, simulated):
    scen, parts = simulated["scen"], simulated["parts"]
    staff = pd.concat([p.staff_months for p in parts], ignore_index=True)
    policy = cba.economic_policy(scen, staff)
    _assert_same_policy(policy, old.cba.economic_policy(scen, staff))
    for subset in (parts[:1], parts[1:], parts):
        counts = StateCounts.concat([p.counts for p in subset])
        for params in simulated["draws"][:2]:
            ledger = ledger_from_counts(counts, policy, params)
            _assert_same_frame(ledger, old.ledger.ledger_from_counts(counts, policy, params))
            effects = arm_effects(ledger)
            _assert_same_frame(effects, old.ledger.arm_effects(ledger))
            for frame in (ledger, effects):
                assert transfers_net(frame) == old.ledger.transfers_net(frame)
            for label in (0, 7):
                _assert_same_frame(
                    cba.mean_effects(effects, label), old.cba.mean_effects(effects, label)
                )
            for persp in (
                new_perspectives.ALL_PERSPECTIVES,
                ("society",),
                ("state", "society", "public"),
            ):
                _assert_same_frame(
                    new_perspectives.evaluate(effects, policy, params, persp),
                    old.perspectives.evaluate(effects, policy, params, persp),
                )
            _assert_same_frame(
                new_perspectives.perspective_ledger(effects, policy, params),
                old.perspectives.perspective_ledger(effects, policy, params),
            )


def test_varied_effect_ledgers_equal_the_previous_code(old, simulated):
    """Shuffled, thinned, rescaled and partly missing effects: other summation paths and orders."""
    scen, parts, params = simulated["scen"], simulated["parts"], simulated["params"]
    policy = cba.economic_policy(
        scen, pd.concat([p.staff_months for p in parts], ignore_index=True)
    )
    effects = arm_effects(
        ledger_from_counts(StateCounts.concat([p.counts for p in parts]), policy, params)
    )
    rng = np.random.default_rng(3)
    for t in range(8):
        f = effects.assign(amount_nok=effects["amount_nok"] * rng.uniform(-1.5, 1.5, len(effects)))
        if t % 2:
            f = f.sample(frac=0.8, random_state=t)
        if t % 4 == 3:
            f.loc[f.index[rng.random(len(f)) < 0.05], "amount_nok"] = np.nan
        if t % 3 == 2:
            f = f.assign(amount_nok=f["amount_nok"] * 1e12, person_years=f["person_years"] * 1e-9)
        f.attrs.update(effects.attrs)
        _assert_same_frame(cba.mean_effects(f, 2), old.cba.mean_effects(f, 2))
        for frame in (f, cba.mean_effects(f, 2)):
            _assert_same_frame(
                new_perspectives.evaluate(frame, policy, params, new_perspectives.ALL_PERSPECTIVES),
                old.perspectives.evaluate(frame, policy, params, new_perspectives.ALL_PERSPECTIVES),
            )
            assert transfers_net(frame) == old.ledger.transfers_net(frame) or (
                math.isnan(transfers_net(frame)) and math.isnan(old.ledger.transfers_net(frame))
            )


def test_varied_ledgers_equal_the_previous_code(old, simulated):
    """Shuffled ledgers and ledgers with plain string columns (pandas groups those)."""
    scen, parts, params = simulated["scen"], simulated["parts"], simulated["params"]
    policy = cba.economic_policy(
        scen, pd.concat([p.staff_months for p in parts], ignore_index=True)
    )
    ledger = ledger_from_counts(StateCounts.concat([p.counts for p in parts]), policy, params)
    for frame in (
        ledger.sample(frac=1.0, random_state=1),
        ledger.astype({"arm": str}),
        ledger.astype({"flow": str, "kind": str}),
    ):
        frame.attrs.update(ledger.attrs)
        _assert_same_frame(arm_effects(frame), old.ledger.arm_effects(frame))
        assert transfers_net(frame) == old.ledger.transfers_net(frame)


def test_staff_series_equal_the_previous_code(old):
    """The policy's FTE series (values, index, inferred frequency) from months of any spacing."""
    cases = [
        ["2005-01-01", "2005-02-01", "2005-03-01"],
        ["2005-01-01", "2005-03-01", "2005-05-01"],
        ["2005-01-01", "2005-02-01", "2005-04-01"],
        ["2005-01-01"],
        ["2005-01-01", "2005-02-01"],
        ["2005-01-01 12:00", "2005-02-01", "2005-03-01"],
        ["2005-01-01", "2006-01-01", "2007-01-01"],
        ["2005-03-01", "2005-01-01", "2005-02-01"],
    ]
    for months in cases:
        for unit in ("s", "us", "ns"):
            index = pd.DatetimeIndex(np.array(months, dtype=f"datetime64[{unit}]"))
            fte = pd.Series(np.arange(len(months), dtype=float), index=index)
            got = new_perspectives.EconomicPolicy(staff_fte_by_month=fte).staff_fte_by_month
            expected = old.policy.EconomicPolicy(staff_fte_by_month=fte).staff_fte_by_month
            pd.testing.assert_series_equal(got, expected, check_exact=True)
            assert got.index.freq == expected.index.freq, months


def test_hand_made_effects_equal_the_previous_code(old, simulated):
    """Effects with plain string columns and int64 keys (as a user or a test builds them)."""
    params = simulated["params"]
    policy = new_perspectives.EconomicPolicy(
        price_year=2006, analysis_horizon_years=4, discounting="r109_2005_flat"
    )
    rows = [
        (2006, "wages", 10.0),
        (2007, "income_tax_state", 50.0),
        (2008, "wages", 100.0),
        (2009, "project_staff", 30.0),
        (2007, "employed_person_years", 1.5),
        (2006, "stipend", 5.0),
    ]
    eff = pd.DataFrame(
        [
            {
                "replication": rep,
                "year": y,
                "flow": name,
                "payer": FLOW_INDEX[name].payer,
                "receiver": FLOW_INDEX[name].receiver,
                "kind": FLOW_INDEX[name].kind,
                "group": FLOW_INDEX[name].group,
                "extrapolated": False,
                "amount_nok": 0.0 if FLOW_INDEX[name].kind == "quantity" else a * (1 + rep),
                "person_years": a if FLOW_INDEX[name].kind == "quantity" else 0.0,
            }
            for rep in (3, 1)
            for y, name, a in rows
        ]
    )
    quantities = eff[eff["kind"] == "quantity"]
    based = policy.replace(base_year=2005)
    for frame in (eff, eff[eff["replication"] == 1], quantities, quantities.iloc[:0]):
        for pol in (policy, based):
            for name in ("evaluate", "perspective_ledger"):
                _assert_same_outcome(
                    getattr(new_perspectives, name),
                    getattr(old.perspectives, name),
                    frame,
                    pol,
                    params,
                )
        assert transfers_net(frame) == old.ledger.transfers_net(frame)


def _assert_same_outcome(new, old, *args) -> None:
    """The same frame, or the same kind of error."""
    try:
        expected = old(*args)
    except Exception as exc:  # the reference refuses: so must the new code
        with pytest.raises(type(exc)):
            new(*args)
        return
    _assert_same_frame(new(*args), expected)


# ----------------------------------------------------------------------------------- the group sums
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_group_sums_equals_pandas():
    """Both of pandas' ways of adding up a group (reduceat on ascending codes without NaN, else
    Kahan row by row skipping NaN), on long and short groups, with NaN, infinities and overflowing
    sums."""
    rng = np.random.default_rng(9)
    for t in range(200):
        n = int(rng.integers(0, 400))
        code = rng.integers(-3, int(rng.integers(1, 40)), n)
        if t % 3 == 0:
            code = np.sort(code)
        values = rng.normal(0, 1, (n, 2)) * 10.0 ** rng.uniform(-3, 12, (n, 2))
        if t % 5 == 1:
            values[rng.random((n, 2)) < 0.1] = np.nan
        if t % 7 == 2:
            values[rng.random((n, 2)) < 0.05] = rng.choice([np.inf, -np.inf])
        if t % 11 == 3:  # finite values whose sums overflow
            values[rng.random((n, 2)) < 0.2] = rng.choice([1.7e308, -1.7e308, 9e307])
        frame = pd.DataFrame(values, columns=["a", "b"])
        ref = frame.groupby(code, sort=True).sum()
        uniq, sums = group_sums(code, values)
        assert np.array_equal(uniq, ref.index.to_numpy())
        assert np.array_equal(sums, ref.to_numpy(), equal_nan=True), t
        for j in range(2):
            one = pd.Series(values[:, j]).groupby(code, sort=True).sum().to_numpy()
            assert np.array_equal(group_sums(code, values[:, j])[1], one, equal_nan=True), t


def test_groupby_sum_equals_pandas_with_value_columns_apart():
    """groupby_sum sums each value column on its own (a column set apart is a block of its own);
    keys it cannot encode (strings) and integer values go to pandas."""
    rng = np.random.default_rng(4)
    for t in range(40):
        n = int(rng.integers(1, 300))
        df = pd.DataFrame(
            {
                "r": rng.integers(0, 3, n).astype(np.int32),
                "f": pd.Categorical.from_codes(rng.integers(0, 5, n), categories=list("abcde")),
                "e": rng.random(n) < 0.3,
            }
        )
        if t % 2:
            df = df.sort_values(["r", "f", "e"], ignore_index=True)
        df["a"] = rng.normal(0, 1, n) * 10 ** rng.uniform(-2, 10, n)
        df["b"] = np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 1, n))
        ref = df.groupby(["r", "f", "e"], observed=True, sort=True, as_index=False)[
            ["a", "b"]
        ].sum()
        pd.testing.assert_frame_equal(
            groupby_sum(df, ["r", "f", "e"], ["a", "b"]), ref, check_exact=True
        )
        text = df.astype({"f": str}).assign(i=np.arange(n))
        for keys, values in ((["r", "f", "e"], ["a", "b"]), (["r", "e"], ["a", "i"])):
            ref = text.groupby(keys, observed=True, sort=True, as_index=False)[values].sum()
            pd.testing.assert_frame_equal(groupby_sum(text, keys, values), ref, check_exact=True)
