"""flag > environment > file > default, for every setting in the table, from every source.

Each row of :data:`ROWS` reads its setting the way chatfn uses it (the resolved
endpoint, the config path, the log path, the rounds a chat takes, whether it is
logged). For a case "source S", S and every source below it are given different
values, and the value from S must win. A setting added to
:data:`chatfn.settings.resolve.SETTINGS` without a row here fails the first test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from chatfn.errors import ConfigError
from chatfn.settings.config import parse_config, user_config_path
from chatfn.settings.resolve import DEFAULT_SYSTEM_PROMPT, SETTINGS, resolve
from chatfn.testing import ScriptedServer, responses
from chatfn.wire.endpoint import resolve_endpoint

LOCAL = "http://127.0.0.1:1/v1"
AZURE = {"provider": "azure", "endpoint": "http://127.0.0.1:2", "deployment": "dep", "api_version": "v", "api_key": "k"}
OPENAI = {"provider": "openai", "model": "m", "base_url": LOCAL}


@dataclass
class Row:
    """How to give one setting from each source, and what chatfn then uses."""

    read: Callable[[Any, Any], Any]
    """(flag value or None, file value or None) -> the setting as chatfn uses it."""
    flag: tuple[Any, Any] | None = None
    env: tuple[str, Any] | None = None
    """The text put in each environment variable, and what it becomes."""
    file: tuple[Any, Any] | None = None
    default: Any = None
    """What chatfn uses with nothing given: a value, a callable computing it, or an exception class."""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _profile_config(profile: dict[str, Any], key: str, file: Any, top: str = "") -> Any:
    fields = {name: field for name, field in profile.items() if name != key}
    if file is not None:
        fields[key] = file
    body = "".join(f"{name} = {_toml(field)}\n" for name, field in fields.items())
    return parse_config(f"{top}[profiles.p]\n{body}".encode(), "test.toml")


def endpoint_row(profile: dict[str, Any], key: str, attribute: str, flag_name: str | None = None) -> Callable[[Any, Any], Any]:
    """Read ``attribute`` of the endpoint resolved from one profile whose ``key`` is the file value."""

    def read(flag: Any, file: Any) -> Any:
        config = _profile_config(profile, key, file)
        return getattr(resolve_endpoint(config, **({flag_name: flag} if flag_name else {})), attribute)

    return read


def read_profile(flag: Any, file: Any) -> Any:
    text = "".join(f'[profiles.{name}]\nmodel = "m"\nbase_url = "{LOCAL}"\n' for name in ("a", "b", "c"))
    top = f"default_profile = {_toml(file)}\n" if file is not None else ""
    return resolve_endpoint(parse_config((top + text).encode(), "test.toml"), profile=flag).profile


def read_config_path(flag: Any, file: Any) -> Any:
    from chatfn.settings.config import config_path

    return config_path(Path(flag) if flag is not None else None)


def read_log_path(flag: Any, file: Any) -> Any:
    from chatfn.log.store import default_log_path

    return default_log_path(file)


def default_log_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("chatfn")) / "logs.db"


def _chat(args: list[str], config_text: str, server: ScriptedServer, tmp: Path) -> Any:
    from chatfn.cli import app

    config = tmp / "chat-config.toml"
    config.write_text(f'{config_text}[profiles.p]\nmodel = "m"\nbase_url = "{server.base_url}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["chat", "hi", "-y", "--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result


def read_max_rounds(flag: Any, file: Any) -> Any:
    """The number of tool rounds a chat runs when the model always wants another."""
    tmp = Path(os.environ["HOME"])
    with ScriptedServer() as server:
        server.script(*[responses.tool_calls(("get_current_date", {})) for _ in range(12)])
        _chat(
            ["--max-rounds", str(flag)] if flag is not None else [],
            f"max_rounds = {file}\n" if file is not None else "",
            server,
            tmp,
        )
        return len(server.requests) - 1


def read_log_enabled(flag: Any, file: Any) -> Any:
    """Whether a chat left a conversation in the log."""
    from chatfn.log.store import LogStore

    tmp = Path(os.environ["HOME"])
    log = tmp / "rows.db"
    os.environ["CHATFN_LOG_DB"] = str(log)  # restored by monkeypatch in the test
    with ScriptedServer() as server:
        server.script(responses.text("hello"))
        _chat(["--no-log"] if flag is False else [], f"log.enabled = {_toml(file)}\n" if file is not None else "", server, tmp)
    if not log.exists():
        return False
    with LogStore.open(log) as store:
        return store.latest_conversation_id() is not None


ROWS: dict[str, Row] = {
    "config": Row(read_config_path, flag=("/x/flag.toml", Path("/x/flag.toml")), env=("/x/env.toml", Path("/x/env.toml")), default=user_config_path),
    "profile": Row(read_profile, flag=("a", "a"), env=("b", "b"), file=("c", "c"), default=ConfigError),
    "model": Row(endpoint_row(OPENAI, "model", "model", "model"), flag=("fm", "fm"), env=("em", "em"), file=("pm", "pm"), default=ConfigError),
    "deployment": Row(endpoint_row(AZURE, "deployment", "model", "model"), flag=("fd", "fd"), env=("ed", "ed"), file=("pd", "pd"), default=ConfigError),
    "base_url": Row(
        endpoint_row({**OPENAI, "api_key": "k"}, "base_url", "base_url"),
        env=("http://127.0.0.1:3/v1", "http://127.0.0.1:3/v1"),
        file=("http://127.0.0.1:4/v1", "http://127.0.0.1:4/v1"),
        default=None,
    ),
    "endpoint": Row(
        endpoint_row(AZURE, "endpoint", "base_url"),
        env=("http://127.0.0.1:5", "http://127.0.0.1:5"),
        file=("http://127.0.0.1:6", "http://127.0.0.1:6"),
        default=ConfigError,
    ),
    "api_version": Row(endpoint_row(AZURE, "api_version", "api_version"), env=("ev", "ev"), file=("fv", "fv"), default=ConfigError),
    "api_key": Row(endpoint_row(OPENAI, "api_key", "api_key"), env=("env-key", "env-key"), file=("file-key", "file-key"), default=None),
    "azure_api_key": Row(endpoint_row(AZURE, "api_key", "api_key"), env=("env-key", "env-key"), file=("file-key", "file-key"), default=ConfigError),
    "system_prompt": Row(
        endpoint_row(OPENAI, "system_prompt", "system_prompt", "system_prompt"),
        flag=("flag prompt", "flag prompt"),
        env=("env prompt", "env prompt"),
        file=("file prompt", "file prompt"),
        default=DEFAULT_SYSTEM_PROMPT,
    ),
    "azure_system_prompt": Row(
        endpoint_row(AZURE, "system_prompt", "system_prompt", "system_prompt"),
        flag=("flag prompt", "flag prompt"),
        env=("env prompt", "env prompt"),
        file=("file prompt", "file prompt"),
        default=DEFAULT_SYSTEM_PROMPT,
    ),
    "max_rounds": Row(read_max_rounds, flag=(1, 1), env=("2", 2), file=(3, 3), default=10),
    "log_path": Row(read_log_path, env=("/x/env.db", Path("/x/env.db")), file=("/x/file.db", Path("/x/file.db")), default=default_log_file),
    "log_enabled": Row(read_log_enabled, flag=(False, False), file=(False, False), default=True),
}


def _sources(name: str) -> list[str]:
    setting = SETTINGS[name]
    listed = ["flag"] if setting.flag else []
    listed += [f"${variable}" for variable in setting.env]
    listed += ["$all"] if len(setting.env) > 1 else []
    listed += ["file"] if setting.file else []
    return [*listed, "default"]


CASES = [(name, source) for name in SETTINGS for source in _sources(name)]


def test_every_setting_has_a_row_with_every_source() -> None:
    assert set(ROWS) == set(SETTINGS)
    for name, setting in SETTINGS.items():
        row = ROWS[name]
        assert (row.flag is not None) == bool(setting.flag), name
        assert (row.env is not None) == bool(setting.env), name
        assert (row.file is not None) == bool(setting.file), name


@pytest.mark.parametrize(("name", "source"), CASES, ids=[f"{name}-{source}" for name, source in CASES])
def test_the_highest_source_given_wins(name: str, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``source`` and every source below it are given; the value from ``source`` is used."""
    for setting in SETTINGS.values():
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)
    setting, row = SETTINGS[name], ROWS[name]
    order = ["flag", "env", "file", "default"]
    level = "env" if source.startswith("$") else source
    given = order[order.index(level) :]
    flag = row.flag[0] if "flag" in given and row.flag else None
    file = row.file[0] if "file" in given and row.file else None
    if "env" in given and row.env:
        variables = setting.env if source in ("$all", "flag") else [source[1:]] if level == "env" else []
        for index, variable in enumerate(variables):
            # with all set, the first variable wins; the others hold other values
            monkeypatch.setenv(variable, row.env[0] if index == 0 else f"{row.env[0]}-later")
    if source == "default" and row.default is ConfigError:
        with pytest.raises(ConfigError):
            row.read(None, None)
        return
    expected = {"flag": row.flag, "env": row.env, "file": row.file}.get(level)
    wanted = expected[1] if expected else (row.default() if callable(row.default) else row.default)
    assert row.read(flag, file) == wanted


