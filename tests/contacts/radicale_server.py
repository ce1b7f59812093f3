"""A real CardDAV server for tests: radicale in a subprocess on a free loopback port.

It runs with its own configuration and storage in a temporary folder, checks logins
against a plain htpasswd file, and lets each user see only their own collections.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Radicale:
    url: str
    """The server's root, e.g. http://127.0.0.1:5232/ (ends with a slash)."""
    folder: Path
    """Where it keeps its collections on disk."""
    users: dict[str, str]
    """Login names and their passwords."""

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(user, self.users[user]), timeout=10)

    def make_addressbook(self, user: str, name: str = "contacts") -> str:
        """Create an address book for `user` (extended MKCOL) and return its URL."""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<mkcol xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
            "<set><prop><resourcetype><collection/><CR:addressbook/></resourcetype>"
            f"<displayname>{name}</displayname></prop></set></mkcol>"
        )
        with self.client(user) as http:
            reply = http.request("MKCOL", f"/{user}/{name}/", content=body)
        if reply.status_code != 201:
            raise RuntimeError(f"MKCOL failed: {reply.status_code} {reply.text[:300]}")
        return f"{self.url}{user}/{name}/"


@contextmanager
def radicale_server(
    tmp: Path, users: dict[str, str] | None = None, rights: str = "owner_only"
) -> Iterator[Radicale]:
    """Start radicale on loopback, wait until it answers, and stop it afterwards. `rights`:
    "owner_only", or "owner_write" (everyone reads everyone's collections)."""
    users = users or {"theo": "s3cret"}
    tmp.mkdir(parents=True, exist_ok=True)
    htpasswd = tmp / "users"
    htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()), encoding="utf-8")
    folder = tmp / "collections"
    port = free_port()
    config = tmp / "radicale.conf"
    config.write_text(
        f"""[server]
hosts = 127.0.0.1:{port}
delay_on_error = 0

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
delay = 0

[rights]
type = {rights}

[storage]
filesystem_folder = {folder}

[web]
type = none

[logging]
level = warning
""",
        encoding="utf-8",
    )
    log = (tmp / "radicale.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("RADICALE")},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"radicale exited: {(tmp / 'radicale.log').read_text()}")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("radicale did not start within 30 seconds") from None
                time.sleep(0.1)
        yield Radicale(url, folder, dict(users))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
