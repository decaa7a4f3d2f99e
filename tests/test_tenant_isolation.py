"""The tenant isolation sweep (DESIGN.md "Tenant isolation in one place", STYLE.md section 3).

Every URL of Frontline, asked by the people of organisation A about each object of organisation
B, answers 403 or 404, exactly as for an object that does not exist, and writes nothing.

The sweep is generic: it walks Django's URL resolver (desk, portal, accounts, and every
django-ninja operation under /api/v1/), so a new endpoint is swept as soon as it is routed.
A path parameter whose name the sweep does not know, or a write for which it has no plausible
body, fails the sweep with a message saying what to add, so no endpoint slips through unasked.

For each pattern x method x person (an end user, a designated contact and the organisation
admin of A, and an agent who serves only A; a session for pages, a Bearer token for the API):

* with B's objects in the path (and A's objects mixed with B's where a pattern names two, e.g.
  B's attachment through A's own ticket): 403 or 404 after following redirects (so a redirect
  to a success page counts as a success), with the same status, and for the API the same JSON,
  as for an object that does not exist;
* with B's objects named in the body of a write to A's own objects (merge into, parent, watcher,
  requester, organisation), and in the query string of every list page: the same answer as for
  an id that does not exist;
* no response contains anything of B's (subjects, comments, file names, people, organisation);
* the whole database (every row of every model, less the volatile columns in VOLATILE) and the
  attachment storage are the same after the sweep as before.

Positive controls prove that the sweep could fail: the same URLs with A's objects succeed (every
read, and every write with the very bodies the sweep sends, which then changes the database),
and the snapshot notices a change.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from ninja.operation import PathView

from frontline.accounts.models import User
from frontline.accounts.services import token_create
from frontline.api.urls import api
from frontline.core.access import Actor
from frontline.mail.tests.ui_factories import Sent, mail_reply
from frontline.tenants.models import Organization
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Escalation, StatusLink, Ticket
from frontline.tickets.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The people of organisation A who ask (attributes of the `desk` fixture).
ASKERS = ("user_a", "contact_a", "orgadmin_a", "agent_a")
REFUSED = frozenset({403, 404})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# --- what the sweep leaves out, and why ------------------------------------------------------
# (Static files are served by WhiteNoise's middleware, not by a URL pattern, so the walk never
# meets them.)

SKIPPED_PREFIXES = {
    "admin/": "Django's admin site: staff only (is_staff), with its own model permissions; "
    "no person of a client organisation can sign in to it",
}
SKIPPED_NAMES = {
    "healthz": "health check: database and broker state, no tenant data and no parameters",
    "api-v1:openapi-json": "the OpenAPI schema: one document, the same for everyone",
    "api-v1:openapi-view": "the Swagger UI page around that schema",
    "api-v1:docs-asset": "the Swagger UI's bundled JS/CSS (`name` is a file, not an object)",
    "api-v1:api-root": "django-ninja's root: always 404, there only to reverse the base path",
    "api-v1:endpoint_not_found": "the API's catch-all: 404 for any unknown path, looks nothing up",
    "accounts:login": "sign-in (credential stuffing: tests/security)",
    "accounts:logout": "sign-out of the caller's own session",
    "accounts:password-change": "changes the caller's own password",
    "accounts:password-reset": "asks for a reset mail by address (flood limit: tests/security)",
    "accounts:password-reset-done": "a static confirmation page",
    "accounts:password-reset-confirm": "`uidb64`/`token` are a one-time reset credential, "
    "not an object id",
    # Failed mail could not be routed, so it belongs to no organisation (yet): the list, its
    # downloads and retry are for the provider's administrators only, and every person of a
    # client organisation gets 403 (frontline/mail/tests/test_views.py asks each of them).
    "mail:failed-list": "failed mail: provider administrators only (403 for everyone of A)",
    "mail:failed-raw": "failed mail: provider administrators only (403 for everyone of A)",
    "mail:failed-retry": "failed mail: provider administrators only (403 for everyone of A)",
}

# --- snapshot of the whole database ----------------------------------------------------------

# Columns that change by themselves when someone merely uses the site: left out of the snapshot.
VOLATILE: dict[str, frozenset[str] | None] = {
    # SESSION_SAVE_EVERY_REQUEST: every signed-in request saves its session (a new expiry).
    "sessions.session": None,
    # Stamped by signing in.
    "accounts.user": frozenset({"last_login"}),
    # Stamped by the first use of a token, then at most every five minutes.
    "accounts.apitoken": frozenset({"last_used_at"}),
}

Snapshot = dict[str, dict[Any, str]]


def db_snapshot() -> Snapshot:
    """Every row of every model (and many-to-many table): {model label: {pk: hash of row}}."""
    snapshot: Snapshot = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy:
            continue
        left_out = VOLATILE.get(meta.label_lower, frozenset())
        if left_out is None:
            continue
        columns = [f.attname for f in meta.concrete_fields if f.attname not in left_out]
        rows = model._base_manager.order_by("pk").values_list("pk", *columns)
        snapshot[meta.label_lower] = {
            row[0]: hashlib.sha256(repr(row[1:]).encode()).hexdigest() for row in rows
        }
    return snapshot


def media_snapshot() -> list[tuple[str, int]]:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


def snapshot_diff(before: Snapshot, after: Snapshot) -> list[str]:
    lines = []
    for label in sorted(before.keys() | after.keys()):
        old, new = before.get(label, {}), after.get(label, {})
        if old == new:
            continue
        added = sorted(new.keys() - old.keys(), key=str)
        removed = sorted(old.keys() - new.keys(), key=str)
        changed = sorted((k for k in old.keys() & new.keys() if old[k] != new[k]), key=str)
        lines.append(
            f"{label}: {len(old)} -> {len(new)} rows; added {added[:5]}, "
            f"removed {removed[:5]}, changed {changed[:5]}"
        )
    return lines


# --- the two organisations' objects ----------------------------------------------------------


@dataclass
class World:
    """One organisation's objects, made through the services as the desk would make them."""

    org: Organization
    requester: User  # an end user; opened every ticket below
    people: list[User]  # everyone of the organisation
    watcher: User  # watches `ticket`
    newcomer: User  # a colleague who does not watch it (yet)
    group: Any  # the service desk (groups are the provider's, shared by all)
    ticket: Ticket  # open: a reply, an internal note with a file, a file, an escalation
    other: Ticket  # open: what `ticket` can be merged into or made a child of
    resolved: Ticket  # resolved: can be closed, confirmed or reopened
    comment: Comment
    note: Comment
    attachment: Attachment
    note_attachment: Attachment
    escalation: Escalation
    status_link: StatusLink
    raw_token: str
    word: str  # a word in the subjects of this organisation's tickets only
    mail: Any = None  # a reply to `ticket` received by mail (InboundMail, original stored)

    def fresh(self, ticket: Ticket) -> Ticket:
        return Ticket.objects.get(pk=ticket.pk)


