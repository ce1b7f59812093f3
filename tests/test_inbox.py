"""An open conversation shows reminders as they ring, and runs the scheduler itself only
when no daemon holds the home."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1 import plugins
from os1.calendar import reminders
from os1.calendar.when import When
from os1.cli.inbox import Inbox
from os1.companion import Companion
from os1.config import Config
from os1.daemon import SchedulerLock
from os1.testing import ScriptedModel

TZ = ZoneInfo("UTC")


async def _companion(config: Config, model: ScriptedModel) -> Companion:
    return await Companion.open(
        config.with_(timezone="UTC"), embedder=None, model=model, tools=plugins.tools()
    )


async def test_a_reminder_rings_in_an_open_conversation(
    config: Config, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    companion = await _companion(config, model)
    try:
        due = datetime.now(UTC) + timedelta(seconds=2)
        await reminders.add(
            companion.store, "theo", "stretch", When(due, None, "", ""), TZ, origin="test"
        )
        inbox = Inbox(companion, "theo", "Samantha")
        await inbox.start()
        try:
            for _ in range(40):
                await asyncio.sleep(0.25)
                if "Stretch" in capsys.readouterr().out:
                    break
            else:
                pytest.fail("the reminder did not show within 10 seconds")
        finally:
            await inbox.stop()
        # (At some hours her morning briefing is due as well: only the reminder counts here.)
        seen = await companion.store.query(
            "SELECT seen_at FROM notifications WHERE kind = 'reminder'"
        )
        assert len(seen) == 1 and seen[0]["seen_at"] is not None
    finally:
        await companion.close()


async def test_with_a_daemon_running_the_conversation_only_shows(
    config: Config, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    companion = await _companion(config, model)
    daemon = SchedulerLock(config.home)
    daemon.acquire("os1 daemon")
    try:
        due = datetime.now(UTC) + timedelta(seconds=1)
        await reminders.add(
            companion.store, "theo", "stretch", When(due, None, "", ""), TZ, origin="test"
        )
        inbox = Inbox(companion, "theo", "Samantha")
        await inbox.start()
        await asyncio.sleep(3)
        await inbox.stop()
        # Nobody fired it: the daemon (here only its lock) is the one that would.
        assert await companion.store.query("SELECT 1 FROM notifications") == []
        assert "Stretch" not in capsys.readouterr().out
    finally:
        daemon.release()
        await companion.close()
