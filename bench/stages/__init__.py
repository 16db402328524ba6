"""The bench's stages, one module each, in the order the runner takes them: calls, cpu, load,
degraded, scale, burst. Each has a run() that says what it does, measures, and returns its
figures. BENCH_STAGES=burst runs the burst alone."""
