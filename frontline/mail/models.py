"""Mailboxes, every message received or sent, the failed-mail list and notification templates.

Inbound and outbound Message-IDs are both kept (InboundMail.message_id, OutboundMail.message_id):
threading looks a reply up in both, always within the mailbox's organisation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q

from frontline.core.config_cache import ConfigQuerySet
from frontline.core.models import TenantOwned, TenantQuerySet, TimeStamped


class Mailbox(TimeStamped):
    """An inbound address and where its mail comes from; also the identity of outbound mail.

    `organization` empty means a shared mailbox: the sender's mail domain (OrganizationMailDomain)
    picks the organisation. The IMAP password is never stored in clear: either the name of an
    environment variable (`imap_password_env`) or a Fernet token (`imap_password_encrypted`).
    Over TLS (IMAPS, STARTTLS) the server's certificate and host name are verified against the
    system's CAs, or `imap_ca_file` (a private CA, a self-signed server); `imap_allow_untrusted`
    turns verification off, for a server on a network the admin controls."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP polling"
        SMTP = "smtp", "SMTP intake (frontline mail smtpd)"
        PIPE = "pipe", "MTA pipe (frontline mail pipe)"

    class Security(models.TextChoices):
        SSL = "ssl", "IMAPS (TLS from the start)"
        STARTTLS = "starttls", "STARTTLS"
        NONE = "none", "None (local servers only)"

    class UnknownSenders(models.TextChoices):
        CREATE = "create", "Create them as end users of the organisation"
        REJECT = "reject", "Reject with a polite bounce"

    name = models.CharField(max_length=100)
    address = models.EmailField(
        unique=True, help_text="The inbound address, e.g. help@acme.example."
    )
    organization = models.ForeignKey(
        "tenants.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mailboxes",
        help_text="Empty: shared mailbox, routed by the sender's mail domain.",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMAP)
    is_active = models.BooleanField(default=True)

    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    imap_ca_file = models.CharField(
        "IMAP CA file",
        max_length=500,
        blank=True,
        help_text=(
            "Path of a PEM file, on the machines that fetch mail, with the CA certificate (or the "
            "server's own self-signed certificate) to trust for this server. Empty: the "
            "system's trusted CAs."
        ),
    )
    imap_allow_untrusted = models.BooleanField(
        "Allow an untrusted IMAP certificate",
        default=False,
        help_text=(
            "Accept whatever certificate the server shows (self-signed, expired, issued for "
            "another name): the connection is encrypted but anyone on the way could read the "
            "password. Only for a server on a network you control; a CA file is safer."
        ),
    )
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the password.",
    )
    imap_password_encrypted = models.TextField(blank=True, editable=False)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    imap_done_folder = models.CharField(
        max_length=255, blank=True, help_text="Move processed mail here; empty: flag it as seen."
    )

    default_group = models.ForeignKey(
        "accounts.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_type = models.CharField(max_length=10, default="incident")
    unknown_senders = models.CharField(
        max_length=10, choices=UnknownSenders.choices, default=UnknownSenders.CREATE
    )
    sender_limit_per_hour = models.PositiveIntegerField(
        default=20, help_text="Messages one sender may send in an hour before they are held."
    )

    from_address = models.EmailField(blank=True, help_text="From of outbound mail; empty: address.")
    from_name = models.CharField(max_length=100, blank=True)
    reply_to = models.EmailField(blank=True)

    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class OrganizationMailDomain(models.Model):
    """Mail from this domain belongs to this organisation (shared mailboxes, unknown senders)."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="mail_domains"
    )
    domain = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.domain


class InboundMail(models.Model):
    """One message received, whatever became of it. (mailbox, message_id) is unique: ingesting
    the same message twice changes nothing. Messages without a Message-ID get a synthetic one
    from the SHA-256 of their bytes."""

    class Outcome(models.TextChoices):
        TICKET = "ticket", "Opened a ticket"
        REPLY = "reply", "Added a reply"
        BOUNCE = "bounce", "Recorded a bounce"
        REJECTED = "rejected", "Rejected"
        IGNORED = "ignored", "Ignored (loop or noise)"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="inbound")
    tenant = models.ForeignKey(
        "tenants.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message_id = models.CharField(max_length=998)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)
    sender = models.EmailField(max_length=320, blank=True)
    sender_name = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    date = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=Mailbox.Source.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    is_auto = models.BooleanField(default=False, help_text="Auto-reply, bounce, list or loop.")
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_mail",
    )
    comment = models.OneToOneField(
        "tickets.Comment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_mail",
    )
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised with nh3.")
    inline_images = models.JSONField(
        default=dict,
        blank=True,
        help_text="Content-ID (without <>) -> Attachment pk of the images the HTML shows inline.",
    )
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", max_length=255, blank=True)
    raw_size = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="inbound_mail_once"),
        ]
        indexes = [
            models.Index(fields=["tenant", "message_id"], name="inbound_tenant_msgid"),
            models.Index(fields=["sender", "received_at"], name="inbound_sender_time"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.outcome})"


class FailedMail(models.Model):
    """A message that could not be parsed or stored: kept raw with the reason, retried by an
    admin. It was still acknowledged to its source only after this row was committed."""

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="failed"
    )
    source = models.CharField(max_length=10, choices=Mailbox.Source.choices)
    message_id = models.CharField(max_length=998, blank=True)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    raw = models.FileField(upload_to="mail/failed/%Y/%m/", max_length=255)
    raw_size = models.PositiveIntegerField(default=0)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=1)
    last_attempt_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_as = models.ForeignKey(
        InboundMail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="failed_mail_open",
                condition=Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject or self.message_id} ({self.reason[:40]})"


class OutboundMail(TenantOwned):
    """One notification: queued in the transaction that caused it, sent by a Celery task with
    retries, recorded on the ticket's timeline. Suppressed mail (caps, auto-generated triggers)
    is kept with the reason."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="outbound_mail"
    )
    comment = models.ForeignKey(
        "tickets.Comment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound"
    )
    event = models.CharField(max_length=30)
    recipient = models.EmailField(max_length=320)
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    message_id = models.CharField(max_length=998, unique=True)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "message_id"], name="outbound_tenant_msgid"),
            models.Index(fields=["recipient", "created_at"], name="outbound_recipient_time"),
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient}"


class NotificationTemplate(TimeStamped):
    """Subject and body of one notification event, per organisation (empty: the default).
    Rendered in a sandbox with only the ticket's context: no settings, no {% load %}."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    class Event(models.TextChoices):
        CREATED = "created", "Ticket opened (acknowledgement)"
        REPLY = "reply", "Public reply"
        STATUS = "status", "Status changed"
        RESOLVED = "resolved", "Resolved"
        BOUNCE = "bounce", "Rejected sender (polite bounce)"

    organization = models.ForeignKey(
        "tenants.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_templates",
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event"], name="notification_template_once"
            ),
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(organization__isnull=True),
                name="notification_template_default_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization or 'default'}: {self.event}"
