"""The cast the tests share: two customers in two lead groups and the types around them."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from appointments.models import AppointmentType, Customer, LeadGroup

# The marks that say which kind a test is (browser, subprocess, database), and their check.
pytest_plugins = ["tests.markers"]

PASSWORD = "correct-horse-battery"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless Chromium as root on a machine with no outbound network: no sandbox, no GPU, and
# none of the background calls home that would only fail.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config):
    # Passwords are hashed with the production algorithm at a thousandth of its rounds
    # (tests.helpers): the suite makes hundreds, at about 0.3 s each otherwise.
    from django.conf import settings

    from tests.helpers import quick_hashers

    settings.PASSWORD_HASHERS = quick_hashers(settings.PASSWORD_HASHERS)


def pytest_collection_modifyitems(config, items):
    # Tests marked `postgres` prove what only PostgreSQL's row locks can: on another database
    # they would pass for the wrong reason, so they skip and say where they run.
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(
        reason=f"needs PostgreSQL, and the test database is {engine.rsplit('.', 1)[-1]}: "
        "`make test` runs these on PostgreSQL (TEST_DATABASE_URL)"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Tests run with DEBUG off but without collectstatic; the manifest storage would refuse.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _outbox_sends_at_once(request, settings, monkeypatch):
    """Outside the queue's own tests (marked `queue`), an email goes out as it is queued.

    (Named to come after _fresh_cache: pytest sets autouse fixtures up in name order, and
    `settings` must be undone before the cache is cleared.)

    Those tests are about what an email says and who gets it, not the queue: django-tasks'
    immediate backend runs the task at once, and the commit the queue waits for is taken as
    done (the test's transaction is never committed). tests/outbox/ covers the real queue.
    """
    if request.node.get_closest_marker("queue"):
        return
    from outbox import services as outbox

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(outbox, "on_commit", lambda callback: callback())


class LiveServerDoor:
    """The live server's application behind a door that counts the requests inside it.

    On SQLite the live server's threads share the test's one database in memory, its very
    connection. A page that is still loading when its test ends (a frame, a refresh) would
    then be served while the test's database is flushed: the flush fails, and the next test
    starts on the last one's rows. At each test's end, before its fixtures are undone, the door
    closes (a later request is answered 503 without touching the database), waits for the
    requests inside to finish, then hangs up on the connections kept alive, so that no server
    thread outlives the test either.
    """

    WAIT = 10  # seconds; a request here takes milliseconds
    installed: LiveServerDoor | None = None  # the one live server's, once a test has used it

    def __init__(self, httpd) -> None:
        self.app = httpd.get_app()
        self.inside = 0
        self.is_open = True
        self.changed = threading.Condition()
        # The connections the server's threads are serving, idle kept-alive ones included.
        self.connections: set[socket.socket] = set()
        serve = httpd.finish_request

        def finish_request(connection, client_address):
            with self.changed:
                self.connections.add(connection)
            try:
                serve(connection, client_address)
            finally:
                with self.changed:
                    self.connections.discard(connection)

        httpd.finish_request = finish_request
        httpd.set_app(self)

    def __call__(self, environ, start_response):
        with self.changed:
            if not self.is_open:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"The test that used this server has ended.\n"]
            self.inside += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return _Counted(result, self._leave)

    def _leave(self) -> None:
        with self.changed:
            self.inside -= 1
            self.changed.notify_all()

    def open(self) -> None:
        with self.changed:
            self.is_open = True

    def close(self) -> int:
        """Turn new requests away, and wait for the ones inside: how many are still there."""
        with self.changed:
            self.is_open = False
            self.changed.wait_for(lambda: self.inside == 0, timeout=self.WAIT)
            if self.inside == 0:
                # Hang up on the kept-alive connections, idle now: a server thread waiting on
                # a client past its test lived to the end of the process and died with a
                # traceback there (the portal's own pool to the sandbox kept one such).
                for connection in self.connections:
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)
            return self.inside


class _Counted:
    """A response's body that leaves the door when the server closes it, sent or not."""

    def __init__(self, result, leave) -> None:
        self.result = result
        self.leave = leave

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.leave()


@pytest.fixture(autouse=True)
def _live_server_door(request):
    """Open the live server's door for each test that uses it; pytest_runtest_teardown shuts it."""
    if "live_server" not in request.fixturenames:
        return
    httpd = request.getfixturevalue("live_server").thread.httpd
    door = httpd.get_app()
    if not isinstance(door, LiveServerDoor):
        door = LiveServerDoor(httpd)
    LiveServerDoor.installed = door
    door.open()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # Before any fixture is undone: a request still inside finishes in its test's world (its
    # settings, its database), and one that comes later touches neither.
    door = LiveServerDoor.installed
    stuck = door.close() if door is not None and door.is_open else 0
    result = yield  # the fixtures are undone whatever happened, so the next test starts clean
    if stuck:
        raise AssertionError(
            f"{stuck} request(s) still in the live server {LiveServerDoor.WAIT} s after the "
            "test ended: cut a longer sandbox hang short before the test ends"
        )
    return result


@pytest.fixture
def homeowners(db):
    return LeadGroup.objects.create(flg_id=101, name="Homeowners")


@pytest.fixture
def landlords(db):
    return LeadGroup.objects.create(flg_id=102, name="Landlords")


def make_customer(email: str, lead_id: str, group: LeadGroup | None) -> Customer:
    user = get_user_model().objects.create_user(
        username=email.lower(), email=email, password=PASSWORD, first_name="Casey"
    )
    return Customer.objects.create(user=user, lead_id=lead_id, lead_group=group)


@pytest.fixture
def customer(homeowners):
    return make_customer("casey@example.com", "108123759", homeowners)


@pytest.fixture
def other_customer(landlords):
    return make_customer("lee@example.com", "108123760", landlords)


@pytest.fixture
def type_for_all(db):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1"),
        name="Initial consultation",
        description="A first call.",
        sort_order=0,
    )


