"""The ``nysjanse`` command line: a thin shell over the library.

Every command loads its inputs first (so a bad input stops before anything is written), then runs, then
writes one output folder atomically with a ``manifest.json``. Bad input ends with one line on stderr and
exit code 2.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from model.artifacts import atomic_dir, manifest, write_json
from model.errors import InputError
from model.runner import run_scenario, run_summary, scenario_parameters, summarize
from model.scenario import LEVER_KEYS, load_scenario

app = typer.Typer(
    name="nysjanse",
    help=(
        "Simulate the Ny sjanse qualification programme for long-term social-assistance recipients: "
        "referral, assessment, admission, participation, exits and life after the programme, beside a "
        "counterfactual arm of the same persons without it.\n\n"
        "Start with:  nysjanse run scenarios/ny_sjanse_2005_2006.toml --replications 20 --out out/base"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# In logs and pipes rich would wrap tables at 80 columns; give them room.
stdout = Console() if Console().is_terminal else Console(width=140)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario key, e.g. --set programme.length_months=36 (repeatable). Levers: "
        + ", ".join(LEVER_KEYS),
    ),
]


class _LineProgress:
    """Progress for logs (CI, pipes): one line per task at start, every 10 %, and at the end."""

    def __init__(self) -> None:
        self.tasks: dict[int, list] = {}
        self.t0 = time.perf_counter()

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        key = len(self.tasks)
        self.tasks[key] = [description, total or 0, 0, -1]
        return key

    def update(self, key: int, completed: float | None = None, total: float | None = None, description: str | None = None) -> None:
        task = self.tasks[key]
        if description is not None:
            task[0] = description
        if total is not None:
            task[1] = total
        if completed is not None:
            task[2] = completed
        decile = int(10 * task[2] / task[1]) if task[1] else 10
        if decile != task[3]:
            task[3] = decile
            console.print(f"[{time.perf_counter() - self.t0:6.0f} s] {task[0]}: {task[2]:g}/{task[1]:g}", markup=False, highlight=False)

    def advance(self, key: int, amount: float = 1) -> None:
        self.update(key, completed=self.tasks[key][2] + amount)


def _progress() -> Progress | _LineProgress:
    """A live progress bar on a terminal; plain lines in logs."""
    if not console.is_terminal:
        return _LineProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _fmt(stat: dict) -> tuple[str, str]:
    return f"{stat['mean']:.1f}", f"{stat['p05']:.0f} – {stat['p95']:.0f}"


def print_flow_summary(summary: dict, title: str) -> None:
    """A readable table of the flows at the report date (mean and 90 % interval)."""
    table = Table(title=title, title_justify="left")
    table.add_column("flow at " + summary["report_date"])
    table.add_column("mean", justify="right")
    table.add_column("90 % interval", justify="right")
    table.add_column("women", justify="right")
    table.add_column("men", justify="right")
    for key, stat in summary["flows"].items():
        mean, interval = _fmt(stat)
        table.add_row(
            key.replace("_", " "),
            mean,
            interval,
            f"{summary['flows_by_sex']['women'][key]['mean']:.1f}",
            f"{summary['flows_by_sex']['men'][key]['mean']:.1f}",
        )
    stdout.print(table)
    reasons = Table(title="Reasons", title_justify="left")
    reasons.add_column("not admitted")
    reasons.add_column("mean", justify="right")
    reasons.add_column("broke off")
    reasons.add_column("mean", justify="right")
    na = list(summary["not_admitted_reasons"].items())
    bo = list(summary["broke_off_reasons"].items())
    for i in range(max(len(na), len(bo))):
        left = (na[i][0].replace("_", " "), f"{na[i][1]['mean']:.1f}") if i < len(na) else ("", "")
        right = (bo[i][0].replace("_", " "), f"{bo[i][1]['mean']:.1f}") if i < len(bo) else ("", "")
        reasons.add_row(*left, *right)
    stdout.print(reasons)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML, e.g. scenarios/ny_sjanse_2005_2006.toml")],
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Monte Carlo replications.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Root seed; the same seed gives the same persons and draws.")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder (replaced atomically).")] = Path("out/run"),
    set_: SetOption = None,
    tables: Annotated[bool, typer.Option(help="Write person_months/events/persons tables (parquet).")] = True,
    draws: Annotated[int, typer.Option(min=0, help="Parameter draws (calibrated jointly from the fit, the others from their priors): "
                                       "every interval a 90 % posterior-predictive interval over draws × replications. "
                                       "0: replications at the point parameters (Monte Carlo intervals). No per-person tables.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Local processes for the draws (the same numbers as serially).")] = 1,
) -> None:
    """Simulate a scenario: flows at the report date, monthly states, person-months and events.

    Writes OUT/summary.json, OUT/person_months.parquet, OUT/events.parquet, OUT/persons.parquet,
    OUT/participant_states.csv and OUT/manifest.json. With --draws, summary.json says
    "interval": "predictive" (else "monte_carlo").
    """
    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    t0 = time.perf_counter()
    with _progress() as bar:
        if draws:
            from model.parallel import executor_for
            from model.runner import run_predictive

            task = bar.add_task(f"{scen.name}: {draws} draws × {replications} replications", total=draws)
            with executor_for(workers) as ex:
                result = run_predictive(scen, draws, replications, seed, params, progress=lambda k: bar.advance(task, k), executor=ex)
            tables = False
        else:
            task = bar.add_task(f"{scen.name}", total=replications)
            result = run_scenario(scen, replications, seed, params, progress=lambda k: bar.advance(task, k))
    summary = run_summary(result)
    with atomic_dir(out) as tmp:
        files = ["summary.json", "participant_states.csv", "manifest.json"]
        write_json(tmp / "summary.json", summary)
        result.table("participant_states").to_csv(tmp / "participant_states.csv", index=False)
        if tables:
            for name in ("person_months", "events", "persons"):
                result.table(name).to_parquet(tmp / f"{name}.parquet", index=False)
                files.append(f"{name}.parquet")
        write_json(
            tmp / "manifest.json",
            manifest(
                command="run",
                scenarios=[scen],
                params=params,
                seed=seed,
                started=started,
                seconds=time.perf_counter() - t0,
                files=files,
                extra={"replications": replications, "draws": draws, "interval": summary["interval"], "overrides": set_ or []},
            ),
        )
    kind = f"{draws} draws × {replications} replications, 90 % predictive intervals" if draws else f"{replications} replications, 90 % Monte Carlo intervals"
    print_flow_summary(summary, f"{scen.name} — {kind}, seed {seed}")
    console.print(f"[green]wrote[/green] {out}")


@app.command()
def parameters(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario whose registry to show (default: the built-in defaults).")] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the registry as CSV here.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source: calibrated, literature or assumption.")] = None,
) -> None:
    """Print the parameter registry: every value with its source, range and basis."""
    from model.parameters import default_parameters

    params = scenario_parameters(load_scenario(scenario)) if scenario else default_parameters()
    frame = params.to_frame()
    if source:
        if source not in ("calibrated", "literature", "assumption"):
            raise InputError("command line", "--source", source, "one of calibrated, literature, assumption")
        frame = frame[frame["source"] == source]
    table = Table(title=f"Parameter registry ({len(frame)} parameters)", show_lines=False)
    for col in ("parameter", "value", "unit", "source", "low", "high"):
        table.add_column(col, justify="right" if col in ("value", "low", "high") else "left")
    for row in frame.itertuples():
        table.add_row(row.parameter, f"{row.value:g}", row.unit, row.source, f"{row.low:g}", f"{row.high:g}")
    stdout.print(table)
    if csv:
        from model.artifacts import atomic_write_text

        atomic_write_text(csv, frame.to_csv(index=False))


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML to check.")],
    set_: SetOption = None,
) -> None:
    """Check a scenario file (and its extends chain) without running it."""
    scen = load_scenario(scenario, set_ or [])
    scenario_parameters(scen)
    fte = scen.total_fte_on(scen.report_date)
    stdout.print(
        f"[green]ok[/green] {scen.name}: {len(scen.projects)} projects, {fte:.1f} adviser FTE on "
        f"{scen.report_date}, caseload {scen.follow_up.caseload_per_adviser:g}, "
        f"length {scen.programme.length_months:g} months, hash {scen.hash}"
    )


@app.command()
def calibrate(
    targets: Annotated[
        list[Path] | None,
        typer.Option("--targets", help="Targets file (repeatable: the sets are fitted jointly), e.g. calibration/targets/ny_sjanse_2006.toml"),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder for the fit (replaced atomically).")] = Path(
        "calibration/fitted/ny_sjanse_2006"
    ),
    scenario: Annotated[Path | None, typer.Option(help="Scenario to fit (default: the one the targets files name).")] = None,
    quick: Annotated[bool, typer.Option(help="A rough fit in well under a minute (fewer simulations, a smaller flow) for tests and smoke runs.")] = False,
    seed: Annotated[int, typer.Option(min=0, help="Root seed of the simulations, the observation noise and the training.")] = 20061201,
    workers: Annotated[int, typer.Option(min=1, help="Local processes for the simulations (the same fit as serially).")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786) for the simulations instead of local processes.")] = None,
) -> None:
    """Fit the joint posterior of the calibrated parameters to reported figures (neural posterior estimation).

    The parameters are those the targets files list under [meta] calibrates; their registry priors are the
    priors. Each target enters with its observation model (count, share, multinomial member, bound). The
    simulations run on --workers local processes or a Dask cluster (--scheduler) and give the same fit for the
    same seed. Writes OUT/parameters.toml (posterior medians), OUT/draws.parquet (joint posterior draws, which
    the PSA and the predictive runs use), OUT/fit_report.json, OUT/fit_report.html, OUT/fit_details.json and
    OUT/manifest.json. The full fit takes a few minutes on 2 cores; --quick well under a minute.
    """
    from calibration.posterior import Settings, fit_posterior, predictive_check
    from calibration.report import write_fit
    from calibration.targets import check_names, load_target_sets
    from model.parallel import executor_for

    started = dt.datetime.now(dt.UTC)
    files = targets or [Path("calibration/targets/ny_sjanse_2006.toml")]
    ts = load_target_sets(files)
    path = scenario or ts.scenario
    if path is None:
        raise InputError(str(files[0]), "meta.scenario", None, "a scenario path in the targets file, or --scenario")
    # Fit from the registry's priors: ignore any fitted file the scenario points to.
    scen = load_scenario(path, {"parameters.files": []})
    check_names(ts, scen)
    if not ts.calibrates:
        raise InputError(str(files[0]), "meta.calibrates", [], "a list of registry parameters to calibrate in at least one targets file")
    base = scenario_parameters(scen)
    settings = Settings.quick() if quick else Settings()
    t0 = time.perf_counter()
    with _progress() as bar, executor_for(workers, scheduler) as executor:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        fit = fit_posterior(scen, base, ts, settings=settings, seed=seed, executor=executor, progress=progress)
        n_check = min(settings.predictive_draws, len(fit.draws))
        task = bar.add_task(f"posterior-predictive check: {n_check} draws", total=n_check)
        report = predictive_check(scen, fit, ts, seed, executor, progress=lambda k: bar.advance(task, k))
    with atomic_dir(out) as tmp:
        written = write_fit(tmp, fit, base, report, ts, dt.date.today().isoformat())
        write_json(
            tmp / "manifest.json",
            manifest(
                command="calibrate",
                scenarios=[scen],
                params=fit.params,
                seed=seed,
                started=started,
                seconds=time.perf_counter() - t0,
                files=[*written, "manifest.json"],
                extra={"targets": [str(p) for p in files], "quick": quick, "settings": settings.__dict__, "workers": workers, "scheduler": scheduler},
            ),
        )
    table = Table(title=f"Fit: {int(report['within_90'].sum())} of {len(report)} targets inside the 90 % posterior-predictive interval")
    for col in ("set", "target", "observed", "predicted", "90 % interval", "ok"):
        table.add_column(col, justify="left" if col in ("set", "target") else "right")
    for r in report.itertuples():
        table.add_row(r.set, r.target, f"{r.observed:.3g}", f"{r.sim_mean:.3g}", f"{r.sim_p05:.3g} – {r.sim_p95:.3g}", "yes" if r.within_90 else "[red]no[/red]")
    stdout.print(table)
    console.print(f"[green]wrote[/green] {out} in {time.perf_counter() - t0:.0f} s ({fit.timings})")


@app.command()
def check(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML, e.g. scenarios/ny_sjanse_2005_2006.toml")],
    targets: Annotated[list[Path], typer.Option("--targets", help="Targets file (repeatable: several sets).")],
    draws: Annotated[int, typer.Option(min=1, help="Parameter draws (calibrated jointly from the fit, the others from their priors).")] = 20,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Replications per draw (each draw its own persons).")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Root seed.")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder (replaced atomically).")] = Path("out/check"),
    workers: Annotated[int, typer.Option(min=1, help="Local processes (the same numbers as serially).")] = 1,
    set_: SetOption = None,
) -> None:
    """Posterior-predictive check: every target's observed value against its 90 % predictive interval.

    Writes OUT/check.json (targets with name, set, date, observed, mean, p05, p95, inside; coverage overall
    and per set), OUT/check.html and OUT/manifest.json.
    """
    from calibration.check import check_html, predictive_check
    from calibration.targets import check_names, load_target_sets
    from model.artifacts import atomic_write_text
    from model.parallel import executor_for

    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    target_set = load_target_sets(targets)
    check_names(target_set, scen)
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task(f"check {scen.name}: {draws} draws × {replications} replications", total=draws)
        with executor_for(workers) as ex:
            doc = predictive_check(scen, params, target_set, draws, replications, seed, ex, progress=lambda k: bar.advance(task, k))
    doc["seconds"] = time.perf_counter() - t0
    with atomic_dir(out) as tmp:
        write_json(tmp / "check.json", doc)
        atomic_write_text(tmp / "check.html", check_html(doc))
        write_json(
            tmp / "manifest.json",
            manifest(
                command="check",
                scenarios=[scen],
                params=params,
                seed=seed,
                started=started,
                seconds=doc["seconds"],
                files=["check.json", "check.html", "manifest.json"],
                extra={"targets": [str(p) for p in targets], "draws": draws, "replications": replications, "overrides": set_ or []},
            ),
        )
    table = Table(title=f"{scen.name} — {draws} draws × {replications} replications, 90 % predictive intervals", title_justify="left")
    for col in ("set", "target", "observed", "mean", "90 % predictive", "inside"):
        table.add_column(col, justify="left" if col in ("set", "target") else "right")
    for r in doc["targets"]:
        f = (lambda x: "–" if x is None else f"{x:.3g}")
        table.add_row(r["set"], r["name"], f(r["observed"]), f(r["mean"]), f"{f(r['p05'])} – {f(r['p95'])}", "yes" if r["inside"] else "[red]no[/red]")
    stdout.print(table)
    per_set = "; ".join(f"{k} {v['inside']}/{v['targets']}" for k, v in doc["coverage_by_set"].items())
    stdout.print(f"coverage {doc['coverage']:.2f} ({doc['inside']} of {len(doc['targets'])} inside; {per_set})")
    console.print(f"[green]wrote[/green] {out} in {doc['seconds']:.1f} s")


def _executor(workers: int, scheduler: str | None = None):
    """A process pool (or a Dask cluster's executor) for independent draws; None for serial runs."""
    if scheduler:
        from distributed import Client

        return Client(scheduler).get_executor()
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=workers)
    return None


