"""Bayesian calibration by neural posterior estimation (``sbi``): the posterior of the calibrated
parameters given the reported figures, with no likelihood and no hand-written sampler.

Why neural posterior estimation (NPE) and not ABC-SMC:

- **Amortised.** One trained estimator q(θ | x) gives the posterior for the observed data *and* for any other
  data set of the same shape. Simulation-based calibration (``python -m benchmarks.sbc``: draw θ from the
  prior, simulate data, find the posterior, record the rank of the truth) therefore costs no refits: a hundred
  synthetic posteriors take seconds.
- **Many correlated, bounded, weakly identified parameters.** The fit has ~30 parameters (hazards, shares,
  hazard ratios), several barely touched by the data. ABC-SMC's acceptance rate collapses with 30 parameters
  and 50+ summaries; a normalising flow learns the joint posterior, skewness and correlations included, and
  falls back to the prior in the directions the data cannot tell.
- **Budget.** A lean replication runs in ~7 ms, so a few thousand prior simulations plus training fit in
  minutes on 2 cores.

The fit, step by step:

1. **Parameters and prior.** The calibrated parameters are the union of the ``[meta] calibrates`` lists of the
   targets files. Each is mapped to z = Φ⁻¹(F(θ)), with F the registry's prior distribution
   (:meth:`model.parameters.Parameter.ppf`); z has a standard normal prior, so the registry's priors are
   exactly the priors, and θ = F⁻¹(Φ(z)) maps every draw back.
2. **Simulations.** ``simulations`` vectors z from the prior (named stream ``calibration.prior``); simulation
   ``i`` runs the model with its own replication index ``i`` (:class:`model.rng.Streams`), so local processes
   (``--workers``), a Dask cluster (``--scheduler``) and a serial run give identical simulations.
3. **Observation model.** Each simulated figure goes through its target's observation model
   (:func:`calibration.targets.draw_observation`), drawn in the main process from the named stream
   ``calibration.noise``: a replication simulates the reported persons themselves, so a figure about them
   already is a draw and gets only a stated sd; a figure about other persons (later cohorts, all
   recipients) gets its own sampling noise (Poisson count, binomial share) and its ``transfer_sd``. A bound
   ("over half") enters as the indicator that the observable satisfies it. The summary of the others is
   asinh((value − observed) / sd), with sd the target's observation sd as a scale (one-to-one, so nothing is
   lost), so the observed data are the zero vector (and 1 for the bounds). The estimator therefore learns
   p(θ | reported figures) under the stated observation model.
4. **Training.** sbi's NPE with a masked autoregressive flow, torch seeded from the fit's seed and one torch
   thread, so the same seed gives the same posterior however many workers simulated.
5. **Posterior.** ``draws`` joint draws for the observed data; parameters.toml takes the posterior medians.
6. **Predictive check.** For posterior draws (each with its own replication), the targets are simulated with
   their observation noise; the observed value is compared with the 90 % predictive interval.

Simulations whose statistics are undefined (a share among zero persons, e.g. no woman has left for work) are
left out of the training set: the reported figures are all defined, so such parameter values have zero
likelihood and dropping them is exact.
"""

from __future__ import annotations

import time
import tomllib
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from calibration.statistics import target_statistics
from calibration.targets import TargetSet, draw_observation, observation_sd
from model.parallel import map_chunks, split
from model.parameters import ParameterSet
from model.rng import Streams
from model.scenario import Scenario

PREDICTIVE_REPLICATION_OFFSET = 10_000_000  # replication indices of the predictive check (not the training's)
Z_CLIP = 8.0  # |z| beyond this maps to the prior's 1e-15 tails: clipped so that θ stays finite


