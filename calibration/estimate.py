"""Simulation-based estimation: simulated method of moments with common random numbers, and a Laplace
approximation of the posterior around the fit.

The estimator, in four steps:

1. **Moments.** For a parameter vector θ the model is run ``R`` times with the same seeds (common random
   numbers: the same persons and draws for every θ), and each target quantity is averaged over the runs.
2. **Objective.** Residuals are (simulated mean − observed) / σ, with σ from each target's observation model
   (a count: Poisson, σ² = observed; a share: binomial with its denominator; a multinomial member: σ² =
   n·p·(1−p); a bound such as "over half": zero inside the bound). The registry's priors enter as extra
   residuals (log θ − log θ₀) / sd₀, so the fit is a posterior mode and the directions the data cannot tell
   stay at their priors. Parameters are estimated on the log scale.
3. **Fit.** A few proportional updates for the rate ↔ count pairs give a starting point; then
   ``scipy.optimize.least_squares`` (trust region) with a finite-difference Jacobian computed with common
   random numbers.
4. **Uncertainty.** With J the Jacobian of the whitened residuals at the mode, the posterior is
   approximated by N(θ̂, (JᵀJ)⁻¹·(1 + 1/R)) on the log scale (the factor carries the simulation noise of
   the moments); ``draws`` parameter vectors are sampled from it.

Inputs set directly by arithmetic (the shares of referred persons failing the residence and social-
assistance rules, 4/938 and 7/938) are not estimated; their derivation is in the registry.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from calibration.statistics import replication_statistics
from calibration.targets import Target, TargetSet, observation_sd  # noqa: F401  (re-exported until the new fit lands)
from model.parameters import ParameterSet
from model.scenario import Scenario

# The parameters the 2005-2006 flows identify, each estimated on the log scale.
ESTIMATED = (
    "referral.intensity_multiplier",
    "assessment.duration_mean_days",
    "staffing.unreported_fte_multiplier",
    "assessment.hazard_work_or_education_per_year",
    "assessment.hazard_self_supporting_per_year",
    "assessment.hazard_no_show_per_year",
    "assessment.hazard_moved_per_year",
    "decision.p_other_measures",
    "decision.p_no_childcare_if_child_0_5",
    "decision.p_disability_pension",
    "decision.p_no_need",
    "decision.p_other",
    "participation.hazard_work_or_education_per_year",
    "participation.work_hr_months_0_6",
    "participation.work_hr_schooling_over_8",
    "participation.work_hr_home_work_over_2",
    "participation.work_hr_men",
    "participation.work_hr_married",
    "participation.hazard_birth_per_year_women",
    "participation.hazard_invalid_absence_per_year",
    "participation.invalid_absence_hr_men",
    "participation.hazard_moved_per_year",
    "participation.hazard_other_measures_per_year",
    "participation.hazard_full_time_not_feasible_per_year",
    "participation.hazard_other_per_year",
    "participation.breakoff_hr_men",
    "participation.hazard_discharged_other_per_year",
    "advisers.turnover_per_year",
    "advisers.turnover_project_cv",
)

# Targets used in the objective. The others are reported but not fitted, because they repeat information
# already in these (sums, ratios of counts) or are inputs of the synthetic population.
FIT_TARGETS = (
    "flows.referred",
    "flows.participants",
    "flows.under_assessment_or_waiting",
    "flows.work_or_education",
    "flows.discharged_other",
    "flows_by_sex.men.work_or_education",
    "flows_by_sex.men.broke_off",
    "broke_off_reasons.birth",
    "broke_off_reasons.invalid_absence",
    "broke_off_reasons.moved",
    "broke_off_reasons.other_measures",
    "broke_off_reasons.full_time_not_feasible",
    "broke_off_reasons.other",
    "broke_off_reasons_by_sex.invalid_absence.men",
    "not_admitted_reasons.other_measures",
    "not_admitted_reasons.work_or_education",
    "not_admitted_reasons.self_supporting",
    "not_admitted_reasons.no_show",
    "not_admitted_reasons.moved",
    "not_admitted_reasons.no_childcare",
    "not_admitted_reasons.disability_pension",
    "not_admitted_reasons.residence_under_2_years",
    "not_admitted_reasons.social_assistance_under_6_months",
    "not_admitted_reasons.no_need",
    "not_admitted_reasons.other",
    "contact_persons.one",
    "contact_persons.two",
    "contact_persons.more_than_three",
    "work_exits.all_but_two_from_2005_projects",
    "work_exits.women_over_8_years_schooling",
    "work_exits.women_home_work_over_2_years",
    "work_exits.men_over_8_years_schooling",
    "work_exits.men_married",
    "work_exits.women_married",
)

# Rate ↔ count pairs for the proportional start: a count is about proportional to its own rate.
PROPORTIONAL = {
    "referral.intensity_multiplier": "flows.referred",
    "assessment.hazard_work_or_education_per_year": "not_admitted_reasons.work_or_education",
    "assessment.hazard_self_supporting_per_year": "not_admitted_reasons.self_supporting",
    "assessment.hazard_no_show_per_year": "not_admitted_reasons.no_show",
    "assessment.hazard_moved_per_year": "not_admitted_reasons.moved",
    "decision.p_other_measures": "not_admitted_reasons.other_measures",
    "decision.p_no_childcare_if_child_0_5": "not_admitted_reasons.no_childcare",
    "decision.p_disability_pension": "not_admitted_reasons.disability_pension",
    "decision.p_no_need": "not_admitted_reasons.no_need",
    "decision.p_other": "not_admitted_reasons.other",
    "participation.hazard_work_or_education_per_year": "flows.work_or_education",
    "participation.hazard_birth_per_year_women": "broke_off_reasons.birth",
    "participation.hazard_invalid_absence_per_year": "broke_off_reasons.invalid_absence",
    "participation.hazard_moved_per_year": "broke_off_reasons.moved",
    "participation.hazard_other_measures_per_year": "broke_off_reasons.other_measures",
    "participation.hazard_full_time_not_feasible_per_year": "broke_off_reasons.full_time_not_feasible",
    "participation.hazard_other_per_year": "broke_off_reasons.other",
    "participation.hazard_discharged_other_per_year": "flows.discharged_other",
}

Z90 = stats.norm.ppf(0.95)


@dataclass(frozen=True)
class Settings:
    """How hard the estimator works."""

    replications: int = 60  # runs per moment evaluation (common random numbers)
    proportional_iterations: int = 6
    max_jacobians: int = 6  # least-squares iterations (each needs one finite-difference Jacobian)
    step: float = 0.08  # finite-difference step on the log scale
    draws: int = 400
    report_replications: int = 100

    @classmethod
    def quick(cls) -> Settings:
        """For tests and smoke runs: minutes, not tens of minutes."""
        return cls(replications=8, proportional_iterations=3, max_jacobians=1, draws=200, report_replications=20)


def prior_sd_log(params: ParameterSet, name: str) -> float:
    """Prior sd on the log scale from the registry's 90 % range."""
    p = params[name]
    lo, hi = max(p.low, 1e-9), max(p.high, 1e-9)
    return max((math.log(hi) - math.log(lo)) / (2 * Z90), 0.05)


