from django.urls import path

from frontline.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.ticket_list, name="ticket-list"),
]
