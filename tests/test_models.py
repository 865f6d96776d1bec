"""`chatfn models`: the real CLI listing the scripted server's models, or saying it has none."""

from __future__ import annotations

import json

AZURE = {
    "AZURE_OPENAI_API_KEY": "azure-test-key-123456",
    "AZURE_OPENAI_API_VERSION": "2024-10-21",
    "AZURE_OPENAI_CHAT_DEPLOYMENT": "chat-4o",
    "OPENAI_BASE_URL": None,
    "OPENAI_API_KEY": None,
    "CHATFN_MODEL": None,
}


def test_models_lists_the_server_s_models_sorted_with_the_default_marked(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["zeta-7b", "test-model", "alpha-70b"]
    result = invoke_chatfn("models")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["  alpha-70b", "* test-model", "  zeta-7b"]
    assert "3 models at " + chat_server.base_url + "/models" in result.stderr
    request = chat_server.requests[0]
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == "Bearer sk-test-fake"


def test_models_json(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["b", "test-model"]
    data = json.loads(invoke_chatfn("models", "--json").stdout)
    assert data["default"] == "test-model" and data["kind"] == "models" and data["profile"] == "environment"
    assert [(entry["id"], entry["default"]) for entry in data["models"]] == [("b", False), ("test-model", True)]


def test_a_server_without_a_listing_gets_one_clear_line(chat_server, invoke_chatfn) -> None:
    chat_server.models = None
    result = invoke_chatfn("models")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{chat_server.base_url} offers no model listing (GET /models answered HTTP 404)" in lines[0]
    assert "-m" in lines[0] and result.stdout == ""


def test_models_lists_without_a_default_model_and_warns_about_a_missing_default(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["a", "b"]
    unset = invoke_chatfn("models", env={"CHATFN_MODEL": None})
    assert unset.returncode == 0, unset.stderr
    assert unset.stdout.splitlines() == ["  a", "  b"]
    missing = invoke_chatfn("models")  # the default, test-model, is not among them
    assert missing.returncode == 0 and "'test-model' is not listed" in missing.stderr


def test_azure_lists_its_deployments_when_the_data_plane_does(chat_server, invoke_chatfn) -> None:
    chat_server.azure_deployments = {"chat-4o": "gpt-4o", "mini": "gpt-4o-mini"}
    result = invoke_chatfn("models", env={**AZURE, "AZURE_OPENAI_ENDPOINT": chat_server.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["* chat-4o  (gpt-4o)", "  mini  (gpt-4o-mini)"]
    request = chat_server.requests[0]
    assert (request.path, request.query["api-version"]) == ("/openai/deployments", "2023-03-15-preview")
    assert request.headers["api-key"] == "azure-test-key-123456"


def test_azure_falls_back_to_its_models_listing(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["gpt-4o", "gpt-4o-mini"]
    result = invoke_chatfn("models", "--json", env={**AZURE, "AZURE_OPENAI_ENDPOINT": chat_server.url})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "models" and data["default"] == "chat-4o"
    assert [entry["id"] for entry in data["models"]] == ["gpt-4o", "gpt-4o-mini"]
    assert [(r.path, r.query.get("api-version")) for r in chat_server.requests] == [
        ("/openai/deployments", "2023-03-15-preview"),
        ("/openai/models", "2024-10-21"),
    ]


def test_a_listing_with_terminal_controls_is_shown_clean(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["evil\x1b]0;pwned\x07-model", "test-model"]
    result = invoke_chatfn("models")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def complete(invoke_chatfn, words: str, **env: str) -> list[str]:
    """What bash completion offers for ``words`` (the last one being completed), through the real CLI."""
    result = invoke_chatfn(
        env={"_CHATFN_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1), **env}
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout.split()


def test_model_completion_offers_the_listing_and_caches_it(chat_server, invoke_chatfn) -> None:
    chat_server.models = ["gpt-4o", "gpt-4o-mini", "o3"]
    assert complete(invoke_chatfn, "chatfn chat -m gpt") == ["gpt-4o", "gpt-4o-mini"]
    assert complete(invoke_chatfn, "chatfn chat -m o") == ["o3"]
    assert len(chat_server.requests) == 1  # the second Tab was answered from the cache


def test_model_completion_is_silent_without_a_listing(chat_server, invoke_chatfn) -> None:
    chat_server.models = None
    assert complete(invoke_chatfn, "chatfn chat -m g") == []
