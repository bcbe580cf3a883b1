"""Value of information on the PSA draws: EVPI and EVPPI of the decision "run the programme or not".

The decision has two options per perspective: run the programme (net benefit: the perspective's NPV of
the draw) or not (net benefit 0). With ``NB`` the draws × options matrix of net benefits:

- **EVPI** (expected value of perfect information) ``= E[max_d NB_d] − max_d E[NB_d]``: what it would be
  worth to know every parameter before deciding.
- **EVPPI** (partial: the parameters φ of a group) ``= E_φ[max_d E[NB_d | φ]] − max_d E[NB_d]``, estimated
  by the regression method of Strong, Oakley & Brennan (2014, Medical Decision Making 34(3) 311-326): regress
  each option's net benefit on φ over the same PSA draws, take the fitted values ``g(φ)`` as the estimate of
  ``E[NB | φ]`` and average ``max(g, 0) − max(mean g, 0)``. Only the incremental net benefit is regressed,
  since the option "not" is 0 in every draw. The regression (scikit-learn, not hand-written):

  * one parameter: a penalised cubic B-spline "GAM" (``SplineTransformer`` + ``RidgeCV``, the penalty chosen
    by efficient leave-one-out cross-validation);
  * two or more: a Gaussian-process metamodel (``GaussianProcessRegressor``, constant × anisotropic RBF +
    ``WhiteKernel`` on standardised inputs, the paper's GP), hyperparameters by maximum marginal likelihood
    with no optimizer restarts (deterministic); above :data:`GP_HYPER_DRAWS` draws the hyperparameters are
    fitted on the first :data:`GP_HYPER_DRAWS` draws (an i.i.d. subset) and the mean on all draws. The
    additive GAM is fitted too, and the one with the smaller leave-one-out error is used (the paper's GAM
    vs GP choice, made by cross-validation): with few draws and a large group, a GP can interpolate the
    draws, which would count noise as information.

  The residual simulation noise of each draw (the mean of its inner replications) is what the regression
  removes; it is not mistaken for information. Every estimate carries its in-sample and leave-one-out R²:
  with few draws (100) a single parameter whose leave-one-out R² is near zero has an EVPPI that is mostly
  regression noise (the estimator's known upward bias on small samples); 1 000 draws resolve it better.

Groups a user studies together (:data:`PARAMETER_GROUPS`) are named registry parameters; only those that vary
in the PSA sample count. Population value: per cohort is the EVPI of the scenario's NPV (all the scenario's
participants, as the PSA prices them); over :data:`DEFAULT_COHORTS` cohorts, one a year, each cohort's EVPI
discounted to the first by the scenario's discounting scheme (:func:`model.economics.discounting.annuity_factor`).
"""

from __future__ import annotations

import fnmatch
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.cba import PERSPECTIVES
from model.parameters import ParameterSet
from model.scenario import Scenario

#: Cohorts over which the population value is stated, one a year (the first undiscounted).
DEFAULT_COHORTS = 10
#: Single parameters reported per perspective (ranked by EVPPI).
DEFAULT_TOP_SINGLE = 10
#: Draws on which the GP's hyperparameters are fitted (the mean uses every draw).
GP_HYPER_DRAWS = 300
#: Largest optimism (in-sample R² minus leave-one-out R²) of a metamodel whose fitted values are used: a fit
#: that explains much more of the draws it was fitted to than of a draw left out counts noise as signal.
MAX_OPTIMISM = 0.1
#: The GP is tried for a group only with at least this many draws per parameter (fewer cannot resolve it).
GP_DRAWS_PER_PARAMETER = 10

METHOD_GAM = "Strong-Oakley-Brennan 2014 regression, penalised cubic spline GAM (scikit-learn SplineTransformer + RidgeCV)"
METHOD_GP = "Strong-Oakley-Brennan 2014 regression, Gaussian process, anisotropic RBF + white noise (scikit-learn GaussianProcessRegressor)"
METHODS = {"gam": METHOD_GAM, "gp": METHOD_GP}


