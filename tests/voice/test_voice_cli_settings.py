"""`os1 voice settings` and the per-conversation overrides (`--mode`, `--push-to-talk`,
`--open-mic`): what is saved, what one conversation uses, and clear refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_cli import os1
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser

from os1.cli import cli
from os1.cli.voice import session_settings  # (importing it registers `os1 voice`)
from os1.voice import local_audio, session, transport
from os1.voice.engines import Engines
from os1.voice.settings import VoiceSettings
from os1.voice.turns import TurnSettings


def shown(stdout: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in stdout.splitlines())


def test_settings_are_shown_changed_and_kept(tmp_path: Path) -> None:
    first = os1(tmp_path, "voice", "settings")
    assert first.returncode == 0, first.stderr
    fields = shown(first.stdout)
    assert set(fields) == set(VoiceSettings().to_dict())  # every setting, one a line
    assert {k: fields[k] for k in ("expressive", "mode", "push_to_talk")} == {
        "expressive": "on", "mode": "speaker", "push_to_talk": "off"
    }  # fmt: skip
    changed = os1(tmp_path, "voice", "settings", "mode=earpiece", "push_to_talk=on")
    assert changed.returncode == 0, changed.stderr
    assert shown(changed.stdout) == fields | {"mode": "earpiece", "push_to_talk": "on"}
    # NAME VALUE pairs work too, as in `os1 notifications settings`.
    changed = os1(tmp_path, "voice", "settings", "expressive", "off")
    expected = fields | {"expressive": "off", "mode": "earpiece", "push_to_talk": "on"}
    assert shown(changed.stdout) == expected
    assert shown(os1(tmp_path, "voice", "settings").stdout) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mode=loud"], "mode must be speaker or earpiece, not 'loud'"),
        (["volume=11"], "unknown voice setting(s) volume; known: "),
        (["push_to_talk=maybe"], "push_to_talk must be on or off"),
        (["mode=earpiece", "push_to_talk"], "'push_to_talk' needs a value"),
        (["mode="], "give settings as NAME=VALUE"),
    ],
)
def test_bad_settings_are_refused_clearly_and_change_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = os1(tmp_path, "voice", "settings", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "mode = speaker" in os1(tmp_path, "voice", "settings").stdout  # nothing was saved


def test_the_overrides_are_for_the_microphone_only(tmp_path: Path) -> None:
    result = os1(tmp_path, "voice", "--mode", "loud")
    assert result.returncode == 2 and "'loud' is not one of 'speaker', 'earpiece'" in result.stderr
    question = tmp_path / "q.wav"
    question.write_bytes(b"")
    for flag in ("--push-to-talk", "--open-mic"):
        result = os1(tmp_path, "voice", flag, "--in", str(question), "--out", "a.wav")
        assert result.returncode == 2 and "are for the microphone" in result.stderr


class Mic:
    """sounddevice on a machine with a sound card (the stream is never started here)."""

    def query_devices(self, kind: str) -> dict[str, str]:
        return {"name": f"fake {kind}"}


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Runs `os1 voice` in-process with a sound card and fake engines, recording what the
    conversation was started with instead of talking."""
    started: list[dict[str, Any]] = []

    async def engines_for(companion: Any, user: str, **options: Any) -> Engines:
        return Engines(AmplitudeVAD(), ScriptedRecogniser([]), ToneSynthesiser())

    async def talk(voice: Any, audio: Any, *, turns: TurnSettings | None = None) -> list[Any]:
        keys = audio.keys
        started.append({"turns": turns, "toggle": keys.toggle if keys else None})
        return []

    monkeypatch.setattr(local_audio, "_sounddevice", lambda: Mic())
    monkeypatch.setattr(session, "engines_for", engines_for)
    monkeypatch.setattr(transport, "talk", talk)
    env: dict[str, str | None] = {"OS1_HOME": str(tmp_path), "OS1_USER": "theo", "NO_COLOR": "1"}
    env |= {"OS1_MODEL": None, "OPENAI_BASE_URL": None}  # the bundled model (never loaded)

    def run(*args: str) -> tuple[Result, dict[str, Any] | None]:
        result = CliRunner().invoke(cli, list(args), env=env)
        return result, (started.pop() if started else None)

    return run


def test_a_conversation_uses_the_saved_settings_and_the_flags_override_them(live: Any) -> None:
    result, used = live("voice")
    assert result.exit_code == 0, result.output
    assert used == {"turns": TurnSettings(mode="speaker", push_to_talk=False), "toggle": False}
    assert "open microphone" in result.output and "Speaker mode" in result.output

    result, _ = live("voice", "settings", "mode=earpiece", "push_to_talk=on")
    assert result.exit_code == 0, result.output
    result, used = live("voice")
    assert used == {"turns": TurnSettings(mode="earpiece", push_to_talk=True), "toggle": True}
    assert "press Enter to talk, Enter again to finish" in result.output
    assert "Earpiece mode" in result.output and "Ctrl-C ends the conversation" in result.output

    # For this conversation only: the saved settings stay as they were.
    result, used = live("voice", "--open-mic", "--mode", "speaker")
    assert used == {"turns": TurnSettings(mode="speaker", push_to_talk=False), "toggle": False}
    result, _ = live("voice", "settings")
    assert "mode = earpiece" in result.output and "push_to_talk = on" in result.output


def test_the_flags_override_only_what_they_name() -> None:
    saved = VoiceSettings(expressive=False, mode="earpiece", push_to_talk=True)
    assert session_settings(saved, mode=None, push_to_talk=None) == saved
    assert session_settings(saved, mode="speaker", push_to_talk=None) == VoiceSettings(
        expressive=False, mode="speaker", push_to_talk=True
    )
    assert session_settings(saved, push_to_talk=False).push_to_talk is False
