"""Talking in the terminal: the conversation (with the install interview the first time) and
`os1 chat -m` for scripts."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys

import click
from prompt_toolkit.patch_stdout import patch_stdout

from ..companion import Companion
from ..interview import Question, run_interview
from ..persona import greeting
from . import EX_INTERRUPTED, Settings, cli, load, run
from .inbox import Inbox
from .terminal import Terminal, repair_arg, repair_text, warn

MEMORY_DRAIN_SECONDS = 20.0
HELP = """Commands:
  /help            this list
  /how             how I work: the model, what I store and where, what leaves this computer
  /rename NAME     give me another name (undo with /undo)
  /start-over      forget my name and your interview answers (asks first)
  /actions         what I have done, and what waits for your yes
  /undo            undo the last thing I did that can be undone
  /quit            leave (Ctrl-D works too)
Ask "what do you know about me?" to see what I remember and where I learned it; say
"forget that" or "that's wrong, …" to change it (`os1 memory --help` for more).
Ctrl-C stops a reply mid-way; what I'd said so far is kept, marked interrupted."""


class Progress:
    """Shows slow steps (checking and loading the model) unless told to keep quiet."""

    def __init__(self) -> None:
        self.quiet = False

    def __call__(self, message: str) -> None:
        if not self.quiet:
            click.secho(message, fg="bright_black", err=True)


async def _open(settings: Settings, progress: Progress | None = None) -> Companion:
    return await Companion.open(load(settings), on_progress=progress or Progress())


async def _stream_reply(
    companion: Companion, term: Terminal, user: str, text: str, name: str, incognito: bool
) -> bool:
    """Stream one reply to the terminal; Ctrl-C stops it. Returns False if interrupted."""

    async def consume() -> None:
        term.stream_start(name)
        replies = companion.reply(user, text, approve=term.approver(name), incognito=incognito)
        async for piece in replies:
            term.stream(piece)

    task = asyncio.ensure_future(consume())
    loop = asyncio.get_running_loop()
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        handled = True
    try:
        await task
        click.echo("")
        return True
    except asyncio.CancelledError:
        click.echo("")
        click.secho("(interrupted — what she'd said so far is kept)", fg="yellow", err=True)
        return False
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)


async def _interview(companion: Companion, term: Terminal, user: str) -> None:
    async def ask(question: Question) -> str | None:
        term.say(question.prompt)
        if question.multiline:
            return await term.read_block("> ")
        return await term.read_line("> ")

    async def say(text: str) -> None:
        term.say(text)

    profile, persona = await run_interview(ask, say, rng=random.Random(), greet=False)
    await companion.save_persona(user, persona, profile)


async def _slash(companion: Companion, term: Terminal, user: str, name: str, line: str) -> bool:
    """Run a /command; returns False when the conversation should end."""
    command, _, arg = line[1:].partition(" ")
    command = command.lower()
    actions = companion.actions
    if command in ("quit", "exit", "q"):
        return False
    if command == "help":
        term.say(HELP)
    elif command == "how":
        from ..transparency import how_i_work

        term.say(how_i_work(await companion.facts(user)))
    elif command in ("rename", "start-over"):
        tool, args = (
            ("rename_companion", {"name": arg.strip()})
            if command == "rename"
            else (
                "start_over",
                {},
            )
        )
        try:
            outcome = await actions.request(
                user, tool, args, requested_by="user", approve=term.approver(name)
            )
            term.say(outcome.output)
        except Exception as e:  # an action's error is shown, the conversation goes on
            warn(str(e))
    elif command == "actions":
        from .manage import format_actions

        term.say(format_actions(await actions.log(user, 20)) or "Nothing done yet.")
    elif command == "undo":
        try:
            term.say(await actions.undo(user))
        except Exception as e:
            warn(str(e))
    else:
        warn(f"Unknown command /{command}. /help lists them.")
    return True


@run
async def _converse(settings: Settings) -> None:
    config = load(settings)
    config.home.mkdir(parents=True, exist_ok=True)
    term = Terminal(config.home / "history")
    progress = Progress()
    companion = await _open(settings, progress)
    user = config.user
    try:
        found = await companion.persona(user)
        if found is None:
            # The model loads quietly while the interview runs: her first reply won't wait.
            progress.quiet = True
            warming = asyncio.ensure_future(companion.model.warm_up())
            await _interview(companion, term, user)
            progress.quiet = False
            await warming
            found = await companion.persona(user)
            returning = False
        else:
            await companion.model.warm_up()
            returning = True
        assert found is not None
        persona, profile = found
        term.say(greeting(persona, profile, returning=returning), who=persona.name)
        if term.interactive:
            click.secho("(/help for commands, Ctrl-D to leave)", fg="bright_black", err=True)
        if settings.incognito:
            click.secho(
                "(incognito: nothing from this conversation is kept)", fg="yellow", err=True
            )
        await companion.start_conversation(user)
        inbox = Inbox(companion, user, persona.name)
        # Reminders may print while the prompt waits: keep them above the input line.
        with patch_stdout(raw=True) if term.interactive else contextlib.nullcontext():
            await inbox.start()
            try:
                await _loop(companion, term, user, persona.name, settings.incognito)
            finally:
                await inbox.stop()
    finally:
        await _finish(companion)


async def _loop(
    companion: Companion, term: Terminal, user: str, name: str, incognito: bool
) -> None:
    while True:
        line = await term.read_line("> ")
        if line is None:
            return
        if not line.strip():
            continue
        if line.startswith("/"):
            if not await _slash(companion, term, user, name, line.strip()):
                return
            found = await companion.persona(user)
            if found is None:  # she forgot her name: the interview runs again next time
                return
            name = found[0].name
            continue
        await _stream_reply(companion, term, user, line, name, incognito)


def converse(settings: Settings) -> None:
    _converse(settings)


@cli.command()
@click.option("-m", "--message", help="What to say. Piped stdin is read too (and put first).")
@click.pass_obj
def chat(settings: Settings, message: str | None) -> None:
    """Say one thing and print her answer — for scripts. Works with piped stdin."""
    parts = []
    if message is None and sys.stdin.isatty():
        raise click.UsageError('say something: os1 chat -m "…", or pipe text in')
    if not sys.stdin.isatty():
        text, bad = repair_text(sys.stdin.buffer.read())
        if bad:
            warn(f"Note: the input was not valid UTF-8; {bad} sequence(s) became '\ufffd'.")
        parts.append(text)
    if message is not None:
        text, bad = repair_arg(message)
        if bad:
            warn(f"Note: the message was not valid UTF-8; {bad} sequence(s) became '\ufffd'.")
        parts.append(text)
    _chat_once(settings, "\n\n".join(p for p in parts if p.strip()))


@run
async def _chat_once(settings: Settings, text: str) -> None:
    config = load(settings)
    companion = await _open(settings)
    finished = False
    try:
        term = Terminal(None)
        replies = companion.reply(
            config.user, text, approve=term.approver(), incognito=settings.incognito
        )
        async for piece in replies:
            term.stream(piece)
        click.echo("")
        finished = True
    except asyncio.CancelledError:
        click.echo("")
        click.secho("(interrupted — what she'd said so far is kept)", fg="yellow", err=True)
        sys.exit(EX_INTERRUPTED)
    finally:
        await _finish(companion, drain=finished)


async def _finish(companion: Companion, *, drain: bool = True) -> None:
    """Give memory a moment to file what was just said; anything left is done next time."""
    try:
        if drain:
            await companion.memory.drain(MEMORY_DRAIN_SECONDS)
    finally:
        await companion.close()