@dataclass(frozen=True)
class ParameterGroup:
    """Parameters a user would study together. ``patterns``: registry names or shell-style patterns."""

    name: str
    description: str
    patterns: tuple[str, ...]
    economic: bool = False  # all economic parameters (model.uncertainty.economic_parameter_names)

    def members(self, names: Sequence[str], economic_names: set[str]) -> list[str]:
        """The names in ``names`` that belong to the group, in the order of ``names``."""
        if self.economic:
            return [n for n in names if n in economic_names]
        return [n for n in names if n not in economic_names and any(fnmatch.fnmatchcase(n, p) for p in self.patterns)]


#: The groups of parameters the value of information is reported for (behavioural groups take only
#: behavioural parameters; the economic prices are every parameter only the economics reads).
PARAMETER_GROUPS: tuple[ParameterGroup, ...] = (
    ParameterGroup(
        "follow_up_effect",
        "The follow-up effect: how the caseload per adviser and adviser turnover change exits to work and break-offs.",
        ("follow_up.*", "advisers.*", "staffing.unreported_fte_multiplier"),
    ),
    ParameterGroup(
        "post_24_month_hazards",
        "After month 24 and after the programme: the hazards past month 24, the exits at completion, education after it, the post-programme boost to exit to work.",
        ("participation.work_hr_after_24_months", "completion.*", "education.*", "life.post_programme_*"),
    ),
    ParameterGroup(
        "job_retention",
        "Job retention: the share of full-time jobs and how fast jobs are lost.",
        ("jobs.*",),
    ),
    ParameterGroup(
        "counterfactual",
        "The counterfactual: exits from long-term social assistance without the programme (to work, education, other).",
        ("life.sa_to_*",),
    ),
    ParameterGroup(
        "stipend_responses",
        "The stipend responses: how the stipend level and strict absence deductions change break-offs.",
        ("stipend.*",),
    ),
    ParameterGroup(
        "economic_prices",
        "The economic prices: wages, taxes, unit costs, stipend rules, wage growth and the persistence of the effect beyond the horizon.",
        (),
        economic=True,
    ),
)


@dataclass(frozen=True)
class EVPPIEstimate:
    """One EVPPI estimate with its regression diagnostics."""

    value: float
    raw: float  # before clipping to [0, EVPI]
    clipped: bool
    r2: float  # share of the net benefit's variance the regression explains (in sample)
    r2_loo: float  # the same, leave-one-out (cross-validated)
    method: str


def _as_matrix(net_benefit: np.ndarray) -> np.ndarray:
    nb = np.asarray(net_benefit, dtype=float)
    if nb.ndim == 1:
        nb = np.column_stack([nb, np.zeros_like(nb)])
    if nb.ndim != 2 or nb.shape[1] < 2 or nb.shape[0] < 2:
        raise ValueError(f"net_benefit must be draws x options (at least 2 x 2), got shape {nb.shape}")
    if not np.all(np.isfinite(nb)):
        raise ValueError("net_benefit has non-finite values")
    return nb


def evpi(net_benefit: np.ndarray) -> float:
    """EVPI ``= mean_draws(max_d NB_d) − max_d mean_draws(NB_d)`` (≥ 0).

    Args:
        net_benefit: draws × options; a 1-D array is the incremental net benefit against an option worth 0.
    """
    nb = _as_matrix(net_benefit)
    return float(max(nb.max(axis=1).mean() - nb.mean(axis=0).max(), 0.0))


def evpi_standard_error(net_benefit: np.ndarray) -> float:
    """Monte Carlo standard error of :func:`evpi` over the draws: the standard error of the mean of
    ``max_d NB_d − NB_{d*}`` with ``d*`` the option best on average (the delta method, ``d*`` held fixed)."""
    nb = _as_matrix(net_benefit)
    loss = nb.max(axis=1) - nb[:, int(np.argmax(nb.mean(axis=0)))]
    return float(loss.std(ddof=1) / math.sqrt(len(loss)))


