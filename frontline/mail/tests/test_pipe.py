"""`frontline mail pipe`: exit 0 once the outcome is stored (even as failed mail), 75 when
nothing could be stored (so the MTA retries), 65 for an empty input. The subprocess tests run
the real console script against a migrated SQLite database in a temporary folder."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from frontline.mail.models import FailedMail, InboundMail
from frontline.tickets.models import Ticket

FRONTLINE = shutil.which("frontline", path=str(Path(sys.executable).parent))
MESSAGE = (
    b"From: Alice Acme <alice@acme.example>\r\nTo: help@acme.example\r\n"
    b"Subject: Piped in\r\nMessage-ID: <pipe-1@acme.example>\r\n\r\nThe scanner is offline.\r\n"
)


def _pipe(*args: str, stdin: bytes) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("mail", "pipe", *args, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_pipe_opens_a_ticket(desk, mailbox):
    out, _ = _pipe("--mailbox", "help@acme.example", stdin=MESSAGE)
    assert out.startswith("ticket")
    ticket = Ticket.objects.get()
    assert ticket.subject == "Piped in"
    assert InboundMail.objects.get().source == "pipe"


@pytest.mark.django_db
def test_pipe_finds_the_mailbox_from_the_envelope_recipient(desk, mailbox, mailbox_b):
    out, _ = _pipe("--recipient", "help@acme.example", stdin=MESSAGE.replace(b"To: help", b"To: x"))
    assert out.startswith("ticket")
    assert InboundMail.objects.get().mailbox == mailbox


@pytest.mark.django_db
def test_pipe_stores_unparseable_mail_as_failed_and_succeeds(desk, mailbox):
    bomb = b"From: a@acme.example\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\nbody"
    out, err = _pipe("--mailbox", "help@acme.example", stdin=bomb)
    assert out.startswith("failed")
    assert "header block" in err
    assert FailedMail.objects.count() == 1


@pytest.mark.django_db
def test_pipe_to_an_unknown_mailbox_is_a_temporary_failure(desk, mailbox):
    with pytest.raises(CommandError, match="No active mailbox") as caught:
        _pipe("--mailbox", "nope@acme.example", stdin=MESSAGE)
    assert caught.value.returncode == 75
    assert not InboundMail.objects.exists()
    assert not FailedMail.objects.exists()


@pytest.mark.django_db
def test_pipe_with_nothing_on_stdin_is_a_data_error(desk, mailbox):
    with pytest.raises(CommandError, match="No message") as caught:
        _pipe(stdin=b"")
    assert caught.value.returncode == 65


@pytest.mark.django_db
def test_retry_command_reingests_a_failed_message(desk, mailbox):
    failed = FailedMail.objects.create(source="pipe", reason="earlier crash", mailbox=mailbox)
    from frontline.mail.ingest import _raw_file

    failed.raw.save("x", _raw_file(MESSAGE))
    out = io.StringIO()
    call_command("mail", "retry", str(failed.pk), stdout=out)
    assert out.getvalue().startswith("ticket")
    failed.refresh_from_db()
    assert failed.resolved_at is not None
    with pytest.raises(CommandError, match="No failed mail"):
        call_command("mail", "retry", "999999")


# --- the real console script -----------------------------------------------------------------


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    if FRONTLINE is None:
        pytest.skip("the `frontline` console script is not installed in this environment")
    assert FRONTLINE is not None
    var = tmp_path_factory.mktemp("pipe-var")
    env = _env(var)
    subprocess.run([FRONTLINE, "migrate", "-v0"], env=env, check=True, timeout=300)
    setup = (
        "from frontline.tenants.models import Organization as O;"
        "from frontline.mail.models import Mailbox;"
        "o=O.objects.create(name='Acme',slug='acme');"
        "Mailbox.objects.create(name='Acme',address='help@acme.example',organization=o,source='pipe')"
    )
    subprocess.run([FRONTLINE, "shell", "-c", setup], env=env, check=True, timeout=120)
    return var


def _env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FRONTLINE_VAR_DIR"] = str(var)
    env["DJANGO_SETTINGS_MODULE"] = "frontline.settings"
    # The acknowledgement the ticket triggers would otherwise be printed on standard output.
    env["FRONTLINE_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    return env


def _run(var: Path, stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert FRONTLINE is not None
    return subprocess.run(
        [FRONTLINE, "mail", "pipe", *args], input=stdin, env=_env(var), capture_output=True,
        timeout=120,
    )  # fmt: skip


def test_the_console_script_exits_0_for_a_ticket_and_for_failed_mail(var_dir):
    done = _run(var_dir, MESSAGE, "--mailbox", "help@acme.example")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"ticket")
    again = _run(var_dir, MESSAGE, "--mailbox", "help@acme.example")
    assert again.returncode == 0
    assert again.stdout.startswith(b"duplicate")
    bomb = b"From: a@acme.example\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\nbody"
    failed = _run(var_dir, bomb, "--mailbox", "help@acme.example")
    assert failed.returncode == 0
    assert b"failed-mail" in failed.stderr


def test_the_console_script_exits_75_when_nothing_can_be_stored(tmp_path):
    if FRONTLINE is None:
        pytest.skip("the `frontline` console script is not installed in this environment")
    # An empty var folder: no database tables, so not even failed mail can be written.
    done = _run(tmp_path, MESSAGE)
    assert done.returncode == 75, done.stderr.decode()
    assert b"could not be stored" in done.stderr
    assert b"MTA will retry" in done.stderr
