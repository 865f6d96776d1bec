"""One redactor for config show and every error line (issue 9, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

from chatfn.output.redact import (
    MASK,
    looks_secret,
    redact_data,
    redact_text,
    redact_url,
)

SECRETS = ("sk-params-0123456789", "hunter2-password", "azure-query-key-987", "plugin-token-555")

CONFIG = """
default_profile = "leaky"

[profiles.leaky]
model = "gpt-test"
base_url = "http://alice:hunter2-password@127.0.0.1:9/v1?api-version=1&api-key=azure-query-key-987"
params = { api_key = "sk-params-0123456789", temperature = 0.2, nested = { "x-api-token" = "sk-params-0123456789" } }
headers = { Authorization = "Bearer sk-params-0123456789", "X-Team" = "research" }

[plugins.web]
auth_token = "plugin-token-555"
"""


def test_redact_url_parts() -> None:
    url = "https://bob:pw@example.com/v1?api-key=abc&api-version=2024&sig=zz#frag"
    assert redact_url(url) == f"https://{MASK}@example.com/v1?api-key={MASK}&api-version=2024&sig={MASK}#frag"
    assert redact_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"


def test_one_word_list() -> None:
    for name in ("api_key", "API-KEY", "x-api-token", "client_secret", "password", "Authorization", "sig"):
        assert looks_secret(name), name
    for name in ("model", "temperature", "base_url", "timeout"):
        assert not looks_secret(name), name
    assert redact_data({"api_key_env": "OPENAI_API_KEY"}) == {"api_key_env": "OPENAI_API_KEY"}


def test_redact_text_masks_env_secrets_and_bearer(monkeypatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh-1234")
    line = "failed: tok-abcdefgh-1234 at http://u:p@h/x?token=t1 with Bearer abcdefghijkl"
    shown = redact_text(line)
    assert "tok-abcdefgh" not in shown and "u:p@" not in shown and "t1" not in shown and "abcdefghijkl" not in shown


def test_config_show_redacts_params_urls_and_plugin_tables(tmp_path: Path, invoke_chatfn) -> None:
    config = tmp_path / "leaky.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = invoke_chatfn("config", "show", "--config", str(config))
    assert result.returncode == 0, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout, secret
    shown = json.loads(result.stdout)
    profile = shown["profiles"]["leaky"]
    assert profile["params"]["temperature"] == 0.2
    assert profile["headers"]["X-Team"] == "research"
    assert "api-version=1" in profile["base_url"] and "127.0.0.1:9" in profile["base_url"]


def test_error_lines_redact_the_url(tmp_path: Path, invoke_chatfn) -> None:
    config = tmp_path / "leaky.toml"
    config.write_text(CONFIG.replace('model = "gpt-test"', 'model = "gpt-test"\nmax_retries = 0'), encoding="utf-8")
    result = invoke_chatfn("chat", "--no-log", "--config", str(config), "hello", env={"OPENAI_BASE_URL": None, "CHATFN_MODEL": None})
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr  # the line still says where
    for secret in SECRETS:
        assert secret not in result.stderr, (secret, result.stderr)
