"""A real IMAP server for tests: pymap with its maildir backend, in a subprocess on loopback.

Users are added while it runs (pymap reads its passwd/shadow files at each login), so
every test can have a mailbox of its own on one server. A test puts mail on the
server, and checks what a sync did there, through a second IMAP connection of its own.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient
from servers import free_port


@dataclass(frozen=True)
class Mailbox:
    """One user on the server."""

    host: str
    port: int
    user: str
    password: str

    def client(self) -> IMAPClient:
        """A second, logged-in connection, as another mail program of the user's."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client


@dataclass
class ImapServer:
    host: str
    port: int
    base: Path
    process: subprocess.Popen[bytes]

    def add_user(self, password: str = "correct horse") -> Mailbox:
        from pymap.config import IMAPConfig

        name = f"u{uuid.uuid4().hex[:12]}"
        # The hash pymap itself checks against (passlib when installed, else its own).
        hashed = IMAPConfig._get_hash_context(None).hash(password)
        _append(self.base / "pymap-etc-passwd", f"{name}:x::::{name}:\r\n")
        _append(self.base / "pymap-etc-shadow", f"{name}:{hashed}:::::::\r\n")
        return Mailbox(self.host, self.port, name, password)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _append(path: Path, line: str) -> None:
    # Replaced whole, so the server never reads half a file.
    text = path.read_text() if path.exists() else ""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + line)
    os.replace(tmp, path)


@contextmanager
def imap_server(
    base: Path, *, port: int | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[ImapServer]:
    """pymap on loopback (a free port unless given) over the maildirs under `base`.

    With `tls` (certificate and key files) it offers STARTTLS.
    """
    base.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [
        sys.executable,
        "-c",
        "from pymap.main import main; main()",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    argv += ["--cert", str(tls[0]), "--key", str(tls[1])] if tls else ["--no-tls"]
    with (base / "pymap.log").open("ab") as log:
        process = subprocess.Popen([*argv, "maildir", str(base)], stdout=log, stderr=log)
    server = ImapServer("127.0.0.1", port, base, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pymap exited: {(base / 'pymap.log').read_text()[-2000:]}")
            try:
                socket.create_connection((server.host, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        server.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key; trust it with SSL_CERT_FILE."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
