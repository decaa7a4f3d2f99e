"""Root URL configuration: UI, portal, API, admin, health."""

from django.contrib import admin
from django.urls import include, path

from frontline.api.urls import api
from frontline.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("frontline.accounts.urls")),
    path("desk/mail/", include("frontline.mail.urls")),
    path("desk/", include("frontline.tickets.urls")),
    path("portal/", include("frontline.portal.urls")),
    path("api/v1/", api.urls),
]
