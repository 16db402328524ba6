"""With the database out, customers see a 503 page in the portal's layout, and it recovers."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test import Client

from bookingportal.errors import server_error
from bookingportal.logging import RequestIdFilter
from tests.portal.conftest import free_port


class Gate:
    """A TCP relay in front of the test database that the test can close and open again.

    The database server itself is shared; closing the gate is what the portal would see of
    a database that went down: connections cut, new ones refused.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        if self.listener is None:
            return
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.listener = None
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def gated_database(transactional_db, customer):
    """The portal's connection to the database, through a gate the test controls."""
    params = connection.settings_dict
    gate = Gate(params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432))
    saved = (params["HOST"], params["PORT"])
    connection.close()
    # A pool (PostgreSQL) keeps the address it was made with: make a new one behind the gate.
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    params["HOST"], params["PORT"] = "127.0.0.1", gate.port
    yield gate
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    params["HOST"], params["PORT"] = saved
    gate.close()


@pytest.mark.postgres
def test_with_the_database_down_customers_see_a_503_page_and_then_their_page_again(
    gated_database, customer, caplog
):
    browser = Client(raise_request_exception=False)
    browser.force_login(customer.user)
    assert browser.get("/").status_code == 200

    gated_database.close()
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO):
        response = browser.get("/", HTTP_X_REQUEST_ID="db-outage-1")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "We are having trouble, please try again in a minute" in response.text
    assert "Skip to main content" in response.text  # the portal's layout
    assert "help@acme.example" in response.text
    assert "Traceback" not in response.text
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert "database is unavailable" in problems[0].getMessage()
    assert problems[0].request_id == "db-outage-1"

    start = browser.post("/book/initial-consultation/")
    assert start.status_code == 503
    sign_in = Client(raise_request_exception=False).post(
        "/accounts/login/", {"username": "casey@example.com", "password": "whatever"}
    )
    assert sign_in.status_code == 503

    gated_database.open()
    # What the server does at the start of every request (the test client leaves it out):
    # drop a connection that failed, so the next query connects afresh.
    close_old_connections()
    again = browser.get("/")
    assert again.status_code == 200
    assert "Casey" in again.text or "casey@example.com" in again.text


def test_the_503_page_needs_no_database_at_all(rf, db, django_assert_num_queries):
    request = rf.get("/book/initial-consultation/session/x/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        with django_assert_num_queries(0):
            response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "please try again in a minute" in response.content.decode()


def test_any_other_error_is_still_the_plain_500_page(rf):
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
