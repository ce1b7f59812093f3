"""`os1 voice`: talk with her by voice — microphone and speaker, files, or a WebSocket.

`os1 voice` talks through the sound card where there is one, in the user's saved mode
(speaker or earpiece, push-to-talk or open microphone; `--mode`, `--push-to-talk` and
`--open-mic` override them for one conversation, `os1 voice settings` changes them);
`--in/--out` runs one exchange from and to WAV files; `--serve` listens for WebSocket PCM
conversations (the protocol is in `os1/voice/websocket.py`), for the one configured user,
on loopback.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..voice.settings import MODES, VoiceSettings
from . import EX_DATAERR, EX_UNAVAILABLE, Settings, cli, fail, load, run, with_companion

LIVE_NOT_YET = (
    "live microphone and speaker audio is not available here: {reason}.\n"
    "Talk to her through files instead: record a question as a WAV file, then\n"
    "  os1 voice --in question.wav --out answer.wav\n"
    "or serve a WebSocket for another program to stream audio: os1 voice --serve"
)
INSTALL_HINT = "Install the offline voice engines with: pip install 'os1[voice]'"


@cli.group(invoke_without_command=True)
@click.option(
    "--in",
    "in_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A WAV file with what you say (any rate, mono or stereo).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write her spoken answer (WAV).",
)
@click.option("--serve", is_flag=True, help="Serve WebSocket PCM conversations instead.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where --serve listens.")
@click.option("--port", default=8765, show_default=True, type=int, help="--serve's port.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="speaker: she won't interrupt herself through loudspeakers; earpiece: headphones.",
)
@click.option(
    "--push-to-talk/--open-mic",
    "push_to_talk",
    default=None,
    help="Talk only between two presses of Enter, or whenever you speak.",
)
@click.pass_context
def voice(
    ctx: click.Context,
    in_path: Path | None,
    out_path: Path | None,
    serve: bool,
    host: str,
    port: int,
    mode: str | None,
    push_to_talk: bool | None,
) -> None:
    """Talk by voice, offline: through the microphone, WAV files, or a WebSocket.

    `os1 voice settings` shows and changes how you talk with her (see its --help)."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    if (mode is not None or push_to_talk is not None) and (serve or in_path or out_path):
        raise click.UsageError(
            "--mode, --push-to-talk and --open-mic are for the microphone (os1 voice alone)"
        )
    if serve:
        if in_path is not None or out_path is not None:
            raise click.UsageError("--serve takes its audio from the socket, not --in/--out")
        _serve(settings, host, port)
        return
    if in_path is None:
        if out_path is not None:
            raise click.UsageError("--out needs --in: the WAV file with what you say")
        _live(settings, {"mode": mode, "push_to_talk": push_to_talk})
        return
    if out_path is None:
        raise click.UsageError("--in needs --out: where to write her spoken answer")
    _answer(settings, in_path, out_path)


@run
async def _serve(settings: Settings, host: str, port: int) -> None:
    from ..companion import Companion
    from ..voice.admission import is_loopback
    from ..voice.engines import EngineUnavailable
    from ..voice.session import engines_for
    from ..voice.websocket import VoiceServer
    from .chat import Progress, _finish

    config = load(settings)
    companion = await Companion.open(config, on_progress=Progress())
    try:
        try:
            await engines_for(companion, config.user)  # fail now, not at the first caller
        except EngineUnavailable as e:
            fail(f"{e}\n{INSTALL_HINT}", EX_UNAVAILABLE)
        # Each caller speaks in their own persona's voice, with their own voice settings.
        server = VoiceServer(
            companion, config.user, host=host, port=port, incognito=settings.incognito
        )
        try:
            await server.start()
        except OSError as e:
            fail(f"cannot listen on {host}:{port}: {e}", EX_UNAVAILABLE)
        who = (
            f"as {config.user} without a token from this machine; others sign in"
            if is_loopback(host)
            else "everyone signs in"
        )
        click.echo(
            f"Listening for voice on {server.url} ({who} with a token from "
            "`os1 tokens create`; Ctrl-C stops)"
        )
        try:
            await server.serve_forever()
        finally:
            await server.close()
    finally:
        await _finish(companion, drain=True)


@run
async def _live(settings: Settings, overrides: dict[str, Any]) -> None:
    from ..companion import Companion
    from ..voice import settings as voicesettings
    from ..voice.engines import EngineUnavailable
    from ..voice.local_audio import KeyReader, LocalAudioUnavailable, open_local_audio
    from ..voice.session import VoiceSession, engines_for
    from ..voice.transport import talk
    from ..voice.turns import TurnSettings
    from .chat import Progress, _finish

    try:
        audio = open_local_audio(on_event=_show)
    except LocalAudioUnavailable as e:
        fail(LIVE_NOT_YET.format(reason=e), EX_UNAVAILABLE)
    config = load(settings)
    companion = await Companion.open(config, on_progress=Progress())
    try:
        saved = await companion.store.read(lambda c: voicesettings.load(c, config.user))
        chosen = session_settings(saved, **overrides)
        try:
            engines = await engines_for(companion, config.user)
        except EngineUnavailable as e:
            fail(f"{e}\n{INSTALL_HINT}", EX_UNAVAILABLE)
        session = VoiceSession(
            companion, config.user, engines, incognito=settings.incognito, settings=chosen
        )
        audio.keys = KeyReader(sys.stdin, toggle=chosen.push_to_talk)
        for line in _greeting(chosen):
            click.echo(line)
        try:
            with audio.ctrl_c_hangs_up():
                await talk(session, audio, turns=TurnSettings.of(chosen))
        finally:
            await session.close()
        click.echo("(conversation ended)")
    finally:
        await _finish(companion, drain=True)