def _file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, f"contents of {name}".encode(), content_type="text/plain")


def _build_world(desk: Any, *, org: Organization, people: list[User], tag: str) -> World:
    requester, watcher, newcomer = people[0], people[1], people[2]
    agent = desk.actor(desk.agent1)

    def open_ticket(subject: str) -> Ticket:
        return services.ticket_create(
            actor=agent,
            subject=f"{tag} {subject}",
            description=f"{tag} description",
            requester_id=requester.pk,
        )

    ticket = open_ticket("printer on fire")
    other = open_ticket("second printer")
    resolved = services.ticket_resolve(
        actor=agent,
        ticket=open_ticket("solved printer"),
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes=f"{tag} cleared the paper path",
    )
    comment = services.comment_add(actor=agent, ticket=ticket, body=f"{tag} public reply")
    note = services.comment_add(
        actor=agent,
        ticket=ticket,
        body=f"{tag} internal note",
        is_internal=True,
        files=[services.NewFile(f"{tag}-note.txt", _file(f"{tag}-note.txt"), "text/plain")],
    )
    attachment = services.attachment_add(
        actor=agent,
        ticket=ticket,
        new_file=services.NewFile(f"{tag}-public.txt", _file(f"{tag}-public.txt"), "text/plain"),
    )
    escalation = services.ticket_escalate(
        actor=agent,
        ticket=ticket,
        expected_version=None,
        symptoms=f"{tag} smoke",
        diagnosis=f"{tag} fuser",
        steps_tried=[f"{tag} power cycle"],
    )
    services.watcher_add(actor=agent, ticket=ticket, user_id=watcher.pk)
    raw_token = services.status_link_create(actor=agent, ticket=ticket)
    _, mail = mail_reply(
        desk,
        ticket,
        requester,
        Sent(
            subject=f"Re: {tag} printer on fire",
            text=f"{tag} reply by mail",
            html=f"<p>{tag} reply by mail</p>",
            sender=requester.email,
            sender_name=requester.full_name,
        ),
    )
    return World(
        org=org,
        requester=requester,
        people=people,
        watcher=watcher,
        newcomer=newcomer,
        group=desk.tier1,
        ticket=Ticket.objects.get(pk=ticket.pk),
        other=other,
        resolved=resolved,
        comment=comment,
        note=note,
        attachment=attachment,
        note_attachment=Attachment.objects.get(comment=note),
        escalation=escalation,
        status_link=StatusLink.objects.get(ticket=ticket),
        raw_token=raw_token,
        word=tag.split()[-1],
        mail=mail,
    )


def _missing_world(a: World) -> World:
    """Stand-ins for objects that do not exist: what B's objects must be indistinguishable from."""
    nobody = User(pk=999_999, email="nobody@nowhere.example", full_name="Nobody")
    ticket = Ticket(pk=999_999, number="INC-999999", subject="", status=Ticket.Status.NEW)
    return World(
        org=Organization(pk=999_999, name="Nowhere", slug="nowhere"),
        requester=nobody,
        people=[nobody],
        watcher=nobody,
        newcomer=nobody,
        group=a.group,
        ticket=ticket,
        other=ticket,
        resolved=ticket,
        comment=a.comment,
        note=a.note,
        attachment=a.attachment,
        note_attachment=a.note_attachment,
        escalation=a.escalation,
        status_link=a.status_link,
        raw_token="no-such-token",
        word="ZZQ",
    )


# --- path parameters: what each name can name of B's -----------------------------------------

MISSING_ID = "999999"
MISSING_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Value:
    text: str  # what goes in the URL
    missing: str  # the same kind of reference, to nothing
    label: str  # for messages
    ticket: Ticket | None = None  # the ticket the value names, if any
    foreign: bool = True


