"""`chatfn PROMPT` is `chatfn chat PROMPT`: the real CLI against the scripted server."""

from __future__ import annotations

from chatfn.testing import text


def user_messages(request) -> list[str]:
    return [message["content"] for message in request.messages if message["role"] == "user"]


def test_a_prompt_without_a_command_chats(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Paris."))
    result = invoke_chatfn("What is the capital of France?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Paris.\n"
    assert user_messages(chat_server.requests[0]) == ["What is the capital of France?"]


def test_chat_options_before_the_prompt_go_to_chat(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Hi."))
    result = invoke_chatfn("-m", "other-model", "--no-tools", "hello")
    assert result.returncode == 0, result.stderr
    body = chat_server.requests[0].body
    assert body["model"] == "other-model" and "tools" not in body
    assert user_messages(chat_server.requests[0]) == ["hello"]


def test_piped_text_alone_chats(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("A diff."))
    result = invoke_chatfn(input="diff --git a/x b/x\n+one line\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "A diff.\n"
    assert user_messages(chat_server.requests[0]) == ["diff --git a/x b/x\n+one line\n"]


def test_a_prompt_and_piped_text_go_together(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Summed up."))
    result = invoke_chatfn("summarise this", input="long text")
    assert result.returncode == 0, result.stderr
    assert user_messages(chat_server.requests[0]) == ["summarise this\n\nlong text"]


def test_a_command_name_runs_the_command(chat_server, invoke_chatfn) -> None:
    result = invoke_chatfn("tools", "list")
    assert result.returncode == 0, result.stderr
    assert "get_current_time" in result.stdout
    assert chat_server.requests == []


def test_a_prompt_that_is_a_command_name_is_sent_after_a_double_dash_or_chat(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("One."), text("Two."))
    first = invoke_chatfn("--", "tools")
    second = invoke_chatfn("chat", "logs")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert (first.stdout, second.stdout) == ("One.\n", "Two.\n")
    assert [user_messages(request) for request in chat_server.requests] == [["tools"], ["logs"]]


def test_no_arguments_and_no_input_shows_the_help(chat_server, invoke_chatfn) -> None:
    result = invoke_chatfn()  # stdin is /dev/null: nothing piped
    assert "Usage: chatfn" in result.stdout + result.stderr
    assert "chatfn PROMPT" in result.stdout + result.stderr
    assert chat_server.requests == []


def test_help_and_version_stay_the_root_s(invoke_chatfn) -> None:
    assert "Commands" in invoke_chatfn("--help").stdout
    assert invoke_chatfn("--version").stdout.startswith("chatfn ")
