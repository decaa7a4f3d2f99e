from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "frontline.tenants"
    label = "tenants"
    verbose_name = "Organisations"