@dataclass(frozen=True)
class Param:
    meaning: str
    foreign: Callable[[World], list[Value]]  # every object of B's it can name
    own: Callable[[World, str], Value]  # A's object, for a ticket in the given state


def _ticket_refs(t: Ticket, *, foreign: bool = True) -> list[Value]:
    return [
        Value(str(t.pk), MISSING_ID, f"ticket {t.number} by id", t, foreign),
        Value(t.number, "INC-999999", f"ticket {t.number} by number", t, foreign),
    ]


def _own_ticket(w: World, state: str) -> Ticket:
    return w.resolved if state == "resolved" else w.ticket


def _pk(obj: models.Model, label: str, missing: str = MISSING_ID) -> Value:
    return Value(str(obj.pk), missing, f"{label} #{obj.pk}")


def _own(value: Value) -> Value:
    return Value(value.text, value.missing, f"own {value.label}", value.ticket, foreign=False)


PARAMETERS: dict[str, Param] = {
    "ref": Param(
        "a ticket, by id or by number",
        lambda w: [*_ticket_refs(w.ticket), *_ticket_refs(w.resolved)],
        lambda w, state: _ticket_refs(_own_ticket(w, state), foreign=False)[1],
    ),
    "ticket_id": Param(
        "a ticket, by id",
        lambda w: [_ticket_refs(w.ticket)[0], _ticket_refs(w.resolved)[0]],
        lambda w, state: _ticket_refs(_own_ticket(w, state), foreign=False)[0],
    ),
    "uid": Param(
        "an attachment, by uid (public, and internal on a note)",
        lambda w: [
            Value(str(w.attachment.uid), MISSING_UUID, "public attachment"),
            Value(str(w.note_attachment.uid), MISSING_UUID, "internal attachment"),
        ],
        lambda w, state: _own(Value(str(w.attachment.uid), MISSING_UUID, "attachment")),
    ),
    "attachment_id": Param(
        "an attachment, by id",
        lambda w: [_pk(w.attachment, "attachment"), _pk(w.note_attachment, "internal attachment")],
        lambda w, state: _own(_pk(w.attachment, "attachment")),
    ),
    "comment_id": Param(
        "a comment: a public reply or an internal note",
        lambda w: [_pk(w.comment, "reply"), _pk(w.note, "internal note")],
        lambda w, state: _own(_pk(w.comment, "reply")),
    ),
    "escalation_id": Param(
        "an escalation (with its handoff note)",
        lambda w: [_pk(w.escalation, "escalation")],
        lambda w, state: _own(_pk(w.escalation, "escalation")),
    ),
    "user_id": Param(
        "a person",
        lambda w: [_pk(u, f"person {u.email}") for u in w.people],
        lambda w, state: _own(_pk(w.requester, "person")),
    ),
    "organization_id": Param(
        "an organisation",
        lambda w: [_pk(w.org, "organisation")],
        lambda w, state: _own(_pk(w.org, "organisation")),
    ),
    "group_id": Param(
        "a support group: groups belong to the provider and serve every organisation, so B "
        "has none to ask for (nothing to sweep)",
        lambda w: [],
        lambda w, state: _own(_pk(w.group, "group")),
    ),
    "inbound_id": Param(
        "a received message (its original is downloadable by agents who see its ticket)",
        lambda w: [_pk(w.mail, "received mail")],
        lambda w, state: _own(_pk(w.mail, "received mail")),
    ),
    "token": Param(
        "a mailed status link. The raw token is a credential that shows the ticket without "
        "signing in (public by design), so B's raw token is left out; every other way of "
        "naming B's ticket or link (id, number, stored hash, link id) must fail",
        lambda w: [
            *_ticket_refs(w.ticket),
            Value(w.status_link.token_hash, "0" * 64, "status link's stored hash"),
            _pk(w.status_link, "status link"),
        ],
        lambda w, state: _own(Value(w.raw_token, "no-such-token", "status link token")),
    ),
}

# --- bodies: what would succeed against the object named in the path ------------------------


@dataclass
class Ctx:
    ticket: Ticket | None  # the ticket named in the path, as it is now (current version)
    world: World  # whose objects the body names


@dataclass(frozen=True)
class Body:
    build: Callable[[Ctx], dict[str, Any]]
    kind: str = "json"  # "json", or "form" (multipart: forms and uploads)
    state: str = "open"  # which of A's tickets it succeeds on (positive control)
    names_objects: bool = False  # also swept with B's objects in the body on A's own URL
    not_swept: str = ""  # why a write that names no object of anyone's is left out


def _version(c: Ctx) -> int:
    assert c.ticket is not None
    return c.ticket.version


def _edit_form(c: Ctx) -> dict[str, Any]:
    t = c.ticket
    assert t is not None
    return {
        "subject": "Changed by the isolation sweep",
        "type": t.type,
        "impact": t.impact,
        "urgency": t.urgency,
        "affected_service": "",
        "location": "",
        "category_id": "",
        "subcategory_id": "",
        "version": t.version,
    }


def _sweep_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("sweep.txt", b"written by the isolation sweep", "text/plain")


STEPS = ["Restarted the print spooler"]
SYMPTOMS = "Nothing prints since this morning"