def session_settings(saved: VoiceSettings, **overrides: Any) -> VoiceSettings:
    """The saved voice settings with this session's `--mode`/`--push-to-talk` on top."""
    return replace(saved, **{k: v for k, v in overrides.items() if v is not None})


def _greeting(chosen: VoiceSettings) -> list[str]:
    if chosen.push_to_talk:
        how = "Push-to-talk: press Enter to talk, Enter again to finish."
    else:
        how = "Listening (open microphone). Enter interrupts her and starts your turn at once."
    if chosen.mode == "speaker":
        mode = (
            "Speaker mode: she won't take her own voice for yours; to talk over her, speak "
            "up clearly or press Enter."
        )
    else:
        mode = "Earpiece mode: use headphones, or she may hear herself and stop."
    return [how, mode, "Ctrl-C ends the conversation."]


def _show(event: dict[str, Any]) -> None:
    if event["type"] == "talk_key":
        if not event.get("toggle"):
            shown = "(go ahead: she is listening)"
        else:
            shown = "(talking: Enter to finish)" if event["talking"] else "(Enter to talk)"
        click.secho(shown, fg="bright_black")
    elif event["type"] == "hang_up":
        click.secho("(ending the conversation)", fg="bright_black")
    elif event["type"] == "transcript" and not event.get("final", True):
        return  # an early transcript may still change
    elif event["type"] == "transcript":
        click.echo(f"You: {event['text']}")
    elif event["type"] == "reply":
        click.echo(f"  {event['text']}")
    elif event["type"] == "heard" and event.get("interrupted"):
        click.secho(f"  (you heard: {event['text']})", fg="bright_black")


@run
async def _answer(settings: Settings, in_path: Path, out_path: Path) -> None:
    from ..companion import Companion
    from ..voice.engines import EngineUnavailable
    from ..voice.session import answer_file, engines_for
    from ..voice.wavfile import WavError, read_wav
    from .chat import Progress, _finish

    try:
        read_wav(in_path)  # a bad file is reported before any model loads
    except (WavError, OSError) as e:
        fail(f"cannot use {in_path}: {e}", EX_DATAERR)
    config = load(settings)
    companion = await Companion.open(config, on_progress=Progress())
    finished = False
    try:
        try:
            engines = await engines_for(companion, config.user)
        except EngineUnavailable as e:
            fail(f"{e}\n{INSTALL_HINT}", EX_UNAVAILABLE)
        found = await companion.persona(config.user)
        name = found[0].name if found else "OS1"
        summary = await answer_file(
            companion,
            config.user,
            in_path,
            out_path,
            engines=engines,
            incognito=settings.incognito,
        )
        finished = True
    finally:
        await _finish(companion, drain=finished)
    click.echo(f"You said: {summary.transcript or '(nothing I could make out)'}")
    click.echo(f"{name} said: {summary.reply}")
    if summary.interrupted:
        click.echo(f"(you heard only: {summary.heard})")
    stages = ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in summary.timings.items())
    click.secho(f"(answer written to {out_path}; {stages})", fg="bright_black", err=True)
    if summary.error:
        fail(summary.error, EX_DATAERR if not summary.transcript else EX_UNAVAILABLE)


@voice.command("settings")
@click.argument("changes", nargs=-1, metavar="[NAME=VALUE]...")
@click.pass_obj
def voice_settings(settings: Settings, changes: tuple[str, ...]) -> None:
    """Show or change how you talk with her: expressive (on/off: laughs, sighs, pauses),
    acknowledge (on/off: a short "Hmm," while she thinks), mode (speaker: loudspeakers, or
    earpiece: headphones), push_to_talk (on/off). Example:
    os1 voice settings mode=earpiece push_to_talk=on"""
    from ..voice import settings as voicesettings

    wanted = parse_changes(changes)

    async def go(c: Any, user: str) -> VoiceSettings:
        def write(conn: Any) -> VoiceSettings:
            if not wanted:
                return voicesettings.load(conn, user)
            return voicesettings.change(conn, user, **wanted)

        result: VoiceSettings = await c.store.write(write)
        return result

    try:
        found = run(with_companion)(settings, go)
    except voicesettings.VoiceSettingsError as e:
        raise click.UsageError(str(e)) from None
    assert found is not None
    for key, value in found.to_dict().items():
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        click.echo(f"{key} = {shown}")


def parse_changes(changes: tuple[str, ...]) -> dict[str, str]:
    """`NAME=VALUE` words (or `NAME VALUE` pairs, as `os1 notifications settings` takes)."""
    parsed: dict[str, str] = {}
    words = list(changes)
    while words:
        word = words.pop(0)
        if "=" in word:
            name, value = word.split("=", 1)
        elif words and "=" not in words[0]:
            name, value = word, words.pop(0)
        else:
            raise click.UsageError(f"{word!r} needs a value: give settings as NAME=VALUE")
        if not name.strip() or not value.strip():
            raise click.UsageError(f"{word!r}: give settings as NAME=VALUE")
        parsed[name.strip()] = value.strip()
    return parsed
