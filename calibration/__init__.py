"""Calibration: the reported figures (2005-2006 flows, later evidence) as targets, and the simulation-based fit to them.

- :mod:`calibration.targets` — the targets file (value, date, source, observation model).
- :mod:`calibration.statistics` — what the model says about each target, per replication.
- :mod:`calibration.posterior` — the Bayesian fit: neural posterior estimation (sbi) of the calibrated
  parameters' joint posterior, the registry's priors as priors, each target's observation model.
- :mod:`calibration.report` — parameters.toml, draws.parquet, fit_report.json/.html, fit_details.json.
- :mod:`calibration.check` — posterior-predictive check of any target sets (``nysjanse check``).
"""