@app.command()
def cba(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario TOML (not needed with --list-conventions).")] = None,
    draws: Annotated[int, typer.Option(min=1, help="Outer PSA draws of the parameters.")] = 200,
    inner: Annotated[int, typer.Option(min=1, help="Inner replications per draw (common random numbers).")] = 4,
    seed: Annotated[int, typer.Option(min=0)] = 1,
    out: Annotated[Path, typer.Option(help="Output folder (replaced atomically).")] = Path("out/cba"),
    set_: SetOption = None,
    tornado_: Annotated[bool, typer.Option("--tornado/--no-tornado", help="One-way sensitivity with switching values.")] = True,
    workers: Annotated[int, typer.Option(min=1, help="Processes for the draws.")] = 2,
    conventions: Annotated[str, typer.Option("--conventions", help="Analysis convention set applied before the run (model/defaults/conventions.toml; --list-conventions lists them).")] = "default",
    list_conventions: Annotated[bool, typer.Option("--list-conventions", help="Print the convention set names, one a line (the default first; a description of each on stderr), and exit.")] = False,
    reconcile_: Annotated[
        tuple[str, str] | None,
        typer.Option("--reconcile", metavar="A B", help="Instead of the CBA: the waterfall of the society NPV from convention set A to B, one convention item a step, over --draws PSA draws x --inner replications (common random numbers). Writes OUT/reconcile.json, OUT/reconcile.html, OUT/manifest.json."),
    ] = None,
) -> None:
    """Social cost-benefit analysis (R-109): NPV, BCR and payback per perspective, with a two-level PSA.

    Perspectives: society, state, municipality, participant. Outer level: parameter draws (calibration
    posterior + registry priors); inner level: replications with common random numbers. Writes
    OUT/cba.json, OUT/cba.xlsx (inputs with sources, ledger by year and perspective, results), OUT/report.html
    (plotly figures), OUT/psa_draws.csv and OUT/manifest.json.

    Convention sets (--conventions, --reconcile): default, and alternatives that published CBAs of
    labour-market programmes use; each is the default plus documented items (model/defaults/conventions.toml).
    """
    from model.cba import evaluate_parameters, perspective_ledger
    from model.conventions import apply_conventions, convention_set, load_conventions
    from model.economics import write_html_report, write_workbook
    from model.reporting import cba_document
    from model.uncertainty import calibration_draws, run_draws, sample_parameters, tornado

    if list_conventions:
        for cs in load_conventions().sets:
            print(cs.name)
        for cs in load_conventions().sets:
            console.print(f"{cs.name}: {cs.title}", markup=False, highlight=False, soft_wrap=True)
        return
    if scenario is None:
        raise InputError("command line", "SCENARIO", None, "a scenario TOML: nysjanse cba SCENARIO [options]")
    convention_set(conventions)
    if reconcile_ is not None:
        if conventions != "default":
            raise InputError("command line", "--conventions", conventions, "default with --reconcile (it names both sets)")
        _cba_reconcile(scenario, set_, reconcile_, draws=draws, inner=inner, seed=seed, out=out, workers=workers)
        return
    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    scen, params = apply_conventions(scen, scenario_parameters(scen), conventions)
    t0 = time.perf_counter()
    executor = _executor(workers)
    try:
        with _progress() as bar:
            task = bar.add_task("base case", total=1)
            base = evaluate_parameters(scen, params, seed, inner)
            bar.advance(task)
            sample = sample_parameters(params, draws, seed, calibration_draws(scen))
            task = bar.add_task(f"PSA: {draws} draws x {inner} replications", total=draws)
            psa = run_draws(scen, params, sample.to_dict(orient="records"), seed, inner, executor, lambda k: bar.advance(task, k))
            torn, torn_base = None, None
            if tornado_:
                n = len(params.graded())
                task = bar.add_task(f"tornado: {n} parameters", total=2 * n)
                torn, torn_base = tornado(scen, params, seed, inner, executor, lambda k: bar.advance(task, k), base=base)
    finally:
        if executor is not None:
            executor.shutdown()
    doc = cba_document(scen, params, base, psa, torn, draws=draws, inner=inner, seed=seed, sample=sample)
    doc["conventions"] = conventions
    pl = perspective_ledger(base.mean_effects(), base.policy, params)
    with atomic_dir(out) as tmp:
        files = ["cba.json", "cba.xlsx", "report.html", "psa_draws.csv", "manifest.json"]
        man = manifest(
            command="cba",
            scenarios=[scen],
            params=params,
            seed=seed,
            started=started,
            seconds=time.perf_counter() - t0,
            files=files,
            extra={"draws": draws, "inner_replications": inner, "overrides": set_ or [], "conventions": conventions},
        )
        write_json(tmp / "cba.json", doc)
        pd.concat([sample, psa.summary], axis=1).to_csv(tmp / "psa_draws.csv", index_label="draw")
        write_workbook(tmp / "cba.xlsx", params=params, evaluation=psa.evaluation, perspective_ledger=pl, manifest=man)
        write_html_report(
            tmp / "report.html",
            evaluation=psa.evaluation,
            params=params,
            manifest=man,
            perspective_ledger=pl,
            tornado=torn,
            tornado_base_npv_nok=torn_base,
            title=f"{scen.name}: social cost-benefit analysis",
            voi=doc,
        )
        write_json(tmp / "manifest.json", man)
    print_cba_summary(doc, scen.name)
    console.print(f"[green]wrote[/green] {out}")


