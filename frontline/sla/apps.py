from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "frontline.sla"
    label = "sla"
    verbose_name = "Service levels"
