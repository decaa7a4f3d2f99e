"""Who sent a message and which organisation's tickets it may touch: the sender as a user (found
or created), the organisations to thread in, and who a reply is posted as."""

from __future__ import annotations

from datetime import timedelta

from frontline.accounts import services as account_services
from frontline.accounts.models import User
from frontline.accounts.selectors import actor_for_user
from frontline.core import access, config_cache
from frontline.core.access import Actor
from frontline.core.errors import ValidationError
from frontline.mail.models import InboundMail, Mailbox, OrganizationMailDomain
from frontline.mail.parsing import ParsedMail
from frontline.tenants.models import Organization
from frontline.tenants.selectors import organization_cached
from frontline.tickets.models import Ticket

Outcome = InboundMail.Outcome
MAX_DESCRIPTION = 100_000
# Mailbox.sender_limit_per_hour counts a sender's messages over this window.
RATE_WINDOW = timedelta(hours=1)


class _Reject(Exception):
    """Stop acting on the message; store it with this outcome and reason."""

    def __init__(self, outcome: str, reason: str, *, bounce: bool = False) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.bounce = bounce  # send the polite "unknown sender" bounce (never for floods)


def _domain_org(address: str) -> Organization | None:
    """The organisation a mail domain is mapped to (configuration: cached per process)."""
    domain = address.rsplit("@", 1)[-1].lower()
    organization_id = config_cache.cached(("mail.domain", domain), lambda: _domain_load(domain))
    return organization_cached(organization_id) if organization_id is not None else None


def _domain_load(domain: str) -> int | None:
    return (
        OrganizationMailDomain.objects.filter(domain=domain)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )


def _sender_user(address: str) -> User | None:
    if not address:
        return None
    # Addresses are stored lower-cased (accounts.services.user_create) and unique: an indexed
    # lookup, with no ORDER BY (User's default ordering is by name).
    found = User.objects.filter(email=address.strip().lower(), is_active=True).order_by()[:1]
    return next(iter(found), None)


def _sender_tenants(user: User | None, mailbox: Mailbox, parsed: ParsedMail) -> list[int]:
    """The organisations whose tickets this message may thread into."""
    if mailbox.organization_id is not None:
        return [mailbox.organization_id]
    if user is not None and not user.is_agent:
        return [user.organization_id]
    if user is not None and user.is_agent:
        actor = actor_for_user(user)
        if actor.all_tenants:
            return list(Organization.objects.values_list("pk", flat=True))
        return sorted(actor.tenant_ids)
    org = _domain_org(parsed.sender)
    return [org.pk] if org is not None else []


def _new_requester(parsed: ParsedMail, mailbox: Mailbox, user: User | None) -> User:
    """The sender as an end user of the organisation: existing, created, or _Reject."""
    if user is not None:
        return user
    if not parsed.sender:
        raise _Reject(Outcome.REJECTED, "No sender address.")
    if mailbox.unknown_senders == Mailbox.UnknownSenders.REJECT:
        raise _Reject(
            Outcome.REJECTED, f"Unknown sender {parsed.sender} (mailbox rejects them).", bounce=True
        )
    org = _domain_org(parsed.sender) or mailbox.organization
    if org is None:
        raise _Reject(
            Outcome.REJECTED,
            f"Unknown sender {parsed.sender}: no organisation for the domain.",
            bounce=True,
        )
    name = parsed.sender_name or parsed.sender.split("@", 1)[0]
    try:
        return account_services.user_create(
            actor=Actor.system(org.pk, label="mail"),
            organization_id=org.pk,
            email=parsed.sender,
            full_name=name[:150],
        )
    except ValidationError as exc:
        raise _Reject(Outcome.REJECTED, f"Sender could not be created: {exc.message}") from None


def _reply_actor(user: User | None, ticket: Ticket, parsed: ParsedMail) -> Actor | None:
    """Who the reply is posted as, or None when the sender may not reply to this ticket."""
    if user is None:
        return None
    actor = actor_for_user(user)
    if user.is_agent:
        return actor if access.allows(actor, "tickets.view", ticket) else None
    if user.organization_id != ticket.tenant_id:
        return None
    if access.allows(actor, "tickets.comment", ticket):
        return actor
    # A watcher or a colleague copied on the thread: a public reply as them, with the rights
    # of a contact for this one ticket only (they are of the ticket's organisation).
    return Actor(
        user_id=actor.user_id,
        tenant_ids=frozenset({ticket.tenant_id}),
        roles=actor.roles | {"org_contact"},
        home_tenant_id=ticket.tenant_id,
        label=actor.label,
    )