def _fit_gam(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Fitted values of an additive penalised cubic spline on the columns of ``x``, and its leave-one-out
    mean squared error (the penalty is the one with the smallest, by RidgeCV's efficient LOO)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import SplineTransformer

    n_knots = int(min(8, max(3, round(len(y) ** 0.5 / 2))))
    basis = SplineTransformer(n_knots=n_knots, degree=3, knots="uniform", include_bias=False).fit_transform(x)
    ridge = RidgeCV(alphas=np.logspace(-6, 4, 31)).fit(basis, y)
    return ridge.predict(basis), float(-ridge.best_score_)


def _fit_gp(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Fitted (posterior-mean) values of a GP, constant × anisotropic RBF + white noise, and its
    leave-one-out mean squared error at the fitted hyperparameters (closed form, Rasmussen & Williams 2006
    eq. 5.12).

    The optimiser starts from "all noise" (white-noise variance 1 of the standardised net benefit, long
    length scales) and makes no restarts, so the fit is deterministic and descends to the smooth optimum
    rather than to one that interpolates the draws; length scales are at least 0.5 prior standard
    deviations (the net benefit is smooth in each parameter over its prior range).
    """
    from scipy.linalg import cho_solve
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    d = x.shape[1]
    kernel = ConstantKernel(0.1, (1e-4, 1e2)) * RBF(np.full(d, 5.0), (0.5, 1e3)) + WhiteKernel(1.0, (1e-6, 10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0)
        gp.fit(x[:GP_HYPER_DRAWS], y[:GP_HYPER_DRAWS])
        if len(y) > GP_HYPER_DRAWS:
            gp = GaussianProcessRegressor(gp.kernel_, normalize_y=True, optimizer=None).fit(x, y)
    k_inv = cho_solve((gp.L_, True), np.eye(len(y)))
    loo = gp.alpha_ / np.diag(k_inv) * gp._y_train_std  # LOO residuals, back in the unit of y
    return gp.predict(x), float(np.mean(loo**2))


def _design(inputs: pd.DataFrame | np.ndarray) -> np.ndarray:
    x = np.asarray(inputs, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    sd = x.std(axis=0)
    keep = sd > 0
    x = x[:, keep]
    return (x - x.mean(axis=0)) / sd[keep]


def evppi_estimate(net_benefit: np.ndarray, inputs: pd.DataFrame | np.ndarray, method: str = "auto") -> EVPPIEstimate:
    """EVPPI of the parameters in ``inputs`` by the Strong-Oakley-Brennan (2014) regression, with diagnostics.

    Each option's net benefit minus the last option's (the reference) is regressed on the parameters; the
    fitted values ``g`` estimate ``E[NB − NB_ref | φ]``, and ``EVPPI = mean(max(g, 0)) − max(mean(g), 0)``
    (over the options when there are more than two). By Jensen's inequality this is ≥ 0 (up to rounding).
    It can exceed the EVPI of the same draws only through regression error on a finite sample (the fitted
    values spread more than the true conditional means); the value is then clipped to ``[0, EVPI]``, flagged
    ``clipped`` and the unclipped estimate kept in ``raw``. On the national PSA (100 draws, seed 41) no
    estimate exceeds 30 % of its EVPI, and in tests/test_voi.py none exceeds EVPI; a large violation would
    mean the metamodel over-fits. Estimates within rounding of zero are 0 (not flagged).

    Args:
        net_benefit: draws × options (1-D: incremental net benefit against an option worth 0).
        inputs: draws × parameters of the group (constant columns are dropped).
        method: ``"gam"`` (additive spline), ``"gp"`` (Gaussian process) or ``"auto"``: the GAM for one
            parameter; for more (the GP only with at least :data:`GP_DRAWS_PER_PARAMETER` draws per
            parameter), of the GP and the additive GAM whose optimism (in-sample R² minus
            leave-one-out R²) is at most :data:`MAX_OPTIMISM`, the one with the larger leave-one-out R²
            (the GAM if neither qualifies). A GP that interpolates the draws of a large group fitted on few
            draws has R² 1 in sample but not out of it, and would count noise as information. The
            estimate's ``method`` names the regression used.

    Raises:
        ValueError: shapes disagree or an unknown method.
    """
    with _one_thread():
        return _evppi_estimate(net_benefit, inputs, method)


def _one_thread():
    """BLAS on one thread: the metamodels are small, and threads only contend (5x slower on 2 busy cores)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _evppi_estimate(net_benefit: np.ndarray, inputs: pd.DataFrame | np.ndarray, method: str) -> EVPPIEstimate:
    nb = _as_matrix(net_benefit)
    x = _design(inputs)
    if len(x) != len(nb):
        raise ValueError(f"inputs has {len(x)} draws, net_benefit {len(nb)}")
    if method not in (*METHODS, "auto"):
        raise ValueError(f"unknown EVPPI method {method!r}; one of {sorted(METHODS)} or 'auto'")
    total = evpi(nb)
    inc = nb[:, :-1] - nb[:, -1:]
    if x.shape[1] == 0 or total == 0.0 or np.all(inc.std(axis=0) == 0):
        return EVPPIEstimate(0.0, 0.0, False, 0.0, 0.0, METHODS["gam" if method == "auto" else method])
    if method == "auto":
        candidates = ("gam", "gp") if 1 < x.shape[1] <= len(x) / GP_DRAWS_PER_PARAMETER else ("gam",)
    else:
        candidates = (method,)
    tss = float(((inc - inc.mean(axis=0)) ** 2).sum())
    fits: list[tuple[str, np.ndarray, float, float]] = []  # method, fitted values, R², LOO R²
    for m in candidates:
        fit = _fit_gam if m == "gam" else _fit_gp
        cols, loo = [], 0.0
        for j in range(inc.shape[1]):
            if inc[:, j].std() > 0:
                fitted, mse = fit(x, inc[:, j])
                cols.append(fitted)
                loo += mse * len(inc)
            else:
                cols.append(inc[:, j])
        g = np.column_stack(cols)
        fits.append((m, g, 1 - float(((inc - g) ** 2).sum()) / tss, 1 - loo / tss))
    eligible = [f for f in fits if f[2] - f[3] <= MAX_OPTIMISM] or [f for f in fits if f[0] == "gam"] or fits
    method, g, r2, r2_loo = max(eligible, key=lambda f: f[3])
    g = np.column_stack([g, np.zeros(len(g))])
    raw = float(g.max(axis=1).mean() - g.mean(axis=0).max())
    if abs(raw) <= 1e-9 * float(np.abs(nb).max()):  # rounding of the fitted values, not information
        return EVPPIEstimate(0.0, raw, False, r2, r2_loo, METHODS[method])
    value = min(max(raw, 0.0), total)
    return EVPPIEstimate(value, raw, value != raw, r2, r2_loo, METHODS[method])


def evppi(net_benefit: np.ndarray, inputs: pd.DataFrame | np.ndarray, method: str = "auto") -> float:
    """EVPPI of the parameters in ``inputs`` (see :func:`evppi_estimate`), in the unit of ``net_benefit``."""
    return evppi_estimate(net_benefit, inputs, method).value


def varying_parameters(sample: pd.DataFrame) -> list[str]:
    """The columns of the PSA sample with nonzero variance (finite values)."""
    return [c for c in sample.columns if np.isfinite(sample[c].to_numpy(dtype=float)).all() and float(sample[c].std()) > 0]


def group_members(sample: pd.DataFrame, economic_names: set[str] | None = None) -> dict[str, list[str]]:
    """Each group's parameters that vary in ``sample`` (groups with none are left out)."""
    if economic_names is None:
        from model.uncertainty import economic_parameter_names

        economic_names = economic_parameter_names()
    names = varying_parameters(sample)
    out = {g.name: g.members(names, economic_names) for g in PARAMETER_GROUPS}
    return {k: v for k, v in out.items() if v}


def single_parameter_evppi(net_benefit: np.ndarray, sample: pd.DataFrame) -> pd.DataFrame:
    """EVPPI of every varying parameter on its own (GAM), ranked: columns ``parameter, evppi, r2, estimate``
    (``estimate``: the :class:`EVPPIEstimate`)."""
    rows = []
    with _one_thread():
        ests = {name: _evppi_estimate(net_benefit, sample[[name]], "gam") for name in varying_parameters(sample)}
    for name, est in ests.items():
        rows.append({"parameter": name, "evppi": est.value, "r2": est.r2, "estimate": est})
    table = pd.DataFrame(rows, columns=["parameter", "evppi", "r2", "estimate"])
    return table.sort_values(["evppi", "parameter"], ascending=[False, True], ignore_index=True)


def value_of_information(
    sample: pd.DataFrame,
    summary: pd.DataFrame,
    scenario: Scenario,
    params: ParameterSet | None = None,
    *,
    cohorts: int = DEFAULT_COHORTS,
    top: int = DEFAULT_TOP_SINGLE,
    perspectives: Sequence[str] = PERSPECTIVES,
) -> dict:
    """The value of information of a PSA, as ``cba.json`` holds it.

    Args:
        sample: the PSA parameter draws (:func:`model.uncertainty.sample_parameters`), one row per draw.
        summary: the draws' results (``DrawResults.summary``), same rows; ``{perspective}_npv_nok`` columns.
        scenario: the scenario (its discounting scheme states the population value).
        params: the registry the PSA used (default: the scenario's, :func:`model.runner.scenario_parameters`).
        cohorts: cohorts in the population value, one a year.
        top: single parameters reported per perspective.

    Returns:
        ``{"evpi_nok": {perspective: NOK per cohort}, "evpi_standard_error_nok": {…}, "evppi": [{"parameters",
        "perspective", "evppi_nok", "method", "kind", "group", "description", "r2", "r2_loo", "clipped",
        "evppi_unclipped_nok"}, …],
        "voi_population": {"cohorts", "discounting", "discount_rate", "annuity_factor", "assumption",
        "evpi_nok": {perspective: NOK}}, "voi_draws": n}``. ``evppi`` holds, per perspective, every group with
        a varying parameter and the ``top`` single parameters with the largest EVPPI.
    """
    from model.economics.discounting import annuity_factor, discount_rates

    if len(sample) != len(summary):
        raise ValueError(f"sample has {len(sample)} draws, summary {len(summary)}")
    if cohorts < 1:
        raise ValueError(f"cohorts must be at least 1, got {cohorts}")
    if params is None:
        from model.runner import scenario_parameters

        params = scenario_parameters(scenario)
    sample = sample.reset_index(drop=True)
    groups = group_members(sample)
    described = {g.name: g.description for g in PARAMETER_GROUPS}
    evpi_nok: dict[str, float] = {}
    evpi_se: dict[str, float] = {}
    entries: list[dict] = []
    for p in perspectives:
        npv = summary[f"{p}_npv_nok"].to_numpy(dtype=float)
        evpi_nok[p] = evpi(npv)
        evpi_se[p] = evpi_standard_error(npv)
        for name, members in groups.items():
            est = evppi_estimate(npv, sample[members])
            entries.append(_entry(members, p, est, "group", name, described[name]))
        if evpi_nok[p] == 0.0:
            continue  # the same decision in every draw: no parameter is worth knowing (groups above show 0)
        for r in single_parameter_evppi(npv, sample).head(top).to_dict(orient="records"):
            entries.append(_entry([r["parameter"]], p, r["estimate"], "parameter", None, None))
    scheme = scenario.analysis.discounting
    factor = annuity_factor(cohorts, scheme, params)
    return {
        "evpi_nok": evpi_nok,
        "evpi_standard_error_nok": evpi_se,
        "evppi": entries,
        "voi_population": {
            "cohorts": cohorts,
            "discounting": scheme,
            "discount_rate": float(discount_rates(0.0, scheme, params)),
            "annuity_factor": factor,
            "assumption": (
                f"{cohorts} cohorts like the scenario's, one a year, each with the same per-cohort EVPI, "
                f"discounted to the first cohort's base year ({scheme}); the information is assumed to "
                "arrive before the first cohort and to stay valid for all of them."
            ),
            "evpi_nok": {p: v * factor for p, v in evpi_nok.items()},
        },
        "voi_draws": len(sample),
    }


def _entry(parameters: list[str], perspective: str, est: EVPPIEstimate, kind: str, group: str | None, description: str | None) -> dict:
    return {
        "parameters": list(parameters),
        "perspective": perspective,
        "evppi_nok": float(est.value),
        "method": est.method,
        "kind": kind,
        "group": group,
        "description": description,
        "r2": float(est.r2),
        "r2_loo": float(est.r2_loo),
        "clipped": bool(est.clipped),
        "evppi_unclipped_nok": float(est.raw),
    }


def society_ranking(voi: Mapping) -> pd.DataFrame:
    """The society entries of a :func:`value_of_information` result, ranked: columns ``label, kind,
    evppi_nok, parameters`` (a group's label is its name, a parameter's its registry name)."""
    rows = [
        {"label": e["group"] or e["parameters"][0], "kind": e["kind"], "evppi_nok": e["evppi_nok"], "parameters": ", ".join(e["parameters"])}
        for e in voi.get("evppi", [])
        if e["perspective"] == "society"
    ]
    table = pd.DataFrame(rows, columns=["label", "kind", "evppi_nok", "parameters"])
    return table.sort_values("evppi_nok", ascending=False, ignore_index=True)
