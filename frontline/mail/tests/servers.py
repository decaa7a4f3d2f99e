"""Real servers for the intake tests: a throwaway Dovecot (IMAP) and the swaks SMTP client.

Dovecot runs from its own configuration in a temporary folder (see ../shared/RECIPES.md), on a
free port of 127.0.0.1, with one passwd-file user and a maildir; the system's Dovecot
configuration and service are never touched. A missing program skips the test with a message
saying what to install, except under CI=true, where it fails: CI must run these tests.

Use in a test module: a fixture `with dovecot_server() as server: yield server`, and
`swaks(...)` to send mail. `dovecot_server(tls=self_signed_certificate(folder))` serves IMAPS on
`server.imaps_port` and STARTTLS on `server.port`, with ssl = required.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted

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
{ssl_settings}
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
    address = 127.0.0.1
    port = {imaps_port}
{imaps_ssl}  }}
{chroot}}}
service anvil {{
{chroot}}}
"""


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate and its private key. Self-signed, so the certificate is also the CA a
    client trusts it with."""

    cert: Path
    key: Path


def self_signed_certificate(
    folder: Path, *, names: Sequence[str] = ("localhost",), ips: Sequence[str] = ()
) -> TlsFiles:
    """A throwaway self-signed server certificate for DNS `names` and IP addresses `ips` (an EC
    key: quick to make), valid from yesterday for a week, written to `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else ips[0])])
    alternatives: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alternatives += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=folder / "cert.pem", key=folder / "key.pem")
    files.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


@dataclass
class Dovecot:
    """A running Dovecot with users `helpdesk` and `other` (password `secret` for both). With
    `tls`, ssl = required: IMAPS on `imaps_port`, STARTTLS on `port` (Dovecot counts a client on
    127.0.0.1 as secured, so it would still let a plain login through there)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, str] = field(default_factory=lambda: {"helpdesk": "secret", "other": "secret"})
    host: str = "127.0.0.1"
    tls: TlsFiles | None = None
    imaps_port: int = 0

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
        if self.tls is None:
            ssl_settings, imaps_ssl, imaps_port = "ssl = no", "", 0
        else:
            ssl_settings = (
                f"ssl = required\nssl_cert = <{self.tls.cert}\nssl_key = <{self.tls.key}\n"
                "ssl_min_protocol = TLSv1.2"
            )
            imaps_ssl, imaps_port = "    ssl = yes\n", self.imaps_port
        conf = self.root / "dovecot.conf"
        conf.write_text(
            _CONFIG.format(
                tmp=self.root,
                port=self.port,
                imaps_port=imaps_port,
                imaps_ssl=imaps_ssl,
                ssl_settings=ssl_settings,
                user_settings=user_settings,
                chroot=chroot,
            )
        )
        self.process = subprocess.Popen(  # noqa: S603 (fixed program, our own config)
            [DOVECOT, "-c", str(conf), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port)  # IMAPS says nothing before a handshake: wait on IMAP
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

    def client(self, user: str = "helpdesk") -> BaseMailBox:
        """Logged in as `user`: the test's own access (over IMAPS, without checking the
        certificate, when the server has TLS; the code under test checks it)."""
        box: BaseMailBox
        if self.tls is None:
            box = MailBoxUnencrypted(self.host, port=self.port, timeout=10)
        else:
            unchecked = ssl.create_default_context()
            unchecked.check_hostname = False
            unchecked.verify_mode = ssl.CERT_NONE
            box = MailBox(self.host, port=self.imaps_port, timeout=10, ssl_context=unchecked)
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
def dovecot_server(*, tls: TlsFiles | None = None) -> Iterator[Dovecot]:
    """A fresh Dovecot, stopped and removed afterwards (wrap it in a fixture). Its folder is
    not under pytest's tmp_path: Dovecot's unprivileged processes must be able to enter every
    parent folder, and pytest makes those private (0700). With `tls`, ssl = required."""
    require_program(DOVECOT, package="dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="frontline-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    imaps_port = 0
    while tls is not None and imaps_port in (0, port):
        imaps_port = free_port()
    server = Dovecot(root=root, port=port, tls=tls, imaps_port=imaps_port)
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
