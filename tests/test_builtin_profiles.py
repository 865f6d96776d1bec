"""Built-in profiles for well-known services: usable with only their key variable, overridable by the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatfn.settings.builtin_profiles import BUILTIN_PROFILES
from chatfn.testing import ScriptedServer, text

GROQ_KEY = "gsk-test-groq-key-0123456789"

# Nothing but the service's own key (and, since tests never leave 127.0.0.1, its base URL moved here).
ONLY_GROQ = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "CHATFN_MODEL": None, "GROQ_API_KEY": GROQ_KEY}


def test_groq_works_with_only_its_key_variable(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Fast answer."))
    result = invoke_chatfn(
        "-p", "groq", "-m", "llama-3.3-70b-versatile", "hi",
        env={**ONLY_GROQ, "CHATFN_GROQ_BASE_URL": chat_server.base_url},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Fast answer.\n"
    request = chat_server.requests[0]
    assert request.headers["authorization"] == f"Bearer {GROQ_KEY}"
    assert request.body["model"] == "llama-3.3-70b-versatile"


def test_a_built_in_profile_never_sends_its_key_to_openai_base_url(chat_server, invoke_chatfn) -> None:
    with ScriptedServer() as elsewhere:  # what $OPENAI_BASE_URL points at: it must see nothing
        chat_server.script(text("From Groq."))
        result = invoke_chatfn(
            "-p", "groq", "-m", "m", "hi",
            env={**ONLY_GROQ, "OPENAI_BASE_URL": elsewhere.base_url, "OPENAI_API_KEY": "sk-openai-not-for-groq",
                 "CHATFN_GROQ_BASE_URL": chat_server.base_url},
        )
        assert result.returncode == 0, result.stderr
        assert elsewhere.requests == []
    assert chat_server.requests[0].headers["authorization"] == f"Bearer {GROQ_KEY}"


def test_without_its_key_variable_it_says_which_one(chat_server, invoke_chatfn) -> None:
    result = invoke_chatfn("-p", "groq", "-m", "m", "hi", env={**ONLY_GROQ, "GROQ_API_KEY": None})
    assert result.returncode == 2
    assert "$GROQ_API_KEY is not set" in result.stderr and "Traceback" not in result.stderr
    assert chat_server.requests == []


def test_a_local_server_gets_no_openai_key(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Local."))
    result = invoke_chatfn(
        "-p", "ollama", "-m", "qwen2.5-coder:7b", "hi",
        env={"OPENAI_API_KEY": "sk-openai-secret-key-1234", "CHATFN_OLLAMA_BASE_URL": chat_server.base_url},
    )
    assert result.returncode == 0, result.stderr
    assert "sk-openai-secret-key-1234" not in chat_server.requests[0].headers.get("authorization", "")


def test_a_config_profile_of_the_same_name_overrides_it_key_by_key(chat_server, invoke_chatfn, chatfn_env) -> None:
    Path(chatfn_env["CHATFN_CONFIG"]).write_text(
        f'default_profile = "groq"\n[profiles.groq]\nmodel = "from-the-file"\nbase_url = "{chat_server.base_url}"\n'
        "[profiles.groq.options]\ntemperature = 0.1\n",
        encoding="utf-8",
    )
    chat_server.script(text("Configured."))
    result = invoke_chatfn("hi", env=ONLY_GROQ)  # default_profile names it; the key variable is still Groq's
    assert result.returncode == 0, result.stderr
    request = chat_server.requests[0]
    assert request.body["model"] == "from-the-file" and request.body["temperature"] == 0.1
    assert request.headers["authorization"] == f"Bearer {GROQ_KEY}"


def test_models_lists_a_built_in_service(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["llama-3.3-70b-versatile", "qwen-qwq-32b"]
    result = invoke_chatfn("models", "-p", "groq", env={**ONLY_GROQ, "CHATFN_GROQ_BASE_URL": chat_server.base_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["llama-3.3-70b-versatile", "qwen-qwq-32b"]


def test_config_show_profiles_lists_every_built_in_and_the_file_s(invoke_chatfn, chatfn_env) -> None:
    Path(chatfn_env["CHATFN_CONFIG"]).write_text(
        '[profiles.mine]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "MY_KEY"\n'
        '[profiles.vllm]\nbase_url = "http://gpu-box:8000/v1"\n',
        encoding="utf-8",
    )
    table = invoke_chatfn("config", "show", "--profiles", env={"GROQ_API_KEY": GROQ_KEY})
    assert table.returncode == 0, table.stderr
    assert GROQ_KEY not in table.stdout + table.stderr
    rows = json.loads(invoke_chatfn("config", "show", "--profiles", "--json", env={"GROQ_API_KEY": GROQ_KEY}).stdout)
    by_name = {row["name"]: row for row in rows}
    assert set(BUILTIN_PROFILES) | {"mine"} == set(by_name)
    expected = {
        "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
        "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        "deepseek": ("https://api.deepseek.com", "DEEPSEEK_API_KEY"),
        "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        "together": ("https://api.together.ai/v1", "TOGETHER_API_KEY"),
        "fireworks": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
        "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
        "anthropic": ("https://api.anthropic.com/v1/", "ANTHROPIC_API_KEY"),
        "ollama": ("http://localhost:11434/v1", None),
        "lmstudio": ("http://localhost:1234/v1", None),
        "llamacpp": ("http://localhost:8080/v1", "LLAMA_API_KEY"),
        "vllm": ("http://gpu-box:8000/v1", "VLLM_API_KEY"),  # the file's URL over the built-in one
        "mine": ("http://127.0.0.1:9/v1", "MY_KEY"),
    }
    for name, (url, key_env) in expected.items():
        assert (by_name[name]["base_url"], by_name[name]["key_env"]) == (url, key_env), name
    assert by_name["groq"]["key_set"] is True and by_name["xai"]["key_set"] is False
    assert (by_name["vllm"]["origin"], by_name["mine"]["origin"]) == ("file over built in", "file")
    assert by_name["azure"]["key_env"] == "AZURE_OPENAI_API_KEY"


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_every_built_in_profile_names_where_its_settings_come_from(name: str) -> None:
    service = BUILTIN_PROFILES[name]
    assert service.source.startswith(("https://", "llama-server --help"))
    assert service.provider == "azure" or (service.base_url or "").startswith(("https://", "http://localhost:"))
