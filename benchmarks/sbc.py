"""Simulation-based calibration of ``nysjanse calibrate``: does the posterior cover the truth?

``python -m benchmarks.sbc [--datasets 100] [--quick] [--targets FILE ...] [--json OUT]``

Talts, Betancourt, Simpson, Vehtari & Gelman (2018, "Validating Bayesian inference algorithms with
simulation-based calibration", arXiv:1804.06788): if the fit is right, then for parameters θ* drawn from the
prior and data simulated at θ*, the rank of θ* among the posterior draws given those data is uniform, and a
90 % central posterior interval covers θ* in 90 % of the data sets.

Steps:
1. Train the estimator exactly as ``nysjanse calibrate`` does (same settings, same observation model).
2. Draw ``datasets`` parameter vectors from the prior (stream ``sbc.truth``) and simulate the targets at each,
   each data set its own persons (replication indices far from the training's) and its own observation noise
   (stream ``sbc.noise``).
3. For each data set, ``posterior_draws`` posterior draws given its summary (NPE is amortised: no refit).
4. Record, per parameter, the rank of the truth and whether the 90 % central interval covers it.

Tolerance: with n data sets, a parameter's coverage count is Binomial(n, 0.9) if the fit is calibrated; the
report gives the two-sided 99 % binomial interval and flags a parameter outside it. Pooled over a group of k
parameters the counts are not independent (the same data sets), so the group line is descriptive; the ranks
histogram (10 bins, pooled) should be flat: its χ² test is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import stats

from calibration.posterior import Observation, Prior, Settings, fit_posterior, simulate
from calibration.targets import load_target_sets
from model.parallel import executor_for
from model.rng import Streams
from model.runner import scenario_parameters
from model.scenario import load_scenario

SBC_REPLICATION_OFFSET = 20_000_000  # the synthetic data sets' persons (not the training's, not the check's)
TARGETS = ("calibration/targets/ny_sjanse_2006.toml", "calibration/targets/ny_sjanse_later.toml")


def group_of(name: str) -> str:
    """The parameter group: the registry section (assessment, decision, participation, ...)."""
    return name.split(".")[0]


def run(targets: list[str], datasets: int, quick: bool, seed: int = 7, posterior_draws: int = 500, workers: int = 2,
        simulations: int | None = None, log=print) -> dict:
    """Train once, then check coverage and ranks on ``datasets`` synthetic data sets."""
    t0 = time.perf_counter()
    ts = load_target_sets(targets)
    scen = load_scenario(ts.scenario, {"parameters.files": []})
    base = scenario_parameters(scen)
    settings = Settings.quick() if quick else Settings()
    if simulations:
        settings = replace(settings, simulations=simulations)
    log(f"training the estimator ({settings.simulations} simulations) ...")
    with executor_for(workers) as ex:
        fit = fit_posterior(scen, base, ts, settings=settings, seed=seed, executor=ex)
    prior = Prior(base, fit.names)
    d = len(fit.names)
    z_true = Streams(seed, 0).generator("sbc.truth").standard_normal((datasets, d))
    values = simulate(scen, prior, prior.theta(z_true), seed, ts, offset=SBC_REPLICATION_OFFSET)
    obs = Observation.of(ts)
    x = obs.summary(obs.noisy(values, Streams(seed, 0).generator("sbc.noise")))
    ok = np.isfinite(x).all(axis=1)
    log(f"posterior draws for {int(ok.sum())} synthetic data sets ({datasets - int(ok.sum())} with an undefined statistic left out) ...")
    z_true, x = z_true[ok], x[ok]
    post = fit.sample(x, posterior_draws)  # (draws, datasets, d)
    ranks = (post < z_true[None, :, :]).sum(axis=0)  # (datasets, d): 0 .. posterior_draws
    lo, hi = np.quantile(post, 0.05, axis=0), np.quantile(post, 0.95, axis=0)
    covered = (lo <= z_true) & (z_true <= hi)
    n = len(z_true)
    band = stats.binom.ppf([0.005, 0.995], n, 0.9).astype(int)
    per_parameter = [
        {
            "parameter": name,
            "group": group_of(name),
            "covered": int(covered[:, k].sum()),
            "datasets": n,
            "coverage": float(covered[:, k].mean()),
            "within_binomial_99": bool(band[0] <= covered[:, k].sum() <= band[1]),
        }
        for k, name in enumerate(fit.names)
    ]
    groups = {}
    for g in dict.fromkeys(group_of(nm) for nm in fit.names):
        cols = [k for k, nm in enumerate(fit.names) if group_of(nm) == g]
        groups[g] = {"parameters": len(cols), "coverage": float(covered[:, cols].mean())}
    bins = np.histogram(ranks / posterior_draws, bins=10, range=(0.0, 1.0))[0]
    chi2 = stats.chisquare(bins)
    return {
        "method": "simulation-based calibration (Talts et al. 2018) of the amortised NPE posterior",
        "targets": targets,
        "settings": settings.__dict__,
        "datasets": n,
        "posterior_draws": posterior_draws,
        "coverage_90": float(covered.mean()),
        "binomial_99_interval_per_parameter": [int(band[0]), int(band[1])],
        "parameters_outside_binomial_99": [r["parameter"] for r in per_parameter if not r["within_binomial_99"]],
        "per_group": groups,
        "per_parameter": per_parameter,
        "ranks_histogram_10_bins": bins.tolist(),
        "ranks_chi2_p_value": float(chi2.pvalue),
        "seconds": time.perf_counter() - t0,
    }


def print_report(res: dict, file=sys.stdout) -> None:
    n = res["datasets"]
    lo, hi = res["binomial_99_interval_per_parameter"]
    print(f"SBC: {n} synthetic data sets, {res['posterior_draws']} posterior draws each, {res['seconds']:.0f} s", file=file)
    print(f"90 % intervals cover the truth in {100 * res['coverage_90']:.1f} % of parameter × data-set pairs", file=file)
    print(f"per parameter: calibrated if {lo}-{hi} of {n} covered (99 % binomial interval)", file=file)
    for g, v in res["per_group"].items():
        print(f"  {g:14s} {v['parameters']:3d} parameters  coverage {100 * v['coverage']:.1f} %", file=file)
    out = res["parameters_outside_binomial_99"]
    print(f"outside the binomial interval: {', '.join(out) if out else 'none'}", file=file)
    h = res["ranks_histogram_10_bins"]
    print(f"ranks histogram (10 bins, pooled): {h}  chi2 p = {res['ranks_chi2_p_value']:.3f}", file=file)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sbc", description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", action="append", help="targets file (repeatable; default: both committed sets)")
    ap.add_argument("--datasets", type=int, default=100, help="synthetic data sets (at least 20)")
    ap.add_argument("--quick", action="store_true", help="the --quick fit's settings")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2, help="local processes for the training simulations")
    ap.add_argument("--simulations", type=int, help="training simulations (default: the fit's)")
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)
    if args.datasets < 20:
        ap.error("--datasets: at least 20")
    res = run(args.targets or list(TARGETS), args.datasets, args.quick, args.seed, workers=args.workers,
              simulations=args.simulations, log=lambda m: print(m, file=sys.stderr))
    print_report(res)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