@dataclass
class Moments:
    """Evaluates simulated target means for parameter vectors, with common random numbers."""

    scenario: Scenario
    base: ParameterSet
    targets: TargetSet
    names: tuple[str, ...]
    seed: int
    replications: int
    executor: Executor | None = None
    evaluations: int = 0
    history: list = field(default_factory=list)

    def params_at(self, x: np.ndarray) -> ParameterSet:
        return self.base.with_values({n: float(math.exp(v)) for n, v in zip(self.names, x, strict=True)}, source="calibrated")

    def table(self, x: np.ndarray, seed: int | None = None, replications: int | None = None) -> pd.DataFrame:
        """Per-replication target quantities at ``x`` (rows: replications)."""
        params = self.params_at(x)
        reps = range(replications or self.replications)
        seed = self.seed if seed is None else seed
        args = [(self.scenario, params, seed, r, self.targets.report_date) for r in reps]
        if self.executor is None:
            rows = [replication_statistics(*a) for a in args]
        else:
            rows = list(self.executor.map(_stats_star, args))
        self.evaluations += 1
        return pd.DataFrame(rows)

    def mean(self, x: np.ndarray) -> pd.Series:
        return self.table(x).mean(axis=0, skipna=True)


def _stats_star(args: tuple) -> dict[str, float]:
    return replication_statistics(*args)


