"""Calibration: the reported 2005-2006 flows as targets, and the simulation-based fit to them.

- :mod:`calibration.targets` — the targets file (value, date, source, observation model).
- :mod:`calibration.statistics` — what the model says about each target, per replication.
- :mod:`calibration.estimate` — simulated method of moments with common random numbers, and a Laplace
  approximation of the posterior around the fit (priors from the registry for what the data cannot tell).
- :mod:`calibration.report` — fit_report.json / fit_report.html.
"""
