from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "frontline.tenants"
    label = "tenants"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from frontline.core import config_cache
        from frontline.tenants.models import Organization

        config_cache.track(Organization)
