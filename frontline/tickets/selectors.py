"""Every read of tickets, scoped to the actor and prefetched for the callers."""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.expressions import OrderBy

from frontline.accounts.models import SupportGroup, User
from frontline.accounts.selectors import organization_access_q
from frontline.core import access, config_cache
from frontline.core.access import Actor
from frontline.core.errors import NotFound, ValidationError
from frontline.core.models import AuditEvent
from frontline.sla.models import Calendar, SlaPolicy, TicketSla
from frontline.tenants.models import Organization
from frontline.tickets.models import Attachment, Category, Comment, Escalation, StatusLink, Ticket

OPEN_STATUSES = [
    Ticket.Status.NEW,
    Ticket.Status.ASSIGNED,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.PENDING_CUSTOMER,
    Ticket.Status.PENDING_VENDOR,
    Ticket.Status.PENDING_CHANGE,
]

# The only columns a caller may sort by (never raw user input in order_by).
SORTS: dict[str, tuple[str | OrderBy, ...]] = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "priority": ("priority", "-created_at", "-id"),
    "-priority": ("-priority", "-created_at", "-id"),
    "number": ("id",),
    "-number": ("-id",),
    "status": ("status", "-id"),
    "subject": ("subject", "id"),
    # The SLA due time the queue shows (the sla app's clock); tickets without one last.
    "due": (F("sla__due_at").asc(nulls_last=True), "id"),
    "-due": (F("sla__due_at").desc(nulls_last=True), "-id"),
}
QUEUES = ("mine", "groups", "unassigned", "open", "all")
# The largest id a (64-bit) primary key can hold.
MAX_ID = 2**63 - 1
# Status filters that name several statuses: "open" (being worked on), "unclosed" (open or
# resolved and awaiting the requester's confirmation), "done" (resolved or closed).
STATUS_GROUPS: dict[str, Sequence[str]] = {
    "open": OPEN_STATUSES,
    "unclosed": [*OPEN_STATUSES, Ticket.Status.RESOLVED],
    "done": [Ticket.Status.RESOLVED, Ticket.Status.CLOSED],
}


def ticket_visible(*, actor: Actor) -> QuerySet[Ticket]:
    """All tickets `actor` may see: agents, those of the organisations they serve; end users,
    their own (designated contacts and organisation admins: their organisation's)."""
    qs: QuerySet[Ticket] = Ticket.objects.visible_to(actor)
    if actor.is_agent:
        return qs
    if actor.has_role("org_contact", "org_admin"):
        return qs.filter(tenant_id=actor.home_tenant_id)
    return qs.filter(requester_id=actor.user_id)


@dataclass(frozen=True, slots=True)
class TicketFilters:
    queue: str = "all"
    status: str = ""
    priority: int | None = None
    type: str = ""
    organization_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    channel: str = ""
    category_id: int | None = None
    q: str = ""
    sort: str = "-created"

    def __post_init__(self) -> None:
        # Built directly (not through from_params), a bad sort must still never reach order_by.
        if self.sort not in SORTS:
            raise ValidationError({"sort": f"Unknown value {str(self.sort)[:40]!r}."})
        if self.queue not in QUEUES:
            raise ValidationError({"queue": f"Unknown value {str(self.queue)[:40]!r}."})

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TicketFilters:
        """Parse query parameters (strings) into filters; bad values raise ValidationError."""
        errors: dict[str, str] = {}

        def _text(name: str) -> str:
            # Only strings count: a list or mapping (from JSON, say) is never a valid value and
            # must not reach a dict lookup (unhashable) or order_by.
            raw = params.get(name)
            if raw is None:
                return ""
            if not isinstance(raw, str | int):
                errors[name] = "Must be a single value."
                return ""
            # PostgreSQL refuses a NUL byte in a query parameter (a 500): drop it here.
            return str(raw).replace("\x00", "")

        def _int(name: str) -> int | None:
            raw = _text(name)
            if raw == "":
                return None
            try:
                value = int(raw)
            except ValueError:
                errors[name] = "Must be a whole number."
                return None
            if not -MAX_ID <= value <= MAX_ID:
                # Beyond a 64-bit column, the database driver raises (a 500) instead of matching
                # nothing.
                errors[name] = "Must be a whole number."
                return None
            return value

        def _choice(name: str, allowed: Any, default: str = "") -> str:
            raw = _text(name) or default
            if raw and raw not in allowed:
                errors[name] = f"Unknown value {raw[:40]!r}."
                return default
            return raw

        status = _text("status")
        if status and status not in {*Ticket.Status.values, *STATUS_GROUPS}:
            errors["status"] = f"Unknown status {str(status)[:40]!r}."
            status = ""
        filters = cls(
            queue=_choice("queue", QUEUES, "all"),
            status=str(status),
            priority=_int("priority"),
            type=_choice("type", Ticket.Type.values),
            organization_id=_int("organization"),
            group_id=_int("group"),
            assignee_id=_int("assignee"),
            requester_id=_int("requester"),
            channel=_choice("channel", Ticket.Channel.values),
            category_id=_int("category"),
            q=_text("q")[:200].strip(),
            sort=_choice("sort", SORTS, "-created"),
        )
        if filters.priority is not None and not 1 <= filters.priority <= 5:
            errors["priority"] = "Priority is 1 to 5."
        if errors:
            raise ValidationError(errors)
        return filters