def test_an_environment_value_that_does_not_parse_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATFN_MAX_ROUNDS", "many")
    with pytest.raises(ConfigError, match=r"\$CHATFN_MAX_ROUNDS: .*'many'"):
        resolve("max_rounds", file=3)


def test_an_empty_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATFN_MODEL", "")
    assert resolve("model", file="pm").value == "pm"
    assert resolve("model", file="pm").source == "file"


def test_the_top_level_system_prompt_is_below_the_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    top = 'system_prompt = "top"\n'
    assert resolve_endpoint(_profile_config(OPENAI, "system_prompt", None, top)).system_prompt == "top"
    assert resolve_endpoint(_profile_config(OPENAI, "system_prompt", "mine", top)).system_prompt == "mine"
    monkeypatch.setenv("CHATFN_SYSTEM_PROMPT", "env")
    assert resolve_endpoint(_profile_config(OPENAI, "system_prompt", "mine", top)).system_prompt == "env"


def test_api_key_env_names_the_variable_that_beats_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = {**OPENAI, "api_key_env": "TEAM_KEY"}
    monkeypatch.setenv("OPENAI_API_KEY", "the-usual-variable")
    assert resolve_endpoint(_profile_config(profile, "api_key", "file-key")).api_key == "file-key"
    monkeypatch.setenv("TEAM_KEY", "team-key")
    endpoint = resolve_endpoint(_profile_config(profile, "api_key", "file-key"))
    assert (endpoint.api_key, endpoint.key_source) == ("team-key", "$TEAM_KEY")