# Keyed by "<METHOD> <operation>": "api:<operation id>" for django-ninja, the URL name for pages.
BODIES: dict[str, Body] = {
    # --- API ---------------------------------------------------------------------------------
    "POST api:ticket_create": Body(
        lambda c: {
            "subject": "Opened by the isolation sweep",
            "requester_id": c.world.requester.pk,
            "organization_id": c.world.org.pk,
        },
        names_objects=True,
    ),
    "PATCH api:ticket_update": Body(
        lambda c: {"subject": "Changed by the isolation sweep", "version": _version(c)}
    ),
    "POST api:comment_create": Body(lambda c: {"body": "Reply from the isolation sweep"}),
    "POST api:attachment_create": Body(lambda c: {"file": _sweep_file()}, kind="form"),
    "POST api:ticket_assign": Body(lambda c: {"group_id": c.world.group.pk}),
    "POST api:ticket_escalate": Body(
        lambda c: {"kind": "functional", "symptoms": SYMPTOMS, "steps_tried": STEPS}
    ),
    "POST api:ticket_transition": Body(lambda c: {"status": "in_progress"}),
    "POST api:ticket_resolve": Body(
        lambda c: {"resolution_code": "workaround", "resolution_notes": "Cleared the queue."}
    ),
    "POST api:ticket_close": Body(lambda c: {"version": _version(c)}, state="resolved"),
    "POST api:ticket_reopen": Body(lambda c: {"reason": "Still jams"}, state="resolved"),
    "POST api:ticket_confirm": Body(lambda c: {"version": _version(c)}, state="resolved"),
    "POST api:user_create": Body(
        lambda c: {
            "organization_id": c.world.org.pk,
            "email": "newcomer.sweep@example.test",
            "full_name": "Newcomer Sweep",
        },
        names_objects=True,
    ),
    "PATCH api:user_me_update": Body(
        lambda c: {"full_name": "Renamed by the isolation sweep"},
        not_swept="changes the caller's own profile; names no object",
    ),
    "PATCH api:user_update": Body(lambda c: {"full_name": "Renamed by the isolation sweep"}),
    # --- desk ----------------------------------------------------------------------------------
    "POST tickets:phone-log": Body(
        lambda c: {
            "subject": "Logged by the isolation sweep",
            "requester_id": c.world.requester.pk,
            "description": "",
            "type": "incident",
            "impact": 3,
            "urgency": 3,
            "affected_service": "",
            "location": "",
            "channel": "phone",
            "category_id": "",
            "subcategory_id": "",
            "resolution_code": "",
            "resolution_notes": "",
        },
        kind="form",
        names_objects=True,
    ),
    "POST tickets:comment-add": Body(
        lambda c: {
            "visibility": "public",
            "body": "Reply from the isolation sweep",
            "attachments": _sweep_file(),
            "version": _version(c),
        },
        kind="form",
    ),
    "POST tickets:ticket-assign": Body(
        lambda c: {"group_id": c.world.group.pk, "assignee_id": "", "version": _version(c)},
        kind="form",
    ),
    "POST tickets:ticket-escalate": Body(
        lambda c: {
            "kind": "functional",
            "to_group_id": "",
            "symptoms": SYMPTOMS,
            "diagnosis": "",
            "steps_tried": STEPS,
            "reason": "",
            "version": _version(c),
        },
        kind="form",
    ),
    "POST tickets:ticket-transition": Body(
        lambda c: {
            "status": "in_progress",
            "resolution_code": "",
            "resolution_notes": "",
            "reason": "",
            "version": _version(c),
        },
        kind="form",
    ),
    "POST tickets:ticket-update": Body(_edit_form, kind="form"),
    "POST tickets:ticket-merge": Body(
        lambda c: {"target": c.world.other.number, "version": _version(c)},
        kind="form",
        names_objects=True,
    ),
    "POST tickets:ticket-link-parent": Body(
        lambda c: {"parent": c.world.other.number, "version": _version(c)},
        kind="form",
        names_objects=True,
    ),
    "POST tickets:watcher-add": Body(
        lambda c: {"user_id": c.world.newcomer.pk, "version": _version(c)},
        kind="form",
        names_objects=True,
    ),
    "POST tickets:watcher-remove": Body(
        lambda c: {"user_id": c.world.watcher.pk, "version": _version(c)},
        kind="form",
        names_objects=True,
    ),
    # --- portal --------------------------------------------------------------------------------
    "POST portal:ticket-create": Body(
        lambda c: {
            "type": "incident",
            "subject": "Opened by the isolation sweep",
            "description": "Nothing prints.",
            "impact": 3,
            "urgency": 3,
        },
        kind="form",
        not_swept="opens a ticket for the caller in their own organisation; the form has no "
        "organisation, requester or any other reference",
    ),
    "POST portal:ticket-reply": Body(
        lambda c: {"body": "Reply from the isolation sweep", "attachments": _sweep_file()},
        kind="form",
    ),
    "POST portal:ticket-confirm": Body(
        lambda c: {"version": _version(c)}, kind="form", state="resolved"
    ),
    "POST portal:ticket-reopen": Body(
        lambda c: {"reason": "Still jams", "version": _version(c)}, kind="form", state="resolved"
    ),
}


def list_probes(w: World) -> list[dict[str, Any]]:
    """Query strings that name `w`'s objects, sent to every page and list without parameters."""
    return [
        {"organization": w.org.pk, "scope": "org"},
        {"requester": w.requester.pk, "scope": "org"},
        {"q": w.ticket.number, "scope": "org"},
        {"q": w.word, "scope": "org"},
    ]


