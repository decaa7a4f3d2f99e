"""Users, support groups and API tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from frontline.core.access import AGENT_ROLES
from frontline.core.config_cache import ConfigQuerySet


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        from frontline.tenants.models import Organization

        if "organization" not in extra and "organization_id" not in extra:
            provider = Organization.objects.filter(is_provider=True).first()
            if provider is None:
                provider = Organization.objects.create(
                    name="Service Provider", slug="provider", is_provider=True
                )
            extra["organization"] = provider
        extra.setdefault("role", User.Role.ADMIN)
        extra.setdefault("serves_all_organizations", True)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("full_name", email.split("@")[0])
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        END_USER = "end_user", "End user"
        ORG_CONTACT = "org_contact", "Designated contact (sees the organisation's tickets)"
        ORG_ADMIN = "org_admin", "Organisation admin"
        AGENT = "agent", "Agent"
        TEAM_LEAD = "team_lead", "Team lead"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Administrator"

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.END_USER)
    serves_all_organizations = models.BooleanField(
        default=False, help_text="Agents only: may work on every organisation's tickets."
    )
    served_organizations = models.ManyToManyField(
        "tenants.Organization",
        blank=True,
        related_name="serving_agents",
        help_text="Agents only: the client organisations this agent serves.",
    )
    phone = models.CharField(max_length=50, blank=True)
    time_zone = models.CharField(max_length=60, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        indexes = [models.Index(fields=["organization", "role"], name="user_org_role_idx")]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @property
    def is_agent(self) -> bool:
        return self.role in AGENT_ROLES

    @property
    def tenant_id(self) -> int:
        return self.organization_id

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class SupportGroup(models.Model):
    """A team of agents: the service desk (Tier 1), Tier 2/3, specialists, on-site support."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    class Kind(models.TextChoices):
        SERVICE_DESK = "service_desk", "Service desk"
        TIER = "tier", "Support tier"
        SPECIALIST = "specialist", "Specialist team"
        DESKTOP = "desktop", "Desktop support (on-site)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TIER)
    tier = models.PositiveSmallIntegerField(
        default=1, help_text="1 = service desk, 2 and 3 = higher tiers and specialists."
    )
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="support_groups")
    team_lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_groups"
    )
    manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_groups"
    )
    escalates_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Default group for functional escalation from this one.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="API token")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
