"""Settings variants of Parley, to measure a proposed change before making it:
`python -m bench run --parley-settings bench.variants.<name>` (docs/benchmarks.md)."""