# --- the routes ------------------------------------------------------------------------------

PARAM_RE = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass
class Route:
    route: str  # "desk/tickets/<str:ref>/"
    name: str  # "tickets:ticket-detail"
    params: tuple[str, ...]
    operations: dict[str, str]  # django-ninja: method -> operation id; empty for pages
    methods: tuple[str, ...] = ()

    @property
    def is_api(self) -> bool:
        return bool(self.operations)

    def key(self, method: str) -> str:
        return f"{method} api:{self.operations[method]}" if self.is_api else f"{method} {self.name}"

    def url(self, values: dict[str, str]) -> str:
        return "/" + PARAM_RE.sub(lambda m: quote(values[m.group(1)], safe=""), self.route)


def _walk(
    resolver: URLResolver, prefix: str = "", namespace: tuple[str, ...] = ()
) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespace, entry.namespace) if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        else:
            name = ":".join((*namespace, entry.name)) if entry.name else ""
            yield prefix + str(entry.pattern), name, entry


def _skip_reason(route: str, name: str) -> str:
    for prefix, reason in SKIPPED_PREFIXES.items():
        if route.startswith(prefix):
            return reason
    return SKIPPED_NAMES.get(name, "")


def _ninja_operations(callback: Any) -> dict[str, str] | None:
    """method -> operation id for a django-ninja path (all its operations, even hidden ones)."""
    try:
        owner = inspect.getclosurevars(callback).nonlocals.get("self")
    except TypeError:
        return None
    if not isinstance(owner, PathView):
        return None
    return {m.upper(): op.view_func.__name__ for op in owner.operations for m in op.methods}


def openapi_path(route: str) -> str:
    return "/" + PARAM_RE.sub(r"{\1}", route)


@dataclass
class RouteTable:
    routes: list[Route]
    skipped: list[tuple[str, str, str]]  # route, name, reason
    problems: list[str]


def discover_routes() -> RouteTable:
    schema_paths = api.get_openapi_schema()["paths"]
    table = RouteTable([], [], [])
    seen: set[str] = set()
    for route, name, entry in _walk(get_resolver()):
        if route in seen:  # django-ninja adds a pattern per operation; the first serves them all
            continue
        seen.add(route)
        reason = _skip_reason(route, name)
        if reason:
            table.skipped.append((route, name, reason))
            continue
        if not isinstance(entry.pattern, RoutePattern):
            table.problems.append(f"/{route}: a regex pattern; the sweep builds path() routes only")
            continue
        documented = {
            method.upper(): operation["operationId"]
            for method, operation in schema_paths.get(openapi_path(route), {}).items()
        }
        operations = _ninja_operations(entry.callback)
        if operations is None:
            operations = documented  # not django-ninja, or its internals moved: trust the schema
        elif documented.keys() - operations.keys():
            table.problems.append(f"/{route}: the OpenAPI schema and the routing disagree")
        params = tuple(PARAM_RE.findall(route))
        unknown = [p for p in params if p not in PARAMETERS]
        if unknown:
            table.problems.append(
                f"/{route} ({name or 'unnamed'}) has path parameters {unknown} that the isolation "
                "sweep does not know: add them to PARAMETERS in tests/test_tenant_isolation.py "
                "with every object of organisation B they can name (or none, and why)"
            )
            continue
        table.routes.append(Route(route, name or route, params, operations))
    return table


# --- the people who ask ----------------------------------------------------------------------


@dataclass
class Asker:
    name: str
    user: User
    ui: Client  # signed in with a session
    api: Client  # Authorization: Bearer

    def client(self, route: Route) -> Client:
        return self.api if route.is_api else self.ui


def _askers(desk: Any) -> list[Asker]:
    askers = []
    for name in ASKERS:
        user = getattr(desk, name)
        ui = Client()
        ui.force_login(user)
        _, raw = token_create(actor=Actor.system(), user=user, name="isolation sweep")
        askers.append(Asker(name, user, ui, Client(headers={"Authorization": f"Bearer {raw}"})))
    return askers


# --- one request -----------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    json: Any
    text: str  # the body, lower case
    location: str

    @property
    def succeeded(self) -> bool:
        """2xx, or a redirect elsewhere than to the sign-in page."""
        if 200 <= self.status < 300:
            return True
        return (
            self.status in {301, 302, 303} and resolve_url(settings.LOGIN_URL) not in self.location
        )


def send(
    client: Client,
    method: str,
    url: str,
    body: Body | None = None,
    payload: dict[str, Any] | None = None,
    *,
    follow: bool,
) -> Answer:
    payload = payload or {}
    if method == "GET":
        response = client.get(url, payload, follow=follow)
    elif body is not None and body.kind == "json":
        call = getattr(client, method.lower())
        response = call(url, json.dumps(payload), content_type="application/json", follow=follow)
    elif method == "POST":
        response = client.post(url, payload, follow=follow)  # multipart, as a browser sends
    else:
        response = getattr(client, method.lower())(url, follow=follow)
    return _answer(response)


CSRF_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")


