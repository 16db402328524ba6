"""The bench's stages, one module each, in the order the runner takes them: calls, cpu, load,
degraded, scale, burst, csv_import. Each has a run() that says what it does, measures, and
returns its figures. burst and csv_import can run alone (BENCH_STAGES, or `python -m
bench.stages.<name>`)."""