@dataclass(frozen=True)
class Settings:
    """How hard the fit works."""

    simulations: int = 16000
    draws: int = 1000
    predictive_draws: int = 400  # posterior draws × 1 replication each for the predictive check
    hidden_features: int = 64
    num_transforms: int = 5
    batch_size: int = 200
    learning_rate: float = 5e-4
    stop_after_epochs: int = 20
    max_epochs: int = 400

    @classmethod
    def quick(cls) -> Settings:
        """For tests and smoke runs: well under a minute."""
        return cls(simulations=1200, draws=250, predictive_draws=100, hidden_features=32, num_transforms=3, stop_after_epochs=8, max_epochs=80)


# ---------------------------------------------------------------------------------------------- the prior


def calibrated_names(targets: TargetSet) -> tuple[str, ...]:
    """The union, in file order, of the ``[meta] calibrates`` lists of the targets files behind ``targets``."""
    return tuple(dict.fromkeys(targets.calibrates))


def sets_calibrating(targets: TargetSet) -> dict[str, list[str]]:
    """For each calibrated parameter, the target sets (file stems) whose ``calibrates`` list names it."""
    out: dict[str, list[str]] = {}
    for path in targets.paths or (targets.path,):
        for name in tomllib.loads(path.read_text(encoding="utf-8")).get("meta", {}).get("calibrates", []):
            out.setdefault(name, []).append(path.stem)
    return out


@dataclass(frozen=True)
class Prior:
    """The registry's priors of the calibrated parameters, seen through z = Φ⁻¹(F(θ)) ~ N(0, I)."""

    base: ParameterSet
    names: tuple[str, ...]

    def theta(self, z: np.ndarray) -> np.ndarray:
        """Natural-scale values for z (rows: draws, columns: ``names``)."""
        u = stats.norm.cdf(np.clip(np.atleast_2d(z), -Z_CLIP, Z_CLIP))
        return np.column_stack([self.base[n].ppf(u[:, k]) for k, n in enumerate(self.names)])

    def quantiles(self, q: Sequence[float]) -> np.ndarray:
        """Prior quantiles (rows: ``q``, columns: ``names``)."""
        return np.column_stack([self.base[n].ppf(np.asarray(q, dtype=float)) for n in self.names])

    def check(self) -> None:
        """Every calibrated parameter must carry a prior (a graded registry entry)."""
        from model.errors import InputError

        for n in self.names:
            if n not in self.base:
                raise InputError("targets", "meta.calibrates", n, "the name of a registry parameter")
            if not self.base[n].graded:
                raise InputError("targets", "meta.calibrates", n, "a parameter with a prior range (low < high, not fixed)")


# ---------------------------------------------------------------------------------------------- simulations


def _simulate_chunk(
    scenario: Scenario, prior: Prior, thetas: np.ndarray, seed: int, targets: TargetSet, offset: int, chunk: list[int]
) -> list[np.ndarray]:
    names = [t.name for t in targets.targets]
    out = []
    for i in chunk:
        params = prior.base.with_values(dict(zip(prior.names, map(float, thetas[i]), strict=True)), source="calibrated")
        s = target_statistics(scenario, params, seed, offset + i, targets)
        out.append(np.array([s.get(n, np.nan) for n in names], dtype=float))
    return out