def _cba_reconcile(scenario: Path, set_: list[str] | None, names: tuple[str, str], *, draws: int, inner: int, seed: int, out: Path, workers: int) -> None:
    """``nysjanse cba S --reconcile A B``: the society-NPV waterfall between two convention sets
    (:func:`model.conventions.reconcile`), written to OUT/reconcile.json, OUT/reconcile.html and
    OUT/manifest.json and printed as a table."""
    from model.artifacts import atomic_write_text
    from model.conventions import convention_set, reconcile, reconcile_html
    from model.uncertainty import calibration_draws, sample_parameters

    for name in names:
        convention_set(name)
    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    sample = sample_parameters(params, draws, seed, calibration_draws(scen))
    t0 = time.perf_counter()
    executor = _executor(workers)
    try:
        with _progress() as bar:
            task = bar.add_task(f"reconcile {names[0]} -> {names[1]}: {draws} draws x {inner} replications", total=draws)
            rec = reconcile(scen, params, names[0], names[1], sample, seed, inner, executor, lambda k: bar.advance(task, k))
    finally:
        if executor is not None:
            executor.shutdown()
    seconds = time.perf_counter() - t0
    doc = {"scenario": scen.name, "price_year": scen.analysis.price_year, **rec.to_dict(), "inner_replications": inner, "seed": seed}
    files = ["reconcile.json", "reconcile.html", "manifest.json"]
    with atomic_dir(out) as tmp:
        write_json(tmp / "reconcile.json", doc)
        atomic_write_text(tmp / "reconcile.html", reconcile_html(rec, f"{scen.name}: conventions {names[0]} -> {names[1]}"))
        write_json(tmp / "manifest.json", manifest(command="cba", scenarios=[scen], params=params, seed=seed, started=started, seconds=seconds, files=files,
                                                   extra={"reconcile": list(names), "draws": draws, "inner_replications": inner, "overrides": set_ or []}))
    table = Table(title=f"{scen.name}: society NPV from conventions {names[0]} to {names[1]} (NOK {doc['price_year']}, mean of {draws} draws x {inner}, common random numbers)",
                  title_justify="left")
    for col in ("step", "Δ NPV", "90 % range over draws", "NPV after"):
        table.add_column(col, justify="left" if col == "step" else "right")
    table.add_row(f"{names[0]} (start)", "", "", _m(rec.npv_from_nok))
    running = rec.npv_from_nok
    for s in rec.steps:
        running += s["delta_npv_nok"]
        table.add_row(f"{'-' if s['change'] == 'remove' else '+'} {s['item']}", _m(s["delta_npv_nok"]), f"{_m(s['p05'], unit='')} to {_m(s['p95'])}", _m(running))
    table.add_row(f"[bold]{names[1]} (end): total[/bold]", _m(rec.total_delta_npv_nok), "", _m(rec.npv_to_nok))
    stdout.print(table)
    console.print(f"[green]wrote[/green] {out} in {seconds:.1f} s")


