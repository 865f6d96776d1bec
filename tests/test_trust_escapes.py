"""Escape sequences from outside never reach the terminal raw (issue 9, item 1).

Each class of sequence (CSI, OSC, DCS, APC, PM, SOS, short escapes, C1 controls, other
C0 controls) on each output path: the streamed answer (Markdown in a terminal, plain in
a pipe), reasoning, tool traces, server error messages, ``logs show/search/list`` and
plugin metadata in ``tools list``/``plugins list``. Terminal paths are read through a
real pty drawn by pyte; pipe paths by the bytes that come out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env
from pty_screen import PtyChatfn

from chatfn.output.sanitize import clean, clean_data, json_safe, visible
from chatfn.testing import error, sse, text, tool_calls

ATTACKS = {
    "osc52_clipboard": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "osc0_title": "\x1b]0;PWNED-TITLE\x07",
    "osc8_link": "\x1b]8;;http://evil.example/\x1b\\click-me\x1b]8;;\x1b\\",
    "csi_cursor_up_erase": "\x1b[3A\x1b[2K",
    "csi_device_status": "\x1b[6n",
    "csi_conceal": "\x1b[8m",
    "dcs": "\x1bPq#0;2;0;0;0#0~~\x1b\\",
    "apc": "\x1b_Gf=100;AAAA\x1b\\",
    "pm": "\x1b^private\x1b\\",
    "sos": "\x1bXstart\x1b\\",
    "esc_reset": "\x1bc",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;C1-TITLE\x9c",
    "c0": "\x07\x08\x08\r\x0b\x0c\x7f",
    "bidi": "\u202e",
}
ALL_ATTACKS = "".join(ATTACKS.values())
RAW_FORBIDDEN = (b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b^", b"\x1bX", b"\x1bc", b"\x1b[6n", b"\x1b[8m", b"\x07", b"\xc2\x9b", b"\xc2\x9d", b"\xe2\x80\xae")


def payload(tag: str) -> str:
    """A line of text with every attack inside it, and a tag to find it by."""
    return f"{tag}-start {ALL_ATTACKS} {tag}-end"


def assert_no_escapes(data: str | bytes, where: str) -> None:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    assert b"\x1b" not in raw, f"ESC reached {where}: {raw!r}"
    for sequence in RAW_FORBIDDEN:
        assert sequence not in raw, f"{sequence!r} reached {where}"
    assert not any(0x80 <= ord(char) <= 0x9F for char in raw.decode("utf-8", "replace")), f"C1 control in {where}"


# -- the sanitiser itself ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_clean_removes_each_class(name: str) -> None:
    cleaned = clean(f"before {ATTACKS[name]} after\nnext\tline")
    assert cleaned.startswith("before ") and cleaned.endswith(" after\nnext\tline")
    assert_no_escapes(cleaned.replace("\n", "").replace("\t", ""), name)
    assert all(char.isprintable() or char in "\n\t" for char in cleaned)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_visible_shows_each_class(name: str) -> None:
    shown = visible(f"before {ATTACKS[name]} after")
    assert_no_escapes(shown, name)
    assert "\\x" in shown or "\\u" in shown  # the user sees that something was there


def test_unterminated_sequences_and_surrogates() -> None:
    assert clean("ok \x1b]0;never terminated") == "ok "
    assert clean("ok \x1b[") == "ok "
    assert clean("a\ud800b") == "a\ufffdb"
    assert clean_data({"k\udfff": ["\ud800"]}) == {"k\ufffd": ["\ufffd"]}


def test_json_safe_escapes_what_json_leaves_raw() -> None:
    line = json.dumps({"text": "\x9b2J \x1b[6n \u202e \ud800"}, ensure_ascii=False)
    safe = json_safe(line)
    assert json.loads(safe) == json.loads(line)
    assert_no_escapes(safe.encode("utf-8"), "json")


# -- the answer, drawn in a real terminal --------------------------------------------------


@pytest.mark.slow
def test_streamed_answer_in_a_terminal_is_harmless(chat_server, chatfn_env) -> None:
    answer = (
        "Line one stays.\n\n"
        + payload("ANSWER")
        + "\n\nGet it from [https://python.org/downloads](http://evil.example/payload.sh) today.\n"
    )
    chat_server.script(text(answer))
    with PtyChatfn("chat", "--no-log", "hello", env={**chatfn_env, "TERM": "xterm-256color"}) as terminal:
        assert terminal.wait() == 0
        screen = terminal.display
    assert "Line one stays." in screen  # no cursor move or erase painted over it
    assert "ANSWER-start" in screen and "ANSWER-end" in screen
    assert "http://evil.example/payload.sh" in screen  # the link's real target is shown
    assert terminal.screen.title == ""  # no OSC 0 / C1 title change
    assert terminal.screen.replies == []  # the terminal was never asked to type into stdin
    assert terminal.screen.drawn_concealed.strip() == ""
    for sequence in RAW_FORBIDDEN:
        assert sequence not in terminal.raw, sequence


@pytest.mark.slow
def test_device_status_reply_never_reaches_the_model(chat_server, chatfn_env) -> None:
    """The attack: ESC[6n makes the terminal type ``ESC[13;1R`` into stdin, so 'exit' became '13Rexit'."""
    chat_server.script(text("ok \x1b[6n\n"), text("second answer"))
    env = {**chatfn_env, "TERM": "xterm-256color"}
    with PtyChatfn("chat", "--no-log", env=env) as terminal:
        terminal.wait_for("User:")
        terminal.type("hi\n")
        terminal.wait_for(r"ok")
        terminal.wait_for(r"User:.*\n(.|\n)*User:")
        terminal.type("exit\n")
        assert terminal.wait() == 0
    assert terminal.screen.replies == []
    assert len(chat_server.requests) == 1  # 'exit' left; nothing like '13Rexit' was sent


# -- plain pipes: answer, reasoning, traces, errors ---------------------------------------


def test_piped_answer_reasoning_and_traces_carry_no_escapes(chat_server, invoke_chatfn) -> None:
    reasoning = {"choices": [{"index": 0, "delta": {"reasoning_content": payload("REASON")}}]}
    chat_server.script(
        tool_calls(("get_current_date", "{" + json.dumps(payload("ARGS"))[1:-1])),
        sse([reasoning, {"choices": [{"index": 0, "delta": {"content": payload("ANSWER")}, "finish_reason": "stop"}]}]),
    )
    result = invoke_chatfn("chat", "--no-log", "hello")
    assert result.returncode == 0, result.stderr
    assert "ANSWER-start" in result.stdout and "ANSWER-end" in result.stdout
    assert "REASON-start" in result.stderr and "get_current_date(" in result.stderr
    assert_no_escapes(result.stdout, "stdout")
    assert_no_escapes(result.stderr, "stderr")


def test_json_mode_keeps_them_escaped(chat_server, invoke_chatfn) -> None:
    chat_server.script(text(payload("ANSWER")))
    result = invoke_chatfn("chat", "--no-log", "--json", "hello")
    assert result.returncode == 0, result.stderr
    assert_no_escapes(result.stdout, "--json stdout")
    texts = "".join(json.loads(line).get("text", "") for line in result.stdout.splitlines())
    assert ATTACKS["osc52_clipboard"] in texts  # exactly what the model sent, escaped as JSON


def test_server_error_message_is_harmless(chat_server, invoke_chatfn) -> None:
    chat_server.script(error(400, payload("SERVER")))
    result = invoke_chatfn("chat", "--no-log", "hello")
    assert result.returncode == 1
    assert "SERVER-start" in result.stderr
    assert_no_escapes(result.stderr, "the error line")


def test_log_commands_show_no_escapes(chat_server, invoke_chatfn) -> None:
    chat_server.script(text(payload("LOGGED")))
    assert invoke_chatfn("chat", payload("ASKED")).returncode == 0
    for command in (("logs", "show"), ("logs", "list"), ("logs", "search", "LOGGED")):
        result = invoke_chatfn(*command)
        assert result.returncode == 0, result.stderr
        assert "-start" in result.stdout, command
        assert_no_escapes(result.stdout, " ".join(command))


PLUGIN = '''
import chatfn

def sneaky(x: str = "") -> str:
    """Harmless tool\x1b]0;PLUGIN-TITLE\x07\x1b[2K\x1b[8m hidden. More."""
    return x

@chatfn.hookimpl
def register_tools(register):
    register(sneaky)
    register(sneaky, name="sneaky2", description="desc \x1b[6n\x9b2J \x1bPdcs\x1b\\\\ end")
'''


def test_plugin_metadata_is_harmless(tmp_path: Path, invoke_chatfn) -> None:
    directory = make_plugin(tmp_path / "p", PLUGIN, module="chatfn_sneaky", distribution="chatfn-sneaky", entry_point="sneaky")
    env = plugin_env(directory, load="sneaky", base={})
    for command in (("tools", "list"), ("plugins", "list"), ("tools", "show", "sneaky2")):
        result = invoke_chatfn(*command, env={"PYTHONPATH": env["PYTHONPATH"], "CHATFN_LOAD_PLUGINS": "sneaky"})
        assert result.returncode == 0, result.stderr
        assert "sneaky" in result.stdout
        assert_no_escapes(result.stdout, " ".join(command))
        assert_no_escapes(result.stderr, " ".join(command))
