"""The terminal as a front door's input and output: lines in, streamed text out, y/n asks.

Reads with line editing and history (prompt_toolkit) when stdin is a terminal,
and plain lines when it is a pipe, so `printf 'Theo\\n…' | os1` drives the same
conversation a person would have. Input that is not valid UTF-8 is repaired
and the user is told, never silently dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import IO

import click
from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory

from ..actions import Approver, Proposal


def repair_text(raw: bytes) -> tuple[str, int]:
    """Decode `raw` as UTF-8, replacing what isn't; returns the text and how many were replaced."""
    text = raw.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")


def repair_arg(text: str) -> tuple[str, int]:
    """The same for a command-line argument (Python decodes argv with surrogateescape)."""
    return repair_text(text.encode("utf-8", errors="surrogateescape"))


def warn(message: str) -> None:
    click.secho(message, fg="yellow", err=True)


class Terminal:
    """Where the conversation's lines come from and its replies go to."""

    def __init__(self, history_file: Path | None, stdin: IO[bytes] | None = None) -> None:
        self._stdin = stdin if stdin is not None else sys.stdin.buffer
        self.interactive = stdin is None and sys.stdin.isatty() and sys.stdout.isatty()
        self._session: PromptSession[str] | None = None
        if self.interactive:
            history = FileHistory(str(history_file)) if history_file else None
            self._session = PromptSession(history=history)

    async def read_line(self, prompt: str = "> ") -> str | None:
        """One line from the user; None at end of input (Ctrl-D or the pipe ran dry)."""
        if self._session is not None:
            while True:
                try:
                    return await self._session.prompt_async(prompt)
                except KeyboardInterrupt:
                    # Ctrl-C at the prompt clears the line, as in a shell; Ctrl-D leaves.
                    click.echo("(Ctrl-D or /quit to leave)", err=True)
                except EOFError:
                    return None
        raw = await asyncio.to_thread(self._stdin.readline)
        if not raw:
            return None
        text, bad = repair_text(raw.rstrip(b"\r\n"))
        if bad:
            warn(f"Note: that line was not valid UTF-8; {bad} byte sequence(s) became '\ufffd'.")
        return text

    async def read_block(self, prompt: str) -> str | None:
        """Several lines, ended by an empty line: for answers that must never be cut off."""
        lines: list[str] = []
        while True:
            line = await self.read_line(prompt if not lines else "… ")
            if line is None:
                return "\n".join(lines) if lines else None
            if not line.strip():
                return "\n".join(lines)
            lines.append(line)

    def say(self, text: str, *, who: str | None = None) -> None:
        if who:
            click.secho(f"{who}: ", fg="magenta", bold=True, nl=False)
        click.echo(text)

    def stream_start(self, who: str) -> None:
        click.secho(f"{who}: ", fg="magenta", bold=True, nl=False)

    def stream(self, text: str) -> None:
        click.echo(text, nl=False)
        sys.stdout.flush()

    def approver(self, who: str = "She") -> Approver | None:
        """Ask the person at the keyboard. Without a terminal there is no one to ask: None.

        Approval is read from the terminal itself (/dev/tty), never from piped input or
        anything the conversation contains.
        """
        tty_path = "/dev/tty"
        if not (self.interactive or (os.name == "posix" and _tty_available(tty_path))):
            return None

        async def ask(proposal: Proposal) -> bool:
            click.echo("")
            click.secho(f"{who} wants to: {proposal.summary}", fg="cyan", bold=True, err=True)
            click.secho(f"  Effect: {proposal.effect.value}", err=True)
            if self._session is not None:
                answer = await self._session.prompt_async("  Do it? [y/N] ")
            else:
                answer = await asyncio.to_thread(_ask_tty, tty_path, "  Do it? [y/N] ")
            return answer.strip().lower() in ("y", "yes")

        return ask


def _tty_available(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _ask_tty(path: str, prompt: str) -> str:
    with open(path, "r+", encoding="utf-8", errors="replace") as tty:
        tty.write(prompt)
        tty.flush()
        return tty.readline()
