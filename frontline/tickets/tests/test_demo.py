"""`frontline demo`: a living desk, written through the services."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from frontline.accounts.models import SupportGroup, User
from frontline.core.models import AuditEvent
from frontline.tenants.models import Organization
from frontline.tickets.demo import DEMO_PASSWORD, demo_load
from frontline.tickets.demo.vocabulary import ISSUES, OUTAGES
from frontline.tickets.models import Category, Comment, Escalation, Ticket

S = Ticket.Status


def _load(**options) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo(db) -> str:
    return _load(tickets=40, seed=1)


def test_demo_builds_the_provider_clients_groups_and_people(demo):
    orgs = Organization.objects.all()
    assert orgs.count() == 4
    assert list(orgs.filter(is_provider=True).values_list("name", flat=True)) == [
        "Northwind IT Services"
    ]
    assert all(o.email_domains for o in orgs)

    assert set(SupportGroup.objects.values_list("kind", flat=True)) == set(SupportGroup.Kind)
    desk = SupportGroup.objects.get(name="Service Desk", kind=SupportGroup.Kind.SERVICE_DESK)
    assert desk.tier == 1
    assert desk.escalates_to.name == "Tier 2"
    assert desk.escalates_to.escalates_to.name == "Tier 3"
    assert not SupportGroup.objects.filter(team_lead=None).exists()
    assert not SupportGroup.objects.filter(manager=None).exists()

    assert set(User.objects.values_list("role", flat=True)) == set(User.Role)
    admin = User.objects.get(role=User.Role.ADMIN)
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.exclude(pk=admin.pk).filter(is_superuser=True).exists()
    one_client = User.objects.get(role=User.Role.AGENT, serves_all_organizations=False)
    assert [o.name for o in one_client.served_organizations.all()] == ["Acme Manufacturing"]
    for client in orgs.filter(is_provider=False):
        people = User.objects.filter(organization=client)
        assert people.filter(role=User.Role.ORG_CONTACT).count() == 1
        assert people.filter(role=User.Role.ORG_ADMIN).count() == 1
        assert people.filter(role=User.Role.END_USER).count() >= 5
        assert all(u.email.endswith("@" + client.email_domains) for u in people)

    top = Category.objects.filter(parent=None)
    assert set(top.values_list("name", flat=True)) == {
        "Hardware",
        "Software",
        "Network",
        "Access",
        "Security",
        "Service requests",
    }
    assert not Category.objects.filter(default_group=None).exists()
    assert set(Category.objects.filter(parent__name="Access").values_list("name", flat=True)) == {
        "Password reset",
        "New account",
        "Permissions",
    }

    # The summary lists every account and the password.
    assert admin.email in demo
    assert "org_contact" in demo
    assert DEMO_PASSWORD in demo
    # Each person's creation is in the audit trail.
    assert AuditEvent.objects.filter(target_type="accounts.user", kind="created").count() == (
        User.objects.count()
    )


def test_demo_tickets_have_a_real_history(demo):
    tickets = Ticket.objects.all()
    assert tickets.count() == 40
    statuses = set(tickets.values_list("status", flat=True))
    assert {S.RESOLVED, S.CLOSED, S.NEW, S.IN_PROGRESS, S.PENDING_CUSTOMER} <= statuses
    assert len(set(tickets.values_list("channel", flat=True))) >= 4
    assert set(tickets.values_list("type", flat=True)) == set(Ticket.Type)
    assert tickets.filter(first_contact_resolution=True, resolved_tier=1).exists()
    assert tickets.filter(resolved_tier__gte=2).exists()

    escalated = tickets.filter(escalation_count__gt=0)
    assert escalated.exists()
    functional = Escalation.objects.filter(kind=Escalation.Kind.FUNCTIONAL)
    assert functional.filter(from_tier=1, to_tier__gte=2).exists()
    assert Escalation.objects.filter(kind=Escalation.Kind.HIERARCHICAL).exists()
    for escalation in Escalation.objects.all():
        assert escalation.symptoms.strip()
        assert escalation.steps_tried and all(s.strip() for s in escalation.steps_tried)

    assert tickets.filter(duplicate_of__isnull=False, status=S.CLOSED).exists()
    assert tickets.filter(parent__isnull=False).exists()
    assert Comment.objects.filter(is_internal=True).exists()
    assert Comment.objects.filter(is_internal=False).exists()

    # Every ticket has its creation in the audit trail; history lies in the past 90-odd days.
    created = AuditEvent.objects.filter(target_type="tickets.ticket", kind="created")
    assert set(created.values_list("target_id", flat=True)) == set(
        tickets.values_list("pk", flat=True)
    )
    now = timezone.now()
    for model in (Ticket, Comment, Escalation, AuditEvent):
        assert not model.objects.filter(created_at__gt=now).exists()
    assert not tickets.filter(created_at__lt=now - timedelta(days=91)).exists()
    assert tickets.filter(created_at__lt=now - timedelta(days=14)).exists()
    # Numbers follow the order tickets arrived in.
    numbers = list(tickets.filter(type="incident").order_by("created_at").values_list("number"))
    assert numbers == sorted(numbers)


def test_every_demo_account_signs_in_with_the_documented_password(demo, client):
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.email
    agent = User.objects.filter(role=User.Role.AGENT).first()
    response = client.post("/accounts/login/", {"username": agent.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(agent.pk)


def test_a_second_run_with_if_empty_changes_nothing(demo):
    def counts():
        return [m.objects.count() for m in (Organization, User, Ticket, Comment, AuditEvent)]

    before = counts()
    out = _load(tickets=40, seed=1, if_empty=True)
    assert "Demo data already loaded" in out
    assert counts() == before

    with pytest.raises(CommandError, match="already holds organisations"):
        _load(tickets=5)
    assert counts() == before


def test_the_same_seed_gives_the_same_subjects(db):
    def subjects(**options) -> list[str]:
        with transaction.atomic():
            _load(tickets=40, **options)
            result = sorted(Ticket.objects.values_list("subject", flat=True))
            transaction.set_rollback(True)  # back to an empty database for the next run
        return result

    first = subjects(seed=1)
    assert subjects(seed=1) == first
    assert subjects(seed=2) != first


def test_with_a_fixed_clock_the_whole_desk_is_the_same(db):
    now = timezone.now().replace(microsecond=0)

    def desk() -> list[tuple]:
        with transaction.atomic():
            demo_load(tickets=25, seed=3, now=now)
            rows = list(
                Ticket.objects.order_by("number").values_list(
                    "number", "subject", "status", "requester__email", "created_at"
                )
            )
            transaction.set_rollback(True)
        return rows

    assert desk() == desk()


@pytest.mark.parametrize("tickets", [-5, 1_000_000])
def test_bad_ticket_counts_are_refused_with_exit_code_2(db, tickets):
    with pytest.raises(CommandError, match="--tickets must be between") as raised:
        _load(tickets=tickets)
    assert raised.value.returncode == 2
    assert not Organization.objects.exists()


def test_a_bad_argument_on_the_command_line_exits_with_2(db, capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as raised:
        ManagementUtility(["frontline", "demo", "--tickets", "-5"]).execute()
    assert raised.value.code == 2
    assert "--tickets must be between" in capsys.readouterr().err


def test_small_demos_create_exactly_the_tickets_asked_for(db):
    assert "0 tickets" in _load(tickets=0, seed=5)
    assert not Ticket.objects.exists()
    assert User.objects.exists()


def test_every_demo_text_fills_in():
    values = dict.fromkeys(
        [
            "site",
            "floor",
            "printer",
            "model",
            "monitor",
            "app",
            "share",
            "ssid",
            "starter",
            "first",
            "vendor",
            "group",
            "fix",
        ],
        "x",
    )
    for issue in ISSUES:
        texts = [*issue.steps, *(q for pair in issue.questions for q in pair)]
        for variant in issue.variants:
            texts += [variant.subject, variant.description, variant.fix, variant.diagnosis]
        for text in texts:
            text.format_map(values)  # no unknown placeholder
    for outage in OUTAGES:
        for text in (outage.subject, *outage.reports, outage.diagnosis, outage.fix):
            text.format_map(values)
