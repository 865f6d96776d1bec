"""`chatfn logs`: look back at logged conversations, their tool calls and results.

A thin shell over :mod:`chatfn.log.store`. Reading commands never create the log:
with no file there is simply nothing logged yet.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from chatfn.cli.options import ConfigOption
from chatfn.errors import LogError
from chatfn.history import content_text
from chatfn.output.console import emit
from chatfn.output.sanitize import json_safe, visible

if TYPE_CHECKING:
    from chatfn.log.store import Conversation, LoggedMessage, LogStore

app = typer.Typer(help="Browse and search the conversation log.", no_args_is_help=True)

JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
NOTHING_LOGGED = "no conversations logged yet"


def _log_path(config: Path | None = None) -> Path:
    """The log's path: ``$CHATFN_LOG_DB``, else the config's ``log.path``, else the default.

    The config file is read only when the environment does not decide, so a broken
    config never hides a log named by ``$CHATFN_LOG_DB``.
    """
    from chatfn.log.store import default_log_path
    from chatfn.settings.resolve import resolve

    if resolve("log_path").source != "default":
        return default_log_path()
    from chatfn.settings.config import load_config

    return default_log_path(load_config(config).log.path)


def _open(config: Path | None) -> LogStore | None:
    """The existing log, or None when nothing was ever logged."""
    from chatfn.log.store import LogStore

    path = _log_path(config)
    if not path.exists():
        return None
    return LogStore.open(path)


@app.command("list")
def list_command(
    limit: int = typer.Option(20, "-n", "--limit", min=1, help="How many conversations, newest first."),
    as_json: bool = JsonOption,
    config: Optional[Path] = ConfigOption,
) -> None:
    """List recent conversations: id, time, model, message count and first words."""
    from chatfn.output.console import status

    store = _open(config)
    summaries = []
    if store is not None:
        with store:
            summaries = store.list_conversations(limit)
    if as_json:
        emit(json_safe(json.dumps([asdict(summary) for summary in summaries], indent=2, ensure_ascii=False)))
        return
    if not summaries:
        status(NOTHING_LOGGED)
    for summary in summaries:
        count = f"{summary.message_count} msg" + ("" if summary.message_count == 1 else "s")
        emit(visible(f"{summary.id}  {_when(summary.updated_at)}  {summary.model or '-'}  {count}  {summary.title or ''}".rstrip()))


@app.command("show")
def show_command(
    conversation_id: Optional[str] = typer.Argument(None, metavar="[ID]", help="An id or its start (default: the latest)."),
    as_json: bool = JsonOption,
    config: Optional[Path] = ConfigOption,
) -> None:
    """Show a whole conversation, with tool calls, their arguments and results."""
    store = _open(config)
    if store is None:
        raise LogError(NOTHING_LOGGED if conversation_id is None else f"no logged conversation has an id starting with {conversation_id!r}")
    with store:
        if conversation_id is None:
            conversation_id = store.latest_conversation_id()
            if conversation_id is None:
                raise LogError(NOTHING_LOGGED)
        else:
            conversation_id = store.resolve_id(conversation_id)
        conversation = store.conversation(conversation_id)
    if as_json:
        emit(json_safe(json.dumps(conversation_json(conversation), indent=2, ensure_ascii=False)))
        return
    emit(visible("\n".join(render_conversation(conversation))))


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    """``logs show --json``: ``messages`` exactly as the API takes them, bookkeeping beside them.

    ``messages`` can be sent back to any Chat Completions server as it is; ``log``
    holds, at the same index, what chatfn noted about each message (time, model,
    duration, usage, interrupted, error, and for a Responses API turn the items and
    response id under ``responses``).
    """
    from chatfn.wire.responses import RESPONSES_KEY

    data = asdict(conversation)
    logged = data.pop("messages")
    data["messages"] = [entry.pop("message") for entry in logged]
    for message, entry in zip(data["messages"], logged):
        if RESPONSES_KEY in message:
            entry[RESPONSES_KEY] = message.pop(RESPONSES_KEY)
    data["log"] = logged
    return data


@app.command("rm")
def rm_command(
    conversation_ids: Optional[list[str]] = typer.Argument(None, metavar="[ID]...", help="Ids or their starts."),
    everything: bool = typer.Option(False, "--all", help="Delete every logged conversation (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --all (needed without a terminal)."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Delete conversations, their messages and their search index entries."""
    from chatfn.errors import UsageError
    from chatfn.output.console import is_terminal, status

    if bool(conversation_ids) == everything:
        raise UsageError("give conversation ids, or --all", hint="'chatfn logs list' shows the ids")
    store = _open(config)
    if store is None:
        if everything:
            status(NOTHING_LOGGED)
            return
        raise LogError(f"no logged conversation has an id starting with {conversation_ids[0]!r}")  # type: ignore[index]
    with store:
        if everything:
            ids = store.all_conversation_ids()
            if not ids:
                status(NOTHING_LOGGED)
                return
            if not yes:
                if not is_terminal(sys.stdin):
                    raise UsageError("--all deletes every conversation; pass --yes to confirm without a terminal")
                if not typer.confirm(f"Delete all {len(ids)} logged conversations?", default=False, err=True):
                    status("nothing deleted")
                    return
        else:
            ids = list(dict.fromkeys(store.resolve_id(prefix) for prefix in conversation_ids or []))
        deleted = store.delete_conversations(ids)
    status(f"deleted {deleted} conversation" + ("" if deleted == 1 else "s"))


