"""Parley's load and latency benchmarks: `python -m bench run` (docs/benchmarks.md)."""
