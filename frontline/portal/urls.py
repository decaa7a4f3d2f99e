from django.urls import path

from frontline.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.ticket_list, name="ticket-list"),
    path("tickets/new/", views.ticket_create, name="ticket-create"),
    path("tickets/<str:ref>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<str:ref>/reply/", views.ticket_reply, name="ticket-reply"),
    path("tickets/<str:ref>/confirm/", views.ticket_confirm, name="ticket-confirm"),
    path("tickets/<str:ref>/reopen/", views.ticket_reopen, name="ticket-reopen"),
    path("status/<str:token>/", views.status, name="status"),
]
