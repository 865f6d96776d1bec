"""The conversation history's messages: their text, and the rule servers enforce on them.

The rule: every tool call has a result.
A server refuses a history in which an assistant message's tool call (or legacy
``function_call``) is not followed by its result. Calls go unanswered when the user
interrupts, when the loop stops at ``max_rounds``, or when chatfn is killed while a
tool runs; the loop (:mod:`chatfn.chat`) and the log (:mod:`chatfn.log.store`) both
answer them here, with an ``Error:`` result that says why.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["answer_unanswered_calls", "content_text", "missing_results"]

Message = dict[str, Any]


def missing_results(assistant: Message, replies: list[Message], reason: str) -> list[Message]:
    """Error results for the calls of ``assistant`` that none of ``replies`` answers, in call order."""
    content = f"Error: {reason}"
    function_call = assistant.get("function_call")
    if isinstance(function_call, dict):
        if any(reply.get("role") == "function" for reply in replies):
            return []
        return [{"role": "function", "name": function_call.get("name", ""), "content": content}]
    answered = {reply.get("tool_call_id") for reply in replies if reply.get("role") == "tool"}
    return [
        {"role": "tool", "tool_call_id": call.get("id"), "content": content}
        for call in assistant.get("tool_calls") or []
        if call.get("id") not in answered
    ]


def answer_unanswered_calls(messages: list[Message], reason: str) -> list[Message]:
    """``messages`` with an error result after the results of every call that has none."""
    out: list[Message] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        out.append(message)
        index += 1
        if message.get("role") != "assistant":
            continue
        start = index
        while index < len(messages) and messages[index].get("role") in ("tool", "function"):
            index += 1
        replies = messages[start:index]
        out.extend(replies)
        out.extend(missing_results(message, replies, reason))
    return out


def content_text(content: Any, *, placeholders: bool = False) -> str | None:
    """A message's ``content`` as text: a string as it is, a list of parts as their texts, one a line.

    ``placeholders`` shows a part without text (an image, a file) as ``[its type]``
    instead of leaving it out; anything else is shown as JSON.
    """
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif placeholders:
                texts.append(f"[{part.get('type', 'part') if isinstance(part, dict) else 'part'}]")
        return "\n".join(texts)
    return json.dumps(content, ensure_ascii=False)
