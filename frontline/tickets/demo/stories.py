"""Ticket histories for the demo, played through the real services.

Each ticket's life is a *story*: a generator that yields the moment of its next step and, when
resumed, performs that step by calling a service as the person who would do it (the requester,
an agent of the right tier, the mail intake, the auto-close job). A small scheduler runs the steps
of all stories in time order with the clock set to each step's moment, so numbers, ids, the audit
trail and every timestamp read like a desk that has been running for months. Steps that would lie
in the future are simply not played: a recent ticket is still open, as it would be.

Every random choice comes from the story's own `random.Random`, seeded from the demo seed and the
story's index, and is drawn before any step that depends on the clock: the same seed gives the
same tickets, whatever the time of day the demo is loaded."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings

from frontline.accounts.models import SupportGroup, User
from frontline.accounts.selectors import actor_for_user
from frontline.core.access import Actor
from frontline.tenants.models import Organization
from frontline.tickets import services
from frontline.tickets.demo import vocabulary as v
from frontline.tickets.demo.directory import Directory, OrgSpec
from frontline.tickets.models import Escalation, Ticket

S = Ticket.Status
C = Ticket.Channel
RC = Ticket.ResolutionCode
Story = Generator[datetime, None, None]
T = TypeVar("T")

MINUTE = 1.0
HOUR = 60.0
DAY = 24 * 60.0
OPEN_HOUR, CLOSE_HOUR = 8, 18  # the desk's hours, in each client's time zone, Monday to Friday


class DemoError(RuntimeError):
    """A story could not be played (a service refused a step): a bug in the demo or a service."""


# --- scenarios and plans ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """How one ticket's life goes, and how long ago it started (days)."""

    name: str
    weight: float
    end: str = "resolved"  # the last state played; later steps (closing) follow from "resolved"
    age: tuple[float, float] = (1.0, 90.0)
    intake: str = ""  # "agent", "requester" or "mail"; "" = follow the channel mix
    fcr: bool = False
    escalations: int = 0
    hierarchical: bool = False
    pending_customer: bool = False
    vendor: bool = False
    change: bool = False
    reopen: bool = False
    duplicate: bool = False
    kind: str = ""  # "incident", "request" or "" for either
    keep_resolved: bool = False  # neither confirmed nor auto-closed: stays "resolved"
    outage: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("fcr", 16, intake="agent", fcr=True, age=(0.3, 90)),
        Scenario("tier1", 13),
        Scenario("tier1_waiting", 7, pending_customer=True),
        Scenario("tier2", 10, escalations=1, kind="incident"),
        Scenario("tier2_vendor", 3, escalations=1, vendor=True, kind="incident", age=(4, 90)),
        Scenario("tier3", 4, escalations=2, kind="incident", age=(2, 90)),
        Scenario("major", 1.5, escalations=1, hierarchical=True, kind="incident", age=(2, 90)),
        Scenario("reopened", 2.5, reopen=True, kind="incident", age=(3, 60)),
        Scenario("request", 10, kind="request"),
        Scenario("request_change", 1.5, change=True, kind="request", age=(5, 90)),
        Scenario("new", 4, end="new", age=(0.02, 1.2)),
        Scenario("assigned", 4, end="assigned", age=(0.05, 3)),
        Scenario("in_progress", 6, end="in_progress", age=(0.3, 8)),
        Scenario(
            "pending_customer", 5, end="pending_customer", pending_customer=True, age=(0.5, 10)
        ),
        Scenario(
            "pending_vendor",
            2,
            end="pending_vendor",
            escalations=1,
            vendor=True,
            kind="incident",
            age=(1, 15),
        ),
        Scenario(
            "pending_change", 1.5, end="pending_change", change=True, kind="request", age=(1, 12)
        ),
        Scenario(
            "escalated_open", 4, end="in_progress", escalations=1, kind="incident", age=(0.5, 10)
        ),
        # Clusters: a duplicate sent twice and merged; a major incident with children.
        Scenario("duplicate", 3, duplicate=True, age=(1, 90)),
        Scenario(
            "outage", 1, escalations=1, hierarchical=True, kind="incident", outage=True, age=(3, 90)
        ),
        # Recent outcomes, so even a small demo shows resolved tickets awaiting confirmation.
        Scenario("fcr_recent", 0, intake="agent", fcr=True, age=(1.5, 4), keep_resolved=True),
        Scenario("tier2_recent", 0, escalations=1, kind="incident", age=(6, 8), keep_resolved=True),
    )
}
# One of each, when the demo is big enough, so every state and path shows up.
REQUIRED = (
    "outage",
    "duplicate",
    "fcr_recent",
    "tier2_recent",
    "tier3",
    "new",
    "in_progress",
    "pending_customer",
    "pending_vendor",
    "escalated_open",
    "request",
    "assigned",
    "reopened",
    "major",
    "pending_change",
    "tier1",
    "fcr",
    "tier2",
)
REQUIRED_MIN_AGE = 6.0  # days
OUTAGE_MIN_TICKETS = 30  # a smaller demo has no major incident
DUPLICATE_MIN_TICKETS = 12


