"""A large, realistic desk for benchmarks: `frontline bench seed --tickets N`.

Organisations, support groups per tier, agents, end users, categories, and N tickets spread over
three years (busier towards the end), each with 1-6 timeline events (audit events, as the
services write them), 0-4 comments (each with its own "commented"/"note" event) and now and then
an attachment's metadata (no file on disk). One ticket in a thousand is a long-running case with
exactly 20 events, for the "ticket page with a 20-event timeline" benchmark.

Rows are generated in Python and written in bulk, never through the services (a million tickets
through the ORM would take hours): COPY on PostgreSQL (psycopg 3 `cursor.copy`), batched
`executemany` INSERTs elsewhere (bulk_create would overwrite the generated `created_at` with
`auto_now_add`). On PostgreSQL the plain indexes of the big tables are dropped for the load and
rebuilt from their saved definitions afterwards, and the tables are VACUUM ANALYZEd.

The same seed and the same `until` give the same data, row for row."""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction

from frontline.accounts.models import ApiToken, SupportGroup, User
from frontline.core.models import AuditEvent
from frontline.tenants.models import Organization
from frontline.tickets.demo.vocabulary import (
    ACKNOWLEDGEMENTS,
    CATEGORY_TREE,
    CHASERS,
    ISSUES,
    PICKUP_NOTES,
    RESOLUTION_REPLIES,
    THANKS,
    VENDOR_NOTES,
    Issue,
)
from frontline.tickets.models import Attachment, Category, Comment, Ticket
from frontline.tickets.selectors import OPEN_STATUSES
from frontline.tickets.services import DEFAULT_MATRIX, number_counter_set

BENCH_PASSWORD = "frontline-bench"  # noqa: S105 (every seeded account: a benchmark, not a secret)
BENCH_AGENT_EMAIL = "agent1@provider.bench"  # serves every organisation, in the Service Desk
DEFAULT_UNTIL = datetime(2026, 11, 1, tzinfo=UTC)  # fixed: the same seed gives the same rows
HISTORY_DAYS = 3 * 365
LONG_EVERY = 1000  # one ticket in LONG_EVERY has a 20-event timeline
LONG_EVENTS = 20
CHUNK = 20_000  # tickets generated, written and committed at a time

S = Ticket.Status
K = AuditEvent.Kind
OPEN = tuple(OPEN_STATUSES)
# The ITIL default the seed migration also installs (one definition, in services).
MATRIX = DEFAULT_MATRIX

GROUPS: tuple[tuple[str, str, int], ...] = (
    ("Service Desk", SupportGroup.Kind.SERVICE_DESK, 1),
    ("Tier 2", SupportGroup.Kind.TIER, 2),
    ("Tier 3", SupportGroup.Kind.TIER, 3),
    ("Network", SupportGroup.Kind.SPECIALIST, 3),
    ("Security", SupportGroup.Kind.SPECIALIST, 3),
    ("Desktop Support", SupportGroup.Kind.DESKTOP, 2),
)
ESCALATES_TO = {"Service Desk": "Tier 2", "Tier 2": "Tier 3", "Desktop Support": "Tier 3"}
# Share of agents per group (the service desk is the biggest team).
GROUP_SHARE = {
    "Service Desk": 0.4,
    "Tier 2": 0.2,
    "Tier 3": 0.1,
    "Network": 0.1,
    "Security": 0.05,
    "Desktop Support": 0.15,
}

