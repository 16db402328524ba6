"""The session store's read, compiled once per process: the same answers as Django's own."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone

from bookingportal.sessions import SessionStore

pytestmark = pytest.mark.django_db


def saved(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    assert store.session_key
    return store.session_key


def test_a_saved_session_reads_back_each_time():
    first, second = saved(step="one"), saved(step="two")
    for _ in range(2):
        assert SessionStore(first).load() == {"step": "one"}
        assert SessionStore(second).load() == {"step": "two"}


def test_a_signed_out_session_is_gone_at_once():
    key = saved(step="one")
    SessionStore(key).delete()
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None


def test_an_expired_session_is_not_read():
    key = saved(step="one")
    expiry = Session.objects.get(pk=key).expire_date
    with time_machine.travel(expiry + dt.timedelta(seconds=1)):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None
    with time_machine.travel(expiry - dt.timedelta(seconds=1)):
        assert SessionStore(key).load() == {"step": "one"}
    assert expiry > timezone.now()


def test_an_unknown_key_reads_nothing():
    assert SessionStore("x" * 32).load() == {}
