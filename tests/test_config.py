"""The config file: where it is found, what it holds, and every way it can be wrong."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from chatfn.errors import ConfigError
from chatfn.settings.config import (
    Config,
    config_path,
    load_config,
    parse_config,
    redacted,
)
from chatfn.testing import invoke_chatfn_cli
from chatfn.wire.endpoint import resolve_endpoint

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-test-CONFIGSECRET-0123456789"


def chatfn(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (in this process) in the test's environment plus ``env``."""
    return invoke_chatfn_cli(*args, env={**os.environ, **(env or {})})


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_and_matches_the_packaged_copy() -> None:
    example = ROOT / "config.example.toml"
    config = load_config(example)
    assert config.default_profile is None  # the environment decides until the user picks one
    assert set(config.profiles) == {"openai", "azure", "ollama"}
    assert config.profiles["azure"].provider == "azure"
    assert config.plugins["builtin"]["weather_timeout"] == 10.0
    packaged = ROOT / "chatfn" / "config.example.toml"
    assert packaged.read_text(encoding="utf-8") == example.read_text(encoding="utf-8")


def test_example_config_documents_every_key() -> None:
    """Every field of every section appears in the example (commented or not)."""
    from chatfn.settings.config import LogSettings, Profile, ToolSettings

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for model in (Config, Profile, ToolSettings, LogSettings):
        for name in (spec.name for spec in fields(model) if not spec.metadata.get("internal")):
            assert f"{name} =" in text or f"[{name}" in text or f".{name}]" in text, f"{model.__name__}.{name}"


def test_missing_default_file_means_defaults(tmp_path: Path) -> None:
    config = load_config()
    assert config.source is None
    assert config.max_rounds == 10 and config.tools.timeout == 30.0


def test_path_precedence_flag_then_env_then_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = write(tmp_path, "max_rounds = 3\n", "flag.toml")
    env = write(tmp_path, "max_rounds = 4\n", "env.toml")
    assert config_path().name == "config.toml" and "chatfn" in str(config_path())
    monkeypatch.setenv("CHATFN_CONFIG", str(env))
    assert load_config().max_rounds == 4
    assert load_config(flag).max_rounds == 3


