"""Factories for tests: each creates a fresh organisation unless one is passed."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from frontline.accounts.models import SupportGroup, User
from frontline.tenants.models import Organization
from frontline.tickets.models import Category, Ticket

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Client {n} Ltd")
    slug = factory.Sequence(lambda n: f"client-{n}")
    email_domains = factory.LazyAttribute(lambda o: f"{o.slug}.example")


class ProviderFactory(OrganizationFactory):
    name = "Provider MSP"
    slug = "provider"
    is_provider = True


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = User.Role.END_USER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class AgentFactory(UserFactory):
    email = factory.Sequence(lambda n: f"agent{n}@provider.test")
    full_name = factory.Sequence(lambda n: f"Agent {n}")
    organization = factory.SubFactory(ProviderFactory)
    role = User.Role.AGENT
    serves_all_organizations = True


class SupportGroupFactory(DjangoModelFactory):
    class Meta:
        model = SupportGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")
    kind = SupportGroup.Kind.TIER
    tier = 1


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class TicketFactory(DjangoModelFactory):
    """A ticket row made directly (tests of services call the services instead)."""

    class Meta:
        model = Ticket

    tenant = factory.SubFactory(OrganizationFactory)
    number = factory.Sequence(lambda n: f"INC-9{n:05d}")
    subject = factory.Sequence(lambda n: f"Printer on floor {n} jams")
    description = "Paper jam on every print job."
    requester = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..tenant"))
