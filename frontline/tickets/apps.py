from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "frontline.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from frontline.core import config_cache
        from frontline.tickets import policies  # noqa: F401  (registers the rules)
        from frontline.tickets.models import Category, PriorityMatrixEntry

        config_cache.track(Category, PriorityMatrixEntry)