@dataclass(frozen=True, slots=True)
class Plan:
    index: int
    scenario: Scenario
    size: int  # tickets this story creates
    children: int = 0  # outage: child incidents (plus one duplicate merged into the parent)


def stories_plan(*, tickets: int, rng: random.Random) -> list[Plan]:
    """Choose the stories that together create exactly `tickets` tickets."""
    plans: list[Plan] = []
    remaining = tickets

    def add(scenario: Scenario) -> None:
        nonlocal remaining
        children = 0
        if scenario.outage:
            children = min(rng.randint(2, 4), remaining - 2)
            size = children + 2
        else:
            size = 2 if scenario.duplicate else 1
        plans.append(Plan(index=len(plans), scenario=scenario, size=size, children=children))
        remaining -= size

    for name in REQUIRED:
        scenario = SCENARIOS[name]
        if scenario.end != "new" and not scenario.fcr:
            # Old enough to reach its last state whatever the day and hour the demo is loaded
            # (a ticket logged on a Friday evening is not picked up before Monday).
            low, high = scenario.age
            scenario = replace(
                scenario, age=(max(low, REQUIRED_MIN_AGE), max(high, REQUIRED_MIN_AGE + 2))
            )
        if scenario.outage and (tickets < OUTAGE_MIN_TICKETS or remaining < 4):
            continue
        if scenario.duplicate and (tickets < DUPLICATE_MIN_TICKETS or remaining < 2):
            continue
        if remaining < 1:
            break
        add(scenario)
    pool = [s for s in SCENARIOS.values() if s.weight > 0]
    while remaining > 0:
        candidates = [
            s
            for s in pool
            if not (s.outage and remaining < 4) and not (s.duplicate and remaining < 2)
        ]
        add(rng.choices(candidates, weights=[s.weight for s in candidates])[0])
    return plans


# --- time ------------------------------------------------------------------------------------


def business_after(t: datetime, tz: ZoneInfo) -> datetime:
    """The earliest moment not before `t` inside the desk's hours."""
    local = t.astimezone(tz)
    for _ in range(8):
        if local.weekday() >= 5:
            local = (local + timedelta(days=7 - local.weekday())).replace(hour=OPEN_HOUR)
        elif local.hour < OPEN_HOUR:
            local = local.replace(hour=OPEN_HOUR)
        elif local.hour >= CLOSE_HOUR:
            local = (local + timedelta(days=1)).replace(hour=OPEN_HOUR)
        else:
            break
    return local.astimezone(UTC)


class Clock:
    """A story's own time: each step comes a random while after the previous one."""

    def __init__(self, start: datetime, tz: ZoneInfo, rng: random.Random, *, always_on: bool):
        self.t = start
        self.tz = tz
        self.rng = rng
        self.always_on = always_on  # critical tickets are worked round the clock

    def after(self, low: float, high: float, *, business: bool = True) -> datetime:
        """Advance by between `low` and `high` minutes (into working hours if `business`)."""
        t = self.t + timedelta(minutes=self.rng.uniform(low, high))
        if business and not self.always_on:
            t = business_after(t, self.tz)
        self.t = t
        return t

    def at(self, t: datetime) -> datetime:
        self.t = t
        return t


def stories_run(
    stories: Sequence[tuple[str, Story]],
    *,
    move_to: Callable[[datetime], None],
    cutoff: datetime,
) -> int:
    """Play every story's steps in time order, moving the clock to each step first.

    Steps at or after `cutoff` are not played. Returns the number of steps played."""
    heap: list[tuple[datetime, int, Story]] = []
    for order, (_, story) in enumerate(stories):
        first = next(story, None)  # runs only the story's choices, no writes
        if first is not None and first < cutoff:
            heapq.heappush(heap, (first, order, story))
    played = 0
    while heap:
        when, order, story = heapq.heappop(heap)
        move_to(when)
        try:
            following = next(story, None)
        except Exception as exc:
            name = stories[order][0]
            raise DemoError(
                f"demo story {order} ({name}) failed at {when:%Y-%m-%d %H:%M}: {exc}"
            ) from exc
        played += 1
        if following is None:
            continue
        following = max(following, when + timedelta(seconds=1))
        if following < cutoff:
            heapq.heappush(heap, (following, order, story))
        else:
            story.close()
    return played


# --- the people and words of one ticket ------------------------------------------------------

