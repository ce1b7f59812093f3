"""Getting a password when it is needed, from a command the user names; never storing it.

As mbsync and aerc do: `pass show mail/home`, `secret-tool lookup …`. The command is
split like a shell line but run without a shell, and only its first line is used.
"""

from __future__ import annotations

import asyncio
import shlex


class PasswordError(Exception):
    """The password command could not be read, started, or did not succeed."""


async def from_command(command: str) -> str:
    """The first line `command` prints."""
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise PasswordError(f"the password command cannot be read: {e}") from e
    if not argv:
        raise PasswordError("the password command is empty")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as e:
        raise PasswordError(f"the password command failed to start: {e}") from e
    out, err = await proc.communicate()
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()[:200]
        raise PasswordError(f"the password command exited {proc.returncode}: {message}")
    lines = out.decode(errors="replace").splitlines()
    return lines[0] if lines else ""
