"""Precompiled queries give what the ORM gives, for each call's own values, on either
database; a placeholder the SQL does not carry is refused when the query is first built."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType, LeadGroup
from precompiled import Precompiled
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db

USER_WITH_CUSTOMER = Precompiled(
    lambda pk: User.objects.select_related("customer__lead_group").filter(pk=pk),
    pk=-2_000_000_001,
)


def test_each_call_reads_its_own_row_with_the_related_records_in_one_query():
    group = LeadGroup.objects.create(flg_id=7, name="Seven")
    ann = make_customer("ann@example.com", "101", group)
    bob = make_customer("bob@example.com", "102", None)
    for wanted in (ann, bob, ann):
        with CaptureQueriesContext(connection) as queries:
            user = USER_WITH_CUSTOMER.first(pk=wanted.user_id)
            assert user is not None
            # What the pages read next comes with it: no second query.
            assert user.customer.pk == wanted.pk
            assert user.customer.lead_group == wanted.lead_group
            assert user.customer.user is user
        assert len(queries) == 1
        orm = User.objects.select_related("customer__lead_group").get(pk=wanted.user_id)
        assert {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in User._meta.concrete_fields
        }
        assert not user._state.adding and user._state.db == "default"


def test_no_row_is_none_and_a_change_is_seen_at_once():
    ann = make_customer("ann@example.com", "101", None)
    assert USER_WITH_CUSTOMER.first(pk=ann.user_id + 1000) is None
    User.objects.filter(pk=ann.user_id).update(first_name="Annabel")
    found = USER_WITH_CUSTOMER.first(pk=ann.user_id)
    assert found is not None and found.first_name == "Annabel"


def test_a_moment_and_a_uuid_are_placeholders_too():
    group = LeadGroup.objects.create(flg_id=8, name="Eight")
    ann = make_customer("ann@example.com", "101", group)
    kind = AppointmentType.objects.create(
        flg_id=uuid.uuid4(), name="Survey", slug="survey", lead_group=group
    )
    now = timezone.now()
    session = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=ann,
        appointment_type=kind,
        lead_id=ann.lead_id,
        public_url="https://example.com/s",
        closes_at=now + dt.timedelta(minutes=5),
    )
    open_session = Precompiled(
        lambda pk, moment: AppointmentSession.objects.select_related("appointment_type").filter(
            pk=pk, closes_at__gt=moment
        ),
        pk=uuid.UUID(int=1),
        moment=dt.datetime(1901, 1, 1, tzinfo=dt.UTC),
    )
    found = open_session.first(pk=session.pk, moment=now)
    assert found is not None and found.appointment_type.slug == "survey"
    # The moment is compared as the database stores it: aware, in UTC, to the microsecond.
    assert found.closes_at == session.closes_at
    assert open_session.first(pk=session.pk, moment=now + dt.timedelta(minutes=6)) is None
    assert open_session.first(pk=uuid.uuid4(), moment=now) is None


def test_a_placeholder_the_orm_folds_away_is_refused_when_built():
    # None is not a parameter (it becomes IS NULL): the query could never take a value there.
    folded = Precompiled(lambda key: Session.objects.filter(session_key=key), key=None)
    with pytest.raises(ValueError, match="placeholder key=None is not a parameter"):
        folded.all(key="abc")
    # Beyond the column's range the ORM answers "nothing" without asking the database.
    with pytest.raises(ValueError, match="finds nothing for the placeholders"):
        Precompiled(lambda pk: User.objects.filter(pk=pk), pk=-(2**70)).all(pk=1)


def test_only_plain_querysets_of_models_are_taken():
    values = Precompiled(lambda pk: User.objects.filter(pk=pk).values("pk"), pk=-2_000_000_002)
    with pytest.raises(TypeError):
        values.all(pk=1)
