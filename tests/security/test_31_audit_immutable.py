"""SECURITY.md 31: audit events cannot be edited or deleted through the API, the admin, the UI
or the ORM; the database itself refuses UPDATE (and DELETE on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from frontline.core.models import AuditEvent
from frontline.tickets import services


@pytest.fixture
def event(desk):
    ticket = services.ticket_create(
        actor=desk.actor(desk.agent1), subject="Outlook crashes", requester_id=desk.user_a.pk
    )
    return AuditEvent.objects.filter(target_id=ticket.pk, target_type="tickets.ticket").first()


def test_orm_refuses_changes(event):
    event.new_value = "forged"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(new_value="forged")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.new_value != "forged"


def test_database_refuses_raw_update(event):
    table = AuditEvent._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET new_value = 'forged' WHERE id = %s", [event.pk])  # noqa: S608
    event.refresh_from_db()
    assert event.new_value != "forged"


def test_database_refuses_raw_delete_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("DELETE is guarded by a trigger on PostgreSQL only (see core migration 0002)")
    table = AuditEvent._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [event.pk])  # noqa: S608
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_offers_no_add_change_or_delete(desk, client, event):
    client.force_login(desk.admin)
    change_url = reverse("admin:core_auditevent_change", args=[event.pk])
    delete_url = reverse("admin:core_auditevent_delete", args=[event.pk])
    add_url = reverse("admin:core_auditevent_add")
    # Viewing is allowed for superusers (read-only page) but posting changes is not.
    assert client.post(change_url, {"new_value": "forged"}).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(add_url).status_code == 403
    event.refresh_from_db()
    assert event.new_value != "forged"
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_no_api_operation_writes_events():
    from frontline.api.urls import api

    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        lowered = path.lower()
        if "timeline" in lowered or "event" in lowered or "audit" in lowered:
            assert set(operations) <= {"get"}, f"{path} offers {sorted(operations)}"
