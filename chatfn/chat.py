"""The chat loop: stream an answer, run the tools it asks for, repeat until it answers.

:meth:`ChatSession.send` yields events (text and reasoning deltas, tool calls,
tool results, usage, notices, done) that the terminal renderer, the JSON writer
and the tests consume alike. History is kept in OpenAI's message format, so the
same list is sent to the server, written to the log, and resumed later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chatfn.errors import ChatfnError, LogError, ProviderError, UsageError
from chatfn.events import (
    Done,
    Event,
    Notice,
    Started,
    ToolCall,
    ToolCallEvent,
    ToolOutcome,
    ToolResultEvent,
    UsageEvent,
)
from chatfn.history import missing_results
from chatfn.log.session import ChatLog
from chatfn.output.sanitize import clean_data
from chatfn.settings.config import ToolSettings
from chatfn.tools.arguments import Validators
from chatfn.tools.policy import Exposure, returns_private_data
from chatfn.tools.run import Approve, RoundInterrupted, run_tool_calls
from chatfn.tools.tool import Tool
from chatfn.wire.assemble import AssembledMessage, StreamAssembler
from chatfn.wire.endpoint import Endpoint, make_client


@dataclass
class ChatOptions:
    """How one session behaves, from flags and config."""

    max_rounds: int = 10
    tool_settings: ToolSettings = field(default_factory=ToolSettings)
    approve: Approve = lambda tool, arguments: False
    exposure: Exposure = field(default_factory=Exposure)
    """The private data the conversation holds; the approval policy reads it (shared with the approver)."""


@dataclass
class Usage:
    """Token totals for a session."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    responses: int = 0

    def add(self, usage: Any) -> None:
        if not isinstance(usage, dict):  # a server's usage of any other shape means nothing
            return
        self.responses += 1
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage.get(name)
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)


