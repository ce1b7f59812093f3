"""Transports other than the WebSocket: the file, the local sound card, and `os1 voice --serve`.

This machine has no sound card: the local-audio tests cover the honest failure (no
library, no device) for real, and the duplex buffering against a stand-in for PortAudio's
stream (a thread calling the callback, as PortAudio does).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import os1
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser, speech
from websockets.asyncio.client import connect

from os1.companion import Companion
from os1.voice.audio import to_pcm
from os1.voice.engines import Engines
from os1.voice.local_audio import LocalAudio, LocalAudioUnavailable, open_local_audio
from os1.voice.session import VoiceSession
from os1.voice.transport import FileTransport, talk
from os1.voice.wavfile import read_wav, write_wav

RATE = 16000


def engines() -> Engines:
    return Engines(AmplitudeVAD(), ScriptedRecogniser(["hello there"]), ToneSynthesiser())


async def test_the_file_transport_runs_a_whole_exchange(
    companion: Companion, tmp_path: Path
) -> None:
    question, answer = tmp_path / "q.wav", tmp_path / "a.wav"
    write_wav(question, to_pcm(speech(("quiet", 0.3), ("talk", 1.0), ("quiet", 0.2))), RATE)
    transport = FileTransport(question, answer)
    session = VoiceSession(companion, "theo", engines())
    try:
        await talk(session, transport)
    finally:
        transport.close()
    kinds = [e["type"] for e in transport.events]
    assert kinds[0] == "transcript" and kinds[-1] == "heard" and "reply" in kinds
    assert transport.events[0]["text"] == "hello there"
    assert not transport.events[-1]["interrupted"]
    samples, rate = read_wav(answer)
    assert rate == RATE and samples.size > RATE // 2 and float(abs(samples).max()) > 0.2


class NoDevices:
    """sounddevice as it is on a machine with PortAudio but no sound card."""

    def query_devices(self, kind: str) -> Any:
        raise ValueError(f"No {kind} device found")


def test_local_audio_says_what_is_missing() -> None:
    with pytest.raises(LocalAudioUnavailable, match="no audio input device"):
        open_local_audio(NoDevices())
    # This machine: PortAudio (or sounddevice itself) is missing, or there is no device.
    with pytest.raises(LocalAudioUnavailable, match=r"PortAudio|sounddevice|device"):
        open_local_audio()


def test_os1_voice_without_a_sound_card_says_so_and_points_to_files(tmp_path: Path) -> None:
    result = os1(tmp_path, "voice")
    assert result.returncode == 69, result.stderr
    assert "live microphone and speaker audio is not available here" in result.stderr
    assert "--in question.wav --out answer.wav" in result.stderr
    assert "--serve" in result.stderr and "Traceback" not in result.stderr


class DuplexStream:
    """Stands in for sounddevice.RawStream: a thread calls back every block, both ways."""

    def __init__(self, mic: bytes, **kw: Any) -> None:
        self.mic, self.kw = mic, kw
        self.played = bytearray()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        block = self.kw["blocksize"] * 2
        for i in range(0, len(self.mic), block):
            out = bytearray(block)
            self.kw["callback"](self.mic[i : i + block], out, block // 2, None, None)
            self.played += out
            time.sleep(0.001)

    def __enter__(self) -> DuplexStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()


async def test_local_audio_plays_in_step_and_clears_at_once() -> None:
    streams: list[DuplexStream] = []

    class FakeSoundDevice:
        def query_devices(self, kind: str) -> dict[str, str]:
            return {"name": f"fake {kind}"}

        def RawStream(self, **kw: Any) -> DuplexStream:
            assert kw["samplerate"] == RATE and kw["channels"] == 1 and kw["dtype"] == "int16"
            streams.append(DuplexStream(to_pcm(np.full(RATE, 0.1)), **kw))
            return streams[-1]

    audio = open_local_audio(FakeSoundDevice())
    assert isinstance(audio, LocalAudio) and audio.output_rate == RATE
    voice = to_pcm(np.full(RATE // 4, 0.5))
    await audio.play(voice, RATE)
    got = []
    async for frame in audio.frames():
        got.append(frame)
        if len(got) == 3:
            await audio.clear()  # barge-in: what is still queued is dropped
        if len(got) == 20:
            audio.stop()
    assert 20 <= len(got) <= 21 and all(f.sample_rate == RATE for f in got)
    played = np.frombuffer(bytes(streams[0].played), dtype="<i2")
    # Her voice went out from the first block; after the clear only silence.
    assert played[0] > 0 and played[-1] == 0
    assert np.count_nonzero(played) < RATE // 4


def test_os1_voice_serve_listens_on_loopback_and_takes_a_conversation(tmp_path: Path) -> None:
    env = {**os.environ, "OS1_HOME": str(tmp_path), "OS1_USER": "theo", "NO_COLOR": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "os1", "voice", "--serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("Listening for voice on ws://127.0.0.1:"), line
        assert "as theo without a token from this machine" in line
        url = line.split()[4]

        async def hello() -> dict[str, Any]:
            async with connect(url) as ws:
                await ws.send(json.dumps({"sample_rate": RATE}))
                ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
                await ws.send(bytes(RATE))  # a moment of silence, then hang up
                return dict(ready)

        assert asyncio.run(hello()) == {"type": "ready", "user": "theo", "sample_rate": RATE}
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
