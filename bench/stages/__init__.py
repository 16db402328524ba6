"""The bench's stages, one module each, in the order the runner takes them: calls, cpu, load,
degraded, scale. Each has a run() that says what it does, measures, and returns its figures."""