class ChatSession:
    """One conversation with one model, its history and its tools."""

    def __init__(
        self,
        endpoint: Endpoint,
        tools: Sequence[Tool] = (),
        options: ChatOptions | None = None,
        *,
        history: list[dict[str, Any]] | None = None,
        log: ChatLog | None = None,
        client: Any = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.tools = {tool.name: tool for tool in tools}
        self._validators = Validators()  # schema validators, built once per session
        legacy = endpoint.api == "functions"
        self._definitions = [tool.openai_function() if legacy else tool.openai_tool() for tool in self.tools.values()]
        self._input: Any = None  # the Responses API's input items, converted as the history grows
        self._encrypted_reasoning = True  # ask a stateless Responses server for reasoning to send back
        if endpoint.api == "responses":
            from chatfn.wire.items import InputItems, responses_tools

            self._definitions = responses_tools(self._definitions)
            self._input = InputItems()
        self.options = options or ChatOptions()
        self.usage = Usage()
        self.log = log
        self._client = client
        self._stream_usage = endpoint.stream_usage
        self._warn = on_warning or (lambda message: None)
        self.messages: list[dict[str, Any]] = []
        if history:
            self.messages.extend(self._adopt(history))
            self._note_private_history()
        else:
            self.clear()

    @property
    def client(self) -> Any:
        """The SDK client, made on first use so start-up never waits for the SDK."""
        if self._client is None:
            self._client = make_client(self.endpoint)
        return self._client

    @property
    def conversation_id(self) -> str | None:
        """The logged conversation's id once something is logged; None without a log."""
        return getattr(self.log, "conversation_id", None)

    def _adopt(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A resumed history in the form this endpoint's API takes, saying what cannot come along.

        Chat Completions history converts to Responses input on every request; a
        Responses conversation resumed over Chat Completions loses its reasoning items,
        which that API has no way to send back.
        """
        if self._input is not None:
            return history
        from chatfn.wire.items import chat_messages

        messages, dropped = chat_messages(history)
        if dropped:
            self._warn(
                f"this conversation was held over the Responses API; {dropped} reasoning item(s) cannot be sent "
                'over Chat Completions and are left out (set api = "responses" in the profile to keep them)'
            )
        return messages

    def _note_private_history(self) -> None:
        """A resumed conversation holds private data if any earlier result may be private."""
        names: dict[Any, str] = {}
        for message in self.messages:
            for call in message.get("tool_calls") or []:
                if isinstance(call, dict):
                    names[call.get("id")] = str((call.get("function") or {}).get("name") or "")
            if message.get("role") in ("tool", "function"):
                name = message.get("name") or names.get(message.get("tool_call_id")) or ""
                tool = self.tools.get(name)
                if tool is None or returns_private_data(tool, self.options.tool_settings):
                    self.options.exposure.note(name or "an earlier tool")

    def clear(self) -> None:
        """Start over with only the system message, as the original sample's clear_conversation.

        The log starts a new conversation too: resuming the old one must not bring back
        what the user cleared, nor resuming the new one what came before.
        """
        self.messages = []
        if self.log is not None:
            self.log.start_new()
        if self.endpoint.system_prompt:
            self._append({"role": "system", "content": self.endpoint.system_prompt})

    def send(self, text: str) -> Iterator[Event]:
        """Send one user message and yield events until the model answers.

        Ctrl-C may land in the consumer (while it renders) rather than in here; then this
        generator is closed instead, and it keeps the history valid the same way. Close it
        promptly (``contextlib.closing``) so that happens before the next message.
        """
        yield from self._ask({"role": "user", "content": text})

    def retry(self) -> Iterator[Event]:
        """Ask again for the last answer: drop it (with its tool rounds) here and in the log, resend the question."""
        index = next((i for i in range(len(self.messages) - 1, -1, -1) if self.messages[i].get("role") == "user"), None)
        if index is None:
            raise UsageError("nothing to retry: no message sent yet")
        question = self.messages[index]
        del self.messages[index:]
        self._to_log(lambda log: log.drop_last_turn())
        yield from self._ask(question)

    def set_model(self, model: str) -> None:
        """Ask ``model`` from the next request on; the log records each answer's model."""
        self.endpoint = replace(self.endpoint, model=model)

    def set_system_prompt(self, text: str) -> None:
        """Add a system message here, sent (and logged) from the next request on; /clear starts over with it."""
        self.endpoint = replace(self.endpoint, system_prompt=text)
        self._append({"role": "system", "content": text})

    def _ask(self, message: dict[str, Any]) -> Iterator[Event]:
        self._append(message)
        try:
            yield Started(self.conversation_id, self.endpoint.model, self.endpoint.profile)
            yield from self._rounds()
        except (KeyboardInterrupt, GeneratorExit):
            self._answer_pending_calls("interrupted by the user")
            raise

    def _rounds(self) -> Iterator[Event]:
        rounds = 0
        while True:
            message = yield from self._complete()
            if not message.tool_calls:
                yield Done(message.finish_reason, rounds)
                return
            if rounds >= self.options.max_rounds:
                self._answer_pending_calls(f"not run: chatfn stopped after {rounds} tool rounds (max_rounds)")
                yield Notice(
                    f"stopped after {rounds} rounds of tool calls (--max-rounds {self.options.max_rounds}); "
                    "the model still wanted more"
                )
                yield Done("max_rounds", rounds)
                return
            rounds += 1
            yield from self._run_tools(message)

    # -- one streamed response -------------------------------------------------

    def _complete(self) -> Iterator[Event]:
        """Stream one response, append it to the history, and return it."""
        assembler: Any = self._new_assembler()
        decoder = self.endpoint.stream_decoder()
        started = time.perf_counter()
        content_type = ""
        try:
            with self._open_stream() as response:
                content_type = str(response.headers.get("content-type") or "")
                for data in response.iter_bytes():
                    for chunk in decoder.feed(data):
                        yield from assembler.feed(chunk)
                    if decoder.done or assembler.finished:
                        break
                for chunk in decoder.finish():
                    yield from assembler.feed(chunk)
        except (KeyboardInterrupt, GeneratorExit):
            self._keep_partial(assembler, started, interrupted=True)
            raise
        except ProviderError as error:
            located = self._located(error)
            self._keep_partial(assembler, started, error=str(located))
            raise located from None
        except Exception as error:
            provider_error = self._translate(error)
            self._keep_partial(assembler, started, error=str(provider_error))
            raise provider_error from None
        message = assembler.result()
        if self._input is not None:
            message.stored, message.origin = self.endpoint.store, self.endpoint.url
        if not decoder.done and message.finish_reason is None:
            error = ProviderError(
                f"{self.endpoint.describe()}: the stream ended before the answer was complete",
                hint="the answer so far is kept; try again",
            )
            if "event-stream" not in content_type and not (message.content or message.tool_calls):
                error = ProviderError(
                    f"{self.endpoint.describe()}: the server answered with "
                    f"{content_type.split(';')[0] or 'an untyped body'} instead of an event stream",
                    hint="check base_url: it may point at a web page, or a proxy answered instead",
                )
            self._keep_partial(assembler, started, error=str(error))
            raise error
        self._append(
            message.to_message(),
            model=message.model or self.endpoint.model,
            usage=message.usage if isinstance(message.usage, dict) else None,
            duration=time.perf_counter() - started,
        )
        if message.usage and isinstance(message.usage, dict):
            self.usage.add(message.usage)
            yield UsageEvent(message.usage)
        if message.finish_reason == "length":
            yield Notice("the answer was cut off: the model reached its output token limit")
        elif message.finish_reason == "content_filter":
            yield Notice("the server's content filter stopped the answer")
        elif message.finish_reason not in (None, "stop", "tool_calls", "function_call"):
            yield Notice(f"the server ended the answer early ({message.finish_reason})")
        return message

    def _new_assembler(self) -> Any:
        if self._input is None:
            return StreamAssembler()
        from chatfn.wire.responses import ResponsesAssembler

        return ResponsesAssembler()

    def _open_stream(self) -> Any:
        """Start the streamed request; retry once without stream_options if the server rejects it."""
        from chatfn.wire.failures import rejects_stream_options

        if self._input is not None:
            return self._open_responses_stream()
        kwargs = self._request()
        create = self.client.chat.completions.with_streaming_response.create
        if not self._stream_usage:
            return create(**kwargs)
        try:
            stream = create(**kwargs, stream_options={"include_usage": True})
            return _Entered(stream.__enter__(), stream)
        except Exception as error:
            if not rejects_stream_options(error):
                raise
            self._stream_usage = False
            self._warn("the server does not accept stream_options; asking without token usage from now on")
            return create(**kwargs)

    def _open_responses_stream(self) -> Any:
        """Start a streamed ``POST /responses``; the body travels in ``extra_body`` (see :meth:`_request`).

        Stateless requests ask for encrypted reasoning, which OpenAI's non-reasoning
        models refuse with a 400: then ask again without it, for the rest of the
        session (such a model has no reasoning to send back).
        """
        from chatfn.wire.failures import rejects_encrypted_reasoning
        from chatfn.wire.items import responses_request

        def create() -> Any:
            body = responses_request(
                self.endpoint.model,
                self.messages,
                tools=self._definitions,
                store=self.endpoint.store,
                params=self.endpoint.params,
                converter=self._input,
                origin=self.endpoint.url,
                encrypted_reasoning=self._encrypted_reasoning,
            )
            model = body.pop("model")
            del body["stream"]
            return self.client.responses.with_streaming_response.create(model=model, stream=True, extra_body=body)

        if self.endpoint.store or not self._encrypted_reasoning:
            return create()
        try:
            stream = create()
            return _Entered(stream.__enter__(), stream)
        except Exception as error:
            if not rejects_encrypted_reasoning(error):
                raise
            self._encrypted_reasoning = False
            return create()

    def _request(self) -> dict[str, Any]:
        """Arguments for ``create``; the history travels in ``extra_body``.

        The SDK walks every message with its type hints before sending (its
        ``maybe_transform``), which for plain JSON messages changes nothing but costs
        time in proportion to the history: a second per request at a few hundred turns
        (bench/soak.py). ``extra_body`` is merged into the JSON as it is, after that
        walk, so the same bytes go out without the cost.
        """
        kwargs: dict[str, Any] = {"model": self.endpoint.model, "messages": [], "stream": True}
        if self.tools:
            if self.endpoint.api == "functions":
                kwargs["functions"] = self._definitions
                kwargs["function_call"] = "auto"
            else:
                kwargs["tools"] = self._definitions
        kwargs["extra_body"] = {**self.endpoint.params, "messages": self.messages}
        return kwargs

    def _located(self, error: ProviderError) -> ProviderError:
        """A stream error (from the decoder or assembler) naming the endpoint, with the key scrubbed."""
        from chatfn.wire.failures import scrub

        where = self.endpoint.describe()
        message = scrub(error.message, self.endpoint)
        if not message.startswith(where):
            message = f"{where}: {message}"
        return ProviderError(message, hint=error.hint)

    def _translate(self, error: Exception) -> ChatfnError:
        from chatfn.wire.failures import from_sdk_error

        if isinstance(error, ChatfnError):
            return error
        return from_sdk_error(error, self.endpoint)

    def _keep_partial(
        self, assembler: StreamAssembler, started: float, *, interrupted: bool = False, error: str | None = None
    ) -> None:
        """Keep the text that arrived before a failure; drop half-received tool calls."""
        partial = assembler.result()
        if not (partial.content or partial.refusal):
            return
        message: dict[str, Any] = {"role": "assistant", "content": partial.content or partial.refusal}
        self._append(
            message,
            model=partial.model or self.endpoint.model,
            duration=time.perf_counter() - started,
            interrupted=interrupted,
            error=error,
        )

    # -- tools ---------------------------------------------------------------

    def _run_tools(self, message: AssembledMessage) -> Iterator[Event]:
        calls = message.tool_calls
        for call in calls:
            yield ToolCallEvent(call)
        try:
            outcomes = run_tool_calls(
                calls, self.tools, self.options.tool_settings, approve=self.options.approve, validators=self._validators
            )
        except RoundInterrupted as stopped:
            # keep and show what finished; send() answers the calls still running as interrupted
            yield from self._keep_outcomes(message, stopped.finished)
            raise KeyboardInterrupt from None
        yield from self._keep_outcomes(message, outcomes)

    def _keep_outcomes(self, message: AssembledMessage, outcomes: list[ToolOutcome]) -> Iterator[Event]:
        for outcome in outcomes:
            tool = self.tools.get(outcome.call.name)
            if outcome.ok and tool is not None and returns_private_data(tool, self.options.tool_settings):
                self.options.exposure.note(tool.name)
            self._append(
                self._result_message(message, outcome.call, outcome.content),
                duration=outcome.duration,
                error=outcome.error,
            )
            yield ToolResultEvent(outcome)

    def _answer_pending_calls(self, reason: str) -> None:
        """Answer the last assistant message's calls that have no result yet, so the history stays valid."""
        index = len(self.messages) - 1
        while index >= 0 and self.messages[index].get("role") in ("tool", "function"):
            index -= 1
        if index < 0 or self.messages[index].get("role") != "assistant":
            return
        for result in missing_results(self.messages[index], self.messages[index + 1 :], reason):
            self._append(result, error=reason)

    @staticmethod
    def _result_message(message: AssembledMessage, call: ToolCall, content: str) -> dict[str, Any]:
        if message.legacy_function_call:
            return {"role": "function", "name": call.name, "content": content}
        return {"role": "tool", "tool_call_id": call.id, "content": content}

    # -- history and log -----------------------------------------------------

    def _append(self, message: dict[str, Any], **meta: Any) -> None:
        message = clean_data(message)  # a lone surrogate from the model cannot be logged or shown
        self.messages.append(message)
        self._to_log(lambda log: log.add_message(message, **meta))

    def _to_log(self, write: Callable[[ChatLog], None]) -> None:
        """Write to the log if there is one; a log that fails is turned off, never the chat."""
        if self.log is None:
            return
        try:
            write(self.log)
        except LogError as error:
            self.log = None
            self._warn(f"{error}; logging is off for the rest of this session")


class _Entered:
    """A stream already entered (to catch a rejection early), usable in a ``with``."""

    def __init__(self, response: Any, manager: Any) -> None:
        self._response = response
        self._manager = manager

    def __enter__(self) -> Any:
        return self._response

    def __exit__(self, *exc: Any) -> None:
        self._manager.__exit__(*exc)
