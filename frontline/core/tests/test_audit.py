"""The audit trail is append-only: in the ORM, in the database (triggers of core migration 0002)
and in the admin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from frontline.core.access import Actor
from frontline.core.events import event_list_for, event_record, event_record_changes
from frontline.core.models import AuditEvent
from frontline.tickets import services

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def event(desk):
    ticket = services.ticket_create(
        actor=desk.actor(desk.agent1), subject="Outlook crashes", requester_id=desk.user_a.pk
    )
    return AuditEvent.objects.get(target_type="tickets.ticket", target_id=ticket.pk)


def _unchanged(event):
    stored = AuditEvent.objects.values().get(pk=event.pk)
    assert stored["new_value"] == ""
    assert stored["kind"] == AuditEvent.Kind.CREATED
    assert AuditEvent.objects.count() == 1


def test_an_event_records_who_what_and_where(desk, event):
    assert event.actor_id == desk.agent1.pk
    assert event.actor_label == "Tess Tier-One"
    assert event.tenant_id == desk.org_a.pk
    assert event.kind == AuditEvent.Kind.CREATED
    assert event.created_at is not None


def test_instance_save_and_delete_are_refused(event):
    event.new_value = "forged"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.save(update_fields=["new_value"])
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    _unchanged(event)


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(new_value="forged")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.update(new_value="forged")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()
    event.new_value = "forged"
    # (Django runs these inside atomic(savepoint=False): give each its own savepoint.)
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["new_value"])
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        AuditEvent.objects.update_or_create(pk=event.pk, defaults={"new_value": "forged"})
    _unchanged(event)


def test_a_new_instance_reusing_an_existing_id_cannot_overwrite_it(event):
    forged = AuditEvent(
        pk=event.pk,
        tenant_id=event.tenant_id,
        target_type=event.target_type,
        target_id=event.target_id,
        kind=AuditEvent.Kind.CREATED,
        new_value="forged",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    _unchanged(event)


def test_raw_sql_update_is_aborted_by_the_trigger(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET new_value = 'forged' WHERE id = %s", [event.pk])  # noqa: S608
    _unchanged(event)


def test_raw_sql_delete_is_aborted_by_the_trigger_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip(
            "DELETE is guarded by a trigger on PostgreSQL only: SQLite's test flush needs DELETE "
            "(see core migration 0002)."
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])  # noqa: S608
    _unchanged(event)


def test_the_admin_offers_no_add_change_or_delete(desk, event, client):
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = desk.admin  # a superuser: every permission Django could grant
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_change_permission(request, event) is False
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_delete_permission(request, event) is False
    assert not model_admin.get_actions(request)

    client.force_login(desk.admin)
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    change = reverse("admin:core_auditevent_change", args=[event.pk])
    assert client.post(change, {"new_value": "forged"}).status_code == 403
    delete = reverse("admin:core_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    _unchanged(event)


def test_event_record_changes_writes_only_real_changes(desk):
    actor = Actor.system(desk.org_a.pk, label="nightly import")
    written = event_record_changes(
        actor=actor,
        target=desk.user_a,
        tenant_id=desk.org_a.pk,
        changes=[("phone", "", "555"), ("full_name", "Alice", "Alice"), ("role", None, "")],
    )
    assert [(e.field, e.old_value, e.new_value) for e in written] == [("phone", "", "555")]
    assert written[0].actor_id is None
    assert written[0].actor_label == "nightly import"


def test_event_record_stores_model_values_as_their_id(desk):
    recorded = event_record(
        actor=desk.actor(desk.admin),
        target=desk.user_a,
        tenant_id=desk.org_a.pk,
        kind=AuditEvent.Kind.CHANGED,
        field="organization",
        old=desk.org_b,
        new=desk.org_a,
        data={"why": "moved"},
        is_public=False,
    )
    assert (recorded.old_value, recorded.new_value) == (str(desk.org_b.pk), str(desk.org_a.pk))
    listed = list(event_list_for(target_type="accounts.user", target_id=desk.user_a.pk))
    assert [e.pk for e in listed] == [recorded.pk]
    assert listed[0].data == {"why": "moved"}
