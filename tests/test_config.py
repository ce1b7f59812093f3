from pathlib import Path

import pytest

from os1.config import ConfigError, load_config, set_config_value


def test_defaults_and_home(tmp_path: Path) -> None:
    cfg = load_config(env={"OS1_HOME": str(tmp_path), "OS1_USER": "ann"})
    assert cfg.home == tmp_path
    assert cfg.model == "smollm2"
    assert cfg.user == "ann"
    assert cfg.db_path == tmp_path / "os1.db"


def test_precedence_file_then_env_then_flag(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('model = "ollama:llama3.2"\nmax_reply_tokens = 99\n')
    env = {"OS1_HOME": str(tmp_path)}
    assert load_config(env=env).model == "ollama:llama3.2"
    assert load_config(env=env).max_reply_tokens == 99
    env["OS1_MODEL"] = "gguf:/x.gguf"
    assert load_config(env=env).model == "gguf:/x.gguf"
    assert load_config(env=env, overrides={"model": "smollm2"}).model == "smollm2"


def test_openai_env_vars_are_honoured(tmp_path: Path) -> None:
    cfg = load_config(
        env={"OS1_HOME": str(tmp_path), "OPENAI_BASE_URL": "http://h/v1", "OPENAI_API_KEY": "k"}
    )
    assert (cfg.openai_base_url, cfg.openai_api_key) == ("http://h/v1", "k")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('model = "unterminated\n', "not valid TOML"),
        ("max_reply_tokens = 'lots'\n", "must be int"),
        ("colour = 'blue'\n", "unknown setting"),
    ],
)
def test_broken_config_file_gives_a_clear_error(
    tmp_path: Path, content: str, fragment: str
) -> None:
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_config(env={"OS1_HOME": str(tmp_path)})
    if "TOML" in fragment:
        assert str(tmp_path / "config.toml") in str(info.value)


def test_binary_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(env={"OS1_HOME": str(tmp_path)})


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$OS1_TEMPERATURE"):
        load_config(env={"OS1_HOME": str(tmp_path), "OS1_TEMPERATURE": "warm"})


def test_set_and_unset(tmp_path: Path) -> None:
    cfg = load_config(env={"OS1_HOME": str(tmp_path)})
    set_config_value(cfg, "temperature", "0.2")
    assert load_config(env={"OS1_HOME": str(tmp_path)}).temperature == 0.2
    set_config_value(cfg, "temperature", None)
    assert load_config(env={"OS1_HOME": str(tmp_path)}).temperature == 0.7
    with pytest.raises(ConfigError):
        set_config_value(cfg, "nonsense", "1")
    with pytest.raises(ConfigError):
        set_config_value(cfg, "threads", "many")
    assert not list(tmp_path.glob("*.tmp"))
