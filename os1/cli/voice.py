"""`os1 voice`: talk with her by voice — microphone and speaker, files, or a WebSocket.

`os1 voice` talks through the sound card where there is one; `--in/--out` runs one
exchange from and to WAV files; `--serve` listens for WebSocket PCM conversations (the
protocol is in `os1/voice/websocket.py`), for the one configured user, on loopback.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import EX_DATAERR, EX_UNAVAILABLE, Settings, cli, fail, load, run

LIVE_NOT_YET = (
    "live microphone and speaker audio is not available here: {reason}.\n"
    "Talk to her through files instead: record a question as a WAV file, then\n"
    "  os1 voice --in question.wav --out answer.wav\n"
    "or serve a WebSocket for another program to stream audio: os1 voice --serve"
)
INSTALL_HINT = "Install the offline voice engines with: pip install 'os1[voice]'"


@cli.command()
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
@click.pass_obj
def voice(
    settings: Settings,
    in_path: Path | None,
    out_path: Path | None,
    serve: bool,
    host: str,
    port: int,
) -> None:
    """Talk by voice, offline: through the microphone, WAV files, or a WebSocket."""
    if serve:
        if in_path is not None or out_path is not None:
            raise click.UsageError("--serve takes its audio from the socket, not --in/--out")
        _serve(settings, host, port)
        return
    if in_path is None:
        if out_path is not None:
            raise click.UsageError("--out needs --in: the WAV file with what you say")
        _live(settings)
        return
    if out_path is None:
        raise click.UsageError("--in needs --out: where to write her spoken answer")
    _answer(settings, in_path, out_path)


@run
async def _serve(settings: Settings, host: str, port: int) -> None:
    from ..companion import Companion
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
        server = VoiceServer(
            companion,
            config.user,
            lambda: engines_for(companion, config.user),
            host=host,
            port=port,
            incognito=settings.incognito,
        )
        try:
            await server.start()
        except OSError as e:
            fail(f"cannot listen on {host}:{port}: {e}", EX_UNAVAILABLE)
        click.echo(f"Listening for voice on {server.url} (for {config.user} only; Ctrl-C stops)")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.secho(
                "warning: not loopback, and there is no sign-in yet: anyone who can reach "
                "this port talks to her as you",
                fg="yellow",
                err=True,
            )
        try:
            await server.serve_forever()
        finally:
            await server.close()
    finally:
        await _finish(companion, drain=True)


@run
async def _live(settings: Settings) -> None:
    from ..companion import Companion
    from ..voice.engines import EngineUnavailable
    from ..voice.local_audio import LocalAudioUnavailable, open_local_audio
    from ..voice.session import VoiceSession, engines_for
    from ..voice.transport import talk
    from .chat import Progress, _finish

    try:
        audio = open_local_audio()
    except LocalAudioUnavailable as e:
        fail(LIVE_NOT_YET.format(reason=e), EX_UNAVAILABLE)
    config = load(settings)
    companion = await Companion.open(config, on_progress=Progress())
    try:
        try:
            engines = await engines_for(companion, config.user)
        except EngineUnavailable as e:
            fail(f"{e}\n{INSTALL_HINT}", EX_UNAVAILABLE)
        session = VoiceSession(companion, config.user, engines, incognito=settings.incognito)
        audio.event = _show  # type: ignore[method-assign]
        click.echo("Listening (open microphone; headphones keep her from hearing herself).")
        click.echo("Ctrl-C ends the conversation.")
        try:
            await talk(session, audio)
        finally:
            await session.close()
    finally:
        await _finish(companion, drain=True)


def _show(event: dict[str, object]) -> None:
    if event["type"] == "transcript":
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
