from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "frontline.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from frontline.tickets import policies  # noqa: F401  (registers the rules)
