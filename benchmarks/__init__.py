"""Benchmarks of the nysjanse simulator (``python -m benchmarks``); never part of the default test run.

See :mod:`benchmarks.harness` for what is measured and how.
"""