LAPTOPS = ("Dell Latitude 7440", "Lenovo ThinkPad T14", "HP EliteBook 840")
MONITORS = ("Dell P2723DE", "LG 27UP850", "HP E24 G5")
STARTERS = ("Jordan Ellis", "Mia Novak", "Chris Obi", "Sara Lind", "Tariq Aziz")
CHANNEL_MIX = (
    (C.PHONE, 30),
    (C.EMAIL, 25),
    (C.PORTAL, 28),
    (C.CHAT, 9),
    (C.API, 3),
    (C.WALK_UP, 5),
)
FCR_CHANNELS = ((C.PHONE, 60), (C.CHAT, 25), (C.WALK_UP, 15))
INTAKE_BY_CHANNEL = {
    C.PHONE: "agent",
    C.CHAT: "agent",
    C.WALK_UP: "agent",
    C.PORTAL: "requester",
    C.API: "requester",
    C.EMAIL: "mail",
}
# Mostly "moderate", as on most desks (impact, urgency) -> weight.
INCIDENT_LEVELS = (
    ((2, 2), 44),
    ((3, 2), 12),
    ((2, 3), 10),
    ((3, 3), 12),
    ((2, 1), 8),
    ((1, 2), 5),
    ((3, 1), 6),
    ((1, 1), 3),
)
REQUEST_LEVELS = (((3, 3), 50), ((3, 2), 30), ((2, 3), 15), ((2, 2), 5))
MAJOR_LEVELS = (((1, 1), 2), ((1, 2), 1), ((2, 1), 1))
# Subcategories a service desk agent typically fixes while the caller is still on the line.
FCR_SUBCATEGORIES = frozenset({"Email", "Office", "VPN", "Wi-Fi", "Password reset", "Permissions"})


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@dataclass
class Case:
    """One ticket's cast and words."""

    rng: random.Random
    org: Organization
    spec: OrgSpec
    requester: User
    issue: v.Issue
    variant: v.Variant
    values: dict[str, str]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.spec.time_zone)

    @property
    def subject(self) -> str:
        return self.text(self.variant.subject)

    @property
    def description(self) -> str:
        return self.text(self.variant.description)

    @property
    def fix(self) -> str:
        return self.text(self.variant.fix)

    def text(self, template: str, **extra: str) -> str:
        return template.format_map({**self.values, **extra})

    def pick(self, options: Sequence[str], **extra: str) -> str:
        return self.text(self.rng.choice(options), **extra)

    def reply_channel(self, ticket_channel: str) -> str:
        return C.PORTAL if ticket_channel in {C.PORTAL, C.API} else C.EMAIL


