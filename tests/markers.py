"""The kinds of test, marked so that a run can choose them (CONTRIBUTING.md, "Markers").

- `browser`: drives Chromium. Marked in the test files; a test that uses the `browser`
  fixture gets the mark here too.
- `subprocess`: starts a process of its own (manage.py, gunicorn, runserver, redis-server,
  hadolint...). Marked in the test files (a module's `pytestmark` where every test of it does,
  else a decorator), and here for a test that uses one of PROCESS_FIXTURES. A test that starts
  a process without the mark fails in `make test-quick` (which leaves these out, and stays
  quick only while the mark is true) and is a warning in `make test`, both saying how to mark it.
- `database`: touches the test database. Set here, never by hand, from what pytest-django
  itself goes by: the `django_db` mark and the fixtures that open the database (`db`,
  `transactional_db`, `live_server`, and every fixture built on them). The PostgreSQL pass of
  `make test` runs these and the `postgres` ones. Any other test cannot tell one database
  from another: pytest-django refuses it a connection, and a process it starts gets a
  database of its own (tests.processes.clean_env drops DATABASE_URL; only `postgres` tests
  hand one on).
"""

from __future__ import annotations

import sys

import pytest

# Fixtures that start a process, so every test using one is marked `subprocess`.
PROCESS_FIXTURES = {"redis_server", "redis_cache"}
# Fixtures that give a test the database (pytest-django's own, and its helper behind them).
DATABASE_FIXTURES = {"_django_db_helper", "live_server"}
# Audit events (PEP 578) that start a process.
SPAWNS = {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork", "os.exec"}

_started: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event in SPAWNS:
        # The command only (never the environment), cut short.
        argv = args[1] if event in {"subprocess.Popen", "os.spawn"} else args[:1]
        _started.append(f"{event} {str(argv)[:100]}")


sys.addaudithook(_audit)


# Before pytest's own hook, which deselects by `-m`.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "browser" in names and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if names & PROCESS_FIXTURES and not item.get_closest_marker("subprocess"):
            item.add_marker(pytest.mark.subprocess)
        if item.get_closest_marker("django_db") or names & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)


def _leaves_out_processes(config: pytest.Config) -> bool:
    """Whether this run's `-m` leaves out the `subprocess` tests (make test-quick)."""
    return "not subprocess" in " ".join((config.option.markexpr or "").replace("(", " ").split())


# From the start of a test's set-up (its module's and session's fixtures included) to the end
# of its teardown. A test that starts a process without the mark fails where that breaks a
# promise (a run that leaves such tests out: make test-quick), and is a warning elsewhere.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    _started.clear()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    started, _started[:] = list(_started), []
    if started and not (
        item.get_closest_marker("subprocess") or item.get_closest_marker("browser")
    ):
        why = (
            "this test starts a process but is not marked @pytest.mark.subprocess "
            "(tests/markers.py), so make test-quick runs it. It started: " + "; ".join(started[:3])
        )
        if _leaves_out_processes(item.config):
            pytest.fail(why, pytrace=False)
        item.warn(pytest.PytestWarning(why))
    return result
