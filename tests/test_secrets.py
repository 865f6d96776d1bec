"""The API key never leaks: not to stdout, stderr, the log, ``config show`` or a traceback.

A recognisable fake key is put where users put theirs ($OPENAI_API_KEY, a
profile's ``api_key``, $AZURE_OPENAI_API_KEY); every command and every failure
kind runs against the scripted server, which echoes the key back in errors as
real servers do; then every byte of output and of the log is searched for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env
from support import chunk, closed_port

from chatfn.testing import (
    RecordedRequest,
    Response,
    ScriptedServer,
    error,
    raw,
    sse,
    text,
    tool_calls,
)

KEY = "sk-test-SECRET-7f3a9c"


# What the server does, chosen by the prompt, so chats can run side by side.
FAILURES: dict[str, Callable[[], Response]] = {
    "fail-401": lambda: error(401, f"Incorrect API key provided: {KEY}. You can find your API key at ..."),
    "fail-403": lambda: error(403, f"key {KEY} may not use this model"),
    "fail-404": lambda: error(404, f"no model for key {KEY}"),
    "fail-429": lambda: error(429, f"rate limit for {KEY}"),
    "fail-500": lambda: error(500, f"internal error handling {KEY}"),
    "fail-html": lambda: raw(f"<html><body>bad gateway {KEY}</body></html>".encode(), status=502,
                             headers={"Content-Type": "text/html"}),
    "fail-html-200": lambda: raw(f"<html>{KEY}</html>".encode(), headers={"Content-Type": "text/html"}),
    "fail-plain-401": lambda: raw(f"Unauthorized: {KEY}".encode(), status=401, headers={"Content-Type": "text/plain"}),
    "fail-stream-error": lambda: sse([chunk({"content": "Part"}), {"error": {"message": f"bad key {KEY}"}}]),
    "fail-malformed": lambda: sse([chunk({"content": "Part"}), f'{{"echo": "{KEY}"']),
    "fail-shape": lambda: sse([chunk({"content": "Part"}), {"choices": [KEY]}]),
    "fail-drop": lambda: text("one two three four five", drop_after=3),
    "fail-no-done": lambda: sse([chunk({"content": "Half"})], done=False),
}


def route(request: RecordedRequest) -> Response:
    """Answer by the prompt: a failure, a tool round, or text."""
    messages = request.messages
    if messages and messages[-1]["role"] == "tool":
        return text("Tools done.")
    prompt = str(messages[-1]["content"]) if messages else ""
    if prompt in FAILURES:
        return FAILURES[prompt]()
    if prompt == "use tools":
        return tool_calls(("echo", {"text": "hi"}), ("explode", {}), ("no_such_tool", {}), ("echo", "{bad json"))
    return text("Plain answer.")


PLACEMENTS = ["openai-env", "profile-api_key", "azure-env"]


def write_config(folder: Path, placement: str, server: ScriptedServer) -> tuple[Path, dict[str, str | None]]:
    """A config whose profiles reach the server (and a dead port, and TLS to plain HTTP); env with the key."""
    down, tls = f"http://127.0.0.1:{closed_port()}", server.url.replace("http://", "https://")
    if placement == "azure-env":
        profile = 'provider = "azure"\ndeployment = "dep"\napi_version = "2024-06-01"\nendpoint = "{url}"\n'
        env: dict[str, str | None] = {"AZURE_OPENAI_API_KEY": KEY, "OPENAI_API_KEY": None}
        urls = (server.url, down, tls)
    else:
        profile = 'model = "test-model"\nbase_url = "{url}"\n'
        urls = (server.base_url, down + "/v1", tls + "/v1")
        if placement == "profile-api_key":
            profile += f'api_key = "{KEY}"\n'
            env = {"OPENAI_API_KEY": None}
        else:
            env = {"OPENAI_API_KEY": KEY}
    common = "max_retries = 0\ntimeout = 2.0\n"
    text_ = 'default_profile = "main"\n'
    for name, url in zip(("main", "down", "tls"), urls):
        text_ += f"[profiles.{name}]\n" + profile.format(url=url) + common
    text_ += f'[plugins.web]\ntoken = "{KEY}"\n'
    path = folder / "secret.toml"
    path.write_text(text_, encoding="utf-8")
    env.update({"CHATFN_CONFIG": str(path), "OPENAI_BASE_URL": None, "CHATFN_MODEL": None})
    return path, env


def log_text(path: Path) -> tuple[bytes, str]:
    """Every byte of the log's files, and the text of every row of every table."""
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]
    finally:
        connection.close()
    assert any("Plain answer." in row for row in rows)  # the scan really read the log
    return data, "\n".join(rows)