class Sim:
    """The desk as the stories see it: who does what, through which service."""

    def __init__(self, directory: Directory, *, now: datetime) -> None:
        self.d = directory
        self.now = now
        self.mail = Actor.system(label="Mail intake")
        self.housekeeping = Actor.system(label="Auto-close")
        self.reopen_days = int(settings.FRONTLINE_REOPEN_WINDOW_DAYS)
        self._actors: dict[int, Actor] = {}

    # who

    def actor(self, user: User) -> Actor:
        if user.pk not in self._actors:
            self._actors[user.pk] = actor_for_user(user)
        return self._actors[user.pk]

    def agent(self, rng: random.Random, group: SupportGroup, org: Organization) -> User:
        """A member of `group` who serves `org`."""
        candidates = [u for u in self.d.members[group.name] if self.d.serves(u, org)]
        return rng.choice(candidates)

    def case(
        self,
        rng: random.Random,
        scenario: Scenario,
        issue: v.Issue | None = None,
        variant: v.Variant | None = None,
    ) -> Case:
        org = _weighted(rng, [(o, self.d.specs[o.pk].weight) for o in self.d.clients])
        spec = self.d.specs[org.pk]
        people = self.d.people[org.pk]
        # Designated contacts and organisation admins report less often than everyone else.
        requester = _weighted(rng, [(u, 1 if u.role != User.Role.END_USER else 4) for u in people])
        if issue is None:
            issue = _weighted(rng, [(i, i.weight) for i in _issues_for(scenario)])
        if variant is None:
            variant = rng.choice(_variants_for(scenario, issue))
        values = {
            "site": rng.choice(spec.sites),
            "floor": f"floor {rng.randint(1, 5)}",
            "printer": f"PRN-{spec.slug[:3].upper()}-{rng.randint(1, 40):02d}",
            "model": rng.choice(LAPTOPS),
            "monitor": rng.choice(MONITORS),
            "app": rng.choice(spec.apps),
            "share": rng.choice(spec.shares),
            "ssid": spec.ssid,
            "starter": rng.choice(STARTERS),
            "first": requester.full_name.split(" ")[0],
            "vendor": issue.vendor or "the vendor",
            "group": "",
            "fix": "",
        }
        return Case(
            rng=rng,
            org=org,
            spec=spec,
            requester=requester,
            issue=issue,
            variant=variant,
            values=values,
        )

    def home_group(self, issue: v.Issue) -> SupportGroup:
        """The group that owns the issue's subcategory (where routing sends it)."""
        _, subcategory = self.d.categories[(issue.category, issue.subcategory)]
        return next(
            (g for g in self.d.groups.values() if g.pk == subcategory.default_group_id),
            self.d.groups["Service Desk"],
        )

    def start(self, rng: random.Random, age: tuple[float, float], tz: ZoneInfo) -> datetime:
        """When a story begins: about `age` days ago, on a working day, most often mid-morning;
        a few tickets arrive out of hours."""
        days = rng.uniform(*age)
        weekend_shift = rng.random()
        hour = rng.triangular(OPEN_HOUR, CLOSE_HOUR, 10.5)
        off_hours = rng.random() < 0.06
        latest = self.now - timedelta(minutes=20)
        t = self.now - timedelta(days=days)
        if off_hours:
            return min(t, latest)
        day = t.astimezone(tz).date()
        if day.weekday() >= 5:  # a weekend: to a working day of the same week
            day += timedelta(days=int(weekend_shift * 5) - day.weekday())
        for _ in range(10):
            local = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=hour)
            if day.weekday() < 5 and local <= latest:
                return local.astimezone(UTC)
            day -= timedelta(days=1)
        return latest

    def escalation_target(self, group: SupportGroup | None, issue: v.Issue) -> SupportGroup | None:
        """Where the ticket goes next: from the service desk, to the issue's specialists; from
        anywhere else, up the current group's escalation chain."""
        desk = self.d.groups["Service Desk"]
        if group is None or group.pk == desk.pk:
            target = self.d.groups[issue.escalate_to]
            return None if target.pk == desk.pk else target
        return next((g for g in self.d.groups.values() if g.pk == group.escalates_to_id), None)

    # what (each re-reads the ticket, as a page would, and passes the version it read)

    def fresh(self, ticket: Ticket) -> Ticket:
        return Ticket.objects.select_related("group", "assignee").get(pk=ticket.pk)

    def create(
        self,
        case: Case,
        *,
        intake: str,
        channel: str,
        subject: str,
        description: str,
        impact: int,
        urgency: int,
        categorised: bool,
        agent: User | None = None,
        take: bool = False,
        requester: User | None = None,
    ) -> Ticket:
        requester = requester or case.requester
        category_id = subcategory_id = None
        if categorised:
            parent, child = self.d.categories[(case.issue.category, case.issue.subcategory)]
            category_id, subcategory_id = parent.pk, child.pk
        # The requester on the portal or API; the mail intake; or an agent logging a call.
        actor = self.actor(requester) if intake == "requester" else self.mail
        requester_id = None if intake == "requester" else requester.pk
        desk_id = assignee_id = None
        if intake == "agent":
            assert agent is not None
            actor = self.actor(agent)
            if take:
                desk_id, assignee_id = self.d.groups["Service Desk"].pk, agent.pk
        return services.ticket_create(
            actor=actor,
            subject=subject,
            description=description,
            requester_id=requester_id,
            type=case.issue.type,
            channel=channel,
            category_id=category_id,
            subcategory_id=subcategory_id,
            impact=impact,
            urgency=urgency,
            affected_service=case.issue.service,
            location=case.values["site"] if intake == "agent" else "",
            group_id=desk_id,
            assignee_id=assignee_id,
        )

    def categorise(self, agent: User, ticket: Ticket, case: Case) -> Ticket:
        parent, child = self.d.categories[(case.issue.category, case.issue.subcategory)]
        ticket = self.fresh(ticket)
        changes: dict[str, object] = {"category_id": parent.pk, "subcategory_id": child.pk}
        if ticket.type != case.issue.type:
            changes["type"] = case.issue.type
        return services.ticket_update(
            actor=self.actor(agent), ticket=ticket, expected_version=ticket.version, changes=changes
        )

    def assign(
        self, agent: User, ticket: Ticket, assignee: User, group: SupportGroup | None = None
    ) -> Ticket:
        ticket = self.fresh(ticket)
        return services.ticket_assign(
            actor=self.actor(agent),
            ticket=ticket,
            expected_version=ticket.version,
            group_id=group.pk if group else None,
            assignee_id=assignee.pk,
        )

    def route(self, agent: User, ticket: Ticket, group: SupportGroup) -> Ticket:
        """Send to another group's queue (no one in particular yet)."""
        ticket = self.fresh(ticket)
        return services.ticket_assign(
            actor=self.actor(agent),
            ticket=ticket,
            expected_version=ticket.version,
            group_id=group.pk,
            assignee_id=None,
        )

    def move(self, who: User | Actor, ticket: Ticket, status: str, reason: str = "") -> Ticket:
        ticket = self.fresh(ticket)
        return services.ticket_transition(
            actor=who if isinstance(who, Actor) else self.actor(who),
            ticket=ticket,
            expected_version=ticket.version,
            status=status,
            reason=reason,
        )

    def reply(self, who: User, ticket: Ticket, body: str, *, channel: str = "") -> None:
        services.comment_add(
            actor=self.actor(who), ticket=self.fresh(ticket), body=body, channel=channel
        )

    def note(self, who: User, ticket: Ticket, body: str) -> None:
        services.comment_add(
            actor=self.actor(who), ticket=self.fresh(ticket), body=body, is_internal=True
        )

    def escalate(
        self,
        who: User,
        ticket: Ticket,
        *,
        kind: str,
        symptoms: str,
        steps: Sequence[str],
        diagnosis: str = "",
        reason: str = "",
        to_group: SupportGroup | None = None,
    ) -> Escalation:
        ticket = self.fresh(ticket)
        return services.ticket_escalate(
            actor=self.actor(who),
            ticket=ticket,
            expected_version=ticket.version,
            kind=kind,
            to_group_id=to_group.pk if to_group else None,
            symptoms=symptoms,
            diagnosis=diagnosis,
            steps_tried=steps,
            reason=reason,
        )

    def resolve(self, who: User, ticket: Ticket, code: str, notes: str) -> Ticket:
        ticket = self.fresh(ticket)
        return services.ticket_resolve(
            actor=self.actor(who),
            ticket=ticket,
            expected_version=ticket.version,
            resolution_code=code,
            resolution_notes=notes,
        )

    def reopen(self, who: User, ticket: Ticket, reason: str) -> Ticket:
        ticket = self.fresh(ticket)
        return services.ticket_reopen(
            actor=self.actor(who), ticket=ticket, reason=reason, expected_version=ticket.version
        )

    def confirm(self, who: User, ticket: Ticket) -> Ticket:
        ticket = self.fresh(ticket)
        return services.ticket_confirm_resolution(
            actor=self.actor(who), ticket=ticket, expected_version=ticket.version
        )

    def merge(self, who: User, *, source: Ticket, target: Ticket) -> Ticket:
        source = self.fresh(source)
        return services.ticket_merge(
            actor=self.actor(who),
            source=source,
            target=self.fresh(target),
            expected_version=source.version,
        )

    def link(self, who: User, child: Ticket, parent: Ticket) -> Ticket:
        child = self.fresh(child)
        return services.ticket_link_parent(
            actor=self.actor(who),
            ticket=child,
            parent=self.fresh(parent),
            expected_version=child.version,
        )

    def watch(self, who: User, ticket: Ticket, watcher: User) -> None:
        services.watcher_add(actor=self.actor(who), ticket=self.fresh(ticket), user_id=watcher.pk)


