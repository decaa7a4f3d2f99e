from django.urls import path

from frontline.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
]
