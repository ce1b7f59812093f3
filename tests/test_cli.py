"""The `os1` command end to end, as a person or a script would use it, on the bundled model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

INTERVIEW = [
    "Theo",  # what to call you
    "female",  # voice
    "social",
    "writing letters",
    "It's complicated.",  # the deeper question: several lines, never cut off,
    "She calls every Sunday and I don't always pick up.",
    "",  # an empty line ends that answer
    "",  # keep the name she chose
]


def os1(
    home: Path,
    *args: str,
    stdin: bytes | str = b"",
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "OS1_HOME": str(home),
        "OS1_USER": "theo",
        "OS1_MAX_REPLY_TOKENS": "24",
        "NO_COLOR": "1",
        **(env or {}),
    }
    for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OS1_MODEL"):
        if key not in (env or {}):
            full_env.pop(key, None)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "os1", *args],
        input=data,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        # No controlling terminal, as in CI: approvals can't be read from /dev/tty, so a
        # developer running the tests is never asked y/N by a test.
        start_new_session=True,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "os1.db")
    conn.row_factory = sqlite3.Row
    return conn


def test_first_run_interview_then_she_remembers_the_next_day(home: Path) -> None:
    lines = [*INTERVIEW, "Hello! Can you help me write a letter?"]
    first = os1(home, stdin="\n".join(lines) + "\n")
    assert first.returncode == 0, first.stderr
    assert "What would you like me to call you?" in first.stdout
    assert "names in" in first.stdout  # she read the names list, and says how fast
    row = (
        db(home).execute("SELECT persona, profile FROM personas WHERE user_id = 'theo'").fetchone()
    )
    persona, profile = json.loads(row["persona"]), json.loads(row["profile"])
    assert profile["call_me"] == "Theo" and profile["voice"] == "female"
    assert profile["deeper"] == (
        "It's complicated.\nShe calls every Sunday and I don't always pick up."
    )
    assert persona["name"] and persona["chosen_by"] == "her"
    messages = db(home).execute("SELECT role, content, status FROM messages").fetchall()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"].strip() and messages[1]["status"] == "complete"

    second = os1(home, stdin="What's my name?\n")
    assert second.returncode == 0, second.stderr
    assert "What would you like me to call you?" not in second.stdout
    assert "Theo" in second.stdout.splitlines()[0]  # greeted by name
    assert persona["name"] in second.stdout
    assert db(home).execute("SELECT count(*) FROM messages").fetchone()[0] == 4


def test_end_of_input_during_the_interview_uses_defaults(home: Path) -> None:
    result = os1(home, stdin="Theo\n")
    assert result.returncode == 0, result.stderr
    profile = json.loads(db(home).execute("SELECT profile FROM personas").fetchone()[0])
    assert profile["call_me"] == "Theo" and profile["voice"] == "neutral"


def test_rename_and_undo_through_the_action_log(home: Path) -> None:
    lines = [*INTERVIEW, "/rename Sam", "/actions", "/undo", "/quit"]
    result = os1(home, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "From now on I'm Sam." in result.stdout
    assert "rename_companion" not in result.stdout or "done" in result.stdout
    log = os1(home, "actions")
    assert "undone" in log.stdout and "Change my name to 'Sam'" in log.stdout


def test_destructive_action_waits_for_a_yes_from_a_person(home: Path) -> None:
    result = os1(home, stdin="\n".join([*INTERVIEW, "/start-over"]) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Waiting for your approval" in result.stdout  # no terminal: nobody to ask
    assert db(home).execute("SELECT count(*) FROM personas").fetchone()[0] == 1
    action_id = db(home).execute("SELECT id FROM actions WHERE tool = 'start_over'").fetchone()[0]
    approved = os1(home, "approve", str(action_id))
    assert approved.returncode == 0 and "forgotten my name" in approved.stdout
    assert db(home).execute("SELECT count(*) FROM personas").fetchone()[0] == 0
    undone = os1(home, "undo")
    assert undone.returncode == 0 and "Restored" in undone.stdout
    assert db(home).execute("SELECT count(*) FROM personas").fetchone()[0] == 1


def test_chat_once_with_message_and_with_piped_stdin(home: Path) -> None:
    once = os1(home, "chat", "-m", "Say hello.")
    assert once.returncode == 0, once.stderr
    assert once.stdout.strip()
    piped = os1(home, "chat", stdin="What is the capital of France?\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.strip()
    rows = db(home).execute("SELECT content FROM messages WHERE role = 'user'").fetchall()
    assert [r[0] for r in rows] == ["Say hello.", "What is the capital of France?"]


@pytest.mark.parametrize("stdin", [b"", b"   \n", b"\x00\x00\x01"])
def test_empty_input_is_refused_clearly(home: Path, stdin: bytes) -> None:
    result = os1(home, "chat", stdin=stdin)
    assert result.returncode == 65
    assert "nothing in that message" in result.stderr


def test_invalid_utf8_and_binary_junk(home: Path) -> None:
    result = os1(home, "chat", stdin=b"caf\xe9 au lait \xff\xfe\x00\x01 please\n")
    assert result.returncode == 0, result.stderr
    assert "not valid UTF-8" in result.stderr
    stored = db(home).execute("SELECT content FROM messages WHERE role = 'user'").fetchone()[0]
    assert stored.startswith("caf\ufffd au lait") and stored.endswith("please")


def test_one_megabyte_message(home: Path) -> None:
    text = ("All work and no play makes Theo a dull boy. " * 24000)[:1_000_000]
    result = os1(home, "chat", stdin=text, env={"OS1_CONTEXT_LENGTH": "1024"})
    assert result.returncode == 0, result.stderr
    stored = db(home).execute("SELECT content FROM messages WHERE role = 'user'").fetchone()[0]
    assert len(stored) == len(text.strip())


def test_corrupt_config(home: Path) -> None:
    (home / "config.toml").write_text("model = [broken\n")
    result = os1(home, "chat", "-m", "hi")
    assert result.returncode == 78
    assert "config.toml" in result.stderr and "not valid TOML" in result.stderr
    doctor = os1(home, "doctor")
    assert doctor.returncode == 78 and "not valid TOML" in doctor.stdout


def test_unreachable_backend(home: Path) -> None:
    env = {"OS1_MODEL": "openai:gpt-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    result = os1(home, "chat", "-m", "hello?", env=env)
    assert result.returncode == 69
    assert "127.0.0.1:9" in result.stderr and "os1 doctor" in result.stderr
    # What the user said is not lost.
    assert db(home).execute("SELECT content FROM messages").fetchone()[0] == "hello?"


def test_doctor_on_a_fresh_machine(home: Path) -> None:
    result = os1(home, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✗" not in result.stdout
    assert "llama.cpp build runs a prompt" in result.stdout


def test_doctor_checks_mail_passwords_without_showing_them(home: Path) -> None:
    add = ["mail", "account", "add"]
    common = ["--smtp-host", "127.0.0.1", "--smtp-user", "theo"]
    assert os1(home, *add, "good", "--address", "t@example.com", *common,
               "--password-command", "echo s3cret-pw").returncode == 0  # fmt: skip
    assert os1(home, *add, "bad", "--address", "u@example.com", *common,
               "--password-command", "false").returncode == 0  # fmt: skip
    result = os1(home, "doctor")
    assert result.returncode == 1
    assert "mail account 'good' (t@example.com): password found" in result.stdout
    assert "mail account 'bad'" in result.stdout and "exited 1" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_config_and_models(home: Path) -> None:
    assert os1(home, "config", "set", "temperature", "0.3").returncode == 0
    shown = os1(home, "config")
    assert "temperature = 0.3" in shown.stdout and "[config.toml]" in shown.stdout
    assert os1(home, "config", "set", "temperature", "hot").returncode == 78
    models = os1(home, "models")
    assert models.returncode == 0 and "smollm2" in models.stdout


def test_export_then_import_into_an_empty_home(home: Path, tmp_path: Path) -> None:
    assert os1(home, stdin="\n".join([*INTERVIEW, "I like trains."]) + "\n").returncode == 0
    out = tmp_path / "me.json"
    assert os1(home, "export", str(out)).returncode == 0
    data = json.loads(out.read_text())
    assert data["format"] == "os1-export" and data["persona"]["name"]
    new_home = tmp_path / "new"
    imported = os1(new_home, "import", str(out))
    assert imported.returncode == 0, imported.stderr
    again = os1(new_home, stdin="hi\n")
    assert "What would you like me to call you?" not in again.stdout
    assert "Theo" in again.stdout
    assert os1(new_home, "import", str(out)).returncode == 65  # never merges
    (tmp_path / "junk.json").write_bytes(b"\x89PNG\x00")
    assert os1(new_home, "import", str(tmp_path / "junk.json")).returncode == 65


def _start_long_reply(home: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OS1_HOME": str(home),
        "OS1_USER": "theo",
        "OS1_MAX_REPLY_TOKENS": "400",
        "OS1_TEMPERATURE": "0.9",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "os1",
            "chat",
            "-m",
            "Write a very long story about a lighthouse keeper, with many chapters.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    got = b""
    deadline = time.monotonic() + 90
    while len(got.split()) < 5 and time.monotonic() < deadline and proc.poll() is None:
        got += proc.stdout.read() or b""
        time.sleep(0.05)
    assert len(got.split()) >= 5, "the reply never started streaming"
    return proc


def test_ctrl_c_during_a_reply_keeps_what_was_said(home: Path) -> None:
    proc = _start_long_reply(home)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    rows = db(home).execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert rows[1]["status"] == "interrupted" and rows[1]["content"].strip()


def test_kill_9_during_a_reply_loses_no_earlier_message(home: Path) -> None:
    assert os1(home, "chat", "-m", "First message.").returncode == 0
    proc = _start_long_reply(home)
    proc.kill()
    proc.wait(timeout=30)
    conn = db(home)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    users = [r[0] for r in conn.execute("SELECT content FROM messages WHERE role = 'user'")]
    assert users[0] == "First message." and users[1].startswith("Write a very long story")
    assert os1(home, "chat", "-m", "Still there?").returncode == 0