def test_user_config_dir_file_is_used(tmp_path: Path) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("max_rounds = 7\n", encoding="utf-8")
    assert load_config().max_rounds == 7
    assert str(tmp_path) in str(path), "tests must never read the real user's config"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('max_rounds = "ten"\n', "max_rounds: expected an integer (got 'ten')"),
        ("max_rounds = 0\n", "max_rounds: must be at least 1 (got 0)"),
        ("colour = true\n", "colour: unknown key"),
        ("[tools]\ntimeout = -1\n", "tools.timeout: must be greater than 0 (got -1"),
        ('[profiles.a]\nprovider = "gemini"\n', "profiles.a.provider: must be 'openai' or 'azure' (got 'gemini')"),
        ('[profiles.a]\nmodle = "x"\n', "profiles.a.modle: unknown key"),
        ("[profiles.a]\nstream_usage = 1\n", "profiles.a.stream_usage: expected true or false (got 1)"),
        ("profiles = 3\n", "profiles: expected a table (got 3)"),
        ("[tools]\ndisabled = [1]\n", "tools.disabled[0]: expected a string (got 1)"),
        ('default_profile = "work"\n', "default_profile: no profile named 'work'"),
        ("max_rounds = \n", "TOML syntax error: Invalid value (at line 1, column 14)"),
        ('[tools]\nenabled = "all"\n', "tools.enabled: expected a list (got 'all')"),
        ("source = 'x'\n", "source: unknown key"),
    ],
)
def test_each_config_error_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_non_utf8_and_unreadable_and_missing_explicit_file(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"max_rounds = 1\n\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)  # a directory


def test_cli_config_error_is_one_line_exit_2_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[tools]\ntimeout = 'slow'\n")
    for command in (["config", "show"], ["tools", "list"], ["chat", "hi"]):
        result = chatfn(*command, "--config", str(path))
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(path) in lines[0] and "tools.timeout" in lines[0]
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_profile = "a"\n[profiles.a\n')
    result = chatfn("config", "show", "--config", str(path))
    assert result.returncode == 2
    assert "line 2, column" in result.stderr and str(path) in result.stderr


def test_config_show_never_prints_a_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
default_profile = "a"
[profiles.a]
model = "m"
api_key = "{FAKE_KEY}"
headers = {{ Authorization = "Bearer {FAKE_KEY}", X-Team = "blue" }}
[plugins.web]
token = "{FAKE_KEY}"
nested = {{ password = "{FAKE_KEY}" }}
""",
    )
    result = chatfn("config", "show", "--config", str(path), env={"OPENAI_API_KEY": FAKE_KEY})
    assert result.returncode == 0, result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["profiles"]["a"]["api_key"] == "***"
    assert shown["profiles"]["a"]["headers"] == {"Authorization": "***", "X-Team": "blue"}
    assert shown["plugins"]["web"]["token"] == "***"
    assert shown["max_rounds"] == 10  # defaults are filled in


def test_redacted_leaves_ordinary_values() -> None:
    config = parse_config(b'[profiles.a]\nmodel = "gpt"\napi_key_env = "MY_KEY"\n', "x.toml")
    assert redacted(config)["profiles"]["a"]["model"] == "gpt"


def test_config_path_and_init(tmp_path: Path) -> None:
    target = tmp_path / "new" / "config.toml"
    assert chatfn("config", "path", "--config", str(target)).stdout.strip() == str(target)
    first = chatfn("config", "init", "--config", str(target))
    assert first.returncode == 0, first.stderr
    assert target.read_text(encoding="utf-8") == (ROOT / "config.example.toml").read_text(encoding="utf-8")
    again = chatfn("config", "init", "--config", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr
    default = chatfn("config", "init")
    assert default.returncode == 0
    assert Path(chatfn("config", "path").stdout.strip()).is_file()


# -- profiles: flag > environment > file > default ------------------------------------------


def test_profile_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(
        b"""
default_profile = "a"
system_prompt = "file prompt"
[profiles.a]
model = "file-model"
base_url = "http://127.0.0.1:1/v1"
[profiles.b]
model = "b-model"
base_url = "http://127.0.0.1:2/v1"
system_prompt = "b prompt"
""",
        "x.toml",
    )
    assert resolve_endpoint(config).model == "file-model"
    assert resolve_endpoint(config).system_prompt == "file prompt"
    monkeypatch.setenv("CHATFN_MODEL", "env-model")
    monkeypatch.setenv("CHATFN_PROFILE", "b")
    endpoint = resolve_endpoint(config)
    assert (endpoint.profile, endpoint.model, endpoint.system_prompt) == ("b", "env-model", "b prompt")
    endpoint = resolve_endpoint(config, profile="a", model="flag-model", system_prompt="flag prompt")
    assert (endpoint.profile, endpoint.model, endpoint.system_prompt) == ("a", "flag-model", "flag prompt")
    with pytest.raises(ConfigError, match="no profile named 'c'"):
        resolve_endpoint(config, profile="c")


def test_environment_only_openai_and_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no model") as caught:
        resolve_endpoint(Config())
    assert "CHATFN_MODEL" in (caught.value.hint or "")
    monkeypatch.setenv("CHATFN_MODEL", "gpt-4o")
    with pytest.raises(ConfigError, match="no API key") as caught:
        resolve_endpoint(Config())
    assert "OPENAI_API_KEY" in (caught.value.hint or "")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    endpoint = resolve_endpoint(Config())  # a local server needs no key
    assert endpoint.api_key is None and endpoint.base_url == "http://127.0.0.1:9/v1"


def test_environment_only_azure_like_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="deployment") as caught:
        resolve_endpoint(Config())
    assert "AZURE_OPENAI_CHAT_DEPLOYMENT" in (caught.value.hint or "")
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT", "dep")
    with pytest.raises(ConfigError, match="API version"):
        resolve_endpoint(Config())
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-02-01")
    with pytest.raises(ConfigError, match="key") as caught:
        resolve_endpoint(Config())
    assert "AZURE_OPENAI_API_KEY" in (caught.value.hint or "")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("AZURE_OPENAI_SYSTEM_PROMPT", "You are terse.")
    endpoint = resolve_endpoint(Config())
    assert endpoint.provider == "azure" and endpoint.model == "dep" and endpoint.api_version == "2024-02-01"
    assert endpoint.system_prompt == "You are terse."
    assert FAKE_KEY not in repr(endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-21")
    assert resolve_endpoint(Config()).api_version == "2024-10-21"


def test_api_key_env_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(b'[profiles.a]\nmodel = "m"\napi_key_env = "TEAM_KEY"\n', "x.toml")
    with pytest.raises(ConfigError, match=r"\$TEAM_KEY is not set"):
        resolve_endpoint(config)
    monkeypatch.setenv("TEAM_KEY", FAKE_KEY)
    endpoint = resolve_endpoint(config)
    assert endpoint.api_key == FAKE_KEY and endpoint.key_source == "$TEAM_KEY"


def test_several_profiles_without_default_is_an_error() -> None:
    config = parse_config(b'[profiles.a]\nmodel = "m"\n[profiles.b]\nmodel = "n"\n', "x.toml")
    with pytest.raises(ConfigError, match="several profiles"):
        resolve_endpoint(config)


def test_cli_missing_setting_is_one_line_exit_2() -> None:
    result = chatfn("chat", "hello")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no model" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_show_json_and_path_print_on_stdout(cli) -> None:
    """--json gives stdout to chatfn alone; config's output still reaches it."""
    shown = cli("config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "default_profile" in json.loads(shown.stdout)
    assert cli("config", "path").stdout.strip().endswith(".toml")