def ticket_search(
    qs: QuerySet[Ticket], q: str, *, include_internal: bool = False
) -> QuerySet[Ticket]:
    """Keyword search on number, subject, description and comment text (internal notes only
    with `include_internal`, i.e. for agents: otherwise a hit would reveal a note's words).

    Each word must match somewhere. (The search interface: a full-text index can replace the
    matching underneath without changing callers.)"""
    q = q.strip()
    if not q:
        return qs
    upper = q.upper()
    if len(q) <= 20 and (upper.startswith("INC-") or upper.startswith("REQ-")):
        return qs.filter(number=upper)
    comments = (
        Comment.objects.all() if include_internal else Comment.objects.filter(is_internal=False)
    )
    words = q.split()[:8]
    if connection.vendor == "postgresql":
        indexed = [word for word in words if _LEXEME.search(word)]
        if indexed:
            qs = qs.filter(_FulltextMatch(indexed, internal=include_internal))
        words = [word for word in words if not _LEXEME.search(word)]
    for word in words:
        comment_hit = comments.filter(ticket_id=OuterRef("pk"), body__icontains=word)
        qs = qs.filter(
            Q(subject__icontains=word) | Q(description__icontains=word) | Exists(comment_hit)
        )
    return qs


# PostgreSQL full-text search (benchmark issue #3). `icontains` on subject, description and
# every comment reads every row: ~2 s at 100,000 tickets, far more at a million. On PostgreSQL
# each word is matched instead against to_tsvector('simple', ...) documents: words *starting
# with* the typed word, so "print" still finds "printer" (but "rinter" no longer does). Each
# ticket stores two documents (migration tickets/0007, kept by triggers): `search_agent`
# (subject, description and every comment) and `search_public` (the same without internal
# notes), each with a GIN index, so all the plain words of a search are one condition on one
# column. SQLite keeps `icontains`, and so does a word without a letter or digit (e.g. "%"),
# which has nothing to index.
#
# A word only PostgreSQL's parser can split ("LT-04521", "user@example.com") must have all its
# lexemes in the same text, as before 0007: the stored document finds the candidates (with its
# GIN index), then the ticket's own text (subject and description) or one of its comments
# must hold them all (comments: GIN expression index of tickets/0003, which must stay identical
# to _COMMENT_DOCUMENT, or PostgreSQL reads every comment).
_OWN_DOCUMENT = "to_tsvector('simple'::regconfig, {table}subject || ' ' || {table}description)"
_COMMENT_DOCUMENT = "to_tsvector('simple'::regconfig, body)"
# The typed word goes through the same parser as the documents ("INC-000001" is "inc" and
# "-000001" to it), then each of its lexemes must match, as a prefix from three characters on
# ('Wi-Fi' -> 'wi-fi':* & 'wi' & 'fi': a prefix 'fi':* would read the postings of every word
# starting with "fi"). The lexemes are already normalised, so the query is built as tsquery
# text (a cast, not to_tsquery, which would parse 'wi-fi' into parts again). The word is a
# bound parameter; quote_literal quotes each lexeme (backslashes dropped first: no E'' form).
_WORD_QUERY = (
    "CAST(array_to_string(ARRAY(SELECT quote_literal(replace(lexeme, '\\', ''))"
    " || CASE WHEN length(lexeme) >= 3 THEN ':*' ELSE '' END"
    " FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, %s))) AS lexeme),"
    " ' & ') AS tsquery)"
)
_LEXEME = re.compile(r"[^\W_]")
# Words whose lexemes are known without asking PostgreSQL's parser: ASCII letters and digits
# (one lexeme, the word in lower case), or ASCII letters joined by hyphens ("wi-fi": the whole
# word plus each part; the parts are left out, as every document with the whole word has them).
_PLAIN_WORD = re.compile(r"[A-Za-z0-9]+|[A-Za-z]+(?:-[A-Za-z]+)+")


@dataclass(frozen=True, slots=True)
class _Term:
    """A plain word as the documents hold it: a lexeme, matched as a prefix from 3 characters."""

    lexeme: str

    @property
    def prefix(self) -> bool:
        return len(self.lexeme) >= 3

    @property
    def query(self) -> str:
        return f"'{self.lexeme}':*" if self.prefix else f"'{self.lexeme}'"