@app.command("search")
def search_command(
    text: str = typer.Argument(..., help="Words that must all appear (punctuation is taken literally)."),
    limit: int = typer.Option(50, "-n", "--limit", min=1, help="At most this many hits."),
    as_json: bool = JsonOption,
    config: Optional[Path] = ConfigOption,
) -> None:
    """Find messages, tool calls and tool results that contain TEXT."""
    from chatfn.output.console import status

    store = _open(config)
    hits = []
    if store is not None:
        with store:
            hits = store.search(text, limit)
    if as_json:
        emit(json_safe(json.dumps([asdict(hit) for hit in hits], indent=2, ensure_ascii=False)))
        return
    if not hits:
        status(NOTHING_LOGGED if store is None else visible(f"nothing matches {text!r}"))
    for hit in hits:
        snippet = " ".join(hit.snippet.split())
        emit(visible(f"{hit.conversation_id}  #{hit.seq} {hit.role}  {_when(hit.created_at)}  {snippet}"))


@app.command("path")
def path_command(config: Optional[Path] = ConfigOption) -> None:
    """Print where the conversation log is kept."""
    typer.echo(str(_log_path(config)))


def render_conversation(conversation: Conversation) -> list[str]:
    """A conversation as plain text: role headers, ``→ tool(args)`` calls and ``← result`` lines."""
    details = ", ".join(part for part in (conversation.provider, conversation.profile and f"profile {conversation.profile}") if part)
    lines = [f"conversation {conversation.id}  {_when(conversation.created_at)}  {conversation.model or '-'}" + (f" ({details})" if details else "")]
    call_names: dict[Any, str] = {}
    for logged in conversation.messages:
        lines.append("")
        message = logged.message
        text = content_text(message.get("content"), placeholders=True)
        lines.append(_header(logged, shown=text or ""))
        role = logged.role
        if role in ("tool", "function"):
            name = message.get("name") or call_names.get(message.get("tool_call_id")) or "tool"
            lines.extend(_indent(f"← {name}: {text}" if text is not None else f"← {name}"))
        elif text:
            lines.extend(_indent(text))
        for call in _calls(message):
            function = call.get("function") or {}
            name = str(function.get("name") or "?")
            call_names[call.get("id")] = name
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            lines.extend(_indent(f"→ {name}({arguments})"))
        if message.get("refusal"):
            lines.extend(_indent(f"(refused) {message['refusal']}"))
    return lines


def _header(logged: LoggedMessage, shown: str = "") -> str:
    """The message's role and bookkeeping; an error its text already says is not said again."""
    notes = [_when(logged.created_at, seconds=True)]
    if logged.model and logged.role == "assistant":
        notes.append(logged.model)
    if logged.duration is not None:
        notes.append(f"{logged.duration:.1f}s")
    if logged.usage and isinstance(logged.usage.get("total_tokens"), int):
        notes.append(f"{logged.usage['total_tokens']} tokens")
    if logged.interrupted:
        notes.append("[interrupted]")
    error = " ".join((logged.error or "").split())
    if error and error not in " ".join(shown.split()):
        notes.append(f"[error: {error}]")
    return f"── {logged.role} ──  " + "  ".join(notes)


def _calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        return [call for call in calls if isinstance(call, dict)]
    if isinstance(message.get("function_call"), dict):
        return [{"id": None, "function": message["function_call"]}]
    return []


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()] or ["  "]


def _when(timestamp: str, *, seconds: bool = False) -> str:
    """A stored UTC timestamp in local time, for reading."""
    try:
        moment = datetime.fromisoformat(timestamp).astimezone()
    except ValueError:
        return timestamp
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
