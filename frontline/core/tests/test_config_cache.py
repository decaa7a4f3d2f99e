"""The per-process configuration cache (core.config_cache): configuration read on every new
ticket is read once, yet every change is seen at once, and a rolled-back change never sticks."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from frontline.core import config_cache
from frontline.sla.models import SlaPolicy
from frontline.tickets import services
from frontline.tickets.models import PriorityMatrixEntry

CONFIG_TABLES = (
    "sla_slapolicy",
    "sla_calendar",
    "sla_businesshours",
    "sla_calendarholiday",
    "tickets_prioritymatrixentry",
    "accounts_supportgroup",
    "mail_mailbox",
    "mail_notificationtemplate",
)


def _open(desk, subject="Printer jammed"):
    return services.ticket_create(actor=desk.actor(desk.user_a), subject=subject)


def _config_reads(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and any(f'"{table}"' in q["sql"] for table in CONFIG_TABLES)
    ]


def test_a_second_ticket_reads_no_configuration_tables(desk):
    first = _open(desk)
    assert first.sla is not None
    with CaptureQueriesContext(connection) as queries:
        second = _open(desk, "Second")
    assert second.sla is not None and second.sla.policy_id == first.sla.policy_id
    assert _config_reads(queries.captured_queries) == []
    # The stamp is read at most once per transaction (the test's transaction already has).
    assert not [q for q in queries.captured_queries if "core_configstamp" in q["sql"]]


def test_a_saved_change_is_used_by_the_very_next_ticket(desk):
    _open(desk)  # warm the cache
    policy = SlaPolicy.objects.get(organization=None, priority=5, ticket_type="")
    policy.response_minutes = 7
    policy.save()
    ticket = _open(desk)
    assert ticket.priority == 5
    assert ticket.sla.response_target_seconds == 7 * 60


def test_a_bulk_update_is_seen_too(desk):
    assert _open(desk).priority == 5  # low impact x low urgency
    PriorityMatrixEntry.objects.filter(impact=3, urgency=3).update(priority=4)
    assert _open(desk).priority == 4


def test_a_rolled_back_change_is_not_kept_in_the_cache(desk):
    _open(desk)
    inside = []

    def change_then_fail():
        with transaction.atomic():
            PriorityMatrixEntry.objects.filter(impact=3, urgency=3).update(priority=1)
            inside.append(_open(desk, "Inside").priority)
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert inside == [1]  # the changing transaction saw its change at once
    assert _open(desk, "After").priority == 5


def test_without_a_stamp_row_nothing_is_cached_and_answers_stay_right(desk):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_configstamp")
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    assert config_cache.cached("probe", load) == 1
    assert config_cache.cached("probe", load) == 2
    config_cache.config_changed()  # writes the row back
    assert config_cache.cached("probe", load) == 3
    assert config_cache.cached("probe", load) == 3


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_elsewhere_is_seen_by_the_next_transaction(desk):
    """Another process's change arrives only as a new stamp in the table. The stamp read is
    memoised per transaction, on Django giving each transaction a new on-commit list: if an
    upgrade broke that, this test would see the old value."""
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    with transaction.atomic():
        assert config_cache.cached("probe", load) == 1
        assert config_cache.cached("probe", load) == 1
    with transaction.atomic():
        assert config_cache.cached("probe", load) == 1
    # "Another process" commits a change (raw SQL: no signal reaches this process).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_configstamp SET token = token + 1")
    with transaction.atomic():
        assert config_cache.cached("probe", load) == 2

    # And after a rollback of a transaction that had read the stamp.
    def read_then_fail():
        with transaction.atomic():
            assert config_cache.cached("probe", load) == 2
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        read_then_fail()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_configstamp SET token = token + 1")
    with transaction.atomic():
        assert config_cache.cached("probe", load) == 3


def test_every_configuration_model_is_tracked():
    from frontline.accounts.models import SupportGroup
    from frontline.mail.models import Mailbox, NotificationTemplate, OrganizationMailDomain
    from frontline.sla.models import BusinessHours, Calendar, CalendarHoliday, SlaContract
    from frontline.tenants.models import Organization
    from frontline.tickets.models import Category

    expected = {
        SupportGroup,
        Mailbox,
        NotificationTemplate,
        OrganizationMailDomain,
        BusinessHours,
        Calendar,
        CalendarHoliday,
        SlaContract,
        SlaPolicy,
        Organization,
        Category,
        PriorityMatrixEntry,
    }
    assert expected <= config_cache.tracked_models()
    for model in expected:
        assert isinstance(model._default_manager.all(), config_cache.ConfigQuerySet), model


# --- one stamp read per request (request_scope, ConfigCacheMiddleware) ------------------------


def _stamp_reads(queries) -> int:
    return sum(1 for q in queries if "core_configstamp" in q["sql"] and "SELECT" in q["sql"])


@pytest.mark.django_db(transaction=True)
def test_within_a_request_scope_the_stamp_is_read_once_outside_transactions(desk):
    config_cache.config_changed()  # a stamp row (the test database may have been flushed)
    loads: list[str] = []

    def loader(key: str):
        def load() -> str:
            loads.append(key)
            return key

        return load

    with CaptureQueriesContext(connection) as queries, config_cache.request_scope():
        for key in ("a", "b", "c"):
            config_cache.cached(key, loader(key))
        assert config_cache.cached("a", lambda: "again") == "a"
    assert _stamp_reads(queries.captured_queries) == 1
    assert loads == ["a", "b", "c"]
    # Without a scope: read on every call (another process's change is seen at once).
    with CaptureQueriesContext(connection) as queries:
        config_cache.cached("a", lambda: "x")
        config_cache.cached("b", lambda: "y")
    assert _stamp_reads(queries.captured_queries) == 2


@pytest.mark.django_db(transaction=True)
def test_a_change_made_in_the_request_is_seen_by_its_later_reads(desk):
    config_cache.config_changed()
    with config_cache.request_scope():
        assert config_cache.cached("policies", lambda: "old") == "old"
        config_cache.config_changed()  # e.g. an administrator's save, then the page re-renders
        assert config_cache.cached("policies", lambda: "new") == "new"


@pytest.mark.django_db(transaction=True)
def test_a_page_request_reads_the_stamp_at_most_once(desk, client):
    client.force_login(desk.agent1)
    config_cache.config_changed()
    for ticket_subject in ("One", "Two"):
        services.ticket_create(actor=desk.actor(desk.user_a), subject=ticket_subject)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/desk/").status_code == 200
    assert _stamp_reads(queries.captured_queries) <= 1


def test_a_ticket_shows_its_renamed_group_and_organisation_at_once(desk):
    from frontline.tickets import selectors

    ticket = services.ticket_create(
        actor=desk.actor(desk.agent1),
        subject="VPN down",
        requester_id=desk.user_a.pk,
        group_id=desk.tier1.pk,
    )
    shown = selectors.ticket_get(actor=desk.actor(desk.agent1), ref=ticket.number)
    assert (shown.group.name, shown.tenant.name) == (desk.tier1.name, desk.org_a.name)
    desk.tier1.name = "Service Desk (EMEA)"
    desk.tier1.save()
    desk.org_a.name = "Acme Holdings"
    desk.org_a.save()
    with CaptureQueriesContext(connection) as queries:
        shown = selectors.ticket_get(actor=desk.actor(desk.agent1), ref=ticket.number)
        assert (shown.group.name, shown.tenant.name) == ("Service Desk (EMEA)", "Acme Holdings")
    # Read again once after the change; then from the cache.
    assert _config_reads(queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        shown = selectors.ticket_get(actor=desk.actor(desk.agent1), ref=ticket.number)
        assert shown.group.name == "Service Desk (EMEA)"
    assert _config_reads(queries.captured_queries) == []


def test_rows_refuses_a_model_that_is_not_tracked(desk):
    with pytest.raises(TypeError, match="not a tracked configuration model"):
        config_cache.rows(type(desk.user_a))  # users change all the time: never cached
