"""`frontline mail ...`: the inbound mail entry points.

- `frontline mail pipe [--mailbox ADDRESS] [--recipient ADDRESS]`: read one RFC 822 message on
  standard input (an MTA pipe, e.g. Postfix `command=frontline mail pipe --recipient
  ${recipient}`). Exit 0 once the outcome is stored (a ticket, a reply, a rejection, or the
  failed-mail list); exit 75 (EX_TEMPFAIL: the MTA keeps the message and retries) only when
  nothing could be stored, with the reason on standard error.
- `frontline mail fetch`: poll every active IMAP mailbox once.
- `frontline mail smtpd [--host 127.0.0.1] [--port 2525]`: run the SMTP intake server.
- `frontline mail retry ID`: ingest a failed message again."""

from __future__ import annotations

import sys
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontline.core.access import Actor

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Inbound mail: pipe one message from an MTA, fetch IMAP, run the SMTP intake, retry."
    # call_command("mail", "pipe", stdin=BytesIO(...)) in tests and callers that hold the bytes.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        pipe = actions.add_parser("pipe", help="Ingest one message read from standard input.")
        pipe.add_argument("--mailbox", default="", help="Address of the receiving mailbox.")
        pipe.add_argument(
            "--recipient",
            action="append",
            default=[],
            help="Envelope recipient (repeatable); picks the mailbox when --mailbox is not given.",
        )
        actions.add_parser("fetch", help="Poll every active IMAP mailbox once.")
        smtpd = actions.add_parser("smtpd", help="Run the SMTP intake server.")
        smtpd.add_argument("--host", default="127.0.0.1")
        smtpd.add_argument("--port", type=int, default=2525)
        retry = actions.add_parser("retry", help="Ingest a failed message again.")
        retry.add_argument("id", type=int, help="The failed-mail id.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "pipe":
            stdin: IO[bytes] = options.get("stdin") or sys.stdin.buffer
            self._pipe(stdin, mailbox=options["mailbox"], recipients=options["recipient"])
        elif action == "fetch":
            from frontline.mail.imap import fetch_all

            result = fetch_all()
            if result is not None:
                self.stdout.write(str(result))
        elif action == "smtpd":
            from frontline.mail.smtpd import serve

            serve(host=options["host"], port=options["port"])
        elif action == "retry":
            self._retry(options["id"])

    def _pipe(self, stdin: IO[bytes], *, mailbox: str, recipients: list[str]) -> None:
        # Imported here so that `--help` works without a database.
        from frontline.mail.ingest import ingest_message
        from frontline.mail.models import Mailbox

        raw = stdin.read()
        if not raw or not raw.strip():
            raise CommandError("No message on standard input.", returncode=EX_DATAERR)
        try:
            box = None
            if mailbox:
                box = Mailbox.objects.filter(
                    address__iexact=mailbox.strip(), is_active=True
                ).first()
                if box is None:
                    raise CommandError(
                        f"No active mailbox with address {mailbox!r}; the message was not "
                        "stored (the MTA will retry). Create the mailbox or fix the pipe.",
                        returncode=EX_TEMPFAIL,
                    )
            result = ingest_message(
                raw, source=Mailbox.Source.PIPE, mailbox=box, recipients=recipients
            )
        except CommandError:
            raise
        except Exception as exc:
            raise CommandError(
                f"The message could not be stored ({exc!r}); the MTA will retry.",
                returncode=EX_TEMPFAIL,
            ) from exc
        row = result.inbound or result.failed
        self.stdout.write(f"{result.outcome} (id {row.pk if row else '-'}) {result.reason}".strip())
        if result.outcome == "failed":
            self.stderr.write(f"Kept in the failed-mail list: {result.reason}")

    def _retry(self, failed_id: int) -> None:
        from frontline.core.errors import FrontlineError
        from frontline.mail.ingest import failed_mail_retry
        from frontline.mail.models import FailedMail

        failed = FailedMail.objects.filter(pk=failed_id).first()
        if failed is None:
            raise CommandError(f"No failed mail with id {failed_id}.", returncode=2)
        try:
            result = failed_mail_retry(
                actor=Actor.system(label="frontline mail retry"), failed=failed
            )
        except FrontlineError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        self.stdout.write(f"{result.outcome} {result.reason}".strip())
        if result.outcome == "failed":
            raise CommandError(f"Still failing: {result.reason}", returncode=1)
