"""SECURITY.md 19: a notification template edited by an organisation admin that reaches for
settings, loads tag libraries, includes files or dumps its context is refused by the admin form,
and if one is stored anyway (bypassing the form) it cannot compile, so the shipped default is
sent instead; variables that are not in the ticket's plain context render as nothing."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from frontline.mail.admin import NotificationTemplateForm
from frontline.mail.models import NotificationTemplate
from frontline.mail.sandbox import SandboxError, sandbox_compile
from frontline.mail.tests import smtp_sink
from frontline.tickets import services

sink = smtp_sink.sink

REFUSED = [
    "{% load static %}{% static 'x' %}",
    "{% load log %}{% get_admin_log 10 as log %}",
    "{% include 'base.html' %}",
    "{% extends 'base.html' %}",
    "{% debug %}",
    "{% ssi '/etc/passwd' %}",
    "{% now 'Y' %}",
    "{% for c in subject %}{% for d in subject %}x{% endfor %}{% endfor %}",
    "{{ subject|safe }}",
    "{{ subject|ljust:'999999999' }}",
    "{{ subject.__class__ }}",
    "{% csrf_token %}",
]


@pytest.mark.parametrize("source", REFUSED)
def test_admin_form_refuses_templates_that_reach_outside_the_sandbox(desk, source):
    with pytest.raises(SandboxError):
        sandbox_compile(source)
    form = NotificationTemplateForm(
        data={
            "organization": desk.org_a.pk,
            "event": "created",
            "subject": "Ticket {{ number }}",
            "body": source,
            "is_active": True,
        }
    )
    assert not form.is_valid()
    assert "cannot be used" in str(form.errors["body"])


@pytest.mark.parametrize("source", REFUSED)
def test_a_stored_forbidden_template_falls_back_to_the_default(desk, sink, run, source):
    NotificationTemplate.objects.create(
        organization=desk.org_a, event="created", subject="Hacked {{ number }}", body=source
    )
    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    [received] = sink.received
    assert "We received your request" in received.message["Subject"]
    assert "Hacked" not in received.message["Subject"]
    assert ticket.number in received.message.get_body(("plain",)).get_content()


def test_settings_request_and_objects_are_not_in_the_context(desk, sink, run):
    NotificationTemplate.objects.create(
        organization=desk.org_a,
        event="created",
        subject="{{ number }}",
        body=(
            "[{{ settings.SECRET_KEY }}][{{ SECRET_KEY }}][{{ request.META }}][{{ user.password }}]"
            "[{{ ticket.requester.password }}][{{ csrf_token }}][{{ perms }}]"
            "[{{ subject }}]"
        ),
    )
    run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    [received] = sink.received
    body = received.message.get_body(("plain",)).get_content()
    assert body.strip() == "[][][][][][][][Printer]"
    assert django_settings.SECRET_KEY.encode() not in received.raw
