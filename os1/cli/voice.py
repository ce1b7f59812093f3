"""`os1 voice`: talk with her by voice — for now one exchange from a WAV file to a WAV file."""

from __future__ import annotations

from pathlib import Path

import click

from . import EX_DATAERR, EX_UNAVAILABLE, Settings, cli, fail, load, run

LIVE_NOT_YET = (
    "live microphone and speaker audio is not available yet.\n"
    "Talk to her through files instead: record a question as a WAV file, then\n"
    "  os1 voice --in question.wav --out answer.wav"
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
@click.pass_obj
def voice(settings: Settings, in_path: Path | None, out_path: Path | None) -> None:
    """Talk by voice, offline: hear a question from a WAV file, speak the answer to another."""
    if in_path is None:
        fail(LIVE_NOT_YET, EX_UNAVAILABLE)
    if out_path is None:
        raise click.UsageError("--in needs --out: where to write her spoken answer")
    _answer(settings, in_path, out_path)


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