@pytest.fixture
def type_for_homeowners(homeowners):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05"),
        name="Home survey",
        lead_group=homeowners,
        sort_order=10,
    )


@pytest.fixture
def type_for_landlords(landlords):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"),
        name="Portfolio review",
        lead_group=landlords,
        sort_order=20,
    )


@pytest.fixture
def inactive_type(db):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("c0ffee00-1234-4abc-8def-0123456789ab"),
        name="Winter check",
        is_active=False,
    )


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer.user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The circuit breaker and the rate limits live in the cache, and each process remembers
    # the brand for a second; no test may inherit them.
    from django.core.cache import cache

    from business import branding

    cache.clear()
    branding.forget_brand()
    yield
    cache.clear()
    branding.forget_brand()


class Sandbox:
    """The FLG sandbox served over real HTTP by live_server, with handles for tests."""

    GOOD_KEY = "sandbox-appointments-key"
    NO_APPOINTMENTS_KEY = "sandbox-no-appointments-key"

    def __init__(self, url: str) -> None:
        self.url = url
        self.base_url = url + "/sandbox"

    def mirror(self) -> None:
        """Copy the portal's customers and types into the sandbox, as FLG would hold them."""
        from flg_sandbox import models as sandbox

        for c in Customer.objects.select_related("lead_group"):
            sandbox.Lead.objects.update_or_create(
                lead_id=c.lead_id,
                defaults={"lead_group_id": c.lead_group.flg_id if c.lead_group else 0},
            )
        for t in AppointmentType.objects.select_related("lead_group"):
            sandbox.AppointmentType.objects.update_or_create(
                id=t.flg_id,
                defaults={
                    "name": t.name,
                    "lead_group_id": t.lead_group.flg_id if t.lead_group else None,
                },
            )

    def fault(self, mode: str, *, latency_ms: int = 0, hang_seconds: int = 30, times=None):
        from flg_sandbox.services import fault_set

        fault_set(mode=mode, latency_ms=latency_ms, hang_seconds=hang_seconds, times=times)

    def calls(self) -> int:
        """How many requests reached the sandbox's API endpoint."""
        import time

        from django.db import OperationalError

        from flg_sandbox.models import ApiCall

        # On SQLite the test database is one in memory, shared by live_server's threads with a
        # lock per table that a reader meets at once, without waiting (a busy machine makes that
        # likelier): this count is the test's own look, so it looks again.
        for _ in range(50):
            try:
                return ApiCall.objects.count()
            except OperationalError as exc:
                if "is locked" not in str(exc):
                    raise
                time.sleep(0.02)
        return ApiCall.objects.count()


@pytest.fixture
def sandbox(transactional_db, live_server, settings):
    """Point the portal's FLG client at the sandbox on live_server, keys registered."""
    from urllib.parse import urlsplit

    from flg_sandbox.models import AccessKey, Fault

    handle = Sandbox(live_server.url)
    settings.FLG_BASE_URL = handle.base_url
    settings.FLG_BOOKING_HOSTS = [urlsplit(live_server.url).netloc]
    settings.FLG_API_KEY = Sandbox.GOOD_KEY
    AccessKey.objects.create(key=Sandbox.GOOD_KEY, name="good", allow_appointments=True)
    AccessKey.objects.create(
        key=Sandbox.NO_APPOINTMENTS_KEY, name="no appointments", allow_appointments=False
    )
    Fault.objects.get_or_create(pk=1)
    yield handle
    # A kept-alive connection would keep a live-server thread, and its database connection,
    # busy past the test (PostgreSQL then refuses to drop the test database).
    from flg import transport

    transport.connections_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread from here on, and
    # Django then refuses the ORM calls the tests make between page actions. They are plain
    # blocking calls in a test, which is what this switch is for. (Subprocesses that tests
    # start drop DJANGO_* variables, so `check --deploy` never sees it.)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def recorder(settings):
    """Start a fake FLG on loopback (a Recorder) and point the client at it."""
    from tests.flg.test_contract import Recorder

    servers = []

    def start(answer):
        server = Recorder(answer)
        servers.append(server)
        settings.FLG_BASE_URL = server.url + "/prefix"
        settings.FLG_BOOKING_HOSTS = [server.netloc]
        settings.FLG_API_KEY = "the-key-0123456789"
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def staff(db):
    """A signed-in superuser's client, for the admin."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    return staff_sign_in(Client(), user)


def staff_sign_in(client, user):
    """Sign a staff member in as the admin requires: the password, then a code from their app.

    The session gets what a right code gives it (accounts.two_factor): a confirmed TOTP device,
    made if they have none, recorded as the one that verified it.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's signed-in superuser, with the second factor the admin asks for."""
    return staff_sign_in(Client(), admin_user)