@dataclass
class Fit:
    """The result of :func:`estimate`."""

    names: tuple[str, ...]
    x: np.ndarray  # log-scale posterior mode
    cov: np.ndarray  # log-scale posterior covariance (Laplace)
    draws: pd.DataFrame  # natural scale, one column per estimated parameter
    params: ParameterSet  # the registry with the fitted values
    residuals: pd.Series  # whitened data residuals at the mode
    identification: pd.DataFrame
    seconds: float
    evaluations: int
    settings: Settings
    converged: bool
    message: str


def _residual_fn(moments: Moments, fit_targets: Sequence[Target], sds: np.ndarray, prior_x: np.ndarray, prior_sd: np.ndarray) -> Callable:
    observed = np.array([t.value for t in fit_targets])
    lower = np.array([t.bound == "lower" for t in fit_targets])
    upper = np.array([t.bound == "upper" for t in fit_targets])
    names = [t.name for t in fit_targets]

    def data_residuals(x: np.ndarray) -> np.ndarray:
        m = moments.mean(x).reindex(names).to_numpy(dtype=float)
        m = np.where(np.isnan(m), observed, m)
        r = (m - observed) / sds
        r = np.where(lower, np.minimum(r, 0.0), r)
        r = np.where(upper, np.maximum(r, 0.0), r)
        moments.history.append(float(np.sum(r**2)))
        return r

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([data_residuals(x), (x - prior_x) / prior_sd])

    residuals.data = data_residuals  # type: ignore[attr-defined]
    return residuals


def _jacobian(fun: Callable, x: np.ndarray, step: float, f0: np.ndarray | None = None, progress: Callable | None = None) -> np.ndarray:
    f0 = fun(x) if f0 is None else f0
    jac = np.empty((f0.size, x.size))
    for k in range(x.size):
        xk = x.copy()
        xk[k] += step
        jac[:, k] = (fun(xk) - f0) / step
        if progress:
            progress(1)
    return jac


