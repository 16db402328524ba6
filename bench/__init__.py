"""The benchmark behind `make bench` (`python -m bench`): the portal under load, healthy,
degraded and at scale.

Two gunicorn processes on loopback with production settings (gunicorn.conf.py): the FLG sandbox
with 200 ms of injected latency, and the portal pointed at it. locust, in a process of its own,
plays customers who sign in, view home, start a booking, reload the page three times and refresh
once, with one more user probing /healthz. Prints a table and writes bench/results.json. It
measures and reports; it asserts nothing, and exits non-zero only when it could not run.

runner.py reads as the run: set-up, then the stages in bench/stages/ (calls, cpu, load,
degraded, scale, csv_import), then the report. `python -m bench.stages.csv_import` runs the
set-up and that stage alone. Everything it starts is stopped, and its database dropped,
on the way out, Ctrl-C and SIGTERM included.
"""
