"""`os1 daemon`: one per home — the second says who runs and exits; kill -9 frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from os1.daemon import AlreadyRunning, SchedulerLock, holder


def test_the_lock_is_held_once_and_says_by_whom(tmp_path: Path) -> None:
    first, second = SchedulerLock(tmp_path), SchedulerLock(tmp_path)
    first.acquire("os1 daemon")
    with pytest.raises(AlreadyRunning, match=f"os1 daemon, pid {os.getpid()}"):
        second.acquire("os1 daemon")
    assert holder(tmp_path) is not None and "os1 daemon" in (holder(tmp_path) or "")
    first.release()
    assert holder(tmp_path) is None
    second.acquire("an os1 conversation")
    assert "conversation" in (holder(tmp_path) or "")
    second.release()


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "OS1_HOME": str(home), "OS1_USER": "theo", "OS1_TIMEZONE": "UTC"}


def _status(home: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "os1", "daemon", "--status"],
        env=_env(home), capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip


def _wait_running(home: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while "Running" not in _status(home):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.3)


def test_a_second_daemon_says_so_and_kill_9_frees_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = subprocess.Popen(
        [sys.executable, "-m", "os1", "daemon"], env=_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_running(home, first)
        second = subprocess.run(
            [sys.executable, "-m", "os1", "daemon"],
            env=_env(home), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        assert "already running" in second.stderr and f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the first one is untouched
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert "Not running" in _status(home)
        # After a crash, a new daemon starts and stops cleanly on SIGTERM.
        third = subprocess.Popen(
            [sys.executable, "-m", "os1", "daemon"], env=_env(home),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        _wait_running(home, third)
        third.send_signal(signal.SIGTERM)
        _, err = third.communicate(timeout=60)
        assert third.returncode == 0, err
        assert "daemon stopped" in err and "Traceback" not in err
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
                p.wait()
