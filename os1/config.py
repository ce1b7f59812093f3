"""Configuration: declared once, read once at the edge, passed down as plain values.

Precedence (highest first): command-line flags, environment (`OS1_*`, and
`OPENAI_BASE_URL`/`OPENAI_API_KEY`), the TOML file `config.toml` in the OS1
home, then the defaults declared in `SETTINGS`. Nothing deeper in the package
reads the environment: it receives a `Config`.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
import tomli_w


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and what to fix."""


@dataclass(frozen=True)
class Setting:
    """One documented setting: its key in config.toml, its env var, default and help."""

    name: str
    default: Any
    help: str
    env: str | None = None
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        "smollm2",
        "Which model: smollm2 (bundled), gguf:/path/file.gguf, openai:<name> or ollama:<name>.",
        "OS1_MODEL",
    ),
    Setting("openai_base_url", None, "Base URL of an OpenAI-compatible server.", "OPENAI_BASE_URL"),
    Setting(
        "openai_api_key", None, "API key for that server (kept out of exports).", "OPENAI_API_KEY"
    ),
    Setting("ollama_url", "http://localhost:11434", "Where to look for Ollama.", "OLLAMA_HOST"),
    Setting(
        "context_length",
        None,
        "Override the model's context window (tokens).",
        "OS1_CONTEXT_LENGTH",
        int,
    ),
    Setting("max_reply_tokens", 400, "Longest reply, in tokens.", "OS1_MAX_REPLY_TOKENS", int),
    Setting("temperature", 0.7, "Sampling temperature for replies.", "OS1_TEMPERATURE", float),
    Setting(
        "threads",
        None,
        "CPU threads for the embedded model (default: all cores).",
        "OS1_THREADS",
        int,
    ),
    Setting(
        "tools_in_chat",
        None,
        "Offer tools to the model in conversation (default: only "
        "for models served over HTTP; the tiny bundled model is not trusted to decide).",
        "OS1_TOOLS_IN_CHAT",
        bool,
    ),
    Setting("user", None, "Who the CLI acts as (default: your login name).", "OS1_USER"),
    Setting(
        "timezone",
        None,
        "Your time zone, an IANA name like Europe/Paris (default: this computer's).",
        "OS1_TIMEZONE",
    ),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def default_home() -> Path:
    """The OS1 home: `OS1_HOME`, else the platform's user data directory."""
    return Path(platformdirs.user_data_dir("os1", appauthor=False))


@dataclass(frozen=True)
class Config:
    """Every setting, typed. Built by `load_config` at the edge, then passed down."""

    home: Path
    model: str = "smollm2"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    ollama_url: str = "http://localhost:11434"
    context_length: int | None = None
    max_reply_tokens: int = 400
    temperature: float = 0.7
    threads: int | None = None
    tools_in_chat: bool | None = None
    user: str = "local"
    timezone: str = "UTC"
    file_values: Mapping[str, Any] = field(default_factory=dict)
    """What config.toml itself says (for `os1 config` to show where a value came from)."""

    @property
    def db_path(self) -> Path:
        return self.home / "os1.db"

    @property
    def config_path(self) -> Path:
        return self.home / "config.toml"

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _cast(setting: Setting, value: Any, source: str) -> Any:
    if value is None:
        return None
    try:
        if setting.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if setting.kind is int and isinstance(value, bool):
            raise ValueError(value)
        return setting.kind(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}: {setting.name} must be {setting.kind.__name__}, not {value!r}"
        ) from None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a config.toml; a clear `ConfigError` if it is not valid TOML."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text. Fix or delete it.") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML ({e}). Fix or delete it.") from None
    unknown = sorted(set(data) - set(SETTINGS_BY_NAME))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}. Known: "
            + ", ".join(SETTINGS_BY_NAME)
        )
    return data


def load_config(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Read the environment and config file once, and return the typed `Config`."""
    env = os.environ if env is None else env
    home = Path(env["OS1_HOME"]).expanduser() if env.get("OS1_HOME") else default_home()
    file_values = read_config_file(home / "config.toml")
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value, source = s.default, "default"
        if s.name in file_values:
            value, source = file_values[s.name], str(home / "config.toml")
        if s.env and env.get(s.env):
            value, source = env[s.env], f"${s.env}"
        if overrides and overrides.get(s.name) is not None:
            value, source = overrides[s.name], f"--{s.name}"
        values[s.name] = _cast(s, value, source)
    if values["ollama_url"] and "://" not in values["ollama_url"]:
        values["ollama_url"] = "http://" + values["ollama_url"]
    if not values["user"]:
        try:
            values["user"] = getpass.getuser() or "local"
        except (KeyError, OSError):
            values["user"] = "local"
    values["timezone"] = _timezone(values["timezone"], env)
    known = {f.name for f in fields(Config)}
    return Config(
        home=home, file_values=file_values, **{k: v for k, v in values.items() if k in known}
    )


def system_timezone(env: Mapping[str, str], etc: Path = Path("/etc")) -> str:
    """This computer's IANA zone: $TZ, /etc/timezone, the /etc/localtime link, else UTC."""
    candidates = [env.get("TZ", "").lstrip(":")]
    try:
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = str((etc / "localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and not name.startswith("/") and _valid_zone(name):
            return name
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _timezone(name: str | None, env: Mapping[str, str]) -> str:
    if not name:
        return system_timezone(env)
    if not _valid_zone(name):
        raise ConfigError(
            f"timezone {name!r} is not a time zone this computer knows; use an IANA name "
            "such as Europe/Paris or America/New_York"
        )
    return name


def set_config_value(config: Config, name: str, raw: str | None) -> None:
    """Write one setting to config.toml (or remove it when `raw` is None), atomically."""
    if name not in SETTINGS_BY_NAME:
        raise ConfigError(f"unknown setting {name!r}. Known: {', '.join(SETTINGS_BY_NAME)}")
    data = dict(read_config_file(config.config_path))
    if raw is None:
        data.pop(name, None)
    else:
        data[name] = _cast(SETTINGS_BY_NAME[name], raw, f"os1 config set {name}")
    config.home.mkdir(parents=True, exist_ok=True)
    tmp = config.config_path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(tmp, config.config_path)
