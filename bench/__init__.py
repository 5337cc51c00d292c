"""Benchmarks of the suite: see bench/README.md and bench/harness.py."""
