"""The agent desk, mounted at /desk/."""

from django.urls import path

from frontline.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("requesters/", views.requester_search, name="requester-search"),
    path("tickets/new/phone/", views.phone_log, name="phone-log"),
    path("tickets/<str:ref>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<str:ref>/reply/", views.comment_add, name="comment-add"),
    path("tickets/<str:ref>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<str:ref>/escalate/", views.ticket_escalate, name="ticket-escalate"),
    path("tickets/<str:ref>/status/", views.ticket_transition, name="ticket-transition"),
    path("tickets/<str:ref>/edit/", views.ticket_update, name="ticket-update"),
    path("tickets/<str:ref>/merge/", views.ticket_merge, name="ticket-merge"),
    path("tickets/<str:ref>/parent/", views.ticket_link_parent, name="ticket-link-parent"),
    path("tickets/<str:ref>/watchers/add/", views.watcher_add, name="watcher-add"),
    path("tickets/<str:ref>/watchers/remove/", views.watcher_remove, name="watcher-remove"),
    path(
        "tickets/<str:ref>/attachments/<uuid:uid>/",
        views.attachment_download,
        name="attachment-download",
    ),
]
