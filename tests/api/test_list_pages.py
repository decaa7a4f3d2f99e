"""Every list operation pages the same way (core.api_pages.page_out): a walk with the smallest
page meets each item once, in the order of one big page, and ends on a null cursor."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.tickets import services

from .conftest import open_ticket

pytestmark = pytest.mark.django_db

LISTS = ["/users", "/groups", "/organizations", "comments", "attachments", "escalations"]


def _key(item: dict) -> object:
    return item.get("id", item.get("uid"))


@pytest.fixture
def busy_ticket(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = open_ticket(desk, group_id=desk.tier1.pk)
    agent = desk.actor(desk.agent1)
    for n in range(3):
        ticket = services.comment_add(actor=agent, ticket=ticket, body=f"Reply {n}").ticket
        services.attachment_add(
            actor=agent,
            ticket=ticket,
            new_file=services.NewFile(
                f"log{n}.txt", content=SimpleUploadedFile(f"log{n}.txt", b"x"), content_type=""
            ),
        )
    for target in (desk.tier2, desk.tier3):
        ticket.refresh_from_db()
        services.ticket_escalate(
            actor=agent,
            ticket=ticket,
            expected_version=None,
            kind="functional",
            to_group_id=target.pk,
            symptoms="Printer offline",
            diagnosis="",
            steps_tried=["Power cycled it"],
            reason="",
        )
    return ticket


@pytest.mark.parametrize("path", LISTS)
def test_a_walk_of_one_item_pages_meets_every_item_once(desk, api_as, busy_ticket, path):
    if not path.startswith("/"):
        path = f"/tickets/{busy_ticket.number}/{path}"
    client = api_as(desk.agent1)
    whole = client.get(path, {"limit": 100}).json()
    assert whole["next_cursor"] is None
    assert len(whole["items"]) >= 2, "the walk should cross a page boundary"
    walked: list[dict] = []
    cursor = None
    while True:
        body = client.get(path, {"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        assert len(body["items"]) == 1
        walked += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [_key(i) for i in walked] == [_key(i) for i in whole["items"]]
    assert walked == whole["items"]


def test_a_new_comment_is_answered_as_the_list_shows_it(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.user_a)
    created = client.post(f"/tickets/{ticket.number}/comments", {"body": "Still broken."}).json()
    ticket.refresh_from_db()
    assert created.pop("ticket_version") == ticket.version
    listed = client.get(f"/tickets/{ticket.number}/comments").json()["items"]
    assert listed == [created]
    assert created["author"] == {"id": desk.user_a.pk, "name": "Alice Acme"}