def print_cba_summary(doc: dict, title: str) -> None:
    """The perspective table of a CBA (NOK of the price year)."""
    table = Table(title=f"{title}: NPV by perspective (NOK {doc['price_year']}, {doc['draws']} draws)", title_justify="left")
    for col in ("perspective", "NPV mean", "90 % interval", "BCR", "P(NPV > 0)"):
        table.add_column(col, justify="left" if col == "perspective" else "right")
    for p, v in doc["perspectives"].items():
        npv = v["npv_nok"]
        table.add_row(
            p,
            f"{npv['mean'] / 1e6:,.1f} M",
            f"{npv['p05'] / 1e6:,.1f} – {npv['p95'] / 1e6:,.1f} M",
            f"{v['bcr']['mean']:.2f}" if v["bcr"]["mean"] is not None else "–",
            f"{doc['prob_npv_positive'][p]:.2f}",
        )
    stdout.print(table)
    pp = doc["per_participant"]["society_npv_nok"]
    stdout.print(
        f"Society NPV per participant: NOK {pp['mean']:,.0f} (90 % interval {pp['p05']:,.0f} to {pp['p95']:,.0f}); "
        f"ledger check: society transfers net {doc['ledger_check']['society_transfers_net_nok']:.2e} NOK"
    )


@app.command()
def sobol(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML.")],
    parameters: Annotated[int, typer.Option(min=2, help="How many parameters (the widest tornado swings).")] = 8,
    base_samples: Annotated[int, typer.Option(min=8, help="Saltelli base samples N (evaluations: N x (k + 2)); a power of 2.")] = 64,
    inner: Annotated[int, typer.Option(min=1, help="Replications per evaluation (common random numbers).")] = 2,
    seed: Annotated[int, typer.Option(min=0)] = 1,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/sobol"),
    set_: SetOption = None,
    workers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Sobol indices (SALib) of the society NPV for the parameters that matter most.

    Picks the parameters with the widest one-way swings, samples their 90 % ranges (Saltelli), and reports
    first-order and total indices with confidence intervals, beside the simulation-noise variance.
    Writes OUT/sobol.json, OUT/sobol.csv, OUT/report.html and OUT/manifest.json.
    """
    from model.cba import evaluate_parameters
    from model.economics import write_html_report
    from model.uncertainty import sobol as sobol_indices
    from model.uncertainty import tornado

    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    t0 = time.perf_counter()
    executor = _executor(workers)
    try:
        with _progress() as bar:
            n = len(params.graded())
            task = bar.add_task(f"screening (tornado): {n} parameters", total=2 * n)
            base = evaluate_parameters(scen, params, seed, inner)
            torn, _ = tornado(scen, params, seed, inner, executor, lambda k: bar.advance(task, k), base=base)
            names = list(torn["parameter"].head(parameters))
            total = base_samples * (len(names) + 2)
            task = bar.add_task(f"Sobol: {total} evaluations", total=total)
            res = sobol_indices(scen, params, names, base_samples, seed, inner, executor, lambda k: bar.advance(task, k))
    finally:
        if executor is not None:
            executor.shutdown()
    doc = {
        "scenario": scen.name,
        "output": "society_npv_nok",
        "parameters": names,
        "base_samples": base_samples,
        "evaluations": res.evaluations,
        "inner_replications": inner,
        "npv_variance": res.npv_variance,
        "simulation_noise_variance": res.noise_variance,
        "noise_share": res.noise_variance / res.npv_variance if res.npv_variance > 0 else None,
        "indices": res.table.to_dict(orient="records"),
    }
    with atomic_dir(out) as tmp:
        man = manifest(command="sobol", scenarios=[scen], params=params, seed=seed, started=started,
                       seconds=time.perf_counter() - t0, files=["sobol.json", "sobol.csv", "report.html", "manifest.json"],
                       extra={"base_samples": base_samples, "inner_replications": inner})
        write_json(tmp / "sobol.json", doc)
        res.table.to_csv(tmp / "sobol.csv", index=False)
        write_html_report(tmp / "report.html", evaluation=base.evaluation, params=params, manifest=man, tornado=torn, sobol=res.table,
                          title=f"{scen.name}: Sobol indices of the society NPV")
        write_json(tmp / "manifest.json", man)
    table = Table(title="Sobol indices of the society NPV", title_justify="left")
    for col in ("parameter", "S1", "ST"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    for r in res.table.itertuples():
        table.add_row(r.parameter, f"{r.S1:.2f} ± {r.S1_conf:.2f}", f"{r.ST:.2f} ± {r.ST_conf:.2f}")
    stdout.print(table)
    console.print(f"[green]wrote[/green] {out}")


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario TOMLs; each after the first is compared with the first.")],
    replications: Annotated[int, typer.Option("--replications", "-r", min=2, help="Replications (common random numbers).")] = 50,
    seed: Annotated[int, typer.Option(min=0)] = 1,
    out: Annotated[Path, typer.Option(help="Output folder (replaced atomically).")] = Path("out/compare"),
    sensitivity: Annotated[bool, typer.Option(help="Repeat at the 5th/95th percentile of the assumption each changed lever rests on.")] = True,
    workers: Annotated[int, typer.Option(min=1, help="Processes (one scenario each).")] = 2,
    voi_draws: Annotated[int, typer.Option("--voi-draws", min=0, help="Parameter draws of a paired PSA per scenario for the value of information of choosing between the scenarios (0: none; 200 or more for stable EVPPIs).")] = 0,
) -> None:
    """Compare scenarios: differences in employment, flows and NPV per perspective, with 90 % intervals.

    Answers e.g. "does a 36-month programme raise employment?" in one command:

        nysjanse compare scenarios/ny_sjanse_2005_2006.toml scenarios/policy/length_36_months.toml

    The ΔNPV waterfall splits the society difference by mechanism (exits to work, retention, staff cost,
    stipend vs social assistance, incentive payments, courses and measures); `rests_on` repeats the
    comparison with the key assumption behind the changed lever at its low and high value.
    With --voi-draws N each scenario also gets a paired PSA of N draws, and compare.json holds
    value_of_information: per scenario, the EVPI and EVPPI of choosing between it and the first.
    Writes OUT/compare.json, OUT/compare.csv and OUT/manifest.json.
    """
    from model.compare import compare as compare_scenarios

    if len(scenarios) < 2:
        raise InputError("command line", "SCENARIOS", [str(s) for s in scenarios], "at least two scenario files")
    started = dt.datetime.now(dt.UTC)
    scens = [load_scenario(s) for s in scenarios]
    names = [s.name for s in scens]
    if len(set(names)) < len(names):
        raise InputError("command line", "SCENARIOS", names, "scenarios with different names")
    t0 = time.perf_counter()
    executor = _executor(workers)
    try:
        doc = compare_scenarios(scens, seed, replications, executor, sensitivity, progress=lambda m: console.print(f"[dim]{m}[/dim]"),
                                voi_draws=voi_draws)
    finally:
        if executor is not None:
            executor.shutdown()
    params = scenario_parameters(scens[0])
    with atomic_dir(out) as tmp:
        write_json(tmp / "compare.json", doc)
        _difference_frame(doc).to_csv(tmp / "compare.csv", index=False)
        write_json(tmp / "manifest.json", manifest(command="compare", scenarios=scens, params=params, seed=seed, started=started,
                                                   seconds=time.perf_counter() - t0, files=["compare.json", "compare.csv", "manifest.json"],
                                                   extra={"replications": replications, "voi_draws": voi_draws}))
    print_comparison(doc)
    console.print(f"[green]wrote[/green] {out}")


def _difference_frame(doc: dict) -> pd.DataFrame:
    rows = []
    for name, diff in doc["difference"].items():
        for key, st in diff.items():
            if isinstance(st, dict) and "mean" in st:
                rows.append({"scenario": name, "vs": doc["scenarios"][0], "measure": key, **st})
            elif isinstance(st, dict):
                for k, v in st.items():
                    rows.append({"scenario": name, "vs": doc["scenarios"][0], "measure": f"flows.{k}", **v})
    return pd.DataFrame(rows)


def _m(x: float | None, scale: float = 1e6, unit: str = " M") -> str:
    return "–" if x is None else f"{x / scale:,.1f}{unit}"


def print_comparison(doc: dict) -> None:
    """The answer tables of a comparison."""
    base = doc["scenarios"][0]
    kind = "90 % predictive intervals" if doc.get("interval") == "predictive" else "90 % Monte Carlo intervals over replications at the point parameters"
    table = Table(title=f"Each scenario vs {base} ({doc['replications']} replications, common random numbers; {kind})", title_justify="left")
    for col in ("scenario", "Δ employed years / participant", "Δ share employed 2 y", "Δ society NPV (NOK)", "Δ state", "Δ municipality", "Δ participant"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name, d in doc["difference"].items():
        e = d["employed_person_years_per_participant"]
        s2 = d["share_employed_2y"]
        table.add_row(
            name,
            f"{e['mean']:+.3f} ({e['p05']:+.3f} to {e['p95']:+.3f})",
            "–" if s2["mean"] is None else f"{s2['mean']:+.3f}",
            f"{_m(d['society_npv_nok']['mean'])} ({_m(d['society_npv_nok']['p05'], unit='')} to {_m(d['society_npv_nok']['p95'], unit='')})",
            _m(d["state_npv_nok"]["mean"]),
            _m(d["municipality_npv_nok"]["mean"]),
            _m(d["participant_npv_nok"]["mean"]),
        )
    stdout.print(table)
    for name, wf in doc.get("waterfalls", {}).items():
        t = Table(title=f"Society ΔNPV by mechanism: {name} vs {base}", title_justify="left")
        t.add_column("mechanism")
        t.add_column("NOK", justify="right")
        for item in wf:
            t.add_row(item["mechanism"], _m(item["nok"]))
        t.add_row("[bold]total[/bold]", _m(sum(i["nok"] for i in wf)))
        stdout.print(t)
    for name, rows in doc.get("rests_on", {}).items():
        if not rows:
            continue
        t = Table(title=f"How much the answer for {name} rests on assumptions the data cannot tell", title_justify="left")
        for col in ("assumption", "at", "value", "Δ employed years / participant", "Δ society NPV"):
            t.add_column(col, justify="left" if col in ("assumption", "at") else "right")
        d = doc["difference"][name]
        for r in rows:
            t.add_row(r["parameter"], r["at"], f"{r['value']:.3g}", f"{r['employed_person_years_per_participant']['mean']:+.3f}", _m(r["society_npv_nok"]["mean"]))
        t.add_row("(point values)", "point", "", f"{d['employed_person_years_per_participant']['mean']:+.3f}", _m(d["society_npv_nok"]["mean"]))
        stdout.print(t)
    for name, voi in doc.get("value_of_information", {}).items():
        t = Table(title=f"What to find out before choosing between {base} and {name} (society, per cohort; EVPI {_m(voi['evpi_nok']['society'])})",
                  title_justify="left")
        for col in ("parameters", "EVPPI", "R² (leave-one-out)"):
            t.add_column(col, justify="left" if col == "parameters" else "right")
        rows = sorted((e for e in voi["evppi"] if e["perspective"] == "society"), key=lambda e: -e["evppi_nok"])[:8]
        for e in rows:
            label = e.get("group") or ", ".join(e["parameters"])
            t.add_row(label, _m(e["evppi_nok"]), "–" if e.get("r2_loo") is None else f"{e['r2_loo']:.2f}")
        stdout.print(t)


@app.command()
def size(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML (e.g. scenarios/bergen.toml).")],
    max_wait_weeks: Annotated[float, typer.Option(min=0.0, help="Longest acceptable wait from admission decision to start.")] = 8.0,
    service_level: Annotated[float, typer.Option(min=0.01, max=0.999, help="Required probability of a wait within the limit.")] = 0.9,
    replications: Annotated[int, typer.Option("--replications", "-r", min=2)] = 20,
    seed: Annotated[int, typer.Option(min=0)] = 1,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/size"),
    set_: SetOption = None,
) -> None:
    """Staff sizing: the fewest advisers so that P(wait ≤ W weeks) ≥ P, with an Erlang-C cross-check.

    Reports along the adviser count: caseload, utilisation, waits, NPV per perspective and the marginal
    society NPV of one more adviser. Writes OUT/size.json, OUT/size.csv and OUT/manifest.json.
    """
    from model.staffing import size as size_staff

    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    t0 = time.perf_counter()
    doc = size_staff(scen, params, max_wait_weeks, service_level, seed, replications, progress=lambda m: console.print(f"[dim]{m}[/dim]"))
    with atomic_dir(out) as tmp:
        write_json(tmp / "size.json", doc)
        pd.DataFrame(doc["table"]).to_csv(tmp / "size.csv", index=False)
        write_json(tmp / "manifest.json", manifest(command="size", scenarios=[scen], params=params, seed=seed, started=started,
                                                   seconds=time.perf_counter() - t0, files=["size.json", "size.csv", "manifest.json"],
                                                   extra={"max_wait_weeks": max_wait_weeks, "service_level": service_level}))
    table = Table(title=f"{scen.name}: waits within {max_wait_weeks:g} weeks", title_justify="left")
    for col in ("advisers", "P(wait ≤ W)", "mean wait (weeks)", "caseload", "utilisation", "society NPV", "marginal NPV of +1"):
        table.add_column(col, justify="right")
    for r in doc["table"]:
        table.add_row(
            f"{r['advisers']:g}", f"{r['p_wait_within']:.2f}", f"{r['mean_wait_weeks']:.1f}", f"{r['caseload']:.1f}", f"{r['utilisation']:.2f}",
            _m(r.get("society_npv_nok")), _m(r.get("marginal_society_npv_of_one_more_adviser_nok")),
        )
    stdout.print(table)
    stdout.print(
        f"Answer: [bold]{doc['advisers']} advisers[/bold] (P = {doc['p_wait_within']:.2f} ≥ {service_level}); "
        f"Erlang-C suggests {doc['erlang_c_advisers']}."
    )
    console.print(f"[green]wrote[/green] {out}")


@app.command()
def headline(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/headline"),
    replications: Annotated[int, typer.Option(min=2)] = 30,
    seed: Annotated[int, typer.Option(min=0)] = 2006,
) -> None:
    """The headline analysis (`make run`): the national baseline against the reported flows, then against the
    36-month and follow-up variants."""
    run(Path("scenarios/ny_sjanse_2005_2006.toml"), replications=replications, seed=seed, out=out / "baseline", set_=None, tables=False)
    compare(
        [
            Path("scenarios/ny_sjanse_2005_2006.toml"),
            Path("scenarios/policy/length_36_months.toml"),
            Path("scenarios/policy/follow_up_1_15.toml"),
            Path("scenarios/policy/follow_up_1_60.toml"),
        ],
        replications=replications,
        seed=seed,
        out=out / "compare",
        sensitivity=True,
        workers=2,
    )


@app.command()
def psa(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML, e.g. scenarios/ny_sjanse_2005_2006.toml")],
    draws: Annotated[int, typer.Option(min=1, help="Outer draws of the parameters.")] = 1000,
    workers: Annotated[int, typer.Option(min=1, help="Local processes (1: serial). Results do not depend on it.")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 (instead of local processes).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Root seed of the draws and of the inner replications.")] = 1,
    inner: Annotated[int, typer.Option(min=1, help="Inner replications per draw (common random numbers); more damp the simulation noise in the intervals.")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder; OUT/chunks keeps finished chunks so that a rerun resumes.")] = Path("out/psa"),
    chunk_size: Annotated[int | None, typer.Option(min=1, help="Draws per saved chunk (default: about 20 chunks).")] = None,
    set_: SetOption = None,
) -> None:
    """Probabilistic sensitivity analysis: NPV and BCR per perspective over parameter draws, chunked and resumable.

    Runs serially, on local processes (--workers) or on a Dask cluster (--scheduler); the same seed gives the
    same numbers in every case. Each finished chunk is saved at once (OUT/chunks/chunk-0003.parquet); if the
    run is interrupted, the same command resumes it and computes only the missing chunks. Writes
    OUT/psa_summary.json (results only: identical bytes for any --workers/--scheduler), OUT/psa_draws.csv
    (parameter values and results per draw) and OUT/manifest.json (timings, executor, chunks reused).
    """
    from model.parallel import executor_for
    from model.psa import run_psa, write_outputs

    started = dt.datetime.now(dt.UTC)
    scen = load_scenario(scenario, set_ or [])
    params = scenario_parameters(scen)
    where = f"Dask scheduler {scheduler}" if scheduler else (f"{workers} local processes" if workers > 1 else "serial")
    try:
        with _progress() as bar, executor_for(workers, scheduler) as executor:
            task = bar.add_task(f"PSA: {draws} draws x {inner} replications ({where})", total=draws)
            result = run_psa(scen, params, draws, seed=seed, inner=inner, out=out, executor=executor, chunk_size=chunk_size,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    except KeyboardInterrupt:
        console.print(f"nysjanse: interrupted; finished chunks are kept in {out / 'chunks'}: run the same command to resume",
                      markup=False, highlight=False)
        raise typer.Exit(130) from None
    write_outputs(result, scen, params, out, seed=seed, inner=inner, started=started,
                  extra={"executor": where, "workers": workers, "scheduler": scheduler, "overrides": set_ or []})
    doc = result.summary
    table = Table(title=f"{scen.name}: NPV by perspective (NOK {doc['price_year']}, {doc['draws']} draws x {inner})", title_justify="left")
    for col in ("perspective", "NPV mean", "90 % interval", "BCR mean", "P(NPV > 0)"):
        table.add_column(col, justify="left" if col == "perspective" else "right")
    for p, v in doc["perspectives"].items():
        npv, bcr = v["npv_nok"], v["bcr"]
        table.add_row(p, _m(npv["mean"]), f"{_m(npv['p05'], unit='')} – {_m(npv['p95'])}",
                      "–" if bcr["mean"] is None else f"{bcr['mean']:.2f}", f"{v['prob_npv_positive']:.2f}")
    stdout.print(table)
    pp, emp = doc["per_participant"]["society_npv_nok"], doc["per_participant"]["employed_person_years"]
    stdout.print(f"Per participant: society NPV NOK {pp['mean']:,.0f} ({pp['p05']:,.0f} to {pp['p95']:,.0f}); "
                 f"extra employed person-years {emp['mean']:.3f} ({emp['p05']:.3f} to {emp['p95']:.3f})")
    console.print(f"[green]wrote[/green] {out} in {result.seconds:.1f} s ({len(result.chunks_computed)} chunks computed, "
                  f"{len(result.chunks_reused)} reused)")


def main() -> None:
    """Entry point: run the app, turning bad input into one line and exit code 2."""
    try:
        app(standalone_mode=False)
    except InputError as err:
        console.print(f"nysjanse: error: {err}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.print("nysjanse: aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        try:  # recent typer vendors click as typer._click; its usage errors are not click's classes
            from typer._click.exceptions import ClickException as VendoredClickException
        except ImportError:
            VendoredClickException = click.exceptions.ClickException  # noqa: N806

        if isinstance(exc, click.exceptions.ClickException | VendoredClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