def simulate(
    scenario: Scenario,
    prior: Prior,
    thetas: np.ndarray,
    seed: int,
    targets: TargetSet,
    *,
    offset: int = 0,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Simulated target values (rows: ``thetas``' rows, columns: the targets) without observation noise.

    Row ``i`` is replication ``offset + i``: the result does not depend on where the rows run.
    """
    n = len(thetas)
    chunks = split(range(n), 1 if executor is None else max(8, min(64, n // 25)))
    rows = map_chunks(_simulate_chunk, (scenario, prior, thetas, seed, targets, offset), chunks, executor, progress)
    return np.vstack(rows) if rows else np.zeros((0, len(targets.targets)))


@dataclass(frozen=True)
class Observation:
    """The observation model of every target, and the standardised summary the estimator sees."""

    targets: TargetSet
    observed: np.ndarray
    sd: np.ndarray  # the scale of each target's summary: its observation sd (calibration.targets.observation_sd)
    lower: np.ndarray  # the target is a lower bound ("over half")
    upper: np.ndarray

    @classmethod
    def of(cls, targets: TargetSet) -> Observation:
        ts = targets.targets
        sd = np.array([observation_sd(t, targets) for t in ts], dtype=float)
        return cls(
            targets=targets,
            observed=np.array([t.value for t in ts], dtype=float),
            sd=np.where(sd > 0, sd, 1e-9),
            lower=np.array([t.bound == "lower" for t in ts]),
            upper=np.array([t.bound == "upper" for t in ts]),
        )

    def noisy(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Simulated observables: each column through its target's observation model
        (:func:`calibration.targets.draw_observation`: a replication already is a draw of the figures about
        its own persons; figures about other persons get their sampling noise and transfer sd)."""
        return np.column_stack([draw_observation(t, self.targets, values[:, k], rng) for k, t in enumerate(self.targets.targets)])

    def summary(self, observables: np.ndarray) -> np.ndarray:
        """Standardised observables asinh((value − observed) / sd); bounds as 0/1 indicators (1: the bound holds).

        asinh is one-to-one (no information is lost) and keeps the standardised values near 0 as they are
        while compressing the far tails that extreme prior draws produce (a count of 4 with sd 2 simulated
        as 60 is 28 sd away): the flow trains on summaries of comparable scale.
        """
        x = np.arcsinh((observables - self.observed) / self.sd)
        x = np.where(self.lower, (observables >= self.observed).astype(float), x)
        x = np.where(self.upper, (observables <= self.observed).astype(float), x)
        return np.where(np.isnan(observables), np.nan, x)

    def observed_summary(self) -> np.ndarray:
        return np.where(self.lower | self.upper, 1.0, 0.0)


# ---------------------------------------------------------------------------------------------- the fit


@dataclass
class Fit:
    """The result of :func:`fit_posterior`."""

    names: tuple[str, ...]
    prior: Prior
    observation: Observation
    posterior: object  # sbi DirectPosterior over z
    z_draws: np.ndarray
    draws: pd.DataFrame  # natural scale, one column per calibrated parameter
    params: ParameterSet  # the registry with the posterior medians
    training: dict  # epochs, training and validation loss per epoch
    simulations: int
    valid_simulations: int
    seconds: float
    settings: Settings
    timings: dict = field(default_factory=dict)

    def sample(self, x: np.ndarray, n: int) -> np.ndarray:
        """``n`` posterior draws of z for each summary row of ``x`` (shape (n, rows, d), or (n, d) for one row)."""
        import torch

        xt = torch.as_tensor(np.atleast_2d(x), dtype=torch.float32)
        if xt.shape[0] == 1 and np.ndim(x) == 1:
            return self.posterior.sample((n,), x=xt, show_progress_bars=False).numpy().astype(float)
        return self.posterior.sample_batched((n,), x=xt, show_progress_bars=False).numpy().astype(float)


def method_name(settings: Settings) -> str:
    import sbi

    return (
        f"sbi NPE (neural posterior estimation, masked autoregressive flow: {settings.num_transforms} transforms, "
        f"{settings.hidden_features} hidden units), sbi {sbi.__version__}"
    )


def train(z: np.ndarray, x: np.ndarray, settings: Settings, seed: int) -> tuple[object, dict]:
    """Train NPE on (z, x) with a N(0, I) prior; returns the posterior and the training summary."""
    import torch
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn

    torch.set_num_threads(1)
    torch.manual_seed(int(np.random.SeedSequence([seed, 13]).generate_state(1)[0]))
    d = z.shape[1]
    prior = torch.distributions.MultivariateNormal(torch.zeros(d), torch.eye(d))
    builder = posterior_nn("maf", hidden_features=settings.hidden_features, num_transforms=settings.num_transforms)
    inference = NPE(prior=prior, density_estimator=builder, show_progress_bars=False)
    with warnings.catch_warnings(record=True) as caught:  # sbi's notes go into the fit report, not the terminal
        warnings.simplefilter("always")
        inference.append_simulations(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32), exclude_invalid_x=False)
        estimator = inference.train(
            training_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            stop_after_epochs=settings.stop_after_epochs,
            max_num_epochs=settings.max_epochs,
            show_train_summary=False,
        )
    summary = inference._summary  # sbi's own record of the training (per epoch)
    training = {
        "epochs": int(summary["epochs_trained"][-1]) if summary.get("epochs_trained") else len(summary.get("training_loss", [])),
        "training_loss": [float(v) for v in summary.get("training_loss", [])],
        "validation_loss": [float(v) for v in summary.get("validation_loss", [])],
        "best_validation_loss": float(summary["best_validation_loss"][-1]) if summary.get("best_validation_loss") else None,
        "notes": sorted({str(w.message) for w in caught}),
    }
    training["converged"] = training["epochs"] < settings.max_epochs
    return inference.build_posterior(estimator), training


def prior_draws(n: int, d: int, seed: int) -> np.ndarray:
    """The z vectors of the training simulations (named stream ``calibration.prior``)."""
    return Streams(seed, 0).generator("calibration.prior").standard_normal((n, d))


def training_set(
    scenario: Scenario,
    prior: Prior,
    targets: TargetSet,
    n: int,
    seed: int,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` prior simulations: z, their noiseless simulated values and the noisy standardised summaries."""
    z = prior_draws(offset + n, len(prior.names), seed)[offset:]
    values = simulate(scenario, prior, prior.theta(z), seed, targets, offset=offset, executor=executor, progress=progress)
    obs = Observation.of(targets)
    noise_rng = Streams(seed, 0).generator(f"calibration.noise.{offset}")
    x = obs.summary(obs.noisy(values, noise_rng))
    return z, values, x


def fit_posterior(
    scenario: Scenario,
    base: ParameterSet,
    targets: TargetSet,
    *,
    settings: Settings = Settings(),
    names: Sequence[str] | None = None,
    seed: int = 20061201,
    executor: Executor | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Fit:
    """Fit the posterior of the calibrated parameters to the reported figures (see the module docstring).

    Args:
        scenario: the scenario that produced the reported figures.
        base: the registry (the priors and every parameter not calibrated).
        targets: the reported figures (one or several files merged).
        settings: the simulation budget, the flow's size, the training schedule.
        names: the parameters to calibrate (default: the targets files' ``calibrates`` lists).
        seed: root seed of the simulations, the observation noise and the training.
        executor: a process pool or a Dask executor for the simulations (None: serial).
        progress: called as ``progress(stage, done, total)``.
    """
    started = time.perf_counter()
    names = tuple(names) if names is not None else calibrated_names(targets)
    prior = Prior(base, names)
    prior.check()
    say = progress or (lambda *a: None)
    done = [0]

    def step(k: int) -> None:
        done[0] += k
        say("simulations from the prior", done[0], settings.simulations)

    say("simulations from the prior", 0, settings.simulations)
    z, _, x = training_set(scenario, prior, targets, settings.simulations, seed, executor, step)
    t_sim = time.perf_counter() - started
    valid = np.isfinite(x).all(axis=1)
    say("training the flow", 0, 1)
    posterior, training = train(z[valid], x[valid], settings, seed)
    t_train = time.perf_counter() - started - t_sim
    say("training the flow", 1, 1)
    obs = Observation.of(targets)
    fit = Fit(
        names=names,
        prior=prior,
        observation=obs,
        posterior=posterior,
        z_draws=np.zeros((0, len(names))),
        draws=pd.DataFrame(columns=list(names)),
        params=base,
        training=training,
        simulations=settings.simulations,
        valid_simulations=int(valid.sum()),
        seconds=0.0,
        settings=settings,
    )
    fit.z_draws = fit.sample(obs.observed_summary(), settings.draws)
    fit.draws = pd.DataFrame(prior.theta(fit.z_draws), columns=list(names))
    medians = {n: float(fit.draws[n].median()) for n in names}
    fit.params = base.with_values(medians, source="calibrated")
    fit.seconds = time.perf_counter() - started
    fit.timings = {"simulations": round(t_sim, 2), "training": round(t_train, 2), "sampling": round(fit.seconds - t_sim - t_train, 2)}
    return fit


# ---------------------------------------------------------------------------------------------- checks


def predictive_check(
    scenario: Scenario, fit: Fit, targets: TargetSet, seed: int, executor: Executor | None = None, progress: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """Posterior-predictive check of every target: posterior draws × one replication each, plus observation noise.

    Returns:
        One row per target: target, set, observed, sim_mean, sim_p05, sim_p95, within_90 (for a bound: the
        90 % interval does not contradict it), observation, bound, date, source.
    """
    n = min(fit.settings.predictive_draws, len(fit.draws))
    thetas = fit.draws.to_numpy()[:n]
    values = simulate(scenario, fit.prior, thetas, seed, targets, offset=PREDICTIVE_REPLICATION_OFFSET, executor=executor, progress=progress)
    noisy = fit.observation.noisy(values, Streams(seed, 0).generator("calibration.predictive_noise"))
    rows = []
    for k, t in enumerate(targets.targets):
        col = noisy[:, k][np.isfinite(noisy[:, k])]
        if col.size == 0:
            mean = p05 = p95 = float("nan")
        else:
            mean, p05, p95 = float(col.mean()), float(np.quantile(col, 0.05)), float(np.quantile(col, 0.95))
        if t.bound == "lower":
            within = bool(p95 >= t.value)
        elif t.bound == "upper":
            within = bool(p05 <= t.value)
        else:
            within = bool(p05 <= t.value <= p95)
        rows.append(
            {
                "target": t.name,
                "set": t.set,
                "observed": t.value,
                "sim_mean": mean,
                "sim_p05": p05,
                "sim_p95": p95,
                "within_90": within,
                "observation": t.observation,
                "bound": t.bound or "",
                "date": t.date.isoformat(),
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


def parameter_table(fit: Fit, calibrating: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Per calibrated parameter: prior and posterior 5/50/95 %, and the share of information from the data.

    The data share is 1 − posterior variance / prior variance on the z scale (prior variance 1): 0 when the
    posterior is the prior, near 1 when the data pin the parameter down. Sampling noise of the draws can push
    it slightly below 0 for a parameter the data do not touch.
    """
    q = (0.05, 0.5, 0.95)
    pq = fit.prior.quantiles(q)
    post = np.quantile(fit.draws.to_numpy(), q, axis=0)
    zvar = fit.z_draws.var(axis=0, ddof=1)
    calibrating = calibrating or {}
    return pd.DataFrame(
        {
            "parameter": fit.names,
            "prior_p05": pq[0],
            "prior_p50": pq[1],
            "prior_p95": pq[2],
            "posterior_p05": post[0],
            "posterior_p50": post[1],
            "posterior_p95": post[2],
            "data_share": 1.0 - zvar,
            "target_sets": [", ".join(calibrating.get(n, [])) for n in fit.names],
        }
    )


def correlations(fit: Fit, top: int = 15) -> pd.DataFrame:
    """The strongest posterior correlations (on the z scale) between pairs of calibrated parameters."""
    c = np.corrcoef(fit.z_draws, rowvar=False)
    i, j = np.triu_indices_from(c, k=1)
    frame = pd.DataFrame({"parameter_a": np.array(fit.names)[i], "parameter_b": np.array(fit.names)[j], "correlation": c[i, j]})
    return frame.reindex(frame["correlation"].abs().sort_values(ascending=False).index).head(top).reset_index(drop=True)
