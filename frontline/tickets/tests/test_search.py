"""Keyword search: the same tickets whatever the plan (walk or index), documents kept right by
the database on PostgreSQL (migration tickets/0007), the query budget (issue #3)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.core.access import Actor
from frontline.mail.models import OutboundMail
from frontline.tickets import selectors, services
from frontline.tickets.models import Comment
from frontline.tickets.selectors import TicketFilters
from frontline.tickets.tests.helpers import open_ticket

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the stored documents and plans are PostgreSQL's"
)


def _found(desk, who, q, **params):
    filters = TicketFilters.from_params({"q": q, "queue": "all", **params})
    actor = who if isinstance(who, Actor) else desk.actor(getattr(desk, who))
    return [t.pk for t in selectors.ticket_list(actor=actor, filters=filters)]


@pytest.fixture
def _fresh_sample(monkeypatch):
    """No sample of the newest tickets left over from another test's database rows."""
    monkeypatch.setattr(selectors, "_samples", {})


@pytest.fixture
def tickets(desk, _fresh_sample):
    """Words in subjects, descriptions, public replies and internal notes."""
    agent = desk.actor(desk.agent1)
    made = {
        "both": open_ticket(desk, subject="Password reset needed", description="Locked out"),
        "split": open_ticket(desk, subject="Password expired", description="Printer too"),
        "reply": open_ticket(desk, subject="Cannot sign in", description="Since Monday"),
        "note": open_ticket(desk, subject="Laptop is slow", description="Since the update"),
        "other": open_ticket(desk, subject="Printer jam", description="Tray 2"),
        "parsed": open_ticket(desk, subject="Battery swollen", description="Asset tag below"),
    }
    services.comment_add(actor=agent, ticket=made["split"], body="A reset did not help.")
    services.comment_add(actor=agent, ticket=made["reply"], body="Please reset the password.")
    services.comment_add(
        actor=agent, ticket=made["note"], body="Passwords reset in bulk", is_internal=True
    )
    services.comment_add(actor=agent, ticket=made["parsed"], body="Asset LT-04521 in the van")
    return made


# Search -> the tickets an agent finds, and those Alice (their requester) finds: no words of
# internal notes for her.
SEARCHES = {
    "password reset": ({"both", "split", "reply", "note"}, {"both", "split", "reply"}),
    "reset password": ({"both", "split", "reply", "note"}, {"both", "split", "reply"}),
    "pass res": ({"both", "split", "reply", "note"}, {"both", "split", "reply"}),
    "printer": ({"split", "other"}, {"split", "other"}),
    "printer password": ({"split"}, {"split"}),
    "laptop slow": ({"note"}, {"note"}),
    "password reset laptop": ({"note"}, set()),
    "LT-04521": ({"parsed"}, {"parsed"}),
    "LT-04521 battery": ({"parsed"}, {"parsed"}),
    "battery LT-04521 swollen": ({"parsed"}, {"parsed"}),
    "zeppelin password": (set(), set()),
    "wi-fi password": (set(), set()),
}


@postgres_only
@pytest.mark.parametrize("who", ["agent1", "user_a"])
@pytest.mark.parametrize("q", SEARCHES)
def test_walking_or_using_the_index_finds_the_same_tickets(desk, tickets, monkeypatch, who, q):
    """The plan chosen for several words (ts_match_vq: a walk; @@: the GIN index) never changes
    what is found, and the stored documents find what the per-comment match found."""
    monkeypatch.setattr(selectors, "WALK_DENSITY", 0.0)  # always walk
    walked = _found(desk, who, q)
    monkeypatch.setattr(selectors, "WALK_DENSITY", 2.0)  # never
    indexed = _found(desk, who, q)
    assert walked == indexed
    agent_finds, alice_finds = SEARCHES[q]
    expected = agent_finds if who == "agent1" else alice_finds
    assert set(walked) == {tickets[key].pk for key in expected}


@postgres_only
def test_internal_note_words_are_found_by_agents_only(desk, tickets):
    assert _found(desk, "agent1", "passwords bulk") == [tickets["note"].pk]
    assert _found(desk, "user_a", "passwords bulk") == []
    assert _found(desk, "user_a", "laptop") == [tickets["note"].pk]