def _plain_term(word: str) -> _Term | None:
    """The term of a plain word, or None when only PostgreSQL's parser can tell its lexemes."""
    return _Term(word.lower()) if _PLAIN_WORD.fullmatch(word) else None


# Several words: walk the newest tickets or collect every match? PostgreSQL estimates the
# matches of "password & reset" as if the words were independent (11 % x 2 % of the tickets:
# ~1,700), when words typed together mostly occur together (21,813). With a small estimate it
# collects every match from the GIN index and sorts them (~200 ms at a million tickets, 1.2 s
# before 0007); walking ticket_created_id_idx newest first finds the page's 1,001 after ~46,000
# tickets (~20 ms). But for words that do not go together ("printer vpn": no ticket) the walk
# reads every ticket (~1-3 s), where the index answers in ~50 ms. The planner cannot tell the
# two apart, so the choice is made here, from the newest tickets' documents (a sample read once
# per SAMPLE_SECONDS and process, one query: SAMPLE_SIZE tickets spread over the newest
# SAMPLE_WINDOW, as the newest few may be a burst of one kind): when at least WALK_DENSITY of
# them match every word, the match is written as ts_match_vq(doc, query), which no index
# serves and PostgreSQL expects a third of the rows to pass (so it walks the page's order, or
# a filter's index); otherwise as `doc @@ query`, planned from the column's statistics as for
# a single word. Either way the rows found are the same; only the plan differs.
SAMPLE_SIZE = 1000
SAMPLE_WINDOW = 100_000
SAMPLE_SECONDS = 600.0
WALK_DENSITY = 0.01


@dataclass(frozen=True, slots=True)
class _NewestSample:
    """The lexemes of the newest tickets' agent documents: which of them match a search."""

    taken: float
    size: int
    lexemes: list[str]  # sorted
    postings: list[frozenset[int]]  # per lexeme, the sample's tickets (0..size-1) that hold it

    @classmethod
    def read(cls, database: Any) -> _NewestSample:
        table = Ticket._meta.db_table
        with database.cursor() as cursor:
            # Every n-th id of the newest SAMPLE_WINDOW (by id: about the newest by creation),
            # SAMPLE_SIZE tickets at most, read by primary key.
            cursor.execute(
                f"SELECT tsvector_to_array(search_agent) FROM {table} WHERE id IN ("  # noqa: S608
                "SELECT generate_series(lo, hi, greatest(1, (hi - lo + 1) / %s)) FROM ("
                f"SELECT max(id) AS hi, greatest(min(id), max(id) - %s + 1) AS lo FROM {table}"
                ") AS bounds)",
                [SAMPLE_SIZE, SAMPLE_WINDOW],
            )
            documents = [row[0] or [] for row in cursor.fetchall()]
        holders: dict[str, list[int]] = {}
        for n, lexemes in enumerate(documents):
            for lexeme in lexemes:
                holders.setdefault(lexeme, []).append(n)
        ordered = sorted(holders)
        return cls(
            taken=time.monotonic(),
            size=len(documents),
            lexemes=ordered,
            postings=[frozenset(holders[lexeme]) for lexeme in ordered],
        )

    def holders(self, term: _Term) -> set[int]:
        """The sample's tickets whose document matches `term` (as `@@` matches it)."""
        found: set[int] = set()
        at = bisect.bisect_left(self.lexemes, term.lexeme)
        while at < len(self.lexemes) and self.lexemes[at].startswith(term.lexeme):
            if term.prefix or self.lexemes[at] == term.lexeme:
                found |= self.postings[at]
            if not term.prefix:
                break
            at += 1
        return found

    def density(self, terms: Sequence[_Term]) -> float:
        """The share of the sample's tickets that match every term."""
        if not self.size:
            return 0.0
        found = self.holders(terms[0])
        for term in terms[1:]:
            found &= self.holders(term)
        return len(found) / self.size


_samples: dict[str, _NewestSample] = {}


def _newest_sample(database: Any) -> _NewestSample:
    """The current sample of the newest tickets of `database` (a connection), read again when
    stale."""
    key = f"{database.alias}:{database.settings_dict.get('NAME')}"
    sample = _samples.get(key)
    if sample is None or time.monotonic() - sample.taken > SAMPLE_SECONDS:
        sample = _samples[key] = _NewestSample.read(database)
    return sample


def _walk_newest(terms: Sequence[_Term], database: Any) -> bool:
    """Whether several words are common together among the newest tickets (see above)."""
    if len(terms) < 2:
        return False  # one word: the column's statistics know how common it is
    return _newest_sample(database).density(terms) >= WALK_DENSITY