def _answer(response: HttpResponseBase) -> Answer:
    streamed = response.streaming
    # Don't call response.close() here: outside the test client's own guard it fires
    # request_finished, whose close_old_connections() drops the test's database connection
    # (on PostgreSQL). The client already closes what it returns.
    content = b"".join(response.streaming_content) if streamed else response.content  # type: ignore[attr-defined]
    is_json = response.get("Content-Type", "").startswith("application/json")
    return Answer(
        status=response.status_code,
        json=json.loads(content) if is_json and content else None,
        # Masked CSRF tokens (64 random letters and digits, on every page) can spell a marker
        # such as "qzb" by chance: drop them before looking for B's text.
        text=CSRF_TOKEN.sub("", content.decode(errors="replace")).lower(),
        location=response.get("Location", ""),
    )


def _request_text(url: str, payload: dict[str, Any] | None) -> str:
    return (url + json.dumps(payload or {}, default=str)).lower()


# --- the sweep's setting ---------------------------------------------------------------------


@dataclass
class Sweep:
    desk: Any
    a: World
    b: World
    missing: World
    askers: list[Asker]
    table: RouteTable
    markers: list[str]  # text that only organisation B has
    checked: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def own_values(self, route: Route, state: str = "open") -> dict[str, Value]:
        return {p: PARAMETERS[p].own(self.a, state) for p in route.params}

    def combinations(self, route: Route, state: str) -> list[dict[str, Value]]:
        """B's objects for each parameter, mixed with A's own where a pattern names two."""
        options = [
            [*PARAMETERS[p].foreign(self.b), PARAMETERS[p].own(self.a, state)] for p in route.params
        ]
        return [
            dict(zip(route.params, values, strict=True))
            for values in itertools.product(*options)
            if any(v.foreign for v in values)
        ]

    def ctx(self, values: dict[str, Value], world: World) -> Ctx:
        named = next((v.ticket for v in values.values() if v.ticket is not None), None)
        return Ctx(ticket=world.fresh(named) if named is not None else None, world=world)

    def leaks(self, answer: Answer, url: str, payload: dict[str, Any] | None) -> list[str]:
        sent = _request_text(url, payload)
        return [m for m in self.markers if m in answer.text and m not in sent]


def _methods_of_page(sweep: Sweep, route: Route) -> tuple[str, ...]:
    """GET and POST, less what the view refuses: asked with OPTIONS, a view restricted by
    require_http_methods answers 405 with an Allow header listing what it accepts."""
    url = route.url({k: v.text for k, v in sweep.own_values(route).items()})
    for asker in (sweep.askers[0], sweep.askers[-1]):  # an end user and an agent
        response = asker.ui.options(url)
        if response.status_code == 405 and response.get("Allow"):
            allowed = {m.strip().upper() for m in response["Allow"].split(",")}
            return tuple(m for m in ("GET", "POST") if m in allowed)
    return ("GET", "POST")


@pytest.fixture
def sweep(desk, settings, tmp_path) -> Sweep:
    settings.MEDIA_ROOT = tmp_path / "media"
    b_admin = UserFactory(
        email="brenda@globex.example",
        full_name="Brenda Globex",
        organization=desk.org_b,
        role=User.Role.ORG_ADMIN,
    )
    b_contact = UserFactory(
        email="carl@globex.example",
        full_name="Carl Globex",
        organization=desk.org_b,
        role=User.Role.ORG_CONTACT,
    )
    a = _build_world(
        desk,
        org=desk.org_a,
        people=[desk.user_a, desk.user_a2, desk.contact_a, desk.orgadmin_a],
        tag="Acme",
    )
    b = _build_world(
        desk, org=desk.org_b, people=[desk.user_b, b_admin, b_contact], tag="Globex QZB"
    )
    markers = [
        "globex",  # organisation B's name, slug and mail domain; its people's names
        "qzb",  # in every subject, comment, note, file name and handoff note of B
        *(t.number.lower() for t in (b.ticket, b.other, b.resolved)),
        *(str(x.uid) for x in (b.attachment, b.note_attachment)),
    ]
    result = Sweep(desk, a, b, _missing_world(a), _askers(desk), discover_routes(), markers)
    for route in result.table.routes:
        route.methods = tuple(route.operations) if route.is_api else _methods_of_page(result, route)
        for method in route.methods:
            body = BODIES.get(route.key(method))
            if body is not None and not route.params and not (body.names_objects or body.not_swept):
                result.table.problems.append(
                    f"{route.key(method)}: a write without path parameters is swept only if its "
                    "body names objects (names_objects=True); otherwise say why in not_swept"
                )
            if method not in WRITE_METHODS - {"DELETE"} or body is not None:
                continue
            result.table.problems.append(
                f"{route.key(method)} (/{route.route}): the isolation sweep has no plausible "
                "body for it: add one to BODIES in tests/test_tenant_isolation.py, a body that "
                "would succeed against A's own object (so that a missing check would write)"
            )
    return result


def _coverage(sweep: Sweep) -> str:
    table = sweep.table
    by_prefix = Counter(
        p for route, _, _ in table.skipped for p in SKIPPED_PREFIXES if route.startswith(p)
    )
    lines = [
        f"{len(table.routes)} URL patterns swept, {len(table.skipped)} skipped:",
        *(
            f"  skipped {n} patterns under /{p}: {SKIPPED_PREFIXES[p]}"
            for p, n in by_prefix.items()
        ),
        *(
            f"  skipped /{route} ({name}): {reason}"
            for route, name, reason in table.skipped
            if not any(route.startswith(p) for p in SKIPPED_PREFIXES)
        ),
        *(f"  {kind}: {count}" for kind, count in sorted(sweep.checked.items())),
        f"  in all, (pattern, method, person) combinations checked: "
        f"{sum(sweep.checked[k] for k in COMBOS)}",
    ]
    return "\n".join(lines)