def _issues_for(scenario: Scenario) -> list[v.Issue]:
    issues = list(v.ISSUES)
    if scenario.kind:
        issues = [i for i in issues if i.type == scenario.kind]
    if scenario.fcr:
        issues = [i for i in issues if i.subcategory in FCR_SUBCATEGORIES]
    if scenario.escalations:
        issues = [i for i in issues if any(x.escalate for x in i.variants)]
    if scenario.escalations >= 2:  # up the tiers: Service Desk -> Tier 2 -> Tier 3
        issues = [i for i in issues if i.escalate_to == "Tier 2"]
    if scenario.vendor:
        issues = [i for i in issues if i.vendor]
    if scenario.change:
        issues = [i for i in issues if i.subcategory in {"Software install", "New laptop"}]
    return issues


def _variants_for(scenario: Scenario, issue: v.Issue) -> list[v.Variant]:
    """Cases that need a higher tier for stories that escalate; the others for the rest."""
    wanted = [x for x in issue.variants if x.escalate == bool(scenario.escalations)]
    return wanted or list(issue.variants)


def _resolution_code(variant: v.Variant, issue: v.Issue, group: SupportGroup | None) -> str:
    if variant.code:
        return variant.code
    if issue.type == Ticket.Type.REQUEST:
        return RC.FULFILLED
    if group is not None and group.kind == SupportGroup.Kind.DESKTOP:
        return RC.SOLVED_ONSITE
    return RC.SOLVED_REMOTELY


def _symptoms(case: Case) -> str:
    return (
        f"{case.subject}. Reported by {case.requester.full_name} ({case.org.name}): "
        f"{case.description}"
    )


# --- stories ---------------------------------------------------------------------------------


def story_for(sim: Sim, plan: Plan, rng: random.Random) -> Story:
    if plan.scenario.outage:
        return _outage(sim, plan, rng)
    return _lifecycle(sim, plan, rng)