class _FulltextMatch(Func):
    """True for the tickets where every word matches the ticket's subject or description, or
    one of its comments (public ones only unless `internal`). One SQL condition, no query of
    its own (but see _walk_newest).

    The plain words together are one tsquery Q on the ticket's stored document (migration
    tickets/0007: `search_agent`, or `search_public` without internal notes): `doc @@ Q`, a
    constant, so PostgreSQL plans knowing from the column's statistics how common a word is: a
    common word walks the tickets in the page's order and stops after the page, a rare one
    is collected with the GIN index. Several words common together: `ts_match_vq(doc, Q)`,
    always a walk (see _walk_newest).

    Each other word: `doc @@ W AND (own @@ W OR id IN (<comment hits>))`, where W is the word's
    tsquery as PostgreSQL's parser makes it and own the ticket's subject and description (all
    of W's lexemes in one text). The ticket's table alias is taken from its compiled primary
    key, so the match stays right inside a subquery (where Django renames tables)."""

    output_field = BooleanField()

    def __init__(self, words: list[str], *, internal: bool) -> None:
        super().__init__(F("pk"))
        self.words = words
        self.internal = internal

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        pk_sql, pk_params = compiler.compile(self.source_expressions[0])
        table = pk_sql.rsplit(".", 1)[0] + "." if "." in pk_sql else ""
        parts: list[str] = []
        params: list[Any] = []
        terms: list[_Term] = []
        parsed: list[str] = []
        for word in self.words:
            term = _plain_term(word)
            if term is None:
                parsed.append(word)
            elif term not in terms:
                terms.append(term)
        document = table + ("search_agent" if self.internal else "search_public")
        if terms:
            query = " & ".join(term.query for term in terms)
            if _walk_newest(terms, connection):
                parts.append(f"ts_match_vq({document}, CAST(%s AS tsquery))")
            else:
                parts.append(f"{document} @@ CAST(%s AS tsquery)")
            params.append(query)
        public_only = "" if self.internal else " AND NOT is_internal"
        hits = (
            f"SELECT ticket_id FROM {Comment._meta.db_table} "  # noqa: S608
            f"WHERE {_COMMENT_DOCUMENT} @@ {_WORD_QUERY}{public_only}"
        )
        own = _OWN_DOCUMENT.format(table=table)
        for word in parsed:
            # Only fixed names are interpolated; the words travel as bound parameters.
            parts.append(
                f"({document} @@ {_WORD_QUERY} AND "
                f"({own} @@ {_WORD_QUERY} OR {pk_sql} IN ({hits})))"
            )
            params += [word, word, *pk_params, word]
        return "(" + " AND ".join(parts) + ")", params


def ticket_list(*, actor: Actor, filters: TicketFilters | None = None) -> QuerySet[Ticket]:
    """The queue: visible tickets, filtered and sorted, with what a list row shows prefetched."""
    f = filters or TicketFilters()
    qs = ticket_visible(actor=actor)
    if f.queue == "mine":
        qs = qs.filter(assignee_id=actor.user_id)
    elif f.queue == "groups":
        qs = qs.filter(group_id__in=actor.group_ids)
    elif f.queue == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if f.queue in {"mine", "groups", "unassigned", "open"} and not f.status:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if f.status in STATUS_GROUPS:
        qs = qs.filter(status__in=STATUS_GROUPS[f.status])
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.priority is not None:
        qs = qs.filter(priority=f.priority)
    if f.type:
        qs = qs.filter(type=f.type)
    if f.organization_id is not None:
        qs = qs.filter(tenant_id=f.organization_id)
    if f.group_id is not None:
        qs = qs.filter(group_id=f.group_id)
    if f.assignee_id is not None:
        qs = qs.filter(assignee_id=f.assignee_id)
    if f.requester_id is not None:
        qs = qs.filter(requester_id=f.requester_id)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.category_id is not None:
        qs = qs.filter(Q(category_id=f.category_id) | Q(subcategory_id=f.category_id))
    qs = ticket_search(qs, f.q, include_internal=actor.is_agent)
    return qs.select_related(
        "tenant",
        "requester",
        "assignee",
        "group",
        "category",
        "subcategory",
        "sla__policy",
        "sla__calendar",
    ).order_by(*SORTS[f.sort])


def ticket_get(*, actor: Actor, ref: str | int) -> Ticket:
    """One ticket by id or by number (INC-000123). Another organisation's: NotFound."""
    qs = (
        ticket_visible(actor=actor)
        .select_related(
            "requester", "assignee", "parent", "duplicate_of", "created_by", "resolved_by", "sla"
        )
        .defer("parent__description", "duplicate_of__description")
    )
    ticket = _ticket_by_ref(qs, actor=actor, ref=ref)
    _configuration_attach(ticket)
    return ticket