# --- the tests -------------------------------------------------------------------------------


def test_every_route_is_known_to_the_sweep(sweep):
    """Every URL pattern is swept or skipped with a reason; every path parameter is mapped to
    B's objects and every write has a body (so a new endpoint cannot slip through)."""
    assert not sweep.table.problems, "\n".join(sweep.table.problems)
    names = {r.name for r in sweep.table.routes}
    # The walk reaches all four surfaces (it would be vacuous if it found nothing).
    for expected in ("tickets:ticket-detail", "portal:ticket-detail", "api-v1:ticket_detail"):
        assert expected in names, sorted(names)
    assert any(r.params == ("ref", "uid") for r in sweep.table.routes)


def test_the_sweep_has_every_kind_of_object_of_b(sweep):
    """Every tenant-owned table has rows of organisation B for the sweep to ask about."""
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "tenant" in names:
            assert model._base_manager.filter(tenant=sweep.desk.org_b).exists(), (
                f"the isolation sweep has no {model.__name__} of organisation B: make one in "
                "_build_world and name it in PARAMETERS if a URL can name it"
            )


def _check_refused(
    sweep: Sweep,
    asker: Asker,
    route: Route,
    method: str,
    url: str,
    twin_url: str,
    body: Body | None,
    payload: dict[str, Any] | None,
    what: str,
    cache: dict[tuple[str, ...], Answer],
) -> None:
    client = asker.client(route)
    answer = send(client, method, url, body, payload, follow=True)
    key = (asker.name, method, twin_url, json.dumps(payload or {}, default=str))
    if key not in cache:
        cache[key] = send(client, method, twin_url, body, payload, follow=True)
    twin = cache[key]
    where = f"{asker.name} {method} {url} ({route.key(method)}, {what})"
    # A method the view refuses is refused (405, by require_http_methods) before any lookup.
    allowed = REFUSED if method in route.methods else REFUSED | {405}
    if answer.status not in allowed:
        sweep.failures.append(f"{where}: {answer.status}, expected {sorted(allowed)}")
    if (answer.status, answer.json) != (twin.status, twin.json):
        sweep.failures.append(
            f"{where}: {answer.status} {answer.json} differs from the answer for an object that "
            f"does not exist ({twin_url}: {twin.status} {twin.json})"
        )
    if leaked := sweep.leaks(answer, url, payload):
        sweep.failures.append(f"{where}: the response shows B's {leaked}")


def _check_like_missing(
    sweep: Sweep,
    asker: Asker,
    route: Route,
    method: str,
    url: str,
    body: Body | None,
    payload: dict[str, Any],
    twin_payload: dict[str, Any],
    what: str,
) -> None:
    client = asker.client(route)
    answer = send(client, method, url, body, payload, follow=True)
    twin = send(client, method, url, body, twin_payload, follow=True)
    where = f"{asker.name} {method} {url} {payload} ({route.key(method)}, {what})"
    if (answer.status, answer.json) != (twin.status, twin.json):
        sweep.failures.append(
            f"{where}: {answer.status} {answer.json} differs from the answer for objects that do "
            f"not exist ({twin_payload}: {twin.status} {twin.json})"
        )
    if leaked := sweep.leaks(answer, url, payload):
        sweep.failures.append(f"{where}: the response shows B's {leaked}")


PATH_COMBOS = "(pattern, method, person) with B's objects in the path"
REFUSED_METHOD_COMBOS = "(pattern, method the page refuses, person) with B's objects in the path"
BODY_COMBOS = "(pattern, method, person) with B's objects in the body, on A's own objects"
LIST_COMBOS = "(pattern, GET, person) pages and lists, plain and with B in the query string"
COMBOS = (PATH_COMBOS, REFUSED_METHOD_COMBOS, BODY_COMBOS, LIST_COMBOS)


def _sweep_path_objects(sweep: Sweep) -> None:
    """B's objects in the path: 403/404, as for an object that does not exist."""
    cache: dict[tuple[str, ...], Answer] = {}
    for route in sweep.table.routes:
        if not route.params:
            continue
        # Pages get both GET and POST, even the one their view refuses (that must be 405).
        for method in route.methods if route.is_api else ("GET", "POST"):
            body = BODIES.get(route.key(method)) if method in route.methods else None
            combos = sweep.combinations(route, body.state if body else "open")
            for asker, values in itertools.product(sweep.askers, combos):
                url = route.url({k: v.text for k, v in values.items()})
                twin_url = route.url(
                    {k: v.missing if v.foreign else v.text for k, v in values.items()}
                )
                payload = body.build(sweep.ctx(values, sweep.b)) if body else None
                what = ", ".join(f"{k}=B's {v.label}" if v.foreign else f"{k}={v.label}"
                                 for k, v in values.items())  # fmt: skip
                _check_refused(
                    sweep, asker, route, method, url, twin_url, body, payload, what, cache
                )
                sweep.checked["requests with B's objects in the path"] += 1
            counter = PATH_COMBOS if method in route.methods else REFUSED_METHOD_COMBOS
            sweep.checked[counter] += len(sweep.askers)