FIRST_NAMES = [
    "Alice",
    "Amir",
    "Ana",
    "Ben",
    "Chen",
    "Chloe",
    "David",
    "Dmitri",
    "Elena",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jack",
    "Jana",
    "Jonas",
    "Kai",
    "Kofi",
    "Lara",
    "Leo",
    "Liam",
    "Lina",
    "Lucas",
    "Maria",
    "Mateo",
    "Mei",
    "Mia",
    "Nadia",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Paul",
    "Priya",
    "Quinn",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Tariq",
    "Tessa",
    "Tom",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Berg",
    "Carter",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Hansen",
    "Ito",
    "Jensen",
    "Kaur",
    "Khan",
    "Kowalski",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nguyen",
    "Novak",
    "Okafor",
    "Patel",
    "Petrova",
    "Quist",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Smith",
    "Tanaka",
    "Taylor",
    "Vargas",
    "Wagner",
    "Walsh",
    "Weber",
    "Wright",
    "Young",
    "Zhang",
]
ORG_WORDS = [
    "Acme",
    "Apex",
    "Atlas",
    "Beacon",
    "Blue",
    "Cedar",
    "Coastal",
    "Delta",
    "Eagle",
    "Echo",
    "Falcon",
    "Granite",
    "Harbor",
    "Helix",
    "Horizon",
    "Iris",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Meridian",
    "Nimbus",
    "Nova",
    "Oak",
    "Orbit",
    "Pine",
    "Quantum",
    "Redwood",
    "Ridge",
    "Sierra",
    "Summit",
    "Terra",
    "Vertex",
    "Willow",
    "Zenith",
]
ORG_KINDS = [
    "Corp",
    "Logistics",
    "Health",
    "Legal",
    "Retail",
    "Foods",
    "Energy",
    "Labs",
    "Bank",
    "Media",
    "Partners",
]
VALUES: dict[str, tuple[str, ...]] = {
    "site": ("Head Office", "Leeds", "Dublin", "Rotterdam", "Lyon", "Munich", "Warehouse 2"),
    "floor": ("ground floor", "1st floor", "2nd floor", "3rd floor", "4th floor"),
    "printer": ("PRN-2F-01", "PRN-3F-02", "PRN-GF-01", "PRN-4F-03"),
    "model": ("Latitude 7440", "ThinkPad T14", "EliteBook 840", "MacBook Pro"),
    "monitor": ("U2723QE", "P24h G5", "27UL550"),
    "app": ("SAP", "Dynamics 365", "Salesforce", "Workday", "ServiceNow", "Sage", "Jira"),
    "share": ("\\\\fs01\\finance", "\\\\fs01\\hr", "\\\\fs02\\projects", "\\\\fs02\\sales"),
    "ssid": ("CORP-WIFI", "GUEST", "CORP-5G"),
    "starter": ("Jamie Fox", "Robin Park", "Alex Moreno", "Sasha Klein"),
    "vendor": ("Dell", "Lenovo", "HP", "Microsoft", "Cisco", "Fortinet"),
    "group": ("Tier 2", "Tier 3", "Network", "Desktop Support"),
}
ERROR_CODES = tuple(f"0x8007{n:04X}" for n in (5, 13, 32, 57, 64, 1392, 2147, 6, 1450, 1722))
RESOLUTION_CODES = {
    "incident": (
        Ticket.ResolutionCode.SOLVED_REMOTELY,
        Ticket.ResolutionCode.WORKAROUND,
        Ticket.ResolutionCode.SOLVED_ONSITE,
        Ticket.ResolutionCode.USER_ERROR,
    ),
    "request": (Ticket.ResolutionCode.FULFILLED,),
}
ATTACHMENTS = (
    ("screenshot.png", "image/png"),
    ("error.jpg", "image/jpeg"),
    ("logs.zip", "application/zip"),
    ("report.pdf", "application/pdf"),
    ("export.csv", "text/csv"),
)

TICKET_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "number",
    "type",
    "subject",
    "description",
    "channel",
    "affected_service",
    "location",
    "impact",
    "urgency",
    "priority",
    "status",
    "tier",
    "escalation_count",
    "escalated_to_manager",
    "was_pending_customer",
    "first_response_at",
    "resolution_code",
    "resolution_notes",
    "resolved_at",
    "resolved_tier",
    "first_contact_resolution",
    "closed_at",
    "reopen_count",
    "version",
    "assignee_id",
    "category_id",
    "created_by_id",
    "duplicate_of_id",
    "group_id",
    "parent_id",
    "requester_id",
    "resolved_by_id",
    "subcategory_id",
    "tenant_id",
)
COMMENT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "body",
    "is_internal",
    "channel",
    "author_id",
    "tenant_id",
    "ticket_id",
)
EVENT_COLUMNS = (
    "id",
    "target_type",
    "target_id",
    "actor_label",
    "kind",
    "field",
    "old_value",
    "new_value",
    "data",
    "is_public",
    "created_at",
    "actor_id",
    "tenant_id",
)
ATTACHMENT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "uid",
    "file",
    "filename",
    "content_type",
    "size",
    "is_internal",
    "tenant_id",
    "uploaded_by_id",
    "comment_id",
    "ticket_id",
)
BIG_TABLES = ("tickets_ticket", "tickets_comment", "core_auditevent", "tickets_attachment")