def _lifecycle(sim: Sim, plan: Plan, rng: random.Random) -> Story:
    """One ticket from first contact to closure (or to the state its scenario stops in)."""
    sc = plan.scenario
    case = sim.case(rng, sc)
    issue = case.issue
    levels = INCIDENT_LEVELS if issue.type == Ticket.Type.INCIDENT else REQUEST_LEVELS
    impact, urgency = _weighted(rng, MAJOR_LEVELS if sc.hierarchical else levels)
    channel = _weighted(rng, FCR_CHANNELS if sc.fcr else CHANNEL_MIX)
    intake = sc.intake or INTAKE_BY_CHANNEL[channel]
    # Agents categorise what they log; a portal user sometimes leaves it to the desk; mail
    # arrives with no category at all.
    portal_categorises = rng.random() < 0.85
    categorised = portal_categorises if intake == "requester" else intake == "agent"
    desk = sim.d.groups["Service Desk"]
    home = sim.home_group(issue)
    # A service desk agent on the phone keeps what the desk itself handles.
    keeps_call = rng.random() < 0.5
    take = sc.fcr or (intake == "agent" and home.pk == desk.pk and keeps_call)
    description = case.description
    if intake == "mail":
        description += f"\n\nThanks,\n{case.requester.full_name}"
    first_agent = sim.agent(rng, desk, case.org)
    question, answer = rng.choice(
        issue.questions or (("Could you send a screenshot of the error?", "Screenshot attached."),)
    )
    clock = Clock(
        sim.start(rng, sc.age, case.tz),
        case.tz,
        rng,
        always_on=(impact, urgency) in {(1, 1), (1, 2), (2, 1)},
    )
    requester_channel = case.reply_channel(channel)

    yield clock.t
    ticket = sim.create(
        case,
        intake=intake,
        channel=channel,
        subject=case.subject,
        description=description,
        impact=impact,
        urgency=urgency,
        categorised=categorised,
        agent=first_agent,
        take=take,
    )
    if sc.end == "new":
        return

    if sc.duplicate:
        # The requester chases by mail before anyone answered: a second ticket, merged.
        yield clock.after(20, 3 * HOUR, business=False)
        duplicate = sim.create(
            case,
            intake="mail",
            channel=C.EMAIL,
            subject=f"RE: {case.subject}",
            description=f"{rng.choice(v.CHASERS)}\n\n> {case.description}",
            impact=impact,
            urgency=urgency,
            categorised=False,
        )
        yield clock.after(10, 90)
        sim.merge(first_agent, source=duplicate, target=ticket)

    handler = first_agent
    if not take:
        yield clock.after(5, 15 if clock.always_on else 2 * HOUR)
        group = sim.fresh(ticket).group or desk
        if group.pk == desk.pk and home.pk != desk.pk:
            # The service desk categorises and routes it to the team that owns it.
            if not categorised:
                sim.categorise(first_agent, ticket, case)
                categorised = True
            sim.route(first_agent, ticket, home)
            group = home
            yield clock.after(10, 30 if clock.always_on else 3 * HOUR)
        handler = sim.agent(rng, group, case.org)
        if not categorised:
            sim.categorise(handler, ticket, case)
        sim.assign(handler, ticket, handler, group)
    if sc.end == "assigned":
        return

    if sc.fcr:
        # Fixed while the requester is still on the line.
        yield clock.after(2, 15, business=False)
        sim.reply(handler, ticket, case.pick(v.RESOLUTION_REPLIES, fix=case.fix))
        sim.resolve(handler, ticket, _resolution_code(case.variant, issue, desk), case.fix)
    else:
        yield clock.after(3, 90)
        sim.move(handler, ticket, S.IN_PROGRESS)
        sim.reply(handler, ticket, case.pick(v.ACKNOWLEDGEMENTS))

        if sc.pending_customer:
            yield clock.after(10, 2 * HOUR)
            sim.reply(handler, ticket, case.text(question))
            sim.move(
                handler, ticket, S.PENDING_CUSTOMER, reason="Waiting for the requester's answer"
            )
            if sc.end == "pending_customer":
                return
            yield clock.after(1 * HOUR, 2 * DAY)
            # The requester's reply puts the ticket back in progress (comment_add does that).
            sim.reply(case.requester, ticket, case.text(answer), channel=requester_channel)

        if sc.hierarchical:
            group = sim.fresh(ticket).group or desk
            team_lead = group.team_lead or sim.d.agents["Tessa Morgan"]
            manager = group.manager or sim.d.agents["Helen Wright"]
            yield clock.after(5, 30, business=False)
            sim.escalate(
                team_lead,
                ticket,
                kind=Escalation.Kind.HIERARCHICAL,
                symptoms=_symptoms(case),
                steps=rng.sample(issue.steps, k=min(2, len(issue.steps))),
                reason=f"High impact for {case.org.name}: several people cannot work. "
                "Manager informed; updates to the customer every hour.",
            )
            yield clock.after(10, 45, business=False)
            sim.note(
                manager,
                ticket,
                f"Spoke to {sim.d.contact(case.org).full_name} at {case.org.name}; "
                "agreed hourly updates until this is fixed.",
            )

        tried: list[str] = []
        for level in range(sc.escalations):
            group = sim.fresh(ticket).group or desk
            target = sim.escalation_target(group, issue)
            if target is None:
                break
            pool = issue.steps if level == 0 else v.HIGHER_TIER_STEPS
            left = [step for step in pool if step not in tried]
            steps = rng.sample(left, k=min(len(left), rng.randint(2, 4)))
            tried += steps
            diagnosis = case.text(
                case.variant.diagnosis if level == 0 else rng.choice(v.HIGHER_TIER_DIAGNOSIS)
            )
            reason = (
                "Needs an on-site visit."
                if target.kind == SupportGroup.Kind.DESKTOP
                else f"Beyond what {group.name} can change; needs {target.name}."
            )
            yield clock.after(15, 4 * HOUR)
            sim.note(handler, ticket, "Tried so far: " + "; ".join(steps) + ".")
            sim.escalate(
                handler,
                ticket,
                kind=Escalation.Kind.FUNCTIONAL,
                to_group=target,
                symptoms=_symptoms(case),
                diagnosis=diagnosis,
                steps=steps,
                reason=reason,
            )
            if rng.random() < 0.6:
                sim.reply(handler, ticket, case.pick(v.HANDOFF_REPLIES, group=target.name))
            handler = sim.agent(rng, target, case.org)
            yield clock.after(15, 30 if clock.always_on else 8 * HOUR)
            sim.assign(handler, ticket, handler)
            sim.move(handler, ticket, S.IN_PROGRESS)
            sim.note(handler, ticket, case.pick(v.PICKUP_NOTES))

        if sc.vendor:
            yield clock.after(30, 10 * HOUR)
            sim.note(handler, ticket, case.pick(v.VENDOR_NOTES))
            sim.move(handler, ticket, S.PENDING_VENDOR, reason=case.text("Waiting for {vendor}"))
            if sc.end == "pending_vendor":
                return
            yield clock.after(1 * DAY, 4 * DAY)
            sim.move(handler, ticket, S.IN_PROGRESS, reason=case.text("{vendor} replied"))
            sim.note(handler, ticket, case.pick(v.VENDOR_BACK_NOTES))

        if sc.change:
            yield clock.after(30, 10 * HOUR)
            sim.move(handler, ticket, S.PENDING_CHANGE, reason=case.pick(v.CHANGE_REASONS))
            if sc.end == "pending_change":
                return
            yield clock.after(1 * DAY, 5 * DAY)
            sim.move(handler, ticket, S.IN_PROGRESS, reason="Change approved and scheduled")

        if sc.end == "in_progress":
            if rng.random() < 0.4:
                yield clock.after(4 * HOUR, 2 * DAY)
                sim.reply(case.requester, ticket, rng.choice(v.CHASERS), channel=requester_channel)
            return

        yield clock.after(20, 8 * HOUR if sc.escalations else 4 * HOUR)
        sim.reply(handler, ticket, case.pick(v.RESOLUTION_REPLIES, fix=case.fix))
        code = _resolution_code(case.variant, issue, sim.fresh(ticket).group)
        sim.resolve(handler, ticket, code, case.fix)

    if sc.reopen:
        reason = rng.choice(v.REOPEN_REASONS)
        second_fix = rng.choice(v.SECOND_FIXES)
        yield clock.after(2 * HOUR, 2 * DAY)
        sim.reopen(case.requester, ticket, reason)
        yield clock.after(15, 4 * HOUR)
        sim.move(handler, ticket, S.IN_PROGRESS)
        sim.note(handler, ticket, "Reopened by the requester; the first fix did not hold.")
        yield clock.after(30, 10 * HOUR)
        sim.reply(handler, ticket, case.pick(v.RESOLUTION_REPLIES, fix=second_fix))
        code = _resolution_code(case.variant, issue, sim.fresh(ticket).group)
        sim.resolve(handler, ticket, code, f"{case.fix} {second_fix}")

    yield from _closing(sim, case, clock, [ticket], keep=sc.keep_resolved, channel=channel)


