"""Real servers for the intake tests: a throwaway Dovecot (IMAP) and the swaks SMTP client.

Dovecot runs from its own configuration in a temporary folder (see ../shared/RECIPES.md), on a
free port of 127.0.0.1, with one passwd-file user and a maildir; the system's Dovecot
configuration and service are never touched. A missing program skips the test with a message
saying what to install, except under CI=true, where it fails: CI must run these tests.

Use in a test module: a fixture `with dovecot_server() as server: yield server`, and
`swaks(...)` to send mail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

DOVECOT = "/usr/sbin/dovecot"
SWAKS = "/usr/bin/swaks"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_program(path: str, *, package: str) -> str:
    """`path` if it is installed; otherwise skip (fail under CI=true) with a clear message."""
    found = path if os.access(path, os.X_OK) else shutil.which(Path(path).name)
    if found:
        return found
    message = (
        f"{path} is not installed: this test needs it (apt-get install {package}, "
        "or `make test-setup` as root)."
    )
    if IN_CI:
        pytest.fail(f"{message} CI=true: failing instead of skipping.")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                if sock.recv(64):  # the server's greeting
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answered on {host}:{port} within {timeout} s")
        time.sleep(0.1)


_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
info_log_path = {tmp}/dovecot.log
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_location = maildir:{tmp}/mail/%u
{user_settings}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {tmp}/users
}}
userdb {{
  driver = passwd-file
  args = {tmp}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service anvil {{
{chroot}}}
"""


@dataclass
class Dovecot:
    """A running Dovecot with users `helpdesk` and `other` (password `secret` for both)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, str] = field(default_factory=lambda: {"helpdesk": "secret", "other": "secret"})
    host: str = "127.0.0.1"

    def start(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            uid, gid = 65534, 65534  # nobody:nogroup (Dovecot refuses mail uids below 500)
            user_settings, chroot = "", ""
        else:
            uid, gid = os.getuid(), os.getgid()
            import pwd

            me = pwd.getpwuid(uid).pw_name
            user_settings = (
                f"default_login_user = {me}\ndefault_internal_user = {me}\n"
                f"default_internal_group = {me}\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"
            )
            chroot = "  chroot =\n"
        lines = []
        for name, password in self.users.items():
            home = self.root / "mail" / name
            home.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                os.chown(home, uid, gid)
            lines.append(f"{name}:{{PLAIN}}{password}:{uid}:{gid}::{home}")
        (self.root / "users").write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            os.chown(self.root / "mail", uid, gid)
        conf = self.root / "dovecot.conf"
        conf.write_text(
            _CONFIG.format(
                tmp=self.root, port=self.port, user_settings=user_settings, chroot=chroot
            )
        )
        self.process = subprocess.Popen(  # noqa: S603 (fixed program, our own config)
            [DOVECOT, "-c", str(conf), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            log = self.log()
            raise RuntimeError(f"Dovecot did not start on port {self.port}:\n{log}") from None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    # --- talking to it as a mail client would --------------------------------------------

    def client(self, user: str = "helpdesk") -> MailBoxUnencrypted:
        box = MailBoxUnencrypted(self.host, port=self.port, timeout=10)
        box.login(user, self.users[user], initial_folder=None)
        return box

    def append(
        self, *messages: bytes, folder: str = "INBOX", user: str = "helpdesk", seen: bool = False
    ) -> None:
        """Deliver messages by IMAP APPEND (unseen unless `seen`)."""
        box = self.client(user)
        try:
            if not box.folder.exists(folder):
                box.folder.create(folder)
            for raw in messages:
                box.append(raw, folder, flag_set=["\\Seen"] if seen else [])
        finally:
            box.logout()

    def unseen(self, folder: str = "INBOX", user: str = "helpdesk") -> int:
        return len(self.uids(AND(seen=False), folder=folder, user=user))

    def count(self, folder: str = "INBOX", user: str = "helpdesk") -> int:
        return len(self.uids("ALL", folder=folder, user=user))

    def uids(self, criteria: object = "ALL", *, folder: str = "INBOX", user: str = "helpdesk"):
        box = self.client(user)
        try:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return box.uids(criteria)  # type: ignore[arg-type]
        finally:
            box.logout()


@contextmanager
def dovecot_server() -> Iterator[Dovecot]:
    """A fresh Dovecot, stopped and removed afterwards (wrap it in a fixture). Its folder is
    not under pytest's tmp_path: Dovecot's unprivileged processes must be able to enter every
    parent folder, and pytest makes those private (0700)."""
    require_program(DOVECOT, package="dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="frontline-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root=root, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def swaks(
    *,
    port: int,
    to: str | Sequence[str],
    sender: str = "alice@acme.example",
    data: Path | None = None,
    headers: Sequence[str] = (),
    body: str | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Send one message with swaks to 127.0.0.1:`port`; the transcript is in stdout. Exit status
    0 means the message was accepted (250), non-zero that the server refused it."""
    program = require_program(SWAKS, package="swaks")
    rcpts = [to] if isinstance(to, str) else list(to)
    args = [program, "--server", f"127.0.0.1:{port}", "--from", sender, "--to", ",".join(rcpts)]
    args += ["--helo", "client.example", "--timeout", "20"]
    if data is not None:
        args += ["--data", f"@{data}"]
    for header in headers:
        args += ["--header", header]
    if body is not None:
        args += ["--body", body]
    return subprocess.run(  # noqa: S603 (fixed program)
        args, capture_output=True, text=True, timeout=timeout, check=False
    )
