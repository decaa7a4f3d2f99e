"""SMTP intake (aiosmtpd): `frontline mail smtpd` receives mail for the active SMTP mailboxes.

Put it behind the site's MTA (relay the help desk's addresses to 127.0.0.1:2525), or expose it
directly for a small installation. What the client is told:
- RCPT to an address that is not an active mailbox of source "smtp": 550 (nothing is accepted);
- DATA over the size cap: 552;
- 250 only after `ingest_message` returned, i.e. after the outcome was committed;
- 451 (try again later) if it raised (database or storage down): the sender's MTA keeps the
  message and delivers it again; ingest is idempotent by Message-ID, so a repeat changes nothing.
Database work never runs on the event loop: it runs in a small thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import connections

from frontline.mail.ingest import IngestResult, ingest_message
from frontline.mail.models import Mailbox
from frontline.mail.parsing import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
DB_THREADS = 4


# Each job runs in a pool thread and closes that thread's database connection when done: the
# pool's threads never leave a connection open between messages (or after the server stopped).


def _accepts(address: str) -> bool:
    try:
        return Mailbox.objects.filter(
            address__iexact=address.strip(), is_active=True, source=Mailbox.Source.SMTP
        ).exists()
    finally:
        connections.close_all()


def _ingest(raw: bytes, recipients: list[str]) -> IngestResult:
    try:
        return ingest_message(raw, source="smtp", recipients=recipients)
    finally:
        connections.close_all()


class IntakeHandler:
    """aiosmtpd handler: accepts mail for active SMTP mailboxes and ingests it before 250."""

    def __init__(self, *, max_bytes: int = MAX_MESSAGE_BYTES, threads: int = DB_THREADS) -> None:
        self.max_bytes = max_bytes
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mail-smtpd")

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            known = await self._in_thread(_accepts, address)
        except Exception:
            logger.exception("mailbox lookup failed", extra={"recipient": address})
            return "451 4.3.0 Temporary failure, please try again later"
        if not known:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        if raw is None:
            return "554 5.6.0 No message"
        if len(raw) > self.max_bytes:
            return f"552 5.3.4 Message too big (at most {self.max_bytes} bytes)"
        try:
            result: IngestResult = await self._in_thread(_ingest, raw, list(envelope.rcpt_tos))
        except Exception:
            logger.exception("ingest failed; the client is told to try again")
            return "451 4.3.0 Temporary failure, please try again later"
        logger.info("smtp message ingested", extra={"outcome": result.outcome})
        return f"250 2.0.0 OK {result.outcome}"

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def build_controller(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> Controller:
    """A not-yet-started Controller (call .start() / .stop()); SIZE is announced and enforced."""
    handler = IntakeHandler(max_bytes=max_bytes)
    return Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        decode_data=False,
        ident="Frontline mail intake",
    )


def serve(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Run the SMTP intake until SIGINT or SIGTERM."""
    controller = build_controller(host=host, port=port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    controller.start()
    logger.warning("SMTP intake listening on %s:%s (Ctrl-C to stop)", host, port)
    try:
        stop.wait()
    finally:
        controller.stop()
        handler = controller.handler
        if isinstance(handler, IntakeHandler):
            handler.close()