@pytest.mark.slow
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_key_appears_in_no_output_and_no_log(
    placement: str, chat_server: ScriptedServer, invoke_chatfn, chatfn_env, chat_plugin_env, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, placement, chat_server)
    env.update(chat_plugin_env)
    # Every failure kind with the key from $OPENAI_API_KEY; the ones that echo it with the others.
    failures = list(FAILURES) if placement == "openai-env" else ["fail-401", "fail-html", "fail-stream-error",
                                                                 "fail-malformed", "fail-shape"]
    chats = [["chat", "hello"], ["chat", "--json", "hello"], ["chat", "-v", "use tools"],
             ["chat", "--json", "use tools"], ["chat", "-p", "down", "x"], ["chat", "-p", "tls", "x"],
             ["chat", "--json", "-p", "down", "x"], ["chat", "--json", "fail-401"]]
    chats += [["chat", prompt] for prompt in failures]
    chat_server.script(*[route] * (len(chats) * 2 + 2))
    run = lambda args: (args, invoke_chatfn(*args, env=env))  # noqa: E731
    others = [
        ["chat", "--continue", "once more"],
        ["tools", "list"], ["tools", "list", "--json"], ["tools", "show", "echo"],
        ["tools", "call", "echo", "text=hi"], ["tools", "call", "explode"],
        ["plugins", "list", "--timings"], ["plugins", "list", "--json"],
        ["config", "show"], ["config", "path"],
        ["logs", "list"], ["logs", "list", "--json"], ["logs", "show"], ["logs", "show", "--json"],
        ["logs", "search", "SECRET"], ["logs", "search", "Plain"], ["logs", "path"],
    ]
    if placement != "openai-env":  # commands that never read the key run once, above
        others = [args for args in others if args[0] in ("config", "logs") or args[1] == "--continue"]
    results = [run(args) for args in chats]
    results += [run(args) for args in others]  # after the chats, so the log has something to show
    for args, result in results:
        assert KEY not in result.stdout and KEY not in result.stderr, (args, result.stdout, result.stderr)
        assert KEY[:12] not in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr, (args, result.stderr)
    codes = {" ".join(args): result.returncode for args, result in results}
    assert codes["chat hello"] == 0 and codes["chat fail-401"] == 1 and codes["chat -p down x"] == 1
    assert codes["config show"] == 0 and codes["logs show"] == 0 and codes["chat --continue once more"] == 0
    assert all(codes[f"chat {prompt}"] == 1 for prompt in failures)
    # the key really was used, and really was echoed back
    headers = chat_server.requests[0].headers
    assert KEY in (headers.get("authorization", "") + headers.get("api-key", ""))
    data, rows = log_text(Path(chatfn_env["CHATFN_LOG_DB"]))
    assert KEY.encode() not in data and KEY[:12].encode() not in data
    assert KEY not in rows and KEY[:12] not in rows


BOOM = '''
import chatfn
import chatfn.chat


def boom(self, text):
    key = self.endpoint.api_key  # a local holding the key, as real code would
    headers = {"Authorization": f"Bearer {key}"}
    raise RuntimeError("a bug deep inside chatfn")


chatfn.chat.ChatSession.send = boom


@chatfn.hookimpl
def register_tools(register):
    pass
'''


@pytest.mark.slow
def test_debug_tracebacks_never_show_locals_or_the_key(chat_server, run_chatfn, tmp_path: Path) -> None:
    """A real process: the plugin below patches chatfn itself, which must not outlive the test."""
    from chatfn.cli import app

    assert app.pretty_exceptions_show_locals is False
    folder = make_plugin(tmp_path / "boom", BOOM, module="chatfn_boom", distribution="chatfn-boom", entry_point="boom")
    env = {**plugin_env(folder, load="boom", base={}), "OPENAI_API_KEY": KEY}
    quiet = run_chatfn("chat", "hi", env=env)
    debug = run_chatfn("chat", "hi", env={**env, "CHATFN_DEBUG": "1"})
    assert quiet.returncode == debug.returncode == 1
    assert "internal error: RuntimeError: a bug deep inside chatfn" in quiet.stderr
    assert "Traceback" not in quiet.stderr and "CHATFN_DEBUG" in quiet.stderr
    assert "Traceback" in debug.stderr and "in boom" in debug.stderr  # the developer sees where
    for result in (quiet, debug):
        assert KEY not in result.stdout + result.stderr
        assert "key = " not in result.stderr and "locals" not in result.stderr.lower()


def test_error_lines_never_quote_a_secret_from_the_environment(monkeypatch, capsys) -> None:
    """Messages chatfn did not write itself (a library's, a plugin's) are scrubbed too."""
    from chatfn.output.console import error_line

    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-1234567890-abcdef")
    error_line("the library said: bad token tok-1234567890-abcdef", hint="tok-1234567890-abcdef?")
    shown = capsys.readouterr().err
    assert "tok-1234567890-abcdef" not in shown and "***" in shown
