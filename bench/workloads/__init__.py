"""Workloads: every module here registers functions with
:func:`bench.harness.workload` (see bench/harness.py)."""
