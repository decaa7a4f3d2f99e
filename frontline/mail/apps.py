from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "frontline.mail"
    label = "mail"
    verbose_name = "Email channel"

    def ready(self) -> None:
        # Ticket events -> notification mail (frontline/mail/notify.py).
        from frontline.core import events
        from frontline.mail import notify

        events.subscribe(notify.notify_on_events)

        # The mail behind a ticket's timeline (tickets does not import mail).
        from frontline.mail.selectors import ticket_mail
        from frontline.tickets.selectors import timeline_mail_provider

        timeline_mail_provider(ticket_mail)

        from frontline.core import config_cache
        from frontline.mail.models import Mailbox, NotificationTemplate, OrganizationMailDomain

        config_cache.track(Mailbox, NotificationTemplate, OrganizationMailDomain)
