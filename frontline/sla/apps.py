from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "frontline.sla"
    label = "sla"
    verbose_name = "Service levels"

    def ready(self) -> None:
        from frontline.core import config_cache
        from frontline.sla.models import (
            BusinessHours,
            Calendar,
            CalendarHoliday,
            SlaContract,
            SlaPolicy,
        )

        config_cache.track(BusinessHours, Calendar, CalendarHoliday, SlaContract, SlaPolicy)
