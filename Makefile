# Two commands do all set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make run PORT=8001`: the portal, its sandbox, and every address derived from them follow.
# It runs the development server and the task worker (Procfile's `worker:`) together
# (bookingportal/launcher.py): Ctrl-C stops both, and either one ending stops the other.
PORT ?= 8000
# The webhook token is the published demo one (appointments/demo.py): with it, the sandbox
# pushes every lead saved in its admin to the portal, as FLG 360's webhook would.
RUN_ENV := DEBUG=1 FLG_SANDBOX=1 FLG_SANDBOX_AUTO_LEADS=1 PORT=$(PORT) \
	FLG_WEBHOOK_TOKEN=make-run-demo-webhook-token-0123456789abcdef STAFF_TWO_FACTOR=0

.PHONY: run test test-quick install lint bench bench-profile clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.dev

run: $(VENV)/.runtime
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "  Booking portal:  http://127.0.0.1:$(PORT)/"
	@echo "  Customer:        customer@example.com / bookings-demo"
	@echo "  Admin:           http://127.0.0.1:$(PORT)/admin/  admin@example.com / admin-demo"
	@echo "                   (two-factor is off for this local demo; production asks staff for a code)"
	@echo "  FLG sandbox:     http://127.0.0.1:$(PORT)/sandbox/ (stands in for FLG 360)"
	@echo "  New customers:   add a lead with an email in the admin under FLG 360 sandbox > Leads"
	@echo "  Emails sent:     http://127.0.0.1:$(PORT)/sandbox/mailbox/ (sign-in links arrive here)"
	@echo ""
	$(RUN_ENV) $(PY) -m bookingportal.launcher \
		"web: $(PY) manage.py runserver 127.0.0.1:$(PORT)" \
		"worker: $(PY) manage.py run_worker"

# The suite runs on SQLite, then on PostgreSQL where it is reachable (row locks and concurrency
# need it). The PostgreSQL pass takes the tests that touch the database, and those marked
# `postgres`: any other test cannot tell one database from another (tests/markers.py says why).
# Browser tests run on SQLite only. REQUIRE_POSTGRES=1 (CI) turns "not reachable" into a failure.
# Two processes share the tests (pytest-xdist), a file each at a time; PYTEST_WORKERS=0 runs
# them in this one.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
PG_PROBE := import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test: $(VENV)/.dev
	DATABASE_URL= $(PYTEST)
	@if $(PY) -c "$(PG_PROBE)" "$(TEST_DATABASE_URL)" 2>/dev/null; then \
		echo "== On PostgreSQL ($(TEST_DATABASE_URL)): the tests that touch the database"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" $(PYTEST) -m "(database or postgres) and not browser"; \
	elif [ -n "$(REQUIRE_POSTGRES)" ]; then \
		echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL), and REQUIRE_POSTGRES is set."; \
		exit 1; \
	else \
		echo "== skipped: PostgreSQL not reachable at $(TEST_DATABASE_URL)"; \
		echo "   (set TEST_DATABASE_URL to run the database tests there too, with the locking tests)"; \
	fi

# The fast tests alone, on SQLite: no browser, no process started (manage.py, gunicorn, Redis).
test-quick: $(VENV)/.dev
	DATABASE_URL= $(PYTEST) -m "not subprocess and not browser"

$(VENV)/.bench: $(VENV)/.runtime requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

# Load on loopback: the portal and the sandbox under gunicorn, customers played by locust.
bench: $(VENV)/.bench
	$(PY) -m bench

# Where a request's CPU goes: pyinstrument and cProfile over home, the session page, a start
# and a refresh, in-process (bench/profile.py); the reports land in bench/out/.
bench-profile: $(VENV)/.bench
	$(PY) -m bench.profile

# Lint, format and types. The settings are imported by the Django plugin, so they get the
# same harmless local values `make run` uses.
lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DEBUG=1 FLG_SANDBOX=1 ENV_FILE=/nonexistent/.env $(PY) -m mypy .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