def estimate(
    scenario: Scenario,
    base: ParameterSet,
    targets: TargetSet,
    *,
    settings: Settings = Settings(),
    names: Sequence[str] = ESTIMATED,
    seed: int = 20061201,
    executor: Executor | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Fit:
    """Fit the model to the targets (see the module docstring).

    Args:
        scenario: the scenario that produced the reported flows.
        base: the registry to start from (priors and fixed parameters).
        targets: the reported figures.
        settings: effort (replications, iterations, draws).
        names: the parameters to estimate.
        seed: root seed of the common random numbers.
        executor: optional process pool to run replications in parallel.
        progress: called as ``progress(stage, done, total)``.
    """
    started = time.perf_counter()
    names = tuple(names)
    by_name = targets.by_name()
    fit_targets = [by_name[n] for n in FIT_TARGETS if n in by_name]
    sds = np.array([observation_sd(t, targets) for t in fit_targets])
    prior_x = np.array([math.log(base.v(n)) for n in names])
    prior_sd = np.array([prior_sd_log(base, n) for n in names])
    moments = Moments(scenario, base, targets, names, seed, settings.replications, executor)
    resid = _residual_fn(moments, fit_targets, sds, prior_x, prior_sd)
    say = progress or (lambda *a: None)

    # 1. Proportional start for the rate ↔ count pairs.
    x = prior_x.copy()
    index = {n: i for i, n in enumerate(names)}
    for it in range(settings.proportional_iterations):
        m = moments.mean(x)
        for pname, tname in PROPORTIONAL.items():
            if pname in index and tname in by_name:
                sim = m.get(tname, np.nan)
                if np.isfinite(sim) and sim > 0 and by_name[tname].value > 0:
                    x[index[pname]] += math.log(by_name[tname].value / sim)
        say("proportional start", it + 1, settings.proportional_iterations)

    # 2. Trust-region least squares with a common-random-numbers finite-difference Jacobian.
    lo = np.array([math.log(max(base[n].low, 1e-6)) - 1.5 for n in names])
    hi = np.array([math.log(max(base[n].high, 1e-6)) + 1.5 for n in names])
    x = np.clip(x, lo + 1e-6, hi - 1e-6)
    cache: dict[bytes, np.ndarray] = {}

    def cached(z: np.ndarray) -> np.ndarray:
        key = np.round(z, 10).tobytes()
        if key not in cache:
            cache[key] = resid(z)
        return cache[key]

    done = [0]

    def jac(z: np.ndarray) -> np.ndarray:
        done[0] += 1
        say(f"least squares: Jacobian {done[0]}", done[0], max(done[0], settings.max_jacobians))
        return _jacobian(cached, z, settings.step, cached(z))

    converged, message = True, "proportional start only"
    if settings.max_jacobians > 0:
        sol = optimize.least_squares(
            cached,
            x,
            jac=jac,
            bounds=(lo, hi),
            method="trf",
            x_scale=prior_sd,
            max_nfev=settings.max_jacobians * 3,
            xtol=1e-3,
            ftol=1e-4,
        )
        x, converged, message = sol.x, bool(sol.success), str(sol.message)

    # 3. Laplace approximation at the mode.
    say("posterior (Laplace)", 0, 1)
    f0 = cached(x)
    jmat = _jacobian(cached, x, settings.step, f0)
    hess = jmat.T @ jmat
    cov = np.linalg.pinv(hess) * (1.0 + 1.0 / settings.replications)
    cov = 0.5 * (cov + cov.T)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    z = rng.multivariate_normal(x, cov, size=settings.draws, method="eigh")
    draws = pd.DataFrame(np.exp(z), columns=list(names))

    n_data = len(fit_targets)
    data_j = jmat[:n_data]
    info_data = np.einsum("ij,ij->j", data_j, data_j)
    info_prior = 1.0 / prior_sd**2
    post_sd = np.sqrt(np.diag(cov))
    identification = pd.DataFrame(
        {
            "parameter": names,
            "prior_value": np.exp(prior_x),
            "fitted_value": np.exp(x),
            "posterior_sd_log": post_sd,
            "prior_sd_log": prior_sd,
            "data_share_of_information": info_data / (info_data + info_prior),
        }
    )
    identification["identified_by"] = np.where(identification["data_share_of_information"] >= 0.5, "data", "prior")
    params = base.with_values({n: float(math.exp(v)) for n, v in zip(names, x, strict=True)}, source="calibrated")
    residuals = pd.Series(f0[:n_data], index=[t.name for t in fit_targets])
    say("posterior (Laplace)", 1, 1)
    return Fit(
        names=names,
        x=x,
        cov=cov,
        draws=draws,
        params=params,
        residuals=residuals,
        identification=identification,
        seconds=time.perf_counter() - started,
        evaluations=moments.evaluations,
        settings=settings,
        converged=converged,
        message=message,
    )


def evaluate_fit(
    scenario: Scenario, params: ParameterSet, targets: TargetSet, replications: int, seed: int, executor: Executor | None = None
) -> pd.DataFrame:
    """Observed vs simulated for every target: a fresh run (new seed) at the fitted parameters.

    Returns:
        One row per target: target, observed, sim_mean, sim_p05, sim_p95, within_90 (for a bound: the
        90 % interval does not contradict it), plus source, observation, bound and used_in_fit.
    """
    moments = Moments(scenario, params, targets, (), seed, replications, executor)
    table = moments.table(np.zeros(0))
    rows = []
    for t in targets.targets:
        col = table[t.name].dropna() if t.name in table else pd.Series(dtype=float)
        if col.empty:
            mean = p05 = p95 = float("nan")
        else:
            mean, p05, p95 = float(col.mean()), float(col.quantile(0.05)), float(col.quantile(0.95))
        if t.bound == "lower":
            within = bool(p95 >= t.value)
        elif t.bound == "upper":
            within = bool(p05 <= t.value)
        else:
            within = bool(p05 <= t.value <= p95)
        rows.append(
            {
                "target": t.name,
                "observed": t.value,
                "sim_mean": mean,
                "sim_p05": p05,
                "sim_p95": p95,
                "within_90": within,
                "source": t.source,
                "observation": t.observation,
                "bound": t.bound or "",
                "used_in_fit": t.name in FIT_TARGETS,
                "date": t.date.isoformat(),
            }
        )
    return pd.DataFrame(rows)


def fitted_on() -> str:
    """Today's date (for the basis text of fitted parameters)."""
    return dt.date.today().isoformat()
