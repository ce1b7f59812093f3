"""Checks that the installed llama.cpp build can run a prompt, without risking this process.

A llama.cpp compiled for "this exact CPU" segfaults on some AVX-512/AMX processors as soon
as a prompt is longer than one token. The check runs in a subprocess, so a bad build gives
a clear message and the fix instead of taking OS1 down. The installer runs it as
`python -m os1.models.llama_probe`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

BUILD_FIX = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python"
)
# Evaluating a multi-token prompt is what crashes a mis-built llama.cpp (a native build on
# AVX-512/AMX CPUs segfaults on any prompt longer than one token), so the probe does exactly that.
_PROBE = """
import sys, llama_cpp
n = int(sys.argv[2])
llm = llama_cpp.Llama(sys.argv[1], n_ctx=128, n_threads=n, n_threads_batch=n, verbose=False)
llm.eval(llm.tokenize(b"Hello! This prompt is longer than one token.", add_bos=True))
"""


def probe_llama_build(
    model_path: str | Path, *, threads: int = 1, timeout: float = 300
) -> str | None:
    """Load `model_path` and evaluate a short prompt in a subprocess.

    None when that works; otherwise a message for a human, with the fix when the build crashed.
    """
    cmd = [sys.executable, "-c", _PROBE, str(model_path), str(threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None  # slow is not broken; the real load will say if something is wrong
    if proc.returncode == 0:
        return None
    if proc.returncode < 0:
        sig = -proc.returncode
        how = signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"
        return (
            f"llama-cpp-python crashed ({how}) evaluating a prompt with {model_path}. Its build "
            "does not work on this CPU (a native build on AVX-512/AMX machines does this). "
            f"Rebuild it portably:\n  {BUILD_FIX}"
        )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit status {proc.returncode}"
    return f"llama-cpp-python could not load {model_path}: {detail}"


def main() -> int:
    from os1.models import bundled_model_path

    print("Checking that llama.cpp runs a prompt on this CPU…", file=sys.stderr)
    problem = probe_llama_build(bundled_model_path())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
