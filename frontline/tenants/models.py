"""Organisations: the tenants. One is the provider (the MSP or the internal IT department)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from frontline.core.config_cache import ConfigQuerySet
from frontline.core.models import TimeStamped


class Organization(TimeStamped):
    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    is_provider = models.BooleanField(
        default=False,
        help_text="The service provider itself (its agents serve client organisations).",
    )
    email_domains = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated mail domains of this organisation."
    )
    time_zone = models.CharField(max_length=60, default="UTC")
    reopen_window_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Days after resolution during which requesters may reopen (blank: site default).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