class SeedRefused(Exception):
    """The database is not empty (or the arguments are unusable)."""


@dataclass
class SeedResult:
    organizations: int = 0
    groups: int = 0
    agents: int = 0
    end_users: int = 0
    tickets: int = 0
    comments: int = 0
    events: int = 0
    attachments: int = 0
    long_tickets: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


class _Weighted:
    """random.choices with precomputed cumulative weights, one pick at a time."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


def _zipf(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (k**s) for k in range(1, n + 1)]


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# --- writing ---------------------------------------------------------------------------------


class _Writer:
    """COPY on PostgreSQL; batched executemany elsewhere."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        cols = ", ".join(columns)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 (fixed table and column names)
            batch = [tuple(self._adapt(v) for v in row) for row in rows]
            for start in range(0, len(batch), 2000):
                cursor.executemany(sql, batch[start : start + 2000])

    @staticmethod
    def _adapt(value: Any) -> Any:
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, uuid.UUID):
            return value.hex
        return value


# --- the directory: organisations, groups, people, categories --------------------------------


@dataclass
class _Directory:
    orgs: list[int]  # client organisation ids
    org_pick: _Weighted
    provider_id: int
    groups: dict[str, int]
    group_tier: dict[int, int]
    members: dict[int, list[int]]  # group id -> agent ids
    agent_names: dict[int, str]
    people: dict[int, list[int]]  # organisation id -> end user ids
    people_pick: dict[int, _Weighted]
    user_names: dict[int, str]
    categories: list[tuple[Issue, int, int, int]]  # issue, category id, subcategory id, group id
    issue_pick: _Weighted


