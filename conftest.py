"""Shared fixtures: a small desk with two client organisations, tiers and people."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest

from frontline.accounts.models import SupportGroup, User
from frontline.accounts.selectors import actor_for_user
from frontline.core.access import Actor
from frontline.sla.tests.factories import sla_defaults_ensure
from frontline.tenants.models import Organization
from frontline.tickets.tests.factories import (
    PASSWORD,
    AgentFactory,
    OrganizationFactory,
    ProviderFactory,
    SupportGroupFactory,
    UserFactory,
)


@dataclass
class Desk:
    provider: Organization
    org_a: Organization
    org_b: Organization
    tier1: SupportGroup
    tier2: SupportGroup
    tier3: SupportGroup
    network: SupportGroup
    desktop: SupportGroup
    agent1: User  # Tier 1, serves all organisations
    agent2: User  # Tier 2, serves all organisations
    agent_a: User  # Tier 1, serves only organisation A
    lead: User
    manager: User
    admin: User
    user_a: User
    user_a2: User
    contact_a: User
    orgadmin_a: User
    user_b: User
    password: str = PASSWORD

    def actor(self, user: User) -> Actor:
        return actor_for_user(user)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["frontline.core.testing.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache(settings):
    """Rate-limit counters and lockouts live in the cache: start every test from zero.

    With Redis as the cache (CI's PostgreSQL run), each xdist worker gets its own Redis database
    so one worker's clear() does not wipe another's counters mid-test."""
    from django.core.cache import cache

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    location = settings.CACHES["default"].get("LOCATION", "")
    if worker and "redis" in settings.CACHES["default"]["BACKEND"].lower():
        index = 2 + int(worker.removeprefix("gw") or 0)
        settings.CACHES = {
            "default": {
                **settings.CACHES["default"],
                "LOCATION": re.sub(r"/\d*$", f"/{index}", location),
            }
        }

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(db) -> Desk:
    provider = ProviderFactory()
    org_a = OrganizationFactory(name="Acme Corp", slug="acme", email_domains="acme.example")
    org_b = OrganizationFactory(name="Globex Inc", slug="globex", email_domains="globex.example")
    tier1 = SupportGroupFactory(name="Service Desk", kind=SupportGroup.Kind.SERVICE_DESK, tier=1)
    tier2 = SupportGroupFactory(name="Tier 2", tier=2)
    tier3 = SupportGroupFactory(name="Tier 3", tier=3)
    network = SupportGroupFactory(name="Network", kind=SupportGroup.Kind.SPECIALIST, tier=3)
    desktop = SupportGroupFactory(name="Desktop Support", kind=SupportGroup.Kind.DESKTOP, tier=2)
    tier1.escalates_to = tier2
    tier1.save()
    tier2.escalates_to = tier3
    tier2.save()
    agent1 = AgentFactory(email="t1@provider.test", full_name="Tess Tier-One")
    agent2 = AgentFactory(email="t2@provider.test", full_name="Tom Tier-Two")
    agent_a = AgentFactory(
        email="acme-agent@provider.test", full_name="Ann Acme-Only", serves_all_organizations=False
    )
    agent_a.served_organizations.add(org_a)
    lead = AgentFactory(email="lead@provider.test", full_name="Lee Lead", role=User.Role.TEAM_LEAD)
    manager = AgentFactory(
        email="manager@provider.test", full_name="Max Manager", role=User.Role.MANAGER
    )
    admin = AgentFactory(
        email="admin@provider.test",
        full_name="Ada Admin",
        role=User.Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )
    tier1.members.add(agent1, agent_a, lead)
    tier2.members.add(agent2)
    tier1.team_lead = lead
    tier1.manager = manager
    tier1.save()
    # The default SLA calendar and policies, as the data migration seeds them (again here: a
    # transactional test, or --reuse-db after one, leaves the database flushed).
    sla_defaults_ensure()
    return Desk(
        provider=provider,
        org_a=org_a,
        org_b=org_b,
        tier1=tier1,
        tier2=tier2,
        tier3=tier3,
        network=network,
        desktop=desktop,
        agent1=agent1,
        agent2=agent2,
        agent_a=agent_a,
        lead=lead,
        manager=manager,
        admin=admin,
        user_a=UserFactory(email="alice@acme.example", full_name="Alice Acme", organization=org_a),
        user_a2=UserFactory(
            email="arnold@acme.example", full_name="Arnold Acme", organization=org_a
        ),
        contact_a=UserFactory(
            email="carol@acme.example",
            full_name="Carol Contact",
            organization=org_a,
            role=User.Role.ORG_CONTACT,
        ),
        orgadmin_a=UserFactory(
            email="oscar@acme.example",
            full_name="Oscar OrgAdmin",
            organization=org_a,
            role=User.Role.ORG_ADMIN,
        ),
        user_b=UserFactory(email="bob@globex.example", full_name="Bob Globex", organization=org_b),
    )
