"""Business-hours calendars, SLA policies, contracts, and each ticket's SLA clocks."""

from __future__ import annotations

from datetime import time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from frontline.core.config_cache import ConfigQuerySet
from frontline.core.models import TenantOwned, TenantQuerySet, TimeStamped
from frontline.tickets.models import Priority, Ticket


class Calendar(TimeStamped):
    """When the clock runs: opening hours per weekday in a time zone, minus public holidays
    (from the `holidays` package) and custom closed dates; or around the clock (24x7)."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=60, default="UTC", help_text="IANA zone, e.g. Europe/Berlin."
    )
    is_24x7 = models.BooleanField(
        default=False, help_text="Always open: business hours and holidays are ignored."
    )
    holiday_country = models.CharField(
        max_length=8,
        blank=True,
        help_text="Public holidays of this country (ISO code for the holidays package, e.g. DE).",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="State or region code, e.g. BY (Bavaria)."
    )
    is_default = models.BooleanField(
        default=False, help_text="Used by organisations without a contract calendar."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_calendar_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": "Unknown time zone."}) from None
        if self.holiday_country:
            import holidays

            try:
                holidays.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision or None, years=2000
                )
            except NotImplementedError as exc:
                raise ValidationError({"holiday_country": str(exc)}) from None
        elif self.holiday_subdivision:
            raise ValidationError({"holiday_subdivision": "Choose the country first."})


class BusinessHours(models.Model):
    """One opening interval on one weekday; a day may have several (08:00-12:00, 13:00-17:00)."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")) | Q(end=time(0)), name="sla_hours_end_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="sla_hours_weekday"),
        ]

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{end}"


class CalendarHoliday(models.Model):
    """A custom closed day (a company holiday, a local feast the package does not know)."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="sla_holiday_unique_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class SlaContract(TimeStamped):
    """An organisation's service contract: which calendar its clocks run on."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    organization = models.OneToOneField(
        "tenants.Organization", on_delete=models.CASCADE, related_name="sla_contract"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="contracts")
    reference = models.CharField(max_length=100, blank=True, help_text="Contract number.")

    class Meta:
        ordering = ["organization__name"]
        verbose_name = "SLA contract"

    def __str__(self) -> str:
        return f"{self.organization} ({self.calendar})"


def default_pause_statuses() -> list[str]:
    return [Ticket.Status.PENDING_CUSTOMER, Ticket.Status.PENDING_VENDOR]


class SlaPolicy(TimeStamped):
    """Targets for one organisation (blank: the default for all) x ticket type (blank: any) x
    priority. The most specific active policy wins."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    class BreachAction(models.TextChoices):
        NONE = "none", "Record the breach only"
        FUNCTIONAL = "functional", "Escalate to the next tier (or the breach group)"
        HIERARCHICAL = "hierarchical", "Flag to the group's manager"

    name = models.CharField(max_length=100)
    organization = models.ForeignKey(
        "tenants.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Blank: the default policy, for organisations with none of their own.",
    )
    ticket_type = models.CharField(
        max_length=10, choices=Ticket.Type.choices, blank=True, help_text="Blank: any type."
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="First-response target, in business minutes."
    )
    resolution_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Resolution target, in business minutes."
    )
    warning_percent = models.PositiveSmallIntegerField(
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Warn the assignee and team lead when this share of a target is used.",
    )
    pause_statuses = models.JSONField(
        default=default_pause_statuses,
        blank=True,
        help_text='Statuses that stop the clock, e.g. ["pending_customer", "pending_vendor"].',
    )
    calendar = models.ForeignKey(
        Calendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: the organisation's contract calendar (else the default calendar).",
    )
    breach_action = models.CharField(
        max_length=15, choices=BreachAction.choices, default=BreachAction.FUNCTIONAL
    )
    breach_group = models.ForeignKey(
        "accounts.SupportGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Functional escalation: hand to this group (blank: the group's next tier).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization__name", "priority", "ticket_type"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket_type", "priority"],
                condition=Q(organization__isnull=True),
                name="sla_policy_unique_default",
            ),
            models.UniqueConstraint(
                fields=["organization", "ticket_type", "priority"],
                condition=Q(organization__isnull=False),
                name="sla_policy_unique_per_org",
            ),
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1, warning_percent__lte=99),
                name="sla_policy_warning_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        statuses = self.pause_statuses
        if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
            raise ValidationError({"pause_statuses": "A list of status names."})
        unknown = sorted(set(statuses) - set(Ticket.Status.values))
        if unknown:
            raise ValidationError({"pause_statuses": f"Unknown statuses: {', '.join(unknown)}."})
        closing = {Ticket.Status.RESOLVED, Ticket.Status.CLOSED} & set(statuses)
        if closing:
            raise ValidationError({"pause_statuses": "Resolved and closed stop the clock anyway."})


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"


class TicketSla(TenantOwned):
    """A ticket's two SLA clocks (first response, resolution), kept beside the ticket.

    Both clocks share one business-time counter: `elapsed_seconds` accrued before
    `running_since` (null while paused or stopped). The targets are copied from the policy when
    the clock starts or the priority/type changes, so editing a policy never reshapes a running
    clock behind the agents' backs. `next_check_at` is the next instant the sweep must act (a
    warning or a breach not yet acted on); it is null when nothing is pending."""

    State = ClockState

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla"
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="+")
    response_target_seconds = models.PositiveIntegerField()
    resolution_target_seconds = models.PositiveIntegerField()
    warning_percent = models.PositiveSmallIntegerField(default=75)
    pause_statuses = models.JSONField(default=default_pause_statuses)

    started_at = models.DateTimeField()
    elapsed_seconds = models.PositiveIntegerField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    response_state = models.CharField(
        max_length=10, choices=ClockState.choices, default=ClockState.RUNNING
    )
    response_due_at = models.DateTimeField(null=True, blank=True)
    response_warn_at = models.DateTimeField(null=True, blank=True)
    response_warned_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    response_stopped_at = models.DateTimeField(null=True, blank=True)
    response_elapsed_seconds = models.PositiveIntegerField(null=True, blank=True)

    resolution_state = models.CharField(
        max_length=10, choices=ClockState.choices, default=ClockState.RUNNING
    )
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_stopped_at = models.DateTimeField(null=True, blank=True)
    resolution_elapsed_seconds = models.PositiveIntegerField(null=True, blank=True)

    due_at = models.DateTimeField(
        null=True, blank=True, help_text="The due time the queue shows and sorts by."
    )
    next_check_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = "ticket SLA clock"
        indexes = [
            # The sweep's index, across all tenants on purpose (one sweep serves every
            # organisation); partial, so stopped and paused clocks cost it nothing.
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="sla_clock_next_check_idx",
            ),
            models.Index(fields=["tenant", "due_at"], name="sla_clock_tenant_due_idx"),
        ]

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"