def _configuration_attach(ticket: Ticket) -> None:
    """The ticket's organisation, group, categories and SLA policy and calendar, from the
    configuration cache instead of six more joins (the rows are shared: read-only). A row the
    cache does not have (not possible once committed) is left to Django to read."""
    pairs: list[tuple[Any, str, Any]] = [
        (ticket, "tenant", Organization),
        (ticket, "group", SupportGroup),
        (ticket, "category", Category),
        (ticket, "subcategory", Category),
    ]
    sla = getattr(ticket, "sla", None)  # select_related: None when the ticket has no clock
    if sla is not None:
        pairs += [(sla, "policy", SlaPolicy), (sla, "calendar", Calendar)]
    for obj, name, model in pairs:
        pk = getattr(obj, f"{name}_id")
        if pk is not None and (row := config_cache.rows(model).get(pk)) is not None:
            setattr(obj, name, row)


def ticket_get_for_change(*, actor: Actor, ref: str | int) -> Ticket:
    """ticket_get without the related rows, for a change whose service locks and reads the
    ticket again (a reply): the same visibility and the same NotFound, one narrow query."""
    return _ticket_by_ref(ticket_visible(actor=actor), actor=actor, ref=ref)


def _ticket_by_ref(qs: QuerySet[Ticket], *, actor: Actor, ref: str | int) -> Ticket:
    ref_text = str(ref).strip()
    if "\x00" in ref_text:  # PostgreSQL refuses a NUL byte in a query parameter
        raise NotFound("Ticket not found.")
    try:
        # ASCII digits only: str.isdigit() also accepts e.g. "²", which int() refuses.
        if ref_text.isascii() and ref_text.isdigit():
            ticket: Ticket = qs.get(pk=int(ref_text))
        else:
            ticket = qs.get(number=ref_text.upper()[:20])
    except Ticket.DoesNotExist:
        raise NotFound("Ticket not found.") from None
    access.require(actor, "tickets.view", ticket)
    return ticket


@dataclass(slots=True)
class TimelineEntry:
    event: AuditEvent
    comment: Comment | None = None
    attachments: list[Attachment] = field(default_factory=list)
    escalation: Escalation | None = None
    # The message that opened the ticket (on its "created" event) or that carried the reply
    # (a mail.models.InboundMail: the mail app provides it, see timeline_mail_provider).
    mail: Any = None
    # The mail's inline images (content-id -> attachment) that this actor may see.
    inline_images: dict[str, Attachment] = field(default_factory=dict)


def ticket_timeline(*, actor: Actor, ticket: Ticket) -> list[TimelineEntry]:
    """Every event of the ticket in order (end users: only public ones), with the comments,
    attachments and escalations they refer to, in a fixed number of queries."""
    return ticket_activity(actor=actor, ticket=ticket).timeline


@dataclass(slots=True)
class TicketActivity:
    timeline: list[TimelineEntry]
    # The handoff the current group should read first (escalation_latest); None for end users.
    handoff: Escalation | None


def ticket_activity(*, actor: Actor, ticket: Ticket) -> TicketActivity:
    """The ticket page's timeline (ticket_timeline) and handoff note (escalation_latest), with
    the ticket's escalations read once for both, and only when there are any: an escalation is
    only ever made by services.ticket_escalate, which records an event naming it (and events
    are never deleted), so a ticket none of whose events names one has none."""
    access.require(actor, "tickets.view", ticket)
    events = AuditEvent.objects.filter(
        target_type="tickets.ticket", target_id=ticket.pk
    ).select_related("actor")
    if not actor.is_agent:
        events = events.filter(is_public=True)
    event_list = list(events.order_by("id"))
    escalations: dict[int, Escalation] = {}
    if actor.is_agent and any(e.data.get("escalation_id") for e in event_list):
        escalations = {e.pk: e for e in escalation_list(actor=actor, ticket=ticket)}
    functional = [e for e in escalations.values() if e.kind == Escalation.Kind.FUNCTIONAL]
    handoff = max(functional, key=lambda e: (e.created_at, e.pk), default=None)
    return TicketActivity(
        timeline=_timeline(actor, ticket, event_list, escalations), handoff=handoff
    )