def _sizes(tickets: int, orgs: int | None) -> tuple[int, int, int]:
    n_orgs = orgs if orgs is not None else max(3, min(60, round(math.sqrt(tickets / 250))))
    # ~900 tickets a day at a million over three years: ~125 agents (~7 tickets per agent-day).
    agents = max(12, min(200, tickets // 8000))
    end_users = max(5 * n_orgs, min(60_000, tickets // 20))
    return n_orgs, agents, end_users


def _directory(
    rng: random.Random, writer: _Writer, tickets: int, orgs: int | None, until: datetime
) -> tuple[_Directory, SeedResult]:
    n_orgs, n_agents, n_users = _sizes(tickets, orgs)
    start = until - timedelta(days=HISTORY_DAYS + 30)
    result = SeedResult()
    # A fixed salt keeps the rows identical from run to run (a benchmark account, not a secret).
    password = make_password(BENCH_PASSWORD, salt="frontlinebenchsalt")

    names = [f"{w} {k}" for k in ORG_KINDS for w in ORG_WORDS]
    rng.shuffle(names)
    org_rows = [
        (1, start, start, "Bench Provider", "provider", True, "provider.bench", "UTC", None, True)
    ]
    for i in range(n_orgs):
        name = names[i] if i < len(names) else f"Client {i + 1}"
        org_rows.append(
            (
                i + 2,
                start,
                start,
                name,
                f"org{i + 1}",
                False,
                f"org{i + 1}.bench",
                "UTC",
                None,
                True,
            )
        )
    writer.insert(
        "tenants_organization",
        (
            "id",
            "created_at",
            "updated_at",
            "name",
            "slug",
            "is_provider",
            "email_domains",
            "time_zone",
            "reopen_window_days",
            "is_active",
        ),
        org_rows,
    )
    client_ids = [r[0] for r in org_rows[1:]]
    result.organizations = len(org_rows)

    user_cols = (
        "id",
        "password",
        "last_login",
        "is_superuser",
        "email",
        "full_name",
        "role",
        "serves_all_organizations",
        "phone",
        "time_zone",
        "is_active",
        "is_staff",
        "date_joined",
        "organization_id",
    )
    user_rows: list[tuple[Any, ...]] = []
    agent_names: dict[int, str] = {}
    served: list[tuple[int, int, int]] = []
    next_id = itertools.count(1)
    for i in range(n_agents):
        uid = next(next_id)
        name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}"
        role = User.Role.AGENT
        if i % 10 == 5:
            role = User.Role.TEAM_LEAD
        elif i % 40 == 9:
            role = User.Role.MANAGER
        elif i == n_agents - 1:
            role = User.Role.ADMIN
        serves_all = i % 8 != 7  # one agent in eight serves a few named clients only
        if not serves_all:
            for org_id in rng.sample(client_ids, min(3, len(client_ids))):
                served.append((len(served) + 1, uid, org_id))
        user_rows.append(
            (
                uid,
                password,
                None,
                role == User.Role.ADMIN,
                f"agent{i + 1}@provider.bench",
                name,
                role,
                serves_all,
                "",
                "UTC",
                True,
                role == User.Role.ADMIN,
                start,
                1,
            )
        )
        agent_names[uid] = name
    people: dict[int, list[int]] = {org: [] for org in client_ids}
    user_names: dict[int, str] = {}
    org_weights = _zipf(len(client_ids), 0.9)
    org_pick = _Weighted(client_ids, org_weights)
    # Each organisation gets people in proportion to its share of tickets (at least 5).
    total_weight = sum(org_weights)
    for org_id, weight in zip(client_ids, org_weights, strict=True):
        count = max(5, round(n_users * weight / total_weight))
        for j in range(count):
            uid = next(next_id)
            name = (
                f"{FIRST_NAMES[(uid * 13) % len(FIRST_NAMES)]} "
                f"{LAST_NAMES[(uid * 17) % len(LAST_NAMES)]}"
            )
            role = User.Role.END_USER
            if j == 0:
                role = User.Role.ORG_CONTACT
            elif j == 1:
                role = User.Role.ORG_ADMIN
            user_rows.append(
                (
                    uid,
                    password,
                    None,
                    False,
                    f"user{j + 1}@org{org_id - 1}.bench",
                    name,
                    role,
                    False,
                    "",
                    "UTC",
                    True,
                    False,
                    start,
                    org_id,
                )
            )
            people[org_id].append(uid)
            user_names[uid] = name
    writer.insert("accounts_user", user_cols, user_rows)
    writer.insert(
        "accounts_user_served_organizations", ("id", "user_id", "organization_id"), served
    )
    result.agents = n_agents
    result.end_users = len(user_rows) - n_agents

    agent_ids = list(agent_names)
    groups: dict[str, int] = {}
    group_rows = []
    for gid, (name, kind, tier) in enumerate(GROUPS, start=1):
        groups[name] = gid
        group_rows.append((gid, name, kind, tier, f"{name} (benchmark desk)", "", True))
    writer.insert(
        "accounts_supportgroup",
        ("id", "name", "kind", "tier", "description", "email", "is_active"),
        group_rows,
    )
    members: dict[int, list[int]] = {gid: [] for gid in groups.values()}
    shares = _Weighted(list(groups.values()), [GROUP_SHARE[n] for n in groups])
    for idx, uid in enumerate(agent_ids):
        # agent1 (BENCH_AGENT_EMAIL) and the first of every group are fixed; the rest by share.
        gid = (
            groups["Service Desk"]
            if idx == 0
            else (
                list(groups.values())[idx % len(groups)] if idx < len(groups) else shares.pick(rng)
            )
        )
        members[gid].append(uid)
    member_rows = [
        (n, gid, uid)
        for n, (gid, uid) in enumerate(((g, u) for g, us in members.items() for u in us), start=1)
    ]
    writer.insert(
        "accounts_supportgroup_members", ("id", "supportgroup_id", "user_id"), member_rows
    )
    with connection.cursor() as cursor:
        for name, target in ESCALATES_TO.items():
            cursor.execute(
                "UPDATE accounts_supportgroup SET escalates_to_id = %s WHERE id = %s",
                [groups[target], groups[name]],
            )
        for gid, uids in members.items():
            cursor.execute(
                "UPDATE accounts_supportgroup SET team_lead_id = %s, manager_id = %s WHERE id = %s",
                [uids[0], agent_ids[-1], gid],
            )
    result.groups = len(groups)

    cat_rows: list[tuple[Any, ...]] = []
    cat_ids: dict[tuple[str, str], int] = {}
    for top, top_group, subs in CATEGORY_TREE:
        cid = len(cat_rows) + 1
        cat_rows.append((cid, top, True, groups[top_group], None))
        cat_ids[(top, "")] = cid
        for sub, sub_group_name in subs:
            sid = len(cat_rows) + 1
            cat_rows.append((sid, sub, True, groups[sub_group_name], cid))
            cat_ids[(top, sub)] = sid
    writer.insert(
        "tickets_category", ("id", "name", "is_active", "default_group_id", "parent_id"), cat_rows
    )
    sub_group: dict[int, int] = {row[0]: row[3] for row in cat_rows}
    categories: list[tuple[Issue, int, int, int]] = []
    for issue in ISSUES:
        cid, sid = cat_ids[(issue.category, "")], cat_ids[(issue.category, issue.subcategory)]
        categories.append((issue, cid, sid, sub_group[sid]))
    issue_pick = _Weighted(categories, [issue.weight for issue, *_ in categories])
    people_pick = {org: _Weighted(ids, _zipf(len(ids), 1.0)) for org, ids in people.items()}
    group_tier = {gid: tier for (_, _, tier), gid in zip(GROUPS, groups.values(), strict=True)}
    return (
        _Directory(
            orgs=client_ids,
            org_pick=org_pick,
            provider_id=1,
            groups=groups,
            group_tier=group_tier,
            members=members,
            agent_names=agent_names,
            people=people,
            people_pick=people_pick,
            user_names=user_names,
            categories=categories,
            issue_pick=issue_pick,
        ),
        result,
    )


# --- tickets ---------------------------------------------------------------------------------


@dataclass
class _Counters:
    ticket: int = 0
    comment: int = 0
    event: int = 0
    attachment: int = 0
    inc: int = 0
    req: int = 0
    long: int = 0


@dataclass
class _Chunk:
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    comments: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)


CHANNELS = _Weighted(list(Ticket.Channel.values), [20, 40, 25, 8, 4, 3])
IMPACT = _Weighted([1, 2, 3], [5, 25, 70])
URGENCY = _Weighted([1, 2, 3], [10, 35, 55])
OPEN_MIX = _Weighted(list(OPEN), [15, 30, 30, 12, 8, 5])
COMMENT_COUNT = _Weighted([0, 1, 2, 3, 4], [30, 30, 20, 12, 8])


def _created_at(i: int, n: int, rng: random.Random, start: datetime) -> datetime:
    """The i-th of n tickets in time order; the desk gets twice as busy over three years
    (density 1 + x on [0, 1]: x = sqrt(1 + 3u) - 1)."""
    u = (i + rng.random()) / n
    x = math.sqrt(1.0 + 3.0 * u) - 1.0
    return start + timedelta(seconds=x * HISTORY_DAYS * 86400)


def _text(template: str, values: _Values) -> str:
    return template.format_map(values)


def _ticket(
    i: int, n: int, rng: random.Random, d: _Directory, until: datetime, c: _Counters, out: _Chunk
) -> None:
    start = until - timedelta(days=HISTORY_DAYS)
    created = _created_at(i, n, rng, start)
    age_days = (until - created).total_seconds() / 86400
    long_case = i % LONG_EVERY == LONG_EVERY // 2
    issue, cat_id, sub_id, home_group = d.issue_pick.pick(rng)
    variant = issue.variants[int(rng.random() * len(issue.variants))]
    org = d.org_pick.pick(rng)
    requester = d.people_pick[org].pick(rng)
    first = d.user_names[requester].split(" ")[0]
    values = _Values({k: v[int(rng.random() * len(v))] for k, v in VALUES.items()})
    values["first"] = first
    values["fix"] = variant.fix
    subject = _text(variant.subject, values)
    description = _text(variant.description, values)
    if rng.random() < 0.4:
        description += (
            f" Asset tag {'LT' if rng.random() < 0.6 else 'WS'}-{rng.randrange(100000):05d}."
        )
    if rng.random() < 0.15:
        description += f" Error {ERROR_CODES[int(rng.random() * len(ERROR_CODES))]}."
    channel = CHANNELS.pick(rng)
    impact, urgency = IMPACT.pick(rng), URGENCY.pick(rng)
    priority = MATRIX[(impact, urgency)]

    # Where it ended up and who has it.
    if long_case:
        status = S.IN_PROGRESS
    elif age_days > 30:
        roll = rng.random()
        status = S.CLOSED if roll < 0.985 else (S.RESOLVED if roll < 0.99 else OPEN_MIX.pick(rng))
    elif rng.random() < 0.85 * math.exp(-age_days / 6) + 0.03:
        status = OPEN_MIX.pick(rng)
    else:
        status = S.RESOLVED if age_days < 7 else S.CLOSED
    group = home_group
    escalations = 0
    if (variant.escalate and rng.random() < 0.7) or rng.random() < 0.05:
        target = d.groups.get(issue.escalate_to) or d.groups["Tier 2"]
        if target != group:
            group, escalations = target, 1
    tier = d.group_tier[group]
    members = d.members[group]
    assignee = None if status == S.NEW else members[int(rng.random() * len(members))]
    agent_intake = channel in {Ticket.Channel.PHONE, Ticket.Channel.WALK_UP, Ticket.Channel.CHAT}
    desk = d.members[d.groups["Service Desk"]]
    created_by = desk[int(rng.random() * len(desk))] if agent_intake else requester
    done = status in {S.RESOLVED, S.CLOSED}
    # The last moment anything happened.
    span_hours = rng.uniform(0.5, 72) if not long_case else rng.uniform(24, 400)
    end = min(created + timedelta(hours=span_hours), until)
    resolved_at = end if done else None
    closed_at = (end + timedelta(days=rng.uniform(2, 7))) if status == S.CLOSED else None
    if closed_at is not None and closed_at > until:
        closed_at = until
    n_comments = 14 if long_case else COMMENT_COUNT.pick(rng)

    c.ticket += 1
    tid = c.ticket
    if issue.type == Ticket.Type.INCIDENT:
        c.inc += 1
        number = f"INC-{c.inc:06d}"
    else:
        c.req += 1
        number = f"REQ-{c.req:06d}"

    # Steps of the timeline: (when, kind, field, old, new, data, public, actor)
    steps: list[tuple[datetime, str, str, str, str, dict[str, Any], bool, int | None]] = []
    group_name = next(name for name, gid in d.groups.items() if gid == group)
    steps.append(
        (
            created,
            K.CREATED,
            "",
            "",
            "",
            {
                "number": number,
                "channel": channel,
                "priority": priority,
                "group": group_name,
                "assignee": None,
            },
            True,
            created_by,
        )
    )
    moments = sorted(created + (end - created) * rng.random() for _ in range(8 + n_comments))
    m = iter(moments)
    if assignee is not None:
        names = f"{group_name} / {d.agent_names[assignee]}"
        steps.append(
            (
                next(m),
                K.ASSIGNED,
                "assignment",
                "",
                names,
                {"group_id": group, "assignee_id": assignee},
                True,
                assignee,
            )
        )
        if status != S.ASSIGNED:
            steps.append(
                (next(m), K.STATUS, "status", S.ASSIGNED, S.IN_PROGRESS, {}, True, assignee)
            )
    was_pending = status == S.PENDING_CUSTOMER or (assignee is not None and rng.random() < 0.1)
    if long_case:
        steps.append(
            (next(m), K.STATUS, "status", S.IN_PROGRESS, S.PENDING_CUSTOMER, {}, True, assignee)
        )
        steps.append(
            (
                next(m),
                K.STATUS,
                "status",
                S.PENDING_CUSTOMER,
                S.IN_PROGRESS,
                {"reason": "Requester replied"},
                True,
                requester,
            )
        )
        steps.append(
            (
                next(m),
                K.ASSIGNED,
                "assignment",
                "",
                names,
                {"group_id": group, "assignee_id": assignee},
                True,
                assignee,
            )
        )
    elif status in {S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.PENDING_CHANGE}:
        steps.append((next(m), K.STATUS, "status", S.IN_PROGRESS, status, {}, True, assignee))
    code: str = ""
    if done:
        code = RESOLUTION_CODES[issue.type][int(rng.random() * len(RESOLUTION_CODES[issue.type]))]
        steps.append(
            (
                resolved_at or end,
                K.RESOLVED,
                "status",
                S.IN_PROGRESS,
                S.RESOLVED,
                {"resolution_code": code, "resolution_notes": variant.fix},
                True,
                assignee,
            )
        )
        if closed_at is not None:
            steps.append((closed_at, K.CLOSED, "status", S.RESOLVED, S.CLOSED, {}, True, assignee))
    version = len(steps)

    # Comments (each with its event), between creation and the end.
    first_response = None
    attach_done = rng.random() >= (0.5 if long_case else 0.06)
    for k in range(n_comments):
        when = next(m, end)
        if assignee is not None and (k % 2 == 0 or (long_case and k % 3)):
            author, internal = assignee, rng.random() < 0.3
            pool = (
                ACKNOWLEDGEMENTS
                if k == 0
                else PICKUP_NOTES
                if internal
                else RESOLUTION_REPLIES
                if done and k == n_comments - 1
                else VENDOR_NOTES
            )
            if not internal and first_response is None:
                first_response = when
        else:
            author, internal = requester, False
            pool = THANKS if done and k == n_comments - 1 else CHASERS
        body = _text(pool[int(rng.random() * len(pool))], values)
        if k == 0 and rng.random() < 0.2:
            body += f" Ref {ERROR_CODES[int(rng.random() * len(ERROR_CODES))]}."
        c.comment += 1
        cid = c.comment
        out.comments.append(
            (
                cid,
                when,
                when,
                body,
                internal,
                "email" if author == requester else "",
                author,
                org,
                tid,
            )
        )
        steps.append(
            (
                when,
                K.NOTE if internal else K.COMMENTED,
                "",
                "",
                "",
                {"comment_id": cid},
                not internal,
                author,
            )
        )
        if not attach_done:
            attach_done = True
            c.attachment += 1
            name, ctype = ATTACHMENTS[int(rng.random() * len(ATTACHMENTS))]
            aid = uuid.UUID(int=rng.getrandbits(128), version=4)
            out.attachments.append(
                (
                    c.attachment,
                    when,
                    when,
                    aid,
                    f"attachments/{org}/{aid.hex}",
                    name,
                    ctype,
                    rng.randrange(2_000, 4_000_000),
                    internal,
                    org,
                    author,
                    cid,
                    tid,
                )
            )
    steps.sort(key=lambda s: s[0])
    if long_case:
        c.long += 1
    for when, kind, fld, old, new, data, public, actor in steps:
        c.event += 1
        label = d.agent_names.get(actor) or d.user_names.get(actor, "") if actor else "system"
        out.events.append(
            (
                c.event,
                "tickets.ticket",
                tid,
                label,
                kind,
                fld,
                old,
                new,
                json.dumps(data),
                public,
                when,
                actor,
                org,
            )
        )
    updated = max(steps[-1][0], created)
    fcr = (escalations == 0 and n_comments <= 1) if done else None
    out.tickets.append(
        (
            tid,
            created,
            updated,
            number,
            issue.type,
            subject[:255],
            description,
            channel,
            issue.service,
            values["site"] if agent_intake else "",
            impact,
            urgency,
            priority,
            status,
            tier,
            escalations,
            False,
            was_pending,
            first_response,
            code,
            variant.fix if done else "",
            resolved_at,
            tier if done else None,
            fcr,
            closed_at,
            0,
            version,
            assignee,
            cat_id,
            created_by,
            None,
            group,
            None,
            requester,
            assignee if done else None,
            sub_id,
            org,
        )
    )


# --- indexes (PostgreSQL) --------------------------------------------------------------------


def _plain_indexes() -> list[tuple[str, str]]:
    """(name, definition) of the big tables' indexes that no constraint owns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
            "current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM "
            "pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname",
            [list(BIG_TABLES)],
        )
        return [(name, definition) for name, definition in cursor.fetchall()]


def _foreign_keys() -> list[tuple[str, str, str]]:
    """(table, name, definition) of the big tables' foreign keys. Dropped for the load and added
    back afterwards: one validating join per key instead of a trigger call per row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relname = ANY(%s) "
            "ORDER BY t.relname, c.conname",
            [list(BIG_TABLES)],
        )
        return [(table, name, definition) for table, name, definition in cursor.fetchall()]


# --- the command's entry point ---------------------------------------------------------------


def bench_seed(
    *,
    tickets: int,
    orgs: int | None = None,
    seed: int = 1,
    until: datetime = DEFAULT_UNTIL,
    progress: Callable[[int], None] | None = None,
    phase: Callable[[str], None] | None = None,
) -> SeedResult:
    """Fill an empty database with a benchmark desk. Raises SeedRefused when it holds data."""
    if tickets < 0:
        raise SeedRefused("--tickets must be zero or more.")
    if orgs is not None and not 1 <= orgs <= 400:
        raise SeedRefused("--orgs must be between 1 and 400.")
    if Organization.objects.exists() or User.objects.exists():
        raise SeedRefused(
            "The database already holds organisations or users; the benchmark seed only loads "
            "into an empty (freshly migrated) database."
        )
    started = time.monotonic()
    say = phase or (lambda _text: None)
    rng = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
    writer = _Writer()
    phases: dict[str, float] = {}
    mark = time.monotonic()
    with transaction.atomic():
        directory, result = _directory(rng, writer, tickets, orgs, until)
    phases["directory"] = time.monotonic() - mark

    dropped: list[tuple[str, str]] = []
    keys: list[tuple[str, str, str]] = []
    if writer.postgres and tickets >= 50_000:
        dropped, keys = _plain_indexes(), _foreign_keys()
        with connection.cursor() as cursor:
            for table, name, _definition in keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in dropped:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    counters = _Counters()
    mark = time.monotonic()
    say("tickets")
    for begin in range(0, tickets, CHUNK):
        chunk = _Chunk()
        for i in range(begin, min(begin + CHUNK, tickets)):
            _ticket(i, tickets, rng, directory, until, counters, chunk)
        with transaction.atomic():
            if writer.postgres:
                with connection.cursor() as cursor:
                    # A crash mid-load means seeding again anyway: don't wait for each flush.
                    cursor.execute("SET LOCAL synchronous_commit = off")
            writer.insert("tickets_ticket", TICKET_COLUMNS, chunk.tickets)
            writer.insert("tickets_comment", COMMENT_COLUMNS, chunk.comments)
            writer.insert("core_auditevent", EVENT_COLUMNS, chunk.events)
            writer.insert("tickets_attachment", ATTACHMENT_COLUMNS, chunk.attachments)
        if progress:
            progress(len(chunk.tickets))
    phases["tickets"] = time.monotonic() - mark

    mark = time.monotonic()
    with connection.cursor() as cursor:
        if dropped:
            say("indexes")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in dropped:
                cursor.execute(definition)
        if keys:
            say("foreign keys")
            for table, name, definition in keys:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        models: list[Any] = [
            Organization,
            User,
            SupportGroup,
            Category,
            Ticket,
            Comment,
            Attachment,
            AuditEvent,
            ApiToken,
            User.served_organizations.through,
            SupportGroup.members.through,
        ]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
    number_counter_set("INC", counters.inc)
    number_counter_set("REQ", counters.req)
    phases["indexes"] = time.monotonic() - mark
    mark = time.monotonic()
    if writer.postgres:
        say("vacuum analyze")
        with connection.cursor() as cursor:
            for table in (*BIG_TABLES, "accounts_user", "tenants_organization"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    phases["analyze"] = time.monotonic() - mark

    result.tickets = counters.ticket
    result.comments = counters.comment
    result.events = counters.event
    result.attachments = counters.attachment
    result.long_tickets = counters.long
    result.seconds = time.monotonic() - started
    result.phases = phases
    return result


def chunks(total: int) -> Iterator[int]:
    """Sizes of the progress steps bench_seed reports (for a progress bar's total)."""
    for begin in range(0, total, CHUNK):
        yield min(CHUNK, total - begin)
