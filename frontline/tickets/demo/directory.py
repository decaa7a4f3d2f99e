"""The demo's organisations, support groups, people and categories.

People are created through `accounts.services.user_create`, so each has its audit event. There
is no service yet for organisations, support groups, categories or an agent's staffing flags
(serves all organisations, served organisations, staff/superuser): those rows are written here
directly, as an administrator would in /admin/."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from frontline.accounts import services as account_services
from frontline.accounts.models import SupportGroup, User
from frontline.core.access import Actor
from frontline.tenants.models import Organization
from frontline.tickets.demo.vocabulary import CATEGORY_TREE
from frontline.tickets.models import Category

R = User.Role
K = SupportGroup.Kind


@dataclass(frozen=True, slots=True)
class OrgSpec:
    name: str
    slug: str
    domain: str
    time_zone: str
    sites: tuple[str, ...] = ()
    ssid: str = ""
    shares: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    weight: int = 0  # share of the ticket volume
    # (full name, role); the first person of each role org_contact/org_admin is the designated one
    people: tuple[tuple[str, str], ...] = ()


PROVIDER = OrgSpec(
    "Northwind IT Services", "northwind", "northwind.example", "Europe/London", ("Leeds office",)
)

CLIENTS: tuple[OrgSpec, ...] = (
    OrgSpec(
        "Acme Manufacturing",
        "acme",
        "acme.example",
        "America/Detroit",
        sites=("Detroit plant", "Toledo warehouse", "Head office"),
        ssid="ACME-CORP",
        shares=("Engineering", "Quality", "Purchasing"),
        apps=("SAP S/4HANA", "MES"),
        weight=45,
        people=(
            ("Karen Walsh", R.ORG_CONTACT),
            ("Derek Olsen", R.ORG_ADMIN),
            ("Maria Gonzalez", R.END_USER),
            ("James Whitfield", R.END_USER),
            ("Aisha Bello", R.END_USER),
            ("Tom Brennan", R.END_USER),
            ("Yuki Tanaka", R.END_USER),
            ("Frank Novak", R.END_USER),
            ("Sofia Rossi", R.END_USER),
            ("Peter Lindqvist", R.END_USER),
        ),
    ),
    OrgSpec(
        "Globex Logistics",
        "globex",
        "globex.example",
        "Europe/Amsterdam",
        sites=("Rotterdam depot", "Amsterdam office", "Antwerp hub"),
        ssid="GLOBEX",
        shares=("Planning", "Customs", "Fleet"),
        apps=("Dynamics 365", "TMS planner"),
        weight=35,
        people=(
            ("Hendrik de Vries", R.ORG_CONTACT),
            ("Sanne Jansen", R.ORG_ADMIN),
            ("Pieter Bakker", R.END_USER),
            ("Emma Visser", R.END_USER),
            ("Lucas Smit", R.END_USER),
            ("Fatima El Amrani", R.END_USER),
            ("Noah Mulder", R.END_USER),
            ("Lotte de Boer", R.END_USER),
            ("Daan Meijer", R.END_USER),
            ("Isabel Costa", R.END_USER),
        ),
    ),
    OrgSpec(
        "Initech Finance",
        "initech",
        "initech.example",
        "America/Chicago",
        sites=("Austin HQ", "Dallas branch"),
        ssid="INITECH-SECURE",
        shares=("Audit", "Treasury", "Payroll"),
        apps=("Oracle Financials", "Hyperion"),
        weight=20,
        people=(
            ("Rachel Adams", R.ORG_CONTACT),
            ("Steven Clark", R.ORG_ADMIN),
            ("Olivia Carter", R.END_USER),
            ("Ethan Walker", R.END_USER),
            ("Grace Kim", R.END_USER),
            ("Daniel Reyes", R.END_USER),
            ("Hannah Scott", R.END_USER),
            ("Kevin Nguyen", R.END_USER),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    role: str
    groups: tuple[str, ...] = ()
    serves_only: tuple[str, ...] = ()  # client slugs; empty = serves every organisation
    admin_site: bool = False


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("Adrian Stone", R.ADMIN, admin_site=True),
    AgentSpec("Helen Wright", R.MANAGER),
    AgentSpec("Victor Okafor", R.MANAGER),
    AgentSpec("Tessa Morgan", R.TEAM_LEAD, ("Service Desk",)),
    AgentSpec("Sam Patel", R.AGENT, ("Service Desk",)),
    AgentSpec("Priya Shah", R.AGENT, ("Service Desk",)),
    AgentSpec("Liam O'Connor", R.AGENT, ("Service Desk",)),
    AgentSpec("Dana Kim", R.AGENT, ("Service Desk",)),
    # A resident engineer at Acme: on their service desk rota and their on-site visits only.
    AgentSpec("Ana Souza", R.AGENT, ("Service Desk", "Desktop Support"), serves_only=("acme",)),
    AgentSpec("Omar Haddad", R.TEAM_LEAD, ("Tier 2",)),
    AgentSpec("Marcus Reed", R.AGENT, ("Tier 2",)),
    AgentSpec("Chloe Bennett", R.AGENT, ("Tier 2",)),
    AgentSpec("Elena Petrova", R.TEAM_LEAD, ("Tier 3", "Security")),
    AgentSpec("George Hughes", R.AGENT, ("Tier 3",)),
    AgentSpec("Raj Iyer", R.TEAM_LEAD, ("Network",)),
    AgentSpec("Ines Moreau", R.AGENT, ("Network",)),
    AgentSpec("Nina Kowalski", R.AGENT, ("Security",)),
    AgentSpec("Ben Carter", R.TEAM_LEAD, ("Desktop Support",)),
    AgentSpec("Jamie Fox", R.AGENT, ("Desktop Support",)),
)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    kind: str
    tier: int
    escalates_to: str | None
    lead: str | None
    manager: str
    description: str


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        "Service Desk",
        K.SERVICE_DESK,
        1,
        "Tier 2",
        "Tessa Morgan",
        "Helen Wright",
        "First line: takes every call, mail, chat and portal ticket; resolves on first contact "
        "where it can.",
    ),
    GroupSpec(
        "Tier 2",
        K.TIER,
        2,
        "Tier 3",
        "Omar Haddad",
        "Victor Okafor",
        "Second line: applications, Microsoft 365, identity and anything Tier 1 cannot fix.",
    ),
    GroupSpec(
        "Tier 3",
        K.TIER,
        3,
        None,
        "Elena Petrova",
        "Victor Okafor",
        "Third line: servers, databases, ERP back ends and vendor escalations.",
    ),
    GroupSpec(
        "Network",
        K.SPECIALIST,
        3,
        None,
        "Raj Iyer",
        "Victor Okafor",
        "LAN, Wi-Fi, VPN, firewalls and carrier links.",
    ),
    GroupSpec(
        "Security",
        K.SPECIALIST,
        3,
        None,
        "Elena Petrova",
        "Victor Okafor",
        "Phishing, malware, account compromise and security incidents.",
    ),
    GroupSpec(
        "Desktop Support",
        K.DESKTOP,
        2,
        "Tier 3",
        "Ben Carter",
        "Helen Wright",
        "On-site support: hardware repairs, installs, moves, adds and changes.",
    ),
)


def email_for(full_name: str, domain: str) -> str:
    """'Liam O'Connor' -> liam.oconnor@domain; 'Hendrik de Vries' -> hendrik.devries@domain."""
    ascii_name = unicodedata.normalize("NFKD", full_name).encode("ascii", "ignore").decode()
    first, _, last = ascii_name.lower().partition(" ")
    keep = "abcdefghijklmnopqrstuvwxyz"
    first = "".join(c for c in first if c in keep)
    last = "".join(c for c in last if c in keep)
    return f"{first}.{last}@{domain}"