def _timeline(
    actor: Actor,
    ticket: Ticket,
    event_list: list[AuditEvent],
    escalations: Mapping[int, Escalation],
) -> list[TimelineEntry]:
    comment_ids = [e.data.get("comment_id") for e in event_list if e.data.get("comment_id")]
    comments = {
        c.pk: c for c in Comment.objects.filter(pk__in=comment_ids).select_related("author")
    }
    attachments = Attachment.objects.filter(ticket=ticket)
    if not actor.is_agent:
        attachments = attachments.filter(is_internal=False)
    by_comment: dict[int, list[Attachment]] = {}
    by_id: dict[int, Attachment] = {}
    for att in attachments:
        by_id[att.pk] = att
        if att.comment_id:
            by_comment.setdefault(att.comment_id, []).append(att)
    mail_by_comment, opening_mail = _ticket_mail(ticket, comments.values())
    entries: list[TimelineEntry] = []
    for event in event_list:
        entry = TimelineEntry(event=event)
        if opening_mail is not None and event.kind == AuditEvent.Kind.CREATED:
            entry.mail, opening_mail = opening_mail, None
        comment_id = event.data.get("comment_id")
        if comment_id:
            entry.comment = comments.get(comment_id)
            if entry.comment is None or (entry.comment.is_internal and not actor.is_agent):
                continue
            entry.attachments = by_comment.get(comment_id, [])
            entry.mail = mail_by_comment.get(comment_id)
        attachment_id = event.data.get("attachment_id")
        if attachment_id:
            found = by_id.get(attachment_id)
            if found is None or found.comment_id:  # hidden, or shown with its comment
                continue
            entry.attachments = [found]
        escalation_id = event.data.get("escalation_id")
        if escalation_id:
            entry.escalation = escalations.get(escalation_id)
        if entry.mail is not None:
            entry.inline_images = _inline_images(entry.mail, by_id)
        entries.append(entry)
    return entries


class TimelineMail(Protocol):
    """What the timeline needs of the mail behind a ticket: {comment id: message} and the
    message that opened the ticket. The mail app registers it (MailConfig.ready), so tickets do
    not depend on mail; without it the timeline shows no mail."""

    def __call__(
        self, ticket: Ticket, comments: Iterable[Comment]
    ) -> tuple[dict[int, Any], Any]: ...


_timeline_mail: list[TimelineMail] = []


def timeline_mail_provider(provider: TimelineMail) -> None:
    """Register the function that finds the mail behind a ticket's timeline (one per process)."""
    _timeline_mail[:] = [provider]


def _ticket_mail(ticket: Ticket, comments: Iterable[Comment]) -> tuple[dict[int, Any], Any]:
    if not _timeline_mail:
        return {}, None
    return _timeline_mail[0](ticket, comments)


def _inline_images(mail: Any, visible: Mapping[int, Attachment]) -> dict[str, Attachment]:
    """content-id -> attachment for the images of `mail` among the attachments the actor may
    see (an end user never gets an internal attachment's address)."""
    stored = mail.inline_images
    if not isinstance(stored, dict):
        return {}
    images: dict[str, Attachment] = {}
    for content_id, pk in stored.items():
        try:
            found = visible.get(int(pk))
        except (TypeError, ValueError):
            continue
        if found is not None:
            images[str(content_id)] = found
    return images


@dataclass(frozen=True, slots=True)
class TicketLinks:
    children: list[Ticket]
    duplicates: list[Ticket]  # tickets merged into this one
    watchers: list[User]


def ticket_links(*, actor: Actor, ticket: Ticket) -> TicketLinks:
    """The ticket's children, the tickets merged into it and its watchers, in two queries.
    Children and duplicates share the ticket's organisation (the services enforce it)."""
    access.require(actor, "tickets.view", ticket)
    linked = list(
        ticket_visible(actor=actor)
        .filter(Q(parent_id=ticket.pk) | Q(duplicate_of_id=ticket.pk))
        .order_by("id")
    )
    return TicketLinks(
        children=[t for t in linked if t.parent_id == ticket.pk],
        duplicates=[t for t in linked if t.duplicate_of_id == ticket.pk],
        watchers=list(ticket.watchers.all()),
    )


def watchers_with_access(ticket: Ticket) -> QuerySet[User]:
    """The ticket's watchers who may still see it (accounts' organisation access rule, which
    watcher_add applies when they start watching, read again here: access may have been lost
    since). One query."""
    return ticket.watchers.filter(organization_access_q(ticket.tenant_id)).distinct()


def comment_list(*, actor: Actor, ticket: Ticket) -> QuerySet[Comment]:
    access.require(actor, "tickets.view", ticket)
    qs = Comment.objects.filter(ticket=ticket).select_related("author")
    if not actor.is_agent:
        qs = qs.filter(is_internal=False)
    return qs.order_by("created_at", "id")


def attachment_list(*, actor: Actor, ticket: Ticket) -> QuerySet[Attachment]:
    access.require(actor, "tickets.view", ticket)
    qs = Attachment.objects.filter(ticket=ticket)
    if not actor.is_agent:
        qs = qs.filter(is_internal=False)
    return qs.order_by("created_at", "id")