def _sweep_body_references(sweep: Sweep) -> None:
    """B's objects named in the body of a write to A's own objects: as if they did not exist."""
    for route in sweep.table.routes:
        for method in route.methods:
            body = BODIES.get(route.key(method))
            if body is None or not body.names_objects:
                continue
            values = sweep.own_values(route, body.state)
            url = route.url({k: v.text for k, v in values.items()})
            for asker in sweep.askers:
                payload = body.build(sweep.ctx(values, sweep.b))
                twin = body.build(sweep.ctx(values, sweep.missing))
                _check_like_missing(
                    sweep, asker, route, method, url, body, payload, twin, "B's objects in the body"
                )
                sweep.checked[BODY_COMBOS] += 1


def _sweep_lists(sweep: Sweep) -> None:
    """Pages and lists without parameters, plain and with B's objects in the query string."""
    for route in sweep.table.routes:
        if route.params or "GET" not in route.methods:
            continue
        url = route.url({})
        for asker in sweep.askers:
            answer = send(asker.client(route), "GET", url, follow=True)
            if leaked := sweep.leaks(answer, url, None):
                sweep.failures.append(f"{asker.name} GET {url}: the response shows B's {leaked}")
            for probe, twin in zip(list_probes(sweep.b), list_probes(sweep.missing), strict=True):
                _check_like_missing(
                    sweep, asker, route, "GET", url, None, probe, twin, "B in the query string"
                )
            sweep.checked[LIST_COMBOS] += 1


def test_no_url_reveals_or_changes_another_organisations_objects(sweep):
    assert not sweep.table.problems, "\n".join(sweep.table.problems)
    # Warm up: the first use of each token and session writes volatile columns only.
    for asker in sweep.askers:
        asker.api.get("/api/v1/users/me")
        asker.ui.get("/")
    before, files_before = db_snapshot(), media_snapshot()

    _sweep_path_objects(sweep)
    _sweep_body_references(sweep)
    _sweep_lists(sweep)

    changes = snapshot_diff(before, db_snapshot())
    if changes:
        sweep.failures.append("the database changed: " + "; ".join(changes))
    if media_snapshot() != files_before:
        sweep.failures.append("files were written to the attachment storage")
    summary = _coverage(sweep)
    sys.stdout.write(f"\nTenant isolation sweep\n{summary}\n")
    failures = sorted(sweep.failures, key=lambda f: not f.startswith(("the database", "files")))
    assert not failures, f"{len(failures)} leaks:\n" + "\n".join(failures[:60]) + f"\n\n{summary}"
    assert sweep.checked[PATH_COMBOS] > 0


def test_positive_control_the_same_urls_with_organisation_as_objects_succeed(sweep):
    """The sweep can fail: with A's objects in the same URLs, every read succeeds for someone
    of A (so the 404s above are not a badly built URL), and so does every write, with the very
    body the sweep sends, which then changes the database."""
    assert not sweep.table.problems, "\n".join(sweep.table.problems)
    failures = []
    for route in sweep.table.routes:
        for method in route.methods:
            body = BODIES.get(route.key(method))
            values = sweep.own_values(route, body.state if body else "open")
            url = route.url({k: v.text for k, v in values.items()})
            assert resolve(url).route == route.route, f"{url} does not resolve to /{route.route}"
            seen = []
            for asker in reversed(sweep.askers):  # the agent first: most of this is the desk
                payload = body.build(sweep.ctx(values, sweep.a)) if body else None
                client = asker.client(route)
                if method == "GET":
                    answer = send(client, method, url, follow=False)
                    seen.append(f"{asker.name}: {answer.status}")
                    # (A page without parameters may answer with a redirect: "/" does.)
                    if answer.status == 200 or (answer.succeeded and not values):
                        if leaked := sweep.leaks(answer, url, payload):
                            failures.append(f"{asker.name} GET {url}: shows B's {leaked}")
                        break
                    continue
                with transaction.atomic():
                    before = db_snapshot()
                    answer = send(client, method, url, body, payload, follow=False)
                    wrote = bool(snapshot_diff(before, db_snapshot()))
                    transaction.set_rollback(True)
                seen.append(f"{asker.name}: {answer.status}{' (wrote)' if wrote else ''}")
                if answer.succeeded and wrote:
                    break
            else:
                failures.append(f"{method} {url} ({route.key(method)}) never succeeded: {seen}")
    assert not failures, "\n".join(failures)


def test_positive_control_the_snapshot_notices_a_change(sweep):
    before = db_snapshot()
    assert snapshot_diff(before, db_snapshot()) == []
    # One column of one row of a tenant table,
    Ticket.objects.filter(pk=sweep.b.ticket.pk).update(subject="Globex QZB renamed")
    after = db_snapshot()
    assert [line.split(":")[0] for line in snapshot_diff(before, after)] == ["tickets.ticket"]
    # a row of a many-to-many table,
    sweep.b.ticket.watchers.add(sweep.b.newcomer)
    assert "tickets.ticket_watchers" in {
        line.split(":")[0] for line in snapshot_diff(after, db_snapshot())
    }
    # but not the volatile columns.
    before = db_snapshot()
    User.objects.filter(pk=sweep.desk.user_a.pk).update(last_login="2020-01-01T00:00:00Z")
    assert snapshot_diff(before, db_snapshot()) == []
