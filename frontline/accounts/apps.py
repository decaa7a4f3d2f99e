from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "frontline.accounts"
    label = "accounts"
    verbose_name = "People and groups"

    def ready(self) -> None:
        from frontline.accounts import policies  # noqa: F401  (registers the rules)
        from frontline.accounts.models import SupportGroup
        from frontline.core import config_cache

        config_cache.track(SupportGroup)