def attachment_get(*, actor: Actor, ticket: Ticket, uid: str) -> Attachment:
    """An attachment, always looked up through its ticket. Unknown, foreign or internal (for
    end users): NotFound."""
    try:
        return attachment_list(actor=actor, ticket=ticket).get(uid=uid)
    except (Attachment.DoesNotExist, ValueError, Exception) as exc:  # bad UUID text too
        if isinstance(exc, NotFound):
            raise
        raise NotFound("Attachment not found.") from None


def escalation_latest(*, actor: Actor, ticket: Ticket) -> Escalation | None:
    """The handoff the current group should read first (agents only)."""
    if not actor.is_agent:
        return None
    access.require(actor, "tickets.view", ticket)
    esc: Escalation | None = (
        Escalation.objects.filter(ticket=ticket, kind=Escalation.Kind.FUNCTIONAL)
        .select_related("from_group", "to_group", "created_by")
        .order_by("-created_at", "-id")
        .first()
    )
    return esc


def escalation_list(*, actor: Actor, ticket: Ticket) -> QuerySet[Escalation]:
    if not actor.is_agent:
        return Escalation.objects.none()
    access.require(actor, "tickets.view", ticket)
    return Escalation.objects.filter(ticket=ticket).select_related(
        "from_group", "to_group", "created_by"
    )


def category_list() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).select_related("parent").order_by("name")


def category_list_cached() -> list[Category]:
    """category_list as a list, from the process's configuration cache (shared: read-only)."""
    categories: list[Category] = config_cache.cached(
        "tickets.categories.active", lambda: list(category_list())
    )
    return categories


def requester_choices(*, actor: Actor, organization_id: int | None = None) -> QuerySet[User]:
    """People an agent may log a ticket for."""
    if not actor.is_agent:
        return User.objects.none()
    qs = User.objects.filter(is_active=True).select_related("organization")
    if not actor.all_tenants:
        qs = qs.filter(organization_id__in=actor.tenant_ids)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return qs.order_by("full_name")


