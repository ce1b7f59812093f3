"""The Piper process: loads one voice once and speaks sentence requests over stdin/stdout.

Piper (`piper-tts`) is GPL-3.0, so OS1 (Apache-2.0) never imports it: it runs only here, as
`python -m os1.voice.engines.piper_worker --model voice.onnx`, a separate program.

Protocol, both ways: a 4-byte big-endian length, a UTF-8 JSON header of that length, then
`header["pcm_bytes"]` bytes of raw audio where the header has that key.

- to the worker: {"type": "speak", "id": n, "text": "...", "length_scale": 1.0} (and
  optionally "noise_scale", "noise_w_scale": 0 says it the same way every time)
  and {"type": "cancel", "id": n} (the rest of request n is dropped after the sentence
  being computed).
- from the worker: {"type": "ready", "sample_rate": r} once the voice is loaded and warm;
  per sentence {"type": "audio", "id": n, "sample_rate": r, "pcm_bytes": k} + int16 PCM;
  {"type": "done", "id": n, "cancelled": bool}, or {"type": "error", "id": n, "message": m}.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import struct
import sys
import threading
from typing import IO, Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # before onnxruntime is imported


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """One header (and its PCM under "pcm"), or None at the end of the stream."""
    size = stream.read(4)
    if len(size) < 4:
        return None
    (n,) = struct.unpack(">I", size)
    raw = stream.read(n)
    if len(raw) < n:
        return None
    header: dict[str, Any] = json.loads(raw)
    pcm_bytes = int(header.get("pcm_bytes", 0))
    if pcm_bytes:
        pcm = stream.read(pcm_bytes)
        if len(pcm) < pcm_bytes:
            return None
        header["pcm"] = pcm
    return header


def encode_message(header: dict[str, Any], pcm: bytes = b"") -> bytes:
    if pcm:
        header = {**header, "pcm_bytes": len(pcm)}
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + pcm


def _load_voice(model: str, threads: int) -> Any:
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    with open(f"{model}.json", encoding="utf-8") as f:
        config = PiperConfig.from_dict(json.load(f))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model, sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=config)


def main() -> None:
    parser = argparse.ArgumentParser(description="Piper speech worker for OS1")
    parser.add_argument("--model", required=True, help="the voice's .onnx (with .onnx.json)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    inp = sys.stdin.buffer

    from piper import SynthesisConfig

    voice = _load_voice(args.model, args.threads)
    rate = int(voice.config.sample_rate)
    for _ in voice.synthesize("Hello."):  # warm the session up before saying we are ready
        pass
    out.write(encode_message({"type": "ready", "sample_rate": rate}))

    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    cancelled: set[int] = set()

    def read_requests() -> None:
        while (msg := read_message(inp)) is not None:
            if msg.get("type") == "cancel":
                cancelled.add(int(msg["id"]))
            else:
                requests.put(msg)
        requests.put(None)  # the parent went away: finish

    threading.Thread(target=read_requests, daemon=True).start()

    while (req := requests.get()) is not None:
        rid = int(req["id"])
        try:
            config = SynthesisConfig(
                length_scale=req.get("length_scale"),
                noise_scale=req.get("noise_scale"),
                noise_w_scale=req.get("noise_w_scale"),
            )
            chunks = iter(() if rid in cancelled else voice.synthesize(req["text"], config))
            for chunk in chunks:
                if rid in cancelled:
                    break
                out.write(
                    encode_message(
                        {"type": "audio", "id": rid, "sample_rate": chunk.sample_rate},
                        chunk.audio_int16_bytes,
                    )
                )
            out.write(encode_message({"type": "done", "id": rid, "cancelled": rid in cancelled}))
        except Exception as e:  # a bad request must not take the warm voice down
            out.write(encode_message({"type": "error", "id": rid, "message": repr(e)}))
        cancelled.discard(rid)


if __name__ == "__main__":
    main()
