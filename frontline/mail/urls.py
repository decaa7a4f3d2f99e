"""Mail pages of the desk, mounted at /desk/mail/."""

from django.urls import path

from frontline.mail import views

app_name = "mail"
urlpatterns = [
    path("<int:inbound_id>/original/", views.inbound_raw, name="inbound-raw"),
    path("failed/", views.failed_list, name="failed-list"),
    path("failed/<int:failed_id>/original/", views.failed_raw, name="failed-raw"),
    path("failed/<int:failed_id>/retry/", views.failed_retry, name="failed-retry"),
]