def status_link_ticket(*, raw_token: str) -> Ticket:
    """The ticket a mailed status link shows; expired, revoked or unknown links: NotFound."""
    from django.utils import timezone

    from frontline.tickets.services import status_link_hash

    if not raw_token or len(raw_token) > 100:
        raise NotFound("This link is not valid.")
    link = (
        StatusLink.objects.filter(
            token_hash=status_link_hash(raw_token),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("ticket", "ticket__group", "ticket__tenant")
        .first()
    )
    if link is None:
        raise NotFound("This link is not valid or has expired.")
    return link.ticket


@dataclass(frozen=True, slots=True)
class RowShape:
    """The joins and columns a list reads for its rows (QuerySet.select_related and only)."""

    related: tuple[str, ...]
    fields: tuple[str, ...]


# What a row of the portal's "My tickets" shows (portal_ui.portal_rows).
PORTAL_ROW = RowShape(
    related=("requester",),
    fields=(
        "id",
        "number",
        "subject",
        "status",
        "updated_at",
        "requester_id",
        "requester__full_name",
    ),
)


# What tickets.api.ticket_data reads of a ticket: every column of the ticket, the names (and
# the e-mail, the group's tier) of what it points to, and the SLA clock with its policy and
# calendar in full (sla.schemas reads those). Not the password hashes, logins and settings of
# two users, nor the organisation's settings, per ticket (benchmark issue #3: an API page
# builds ~350 model instances).
API_ROW = RowShape(
    related=(
        *("tenant", "requester", "assignee", "group", "category", "subcategory"),
        *("sla__policy", "sla__calendar"),
    ),
    fields=(
        *(f.attname for f in Ticket._meta.concrete_fields),
        *("tenant__name", "requester__full_name", "requester__email", "assignee__full_name"),
        *("group__name", "group__tier", "category__name", "subcategory__name"),
        *(f"sla__{f.attname}" for f in TicketSla._meta.concrete_fields),
    ),
)


def ticket_rows(tickets: QuerySet[Ticket], shape: RowShape) -> QuerySet[Ticket]:
    """`tickets` (from ticket_list) reading only the joins and columns of `shape`."""
    return tickets.select_related(None).select_related(*shape.related).only(*shape.fields)


@dataclass(frozen=True, slots=True)
class NameRef:
    """A joined row as a list shows it: its name (organisation, group)."""

    name: str


@dataclass(frozen=True, slots=True)
class PersonRef:
    full_name: str


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row of the desk's queue: what tickets_ui.queue_rows draws, read as plain values.

    A page of 50 model instances, each with its organisation, requester, assignee, group and
    SLA clock instances, cost more than drawing the page (benchmark issue #3). The attributes
    are named as on Ticket, so the row draws the same as a ticket (a test compares them)."""

    pk: int
    number: str
    type: str
    subject: str
    status: str
    priority: int
    updated_at: Any
    tenant: NameRef
    requester: PersonRef
    assignee: PersonRef | None
    group: NameRef | None
    clock: TicketSla | None

    @property
    def sla(self) -> TicketSla:
        """The SLA clock, raising like Ticket.sla when there is none (sla.selectors.clock_of)."""
        if self.clock is None:
            raise TicketSla.DoesNotExist
        return self.clock


_QUEUE_COLUMNS = (
    *("id", "number", "type", "subject", "status", "priority", "updated_at"),
    *("tenant__name", "requester__full_name", "assignee_id", "assignee__full_name"),
    *("group_id", "group__name"),
)
# The SLA clock's every column (the Due cell's status reads most of them), in the model's
# order, so a TicketSla is built the way the ORM builds one (Model.from_db).
_CLOCK_FIELDS = tuple(f.attname for f in TicketSla._meta.concrete_fields)
_CLOCK_COLUMNS = tuple(f"sla__{name}" for name in _CLOCK_FIELDS)
# A column that is never null in a clock row: null after the join means "no clock".
_CLOCK_PRESENT = _CLOCK_FIELDS.index("calendar_id")


def queue_rows(ids: Sequence[int]) -> list[QueueRow]:
    """The queue rows of tickets `ids` (already scoped to the actor by ticket_list), in no
    particular order: one query, one TicketSla instance per row and no other model instance."""
    if not ids:
        return []
    found = Ticket.objects.filter(pk__in=ids).values_list(*_QUEUE_COLUMNS, *_CLOCK_COLUMNS)
    width = len(_QUEUE_COLUMNS)
    rows: list[QueueRow] = []
    for values in found:
        (pk, number, type_, subject, status, priority, updated_at, tenant_name) = values[:8]
        (requester_name, assignee_id, assignee_name, group_id, group_name) = values[8:width]
        clock_values = list(values[width:])
        clock = None
        if clock_values[_CLOCK_PRESENT] is not None:
            clock_values[_CLOCK_FIELDS.index("ticket_id")] = pk
            clock = TicketSla.from_db(Ticket.objects.db, _CLOCK_FIELDS, clock_values)
        rows.append(
            QueueRow(
                pk=pk,
                number=number,
                type=type_,
                subject=subject,
                status=status,
                priority=priority,
                updated_at=updated_at,
                tenant=NameRef(tenant_name),
                requester=PersonRef(requester_name),
                assignee=PersonRef(assignee_name) if assignee_id is not None else None,
                group=NameRef(group_name) if group_id is not None else None,
                clock=clock,
            )
        )
    return rows


# The queue counts matching tickets up to this many (more: "1,000+ tickets"), or up to the
# requested page and this many pages more, whichever is more.
COUNT_CAP = 1000
COUNT_PAGES_AHEAD = 10


class CappedPaginator(Paginator[Any]):
    """The queue's paginator: one query for the ids, in order, of at most `cap` matches (and
    the pages needed to reach the requested page and ten more), then the page's rows by id.

    An exact COUNT(*) of "all tickets" or of a common search word reads every match (~1 s at a
    million tickets) on every page view; past the cap the queue shows "1,000+" as ServiceNow
    and Jira do (`capped` says so). The rows with their joined requester, organisation, group
    and SLA are read for the page's ids only, never for every match before the sort. Still two
    queries, whatever the page size."""

    def __init__(
        self,
        object_list: QuerySet[Ticket],
        per_page: int,
        *,
        page: str | None = None,
        rows: Callable[[list[int]], Iterable[Any]] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.tickets = object_list
        self.rows = rows
        wanted = int(page) if page and page.isascii() and page.isdigit() and len(page) < 7 else 1
        self.cap = max(COUNT_CAP, (wanted + COUNT_PAGES_AHEAD) * per_page)
        self.capped = False

    @cached_property
    def _ids(self) -> list[int]:
        found = list(self.tickets.values_list("pk", flat=True)[: self.cap + 1])
        self.capped = len(found) > self.cap
        return found[: self.cap]

    @cached_property
    def count(self) -> int:
        return len(self._ids)

    def page(self, number: Any) -> Page[Any]:
        """The page's tickets with their joins, or what `rows` (ids -> rows with a `pk`, in
        any order, e.g. queue_rows) makes of its ids."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self._ids[bottom : bottom + self.per_page]
        found: Iterable[Any]
        if self.rows is None:
            tickets = Ticket.objects.filter(pk__in=ids)
            tickets.query.select_related = self.tickets.query.select_related
            found = tickets if ids else []
        else:
            found = self.rows(ids)
        by_id = {row.pk: row for row in found}
        return Page([by_id[pk] for pk in ids if pk in by_id], number, self)