@postgres_only
def test_the_documents_follow_every_change(desk, tickets):
    """Triggers keep search_agent and search_public right: a comment added, edited, made
    internal, deleted; a subject changed."""
    ticket = tickets["other"]
    assert _found(desk, "user_a", "jam toner") == []
    comment = services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="Toner")
    assert _found(desk, "user_a", "jam toner") == [ticket.pk]
    Comment.objects.filter(pk=comment.pk).update(body="Drum")
    assert _found(desk, "user_a", "jam toner") == []
    assert _found(desk, "user_a", "jam drum") == [ticket.pk]
    Comment.objects.filter(pk=comment.pk).update(is_internal=True)
    assert _found(desk, "user_a", "jam drum") == []
    assert _found(desk, "agent1", "jam drum") == [ticket.pk]
    OutboundMail.objects.filter(comment=comment).delete()  # the reply's notification
    Comment.objects.filter(pk=comment.pk).delete()
    assert _found(desk, "agent1", "jam drum") == []
    ticket.refresh_from_db()
    services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        changes={"subject": "Scanner jam"},
    )
    assert _found(desk, "agent1", "scanner jam") == [ticket.pk]
    assert _found(desk, "agent1", "printer jam") == []


@postgres_only
@pytest.mark.usefixtures("_fresh_sample")
def test_words_common_together_walk_the_newest_tickets(desk):
    """ "password reset" in most tickets, "printer" and "vpn" never together: the first is
    sent as ts_match_vq (a walk in the page's order), the second as `@@` (the GIN index)."""
    for n in range(30):
        open_ticket(desk, subject=f"Password reset {n}", description="Printer" if n < 5 else "")
    open_ticket(desk, subject="VPN drops", description="Since Monday")

    def sql(q):
        filters = TicketFilters.from_params({"q": q, "queue": "all"})
        qs = selectors.ticket_list(actor=desk.actor(desk.agent1), filters=filters)
        return str(qs.values_list("pk", flat=True).query)

    assert "ts_match_vq(" in sql("password reset")
    assert "ts_match_vq(" not in sql("printer vpn")
    assert "ts_match_vq(" not in sql("password")  # one word: the column's statistics decide
    assert "search_agent @@" in sql("printer vpn")
    assert len(_found(desk, "agent1", "password reset")) == 30
    assert _found(desk, "agent1", "printer vpn") == []


def test_sample_is_read_at_most_once_per_period(desk, tickets, monkeypatch):
    """Several words cost the queries of one word, plus (PostgreSQL) one to read the sample of
    the newest tickets when there is none or it is older than SAMPLE_SECONDS."""

    agent = desk.actor(desk.agent1)

    def queries(q):
        with CaptureQueriesContext(connection) as done:
            _found(desk, agent, q)
        return [query["sql"] for query in done]

    one_word = len(queries("printer"))
    if connection.vendor != "postgresql":
        assert len(queries("password reset")) == one_word  # icontains: no sample
        return
    first = queries("password reset")
    assert len(first) == one_word + 1
    assert "tsvector_to_array" in first[0]
    assert len(queries("laptop slow")) == one_word
    monkeypatch.setattr(selectors, "SAMPLE_SECONDS", -1.0)
    assert len(queries("laptop slow")) == one_word + 1


@postgres_only
@pytest.mark.usefixtures("_fresh_sample")
def test_a_ticket_past_the_tsvector_limit_still_takes_comments_and_is_found(desk):
    """A tsvector holds at most 1 MB of words: pasted logs full of distinct tokens can fill a
    ticket's document. Replies must still be saved; the document keeps the words it has, and
    takes the words of a reply that still fit."""
    import random

    agent = desk.actor(desk.agent1)
    ticket = open_ticket(desk, subject="Crash dump analysis", description="Dumps attached")
    rng = random.Random(7)
    first_tokens = []
    for _ in range(14):  # 8,000 distinct 11-byte tokens each: 1.2 MB in all, past the limit
        tokens = [f"x{rng.getrandbits(40):010x}" for _ in range(8_000)]
        first_tokens.append(tokens[0])
        services.comment_add(actor=agent, ticket=ticket, body=" ".join(tokens))
    services.comment_add(actor=agent, ticket=ticket, body="zeppelinword after the limit")
    assert Comment.objects.filter(ticket=ticket).count() == 15
    assert ticket.pk in _found(desk, "agent1", "crash dump")
    assert ticket.pk in _found(desk, "agent1", first_tokens[0])
    assert ticket.pk in _found(desk, "agent1", "zeppelinword")  # small: it still fitted
    # The last big paste did not fit: its words are not in the document.
    assert ticket.pk not in _found(desk, "agent1", first_tokens[-1])
