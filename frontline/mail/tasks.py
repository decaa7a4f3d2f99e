"""Celery entry points for the email channel (thin: they call the services).

`mail_fetch` polls every active IMAP mailbox; it runs every FRONTLINE_MAIL_FETCH_SECONDS from
the beat schedule (frontline/celery.py). It is safe to run twice at once or after a crash: a
message is acknowledged on the server only after its outcome was committed, and ingesting the
same Message-ID again changes nothing."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import close_old_connections, connection

from frontline.mail import imap, outbound


@shared_task(name="frontline.mail.tasks.mail_fetch", ignore_result=True)  # type: ignore[untyped-decorator]
def mail_fetch() -> dict[str, Any]:
    """Fetch and ingest the unseen mail of every active IMAP mailbox."""
    # Outside a worker (the beat thread of `frontline serve`, eager mode) nothing else recycles
    # the thread's database connection.
    close_old_connections()
    try:
        result = imap.fetch_all()
    finally:
        close_old_connections()
    return {
        "fetched": result.fetched,
        "errors": result.errors,
        "mailboxes": {r.mailbox: (r.error or "ok") for r in result.reports},
    }


# Exponential backoff between attempts: 30 s, 1 min, 2 min, 4 min, 8 min (eager mode: at once).
MAIL_SEND_MAX_RETRIES = 5
MAIL_SEND_BACKOFF_SECONDS = 30


@shared_task(  # type: ignore[untyped-decorator]
    bind=True,
    name="frontline.mail.tasks.mail_send",
    ignore_result=True,
    max_retries=MAIL_SEND_MAX_RETRIES,
)
def mail_send(self: Any, outbound_id: int) -> str:
    """Send one queued notification (OutboundMail). SMTP and socket errors are retried with
    exponential backoff; after the last retry the row is marked failed with the error, nothing
    raised (so an eager run inside a request never breaks it). A row already sent, failed or
    suppressed is left alone, so running twice never sends twice."""
    retries_left = MAIL_SEND_MAX_RETRIES - int(self.request.retries or 0)
    while True:
        try:
            return outbound.outbound_send(outbound_id=outbound_id)
        except outbound.TransientSendError as exc:
            if retries_left <= 0:
                outbound.outbound_give_up(outbound_id=outbound_id, error=str(exc))
                return "failed"
            if not self.request.is_eager:
                countdown = MAIL_SEND_BACKOFF_SECONDS * 2 ** int(self.request.retries or 0)
                raise self.retry(exc=exc, countdown=countdown) from exc
            # No broker (eager mode): no worker will come back later, so retry at once.
            retries_left -= 1


@shared_task(name="frontline.mail.tasks.mail_send_sweep", ignore_result=True)  # type: ignore[untyped-decorator]
def mail_send_sweep() -> int:
    """Every 5 minutes (beat): enqueue again the notifications still queued long after they were
    written, so a broker outage at commit time delays mail instead of losing it."""
    # Recycle the connection of a beat thread (eager mode), but never inside a caller's
    # transaction (an eager call from a service or a test), which closing would abort.
    recycle = not connection.in_atomic_block
    if recycle:
        close_old_connections()
    try:
        stale = outbound.outbound_stale()
        for outbound_id in stale:
            mail_send.delay(outbound_id)
    finally:
        if recycle:
            close_old_connections()
    return len(stale)
