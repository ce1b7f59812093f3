"""The `os1` command: reads configuration at the edge, then hands over to the `Companion`.

Exit codes follow sysexits: 65 bad input, 69 model unavailable, 74 storage
trouble, 78 bad configuration, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click

from .. import __version__
from ..actions import ActionError
from ..archive import ArchiveError
from ..companion import Companion, EmptyMessage
from ..config import Config, ConfigError, load_config
from ..models import ModelError, ModelUnavailable
from ..store import StoreError

EX_DATAERR, EX_UNAVAILABLE, EX_SOFTWARE, EX_IOERR, EX_CONFIG, EX_INTERRUPTED = (
    65,
    69,
    70,
    74,
    78,
    130,
)

T = TypeVar("T")


class Settings:
    """The command line's view of configuration: loaded once, on first use."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self.incognito = False
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(overrides=self.overrides)
        return self._config


def fail(message: str, code: int) -> None:
    click.secho(f"os1: {message}", fg="red", err=True)
    sys.exit(code)


def run(coro_fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T | None]:
    """Run an async command at the edge, turning known failures into clear messages."""

    @functools.wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        try:
            return asyncio.run(coro_fn(*args, **kwargs))
        except ConfigError as e:
            fail(f"configuration problem: {e}", EX_CONFIG)
        except ModelUnavailable as e:
            fail(f"{e}\nRun `os1 doctor` to check the model and backends.", EX_UNAVAILABLE)
        except ModelError as e:
            fail(f"the model failed: {e}", EX_UNAVAILABLE)
        except StoreError as e:
            fail(str(e), EX_IOERR)
        except (EmptyMessage, ArchiveError) as e:
            fail(str(e), EX_DATAERR)
        except ActionError as e:
            fail(str(e), 1)
        except KeyboardInterrupt:
            click.echo("\n(interrupted)", err=True)
            sys.exit(EX_INTERRUPTED)
        return None

    return wrapper


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--user", "-u", help="Whose companion (default: your login name, or $OS1_USER).")
@click.option("--model", help="Model to use this time, e.g. smollm2, ollama:llama3.2, gguf:PATH.")
@click.option("--incognito", is_flag=True, help="Keep nothing from this conversation.")
@click.version_option(__version__, prog_name="os1")
@click.pass_context
def cli(ctx: click.Context, user: str | None, model: str | None, incognito: bool) -> None:
    """OS1 — a companion you talk to in the terminal, running on your own computer.

    With no command: start the conversation (and, the first time, the install interview).
    """
    ctx.obj = Settings({"user": user, "model": model})
    ctx.obj.incognito = incognito
    if ctx.invoked_subcommand is None:
        from .chat import converse

        converse(ctx.obj)


def main() -> None:
    from .. import plugins
    from . import (  # noqa: F401
        calendar,
        chat,
        contacts,
        letters,
        mail,
        mail_in,
        mail_out,
        manage,
        memory,
        remind,
        tokens,
        voice,
    )

    plugins.load_installed()
    cli()


def load(settings: Settings) -> Config:
    try:
        return settings.config
    except ConfigError as e:
        fail(f"configuration problem: {e}", EX_CONFIG)
        raise  # unreachable; keeps type checkers content


async def with_companion(
    settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]], *, embedder: bool = False
) -> Any:
    """Open the companion, run `fn(companion, user)`, and close it whatever happens.

    `embedder`: load the dense-search model too (memory search wants it; most commands don't).
    """
    config = load(settings)
    companion = await Companion.open(config, embedder="default" if embedder else None)
    try:
        return await fn(companion, config.user)
    finally:
        await companion.close()