def _closing(
    sim: Sim, case: Case, clock: Clock, tickets: Sequence[Ticket], *, keep: bool, channel: str
) -> Story:
    """After resolution: the requester confirms, or the tickets close when the reopen window
    ends."""
    if keep:
        return
    confirms = len(tickets) == 1 and case.rng.random() < 0.35
    thanks = case.rng.choice(v.THANKS)
    if confirms:
        yield clock.after(30, 3 * DAY, business=False)
        sim.reply(case.requester, tickets[0], thanks, channel=case.reply_channel(channel))
        sim.confirm(case.requester, tickets[0])
        return
    days = sim.reopen_days
    yield clock.at(clock.t + timedelta(days=days, minutes=case.rng.uniform(1 * HOUR, 20 * HOUR)))
    for ticket in tickets:
        sim.move(
            sim.housekeeping,
            ticket,
            S.CLOSED,
            reason=f"Closed automatically {days} days after resolution",
        )


def _outage(sim: Sim, plan: Plan, rng: random.Random) -> Story:
    """A major incident: one outage, several reports. The first becomes the parent, later
    reports are linked to it as children, and a repeat report is merged into it."""
    outage = rng.choice(v.OUTAGES)
    issue = next(
        i for i in v.ISSUES if (i.category, i.subcategory) == (outage.category, outage.subcategory)
    )
    variant = v.Variant(
        subject=outage.subject,
        description="Called in by {first}: nobody at {site} can work. Started a few minutes ago.",
        fix=outage.fix,
        diagnosis=outage.diagnosis,
        escalate=True,
    )
    case = sim.case(rng, plan.scenario, issue, variant)
    desk = sim.d.groups["Service Desk"]
    contact = sim.d.contact(case.org)
    case.requester = contact
    case.values["first"] = contact.full_name.split(" ")[0]
    others = [u for u in sim.d.people[case.org.pk] if u.pk != contact.pk]
    reporters = rng.sample(others, k=plan.children + 1)
    channels = [rng.choice((C.PORTAL, C.EMAIL, C.PHONE)) for _ in reporters]
    first_agent = sim.agent(rng, desk, case.org)
    target = sim.d.groups[issue.escalate_to]
    specialist = sim.agent(rng, target, case.org)
    steps = rng.sample(issue.steps, k=min(3, len(issue.steps)))
    code = _resolution_code(case.variant, issue, target)
    clock = Clock(sim.start(rng, plan.scenario.age, case.tz), case.tz, rng, always_on=True)

    yield clock.t
    parent = sim.create(
        case,
        intake="agent",
        channel=C.PHONE,
        subject=case.subject,
        description=case.description,
        impact=1,
        urgency=1,
        categorised=True,
        agent=first_agent,
        take=True,
    )
    yield clock.after(3, 10)
    sim.note(first_agent, parent, case.text("Major incident: several users affected at {site}."))
    sim.escalate(
        first_agent,
        parent,
        kind=Escalation.Kind.FUNCTIONAL,
        to_group=target,
        symptoms=case.description,
        diagnosis=case.text(outage.diagnosis),
        steps=steps,
        reason="Major incident; needs the specialists now.",
    )
    yield clock.after(2, 10)
    lead = desk.team_lead or first_agent
    sim.escalate(
        lead,
        parent,
        kind=Escalation.Kind.HIERARCHICAL,
        symptoms=case.description,
        steps=steps,
        reason=f"Major incident at {case.org.name}: whole site affected. Manager informed.",
    )
    sim.watch(lead, parent, sim.d.org_admin(case.org))

    children: list[Ticket] = []
    for i, (reporter, channel) in enumerate(zip(reporters[:-1], channels, strict=False)):
        first_name = reporter.full_name.split(" ")[0]
        report = Case(
            rng=rng,
            org=case.org,
            spec=case.spec,
            requester=reporter,
            issue=issue,
            variant=case.variant,
            values={**case.values, "first": first_name},
        )
        yield clock.after(2, 40)
        child = sim.create(
            report,
            intake=INTAKE_BY_CHANNEL[channel],
            channel=channel,
            subject=case.text(outage.reports[i % len(outage.reports)]),
            description=case.text("Since a few minutes ago at {site}. Is something down?"),
            impact=2,
            urgency=2,
            categorised=channel != C.EMAIL,
            agent=first_agent,
        )
        yield clock.after(1, 10)
        if channel == C.EMAIL:
            sim.categorise(first_agent, child, report)
        sim.link(first_agent, child, parent)
        sim.assign(first_agent, child, first_agent, desk)
        sim.reply(
            first_agent,
            child,
            f"Hi {first_name}, this is a known problem that we are working on under "
            f"{parent.number}. We will update you here as soon as it is fixed.",
        )
        children.append(child)

    # The last reporter writes twice; the second mail is a duplicate of the major incident.
    yield clock.after(3, 30)
    duplicate = sim.create(
        case,
        intake="mail",
        channel=C.EMAIL,
        subject=case.text(outage.reports[-1]),
        description="Sending again in case the first one got lost - still nothing works.",
        impact=2,
        urgency=2,
        categorised=False,
        requester=reporters[-1],
    )
    yield clock.after(2, 15)
    sim.merge(first_agent, source=duplicate, target=parent)

    yield clock.after(5, 30)
    sim.assign(specialist, parent, specialist)
    sim.move(specialist, parent, S.IN_PROGRESS)
    sim.note(specialist, parent, case.pick(v.PICKUP_NOTES))
    yield clock.after(30, 4 * HOUR)
    sim.reply(specialist, parent, case.pick(v.RESOLUTION_REPLIES, fix=case.fix))
    sim.resolve(specialist, parent, code, case.fix)
    for child in children:
        yield clock.after(2, 20)
        sim.reply(
            first_agent, child, f"{parent.number} is fixed: {case.fix} Please tell us if not."
        )
        sim.resolve(first_agent, child, code, f"Resolved with {parent.number}: {case.fix}")

    yield from _closing(sim, case, clock, [parent, *children], keep=False, channel=C.PHONE)