# -- the file `chatfn config init` writes, with an environment-only setup --------------------------


def _init_config(tmp_path: Path) -> Path:
    from chatfn.cli import app

    target = tmp_path / "init" / "config.toml"
    result = CliRunner().invoke(app, ["config", "init", "--config", str(target)])
    assert result.exit_code == 0, result.output
    return target


def test_after_config_init_an_environment_only_azure_setup_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample's AZURE_OPENAI_* variables alone, and the file the README tells you to create."""
    from chatfn.cli import app

    config = _init_config(tmp_path)
    with ScriptedServer() as server:
        server.script(responses.text("from azure"))
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.azure_endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
        monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-21")
        monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT", "my-deployment")
        result = CliRunner().invoke(app, ["chat", "hi", "--no-log", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert result.stdout == "from azure\n"
        (request,) = server.requests
    assert (request.deployment, request.api_version) == ("my-deployment", "2024-10-21")


def test_after_config_init_the_environment_openai_setup_works_and_profiles_are_chosen_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(_init_config(tmp_path).read_bytes(), "init.toml")
    assert config.default_profile is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("CHATFN_MODEL", "env-model")
    endpoint = resolve_endpoint(config)
    assert (endpoint.profile, endpoint.provider, endpoint.model) == ("environment", "openai", "env-model")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:7")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    # the environment fills in a profile chosen by name; it does not choose another one
    endpoint = resolve_endpoint(config, profile="azure")
    assert (endpoint.profile, endpoint.base_url, endpoint.model) == ("azure", "http://127.0.0.1:7", "env-model")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ConfigError, match="several profiles") as caught:
        resolve_endpoint(config)
    assert "-p NAME" in (caught.value.hint or "")