@dataclass
class Directory:
    """Everything the ticket stories need to know about the desk."""

    provider: Organization
    clients: list[Organization]
    specs: dict[int, OrgSpec]  # organisation id -> its spec
    groups: dict[str, SupportGroup]
    members: dict[str, list[User]]  # group name -> members, in a fixed order
    agents: dict[str, User]  # full name -> agent
    people: dict[int, list[User]]  # organisation id -> its people (contact first, then admin)
    categories: dict[tuple[str, str], tuple[Category, Category]]
    accounts: list[User] = field(default_factory=list)  # in the order they were created

    def contact(self, org: Organization) -> User:
        return next(u for u in self.people[org.pk] if u.role == R.ORG_CONTACT)

    def org_admin(self, org: Organization) -> User:
        return next(u for u in self.people[org.pk] if u.role == R.ORG_ADMIN)

    def serves(self, agent: User, org: Organization) -> bool:
        spec = next(a for a in AGENTS if a.name == agent.full_name)
        return not spec.serves_only or org.slug in spec.serves_only


def directory_create(*, password: str) -> Directory:
    """Create the organisations, groups, people and categories of the demo desk."""
    setup = Actor.system(label="Demo setup")
    provider = Organization.objects.create(
        name=PROVIDER.name,
        slug=PROVIDER.slug,
        is_provider=True,
        email_domains=PROVIDER.domain,
        time_zone=PROVIDER.time_zone,
    )
    clients = [
        Organization.objects.create(
            name=spec.name, slug=spec.slug, email_domains=spec.domain, time_zone=spec.time_zone
        )
        for spec in CLIENTS
    ]
    by_slug = {org.slug: org for org in clients}
    specs = {org.pk: spec for org, spec in zip(clients, CLIENTS, strict=True)}
    specs[provider.pk] = PROVIDER

    accounts: list[User] = []
    agents: dict[str, User] = {}
    for agent_spec in AGENTS:
        user = account_services.user_create(
            actor=setup,
            organization_id=provider.pk,
            email=email_for(agent_spec.name, PROVIDER.domain),
            full_name=agent_spec.name,
            role=agent_spec.role,
            password=password,
        )
        # Staffing and admin-site flags have no service yet (see the module docstring).
        user.serves_all_organizations = not agent_spec.serves_only
        user.is_staff = user.is_superuser = agent_spec.admin_site
        user.save(update_fields=["serves_all_organizations", "is_staff", "is_superuser"])
        account_services.user_update(
            actor=setup, user=user, changes={"time_zone": PROVIDER.time_zone}
        )
        if agent_spec.serves_only:
            user.served_organizations.add(*(by_slug[slug] for slug in agent_spec.serves_only))
        agents[agent_spec.name] = user
        accounts.append(user)

    people: dict[int, list[User]] = {}
    for org, spec in zip(clients, CLIENTS, strict=True):
        people[org.pk] = []
        for name, role in spec.people:
            user = account_services.user_create(
                actor=setup,
                organization_id=org.pk,
                email=email_for(name, spec.domain),
                full_name=name,
                role=role,
                password=password,
            )
            account_services.user_update(
                actor=setup, user=user, changes={"time_zone": spec.time_zone}
            )
            people[org.pk].append(user)
            accounts.append(user)

    groups: dict[str, SupportGroup] = {}
    for group_spec in GROUPS:
        groups[group_spec.name] = SupportGroup.objects.create(
            name=group_spec.name,
            kind=group_spec.kind,
            tier=group_spec.tier,
            description=group_spec.description,
            email=f"{group_spec.name.lower().replace(' ', '-')}@{PROVIDER.domain}",
            team_lead=agents[group_spec.lead] if group_spec.lead else None,
            manager=agents[group_spec.manager],
        )
    for group_spec in GROUPS:
        if group_spec.escalates_to:
            group = groups[group_spec.name]
            group.escalates_to = groups[group_spec.escalates_to]
            group.save(update_fields=["escalates_to"])
    members: dict[str, list[User]] = {name: [] for name in groups}
    for agent_spec in AGENTS:
        for group_name in agent_spec.groups:
            groups[group_name].members.add(agents[agent_spec.name])
            members[group_name].append(agents[agent_spec.name])

    categories: dict[tuple[str, str], tuple[Category, Category]] = {}
    for name, group_name, children in CATEGORY_TREE:
        parent = Category.objects.create(name=name, default_group=groups[group_name])
        for child_name, child_group in children:
            child = Category.objects.create(
                name=child_name, parent=parent, default_group=groups[child_group]
            )
            categories[(name, child_name)] = (parent, child)

    return Directory(
        provider=provider,
        clients=clients,
        specs=specs,
        groups=groups,
        members=members,
        agents=agents,
        people=people,
        categories=categories,
        accounts=accounts,
    )
