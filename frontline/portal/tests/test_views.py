"""The self-service portal and the mailed status page, as end users and strangers meet them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from frontline.tickets import services
from frontline.tickets.models import Attachment, Category, Comment, Ticket

S = Ticket.Status


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _open(desk, user, subject="Printer jams", **kwargs):
    kwargs.setdefault("description", "Paper jam on every job.")
    return services.ticket_create(actor=desk.actor(user), subject=subject, **kwargs)


def _resolve(desk, ticket, notes="Replaced the fuser unit."):
    return services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes=notes,
    )


def _file(name="screenshot.png", content=b"\x89PNG fake", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def _new_file(name, content=b"data", content_type="text/plain"):
    return services.NewFile(name=name, content=_file(name, content, content_type))


def _detail_url(ticket, action=""):
    name = f"portal:ticket-{action}" if action else "portal:ticket-detail"
    return reverse(name, args=[ticket.number])


def _fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def _create_post(**overrides):
    data = {
        "type": "incident",
        "subject": "VPN drops every hour",
        "description": "It disconnects at :00 every hour.",
        "impact": "3",
        "urgency": "2",
    }
    data.update(overrides)
    return data


# --- My tickets ------------------------------------------------------------------------------


def test_end_user_sees_own_tickets_not_a_colleagues(client, desk):
    _open(desk, desk.user_a, subject="Alice printer")
    _open(desk, desk.user_a2, subject="Arnold laptop")
    client.force_login(desk.user_a)

    html = client.get(reverse("portal:ticket-list")).content.decode()

    assert "Alice printer" in html
    assert "Arnold laptop" not in html
    assert "My organisation" not in html  # no toggle for an ordinary end user


def test_end_user_cannot_widen_the_list_with_scope_org(client, desk):
    _open(desk, desk.user_a2, subject="Arnold laptop")
    client.force_login(desk.user_a)

    html = client.get(reverse("portal:ticket-list"), {"scope": "org"}).content.decode()

    assert "Arnold laptop" not in html


@pytest.mark.parametrize("who", ["contact_a", "orgadmin_a"])
def test_designated_contact_sees_the_organisations_tickets(client, desk, who):
    _open(desk, desk.user_a, subject="Alice printer")
    _open(desk, desk.user_a2, subject="Arnold laptop")
    _open(desk, desk.user_b, subject="Bob globex server")
    client.force_login(getattr(desk, who))

    mine = client.get(reverse("portal:ticket-list")).content.decode()
    org = client.get(reverse("portal:ticket-list"), {"scope": "org"}).content.decode()

    assert "My organisation" in mine
    assert "Alice printer" not in mine
    assert "Alice printer" in org
    assert "Arnold laptop" in org
    assert "Alice Acme" in org  # requester column in the organisation view
    assert "Bob globex server" not in org


def test_status_filter_open_resolved_all(client, desk):
    _open(desk, desk.user_a, subject="Still broken")
    done = _resolve(desk, _open(desk, desk.user_a, subject="Fixed already"))
    services.ticket_confirm_resolution(actor=desk.actor(desk.user_a), ticket=done)
    _resolve(desk, _open(desk, desk.user_a, subject="Resolved awaiting"))
    client.force_login(desk.user_a)
    url = reverse("portal:ticket-list")

    open_html = client.get(url).content.decode()
    resolved_html = client.get(url, {"status": "resolved"}).content.decode()
    all_html = client.get(url, {"status": "all"}).content.decode()

    assert "Still broken" in open_html
    assert "Fixed already" not in open_html
    # A resolved ticket waits for the requester's confirmation, so it stays on the Open tab.
    assert "Resolved awaiting" in open_html
    assert "Still broken" not in resolved_html
    assert "Fixed already" in resolved_html  # closed counts as done
    assert "Resolved awaiting" in resolved_html
    assert all(s in all_html for s in ["Still broken", "Fixed already", "Resolved awaiting"])


def test_bad_filter_values_fall_back_to_defaults(client, desk):
    _open(desk, desk.user_a, subject="Still broken")
    client.force_login(desk.user_a)

    response = client.get(reverse("portal:ticket-list"), {"status": "<x>", "scope": "everyone"})

    assert response.status_code == 200
    assert "Still broken" in response.content.decode()


def test_keyword_search_finds_subject_number_and_public_replies(client, desk):
    ticket = _open(desk, desk.user_a, subject="Outlook keeps crashing")
    other = _open(desk, desk.user_a, subject="Monitor flickers")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=other, body="Try the HDMI cable")
    client.force_login(desk.user_a)
    url = reverse("portal:ticket-list")

    by_word = client.get(url, {"q": "outlook"}).content.decode()
    by_number = client.get(url, {"q": ticket.number.lower()}).content.decode()
    by_reply = client.get(url, {"q": "hdmi"}).content.decode()

    assert "Outlook keeps crashing" in by_word
    assert "Monitor flickers" not in by_word
    assert "Outlook keeps crashing" in by_number
    assert "Monitor flickers" in by_reply


def test_keyword_search_does_not_match_internal_notes(client, desk):
    ticket = _open(desk, desk.user_a, subject="Laptop slow")
    services.comment_add(
        actor=desk.actor(desk.agent1), ticket=ticket, body="Zebracorn licence", is_internal=True
    )
    client.force_login(desk.user_a)

    html = client.get(reverse("portal:ticket-list"), {"q": "zebracorn"}).content.decode()

    assert "Laptop slow" not in html
    assert "No tickets match" in html


def test_list_paginates_by_25(client, desk, django_assert_max_num_queries):
    for n in range(27):
        _open(desk, desk.user_a, subject=f"Ticket number {n:02d}")
    client.force_login(desk.user_a)
    url = reverse("portal:ticket-list")

    # Session and user (2), count and page (2).
    with django_assert_max_num_queries(4):
        first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()

    assert first.count('class="col-subject"') == 25
    assert second.count('class="col-subject"') == 2
    assert "Page 2 of 2" in second
    assert "Ticket number 00" in second  # oldest update last


def test_agents_are_sent_to_the_desk(client, desk):
    client.force_login(desk.agent1)

    response = client.get(reverse("portal:ticket-list"))

    assert response.status_code == 302
    assert response.url == reverse("tickets:queue")


def test_agents_opening_a_portal_ticket_page_get_the_desk_page(client, desk):
    ticket = _open(desk, desk.user_a)
    client.force_login(desk.agent1)

    response = client.get(_detail_url(ticket))

    assert response.status_code == 302
    assert response.url == reverse("tickets:ticket-detail", args=[ticket.number])


def test_anonymous_visitor_is_asked_to_sign_in(client, desk):
    response = client.get(reverse("portal:ticket-list"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response.url


# --- Isolation -------------------------------------------------------------------------------


def test_other_organisations_ticket_is_404_and_nothing_is_written(client, desk):
    foreign = _open(desk, desk.user_b, subject="Globex secret")
    resolved = _resolve(desk, _open(desk, desk.user_b, subject="Globex resolved"))
    comments_before = Comment.objects.count()
    client.force_login(desk.user_a)

    page = client.get(_detail_url(foreign))
    reply = client.post(_detail_url(foreign, "reply"), {"body": "Let me in"})
    confirm = client.post(_detail_url(resolved, "confirm"))
    reopen = client.post(_detail_url(resolved, "reopen"), {"reason": "Mine now"})

    assert page.status_code == 404
    assert "Globex secret" not in page.content.decode()
    assert reply.status_code == 404
    assert confirm.status_code == 404
    assert reopen.status_code == 404
    assert Comment.objects.count() == comments_before
    assert _fresh(resolved).status == S.RESOLVED


def test_colleagues_ticket_is_404_for_end_user_but_open_to_the_contact(client, desk):
    ticket = _open(desk, desk.user_a2, subject="Arnold laptop")

    client.force_login(desk.user_a)
    assert client.get(_detail_url(ticket)).status_code == 404

    client.force_login(desk.contact_a)
    response = client.get(_detail_url(ticket))
    assert response.status_code == 200
    assert "Arnold Acme" in response.content.decode()  # requested by


def test_unknown_ticket_is_404(client, desk):
    client.force_login(desk.user_a)

    assert client.get(reverse("portal:ticket-detail", args=["INC-999999"])).status_code == 404


# --- New ticket ------------------------------------------------------------------------------


def test_create_form_opens(client, desk):
    client.force_login(desk.user_a)

    html = client.get(reverse("portal:ticket-create")).content.decode()

    assert "Something is broken" in html
    assert "How many people are affected?" in html
    assert "How soon does this stop your work?" in html
    assert 'name="organization"' not in html


def test_create_opens_ticket_for_the_user_ignoring_routing_fields(client, desk):
    client.force_login(desk.user_a)

    response = client.post(
        reverse("portal:ticket-create"),
        _create_post(
            organization=desk.org_b.pk,
            organization_id=desk.org_b.pk,
            requester=desk.user_b.pk,
            requester_id=desk.user_b.pk,
            group=desk.tier3.pk,
            group_id=desk.tier3.pk,
            assignee=desk.agent2.pk,
            assignee_id=desk.agent2.pk,
            channel="phone",
            is_internal="on",
        ),
        follow=True,
    )

    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.PORTAL
    assert ticket.requester == desk.user_a
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.assignee is None
    assert ticket.group == desk.tier1  # the service desk, not the posted group
    assert ticket.status == S.NEW
    assert (ticket.impact, ticket.urgency, ticket.priority) == (3, 2, 4)
    assert response.redirect_chain[-1][0] == _detail_url(ticket)
    html = response.content.decode()
    assert f"Your ticket {ticket.number} has been opened" in html
    assert "VPN drops every hour" in html


def test_create_maps_the_answers_to_priority(client, desk):
    client.force_login(desk.user_a)

    client.post(reverse("portal:ticket-create"), _create_post(impact="1", urgency="1"))

    assert Ticket.objects.get().priority == 1


def test_create_request_with_category_and_attachments(client, desk):
    hardware = Category.objects.create(name="Hardware")
    keyboard = Category.objects.create(name="Keyboard", parent=hardware)
    client.force_login(desk.user_a)

    response = client.post(
        reverse("portal:ticket-create"),
        _create_post(
            type="request",
            subcategory=str(keyboard.pk),  # the category follows from the subcategory
            attachments=[_file("one.png"), _file("two.pdf", b"%PDF", "application/pdf")],
        ),
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.number.startswith("REQ-")
    assert (ticket.category, ticket.subcategory) == (hardware, keyboard)
    assert sorted(a.filename for a in ticket.attachments.all()) == ["one.png", "two.pdf"]


def test_create_refuses_a_subcategory_of_another_category(client, desk):
    hardware = Category.objects.create(name="Hardware")
    software = Category.objects.create(name="Software")
    keyboard = Category.objects.create(name="Keyboard", parent=hardware)
    client.force_login(desk.user_a)

    response = client.post(
        reverse("portal:ticket-create"),
        _create_post(category=str(software.pk), subcategory=str(keyboard.pk)),
    )

    assert response.status_code == 422
    assert "does not belong to the chosen category" in response.content.decode()
    assert not Ticket.objects.exists()


def test_create_with_missing_fields_is_422_and_writes_nothing(client, desk):
    client.force_login(desk.user_a)

    response = client.post(
        reverse("portal:ticket-create"), _create_post(subject="  ", impact="7", urgency="")
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice." in html
    assert not Ticket.objects.exists()


def test_create_oversized_attachment_is_422(client, desk, settings):
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 10
    client.force_login(desk.user_a)

    response = client.post(
        reverse("portal:ticket-create"),
        _create_post(attachments=[_file("big.bin", b"x" * 11, "application/octet-stream")]),
    )

    assert response.status_code == 422
    assert "the limit is 10 bytes" in response.content.decode()
    assert not Ticket.objects.exists()


# --- One ticket ------------------------------------------------------------------------------


def test_detail_shows_public_timeline_but_never_internal_notes_or_files(client, desk):
    ticket = _open(desk, desk.user_a, subject="Printer jams", files=[_new_file("photo.png")])
    agent = desk.actor(desk.agent1)
    services.comment_add(
        actor=agent,
        ticket=ticket,
        body="Internal: user is a VIP, charge extra",
        is_internal=True,
        files=[_new_file("secret-plan.txt")],
    )
    services.comment_add(
        actor=agent,
        ticket=ticket,
        body="We are sending a **technician**.",
        files=[_new_file("guide.pdf")],
    )
    services.ticket_transition(
        actor=agent, ticket=ticket, expected_version=None, status=S.PENDING_CUSTOMER
    )
    client.force_login(desk.user_a)

    response = client.get(_detail_url(ticket))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>technician</strong>" in html  # markdown rendered
    assert "guide.pdf" in html
    assert "photo.png" in html
    assert "Waiting for your reply" in html
    assert "Internal: user is a VIP" not in html
    assert "secret-plan.txt" not in html
    internal = Attachment.objects.get(filename="secret-plan.txt")
    assert str(internal.uid) not in html
    public = Attachment.objects.get(filename="guide.pdf")
    link = reverse("tickets:attachment-download", args=[ticket.number, public.uid])
    assert link in html
    download = client.get(link)
    assert download.status_code == 200
    download.close()


def test_detail_page_queries_do_not_grow_with_the_conversation(
    client, desk, django_assert_max_num_queries
):
    ticket = _open(desk, desk.user_a, files=[_new_file("photo.png")])
    for n in range(6):
        services.comment_add(
            actor=desk.actor(desk.agent1 if n % 2 else desk.user_a),
            ticket=ticket,
            body=f"Message {n}",
            files=[_new_file(f"file-{n}.txt")],
        )
    client.force_login(desk.user_a)
    # The ticket's organisation, group and SLA policy and calendar come from the process's
    # configuration cache: read once after a configuration change (at most 5 queries).
    with django_assert_max_num_queries(6 + 5):
        assert client.get(_detail_url(ticket)).status_code == 200

    with django_assert_max_num_queries(6):
        response = client.get(_detail_url(ticket))

    assert response.content.decode().count('class="msg ') == 6


def test_reply_puts_a_pending_customer_ticket_back_to_work(client, desk):
    ticket = _open(desk, desk.user_a)
    services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        status=S.PENDING_CUSTOMER,
    )
    client.force_login(desk.user_a)

    response = client.post(
        _detail_url(ticket, "reply"),
        {"body": "It is the one on floor 2.", "attachments": [_file("floor2.jpg")]},
    )

    assert response.status_code == 302
    assert response.url == _detail_url(ticket) + "#latest"
    ticket = _fresh(ticket)
    assert ticket.status in {S.ASSIGNED, S.IN_PROGRESS}
    comment = Comment.objects.get(ticket=ticket)
    assert comment.body == "It is the one on floor 2."
    assert comment.is_internal is False
    assert comment.channel == Ticket.Channel.PORTAL
    assert comment.attachments.get().filename == "floor2.jpg"
    assert "It is the one on floor 2." in client.get(_detail_url(ticket)).content.decode()


def test_empty_reply_is_422(client, desk):
    ticket = _open(desk, desk.user_a)
    client.force_login(desk.user_a)

    response = client.post(_detail_url(ticket, "reply"), {"body": "   "})

    assert response.status_code == 422
    assert "Write a reply or attach a file." in response.content.decode()
    assert not Comment.objects.exists()


def test_closed_ticket_has_no_reply_form_and_refuses_replies(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a))
    services.ticket_confirm_resolution(actor=desk.actor(desk.user_a), ticket=ticket)
    client.force_login(desk.user_a)

    page = client.get(_detail_url(ticket)).content.decode()
    reply = client.post(_detail_url(ticket, "reply"), {"body": "One more thing"})

    assert "This ticket is closed" in page
    assert _detail_url(ticket, "reply") not in page
    assert reply.status_code == 422
    assert "please open a new ticket" in reply.content.decode()
    assert not Comment.objects.filter(body="One more thing").exists()


def test_resolved_ticket_offers_confirm_and_reopen(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a), notes="Cleared the *print queue*.")
    client.force_login(desk.user_a)

    html = client.get(_detail_url(ticket)).content.decode()

    assert "<em>print queue</em>" in html
    assert "Yes, it's solved" in html
    assert "No, reopen it" in html


def test_confirm_closes_a_resolved_ticket(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a))
    client.force_login(desk.user_a)

    response = client.post(_detail_url(ticket, "confirm"), {"version": ticket.version})

    assert response.status_code == 302
    ticket = _fresh(ticket)
    assert ticket.status == S.CLOSED
    assert ticket.closed_at is not None


def test_confirm_of_an_open_ticket_is_422(client, desk):
    ticket = _open(desk, desk.user_a)
    client.force_login(desk.user_a)

    response = client.post(_detail_url(ticket, "confirm"))

    assert response.status_code == 422
    assert "Only a resolved ticket can be confirmed." in response.content.decode()
    assert _fresh(ticket).status == S.NEW


def test_confirm_of_a_ticket_changed_meanwhile_is_409(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a))
    seen_version = ticket.version
    services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        changes={"subject": "Printer jams (toner)"},
    )
    client.force_login(desk.user_a)

    response = client.post(_detail_url(ticket, "confirm"), {"version": seen_version})

    assert response.status_code == 409
    assert "changed while you were reading it" in response.content.decode()
    assert _fresh(ticket).status == S.RESOLVED


def test_reopen_needs_a_reason(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a))
    client.force_login(desk.user_a)

    response = client.post(_detail_url(ticket, "reopen"), {"reason": "  "})

    assert response.status_code == 422
    assert "Please tell us why the problem is not solved." in response.content.decode()
    assert _fresh(ticket).status == S.RESOLVED


def test_reopen_within_the_window(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a))
    client.force_login(desk.user_a)

    response = client.post(
        _detail_url(ticket, "reopen"), {"reason": "Still jams", "version": ticket.version}
    )

    assert response.status_code == 302
    ticket = _fresh(ticket)
    assert ticket.status in {S.ASSIGNED, S.IN_PROGRESS}
    assert ticket.reopen_count == 1
    assert Comment.objects.filter(ticket=ticket, body="Reopened: Still jams").exists()


def test_reopen_after_the_window_is_refused(client, desk, settings):
    settings.FRONTLINE_REOPEN_WINDOW_DAYS = 7
    ticket = _resolve(desk, _open(desk, desk.user_a))

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        client.force_login(desk.user_a)
        response = client.post(_detail_url(ticket, "reopen"), {"reason": "Still jams"})

    assert response.status_code == 422
    assert "The reopen window has passed" in response.content.decode()
    ticket = _fresh(ticket)
    assert ticket.status == S.RESOLVED
    assert ticket.reopen_count == 0


def test_markup_in_user_text_is_shown_escaped(client, desk):
    ticket = _open(
        desk,
        desk.user_a,
        subject="<script>alert('subject')</script>",
        description='<img src=x onerror="alert(1)"> [x](javascript:alert(2))',
    )
    client.force_login(desk.user_a)
    client.post(
        _detail_url(ticket, "reply"),
        {"body": "<script>alert('reply')</script><b onclick=alert(3)>hi</b>"},
    )

    detail = client.get(_detail_url(ticket)).content.decode()
    listing = client.get(reverse("portal:ticket-list")).content.decode()

    for html in (detail, listing):
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in html
    assert "onerror" not in detail
    assert "onclick" not in detail
    assert "javascript:" not in detail


# --- Mailed status link ----------------------------------------------------------------------


def _status_link(desk, ticket, **kwargs):
    token = services.status_link_create(actor=desk.actor(desk.agent1), ticket=ticket, **kwargs)
    return reverse("portal:status", args=[token])


def test_status_link_shows_only_the_status(client, desk):
    ticket = _open(desk, desk.user_a, subject="Printer jams")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="Public reply text")
    services.comment_add(
        actor=desk.actor(desk.agent1), ticket=ticket, body="Internal note text", is_internal=True
    )

    response = client.get(_status_link(desk, ticket))

    assert response.status_code == 200
    html = response.content.decode()
    assert ticket.number in html
    assert "Printer jams" in html
    assert "Received" in html
    for hidden in ["Public reply text", "Internal note text", "Alice Acme", "alice@acme"]:
        assert hidden not in html
    assert "Paper jam on every job." not in html  # not even the description
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_status_link_of_a_resolved_ticket_shows_the_resolution_notes(client, desk):
    ticket = _resolve(desk, _open(desk, desk.user_a), notes="Replaced the toner.")

    html = client.get(_status_link(desk, ticket)).content.decode()

    assert "Resolved" in html
    assert "Replaced the toner." in html


def test_status_link_expires(client, desk):
    ticket = _open(desk, desk.user_a)
    url = _status_link(desk, ticket, days=3)

    with time_machine.travel(timezone.now() + timedelta(days=4)):
        response = client.get(url)

    assert response.status_code == 404
    assert "This link is not valid or has expired" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"


def test_status_link_stops_working_when_revoked(client, desk):
    ticket = _open(desk, desk.user_a)
    url = _status_link(desk, ticket)
    assert client.get(url).status_code == 200

    services.status_link_revoke_all(actor=desk.actor(desk.agent1), ticket=ticket)

    response = client.get(url)
    assert response.status_code == 404
    assert "This link is not valid or has expired" in response.content.decode()


def test_unknown_status_token_is_404(client, desk):
    response = client.get(reverse("portal:status", args=["not-a-real-token"]))

    assert response.status_code == 404
    assert "This link is not valid or has expired" in response.content.decode()
