"""`chatfn chat`: answer once (prompt or piped text) or hold an interactive session."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path
from typing import Any, List, Optional

import typer
from typer.core import TyperCommand

from chatfn.cli.models_cmd import complete_model
from chatfn.cli.options import ConfigOption, McpConfigOption
from chatfn.errors import EXIT_INTERRUPTED, ChatfnError, HangUp, UsageError
from chatfn.settings.options import HELP as OPTION_HELP


class ChatCommand(TyperCommand):
    """The chat command, whose ``-o/--option`` takes two values (KEY VALUE) each time.

    Typer cannot declare a repeatable pair; click can, so the parsed option is given
    ``nargs=2`` here and each occurrence arrives as a ``(key, value)`` tuple.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.name == "option":
                param.nargs = 2


def register(app: typer.Typer) -> None:
    """Add the chat command to ``app``."""
    app.command(
        "chat", cls=ChatCommand, epilog="Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted."
    )(chat)


def chat(
    prompt: Optional[str] = typer.Argument(None, help="Ask once and exit. Piped stdin is appended to it."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model (or Azure deployment): 'chatfn models' lists them.", autocompletion=complete_model
    ),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", help="Profile: built in (groq, ollama…: 'chatfn config show --profiles') or from the config."
    ),
    system: Optional[str] = typer.Option(None, "--system", "-s", help="System prompt."),
    option: Optional[List[str]] = typer.Option(None, "--option", "-o", metavar="KEY VALUE", help=OPTION_HELP),
    tool: Optional[List[str]] = typer.Option(None, "--tool", "-T", help="Offer only this tool (repeatable)."),
    no_tools: bool = typer.Option(False, "--no-tools", help="Offer no tools at all."),
    max_rounds: Optional[int] = typer.Option(None, "--max-rounds", min=1, help="Tool-call rounds per answer [10]."),
    approve: bool = typer.Option(False, "--approve", "--yes", "-y", help="Approve every tool call without asking."),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per event on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No tool traces or reasoning on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Token usage at the end."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log this conversation."),
    resume: bool = typer.Option(False, "--continue", "-c", help="Continue the latest logged conversation."),
    cid: Optional[str] = typer.Option(None, "--cid", help="Continue the logged conversation with this id."),
    config: Optional[Path] = ConfigOption,
    mcp_config: Optional[List[Path]] = McpConfigOption,
) -> None:
    """Chat with a model that can call tools."""
    from chatfn.chat import ChatOptions, ChatSession
    from chatfn.cli.mcp_cmd import load_settings
    from chatfn.output.console import is_terminal, warning
    from chatfn.settings.resolve import value
    from chatfn.terminal.approval import Approver
    from chatfn.terminal.render import make_renderer
    from chatfn.wire.endpoint import resolve_endpoint

    settings = load_settings(config, mcp_config)
    endpoint = resolve_endpoint(settings, profile=profile, model=model, system_prompt=system)
    if option:
        from dataclasses import replace

        from chatfn.settings.options import from_command_line

        endpoint = replace(endpoint, params={**endpoint.params, **from_command_line(option)})  # type: ignore[arg-type]
    text = _one_shot_text(prompt)
    tools = [] if no_tools else _select_tools(settings, tool or [])
    interactive = is_terminal(sys.stdin)
    options = ChatOptions(max_rounds=value("max_rounds", flag=max_rounds, file=settings.max_rounds), tool_settings=settings.tools)
    options.approve = Approver(settings.tools, approve_all=approve, exposure=options.exposure)
    logging = value("log_enabled", flag=False if no_log else None, file=settings.log.enabled)
    log, history = _open_log(settings, endpoint, enabled=logging, resume=resume, cid=cid)
    session = ChatSession(endpoint, tools, options, history=history, log=log, on_warning=warning)
    renderer = make_renderer(json_lines=json_lines, quiet=quiet)
    try:
        if text is None:
            if not interactive:
                raise UsageError("nothing to send", hint="give a prompt, pipe text on stdin, or run in a terminal")
            from chatfn.terminal.session import run_interactive, warm_up_sdk

            warm_up_sdk()
            run_interactive(session, renderer, show_tools=lambda: _print_tools(session.tools.values()))
        else:
            _answer_once(session, renderer, text)
    finally:
        if verbose:
            renderer.usage(session.usage)
        if log is not None:
            log.close()


def _answer_once(session: Any, renderer: Any, text: str) -> None:
    try:
        with closing(session.send(text)) as events:
            for event in events:
                renderer.event(event)
    except HangUp:
        raise typer.Exit(EXIT_INTERRUPTED) from None  # the terminal is gone: nothing to show
    except KeyboardInterrupt:
        renderer.interrupted()
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ChatfnError as error:
        renderer.error(error)
        raise typer.Exit(error.exit_code) from None


def _one_shot_text(prompt: Optional[str]) -> Optional[str]:
    """The prompt, then piped stdin; None for an interactive session."""
    piped: Optional[str] = None
    if not sys.stdin.isatty():
        data = sys.stdin.buffer.read()
        try:
            piped = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UsageError(f"standard input is not UTF-8 text (byte {error.start})") from None
        if prompt is None and not piped.strip():
            raise UsageError("empty prompt: standard input held no text")
    if prompt is None:
        return piped
    if not prompt.strip() and not (piped and piped.strip()):
        raise UsageError("empty prompt")
    return f"{prompt}\n\n{piped}" if piped and piped.strip() else prompt


def _select_tools(settings: Any, names: list[str]) -> list[Any]:
    from chatfn.plugins.host import load_tools

    loaded = load_tools(settings).tools
    if not names:
        return list(loaded.values())
    missing = [name for name in names if name not in loaded]
    if missing:
        raise UsageError(
            f"no tool named {', '.join(missing)}", hint="'chatfn tools list' shows the tools there are"
        )
    return [loaded[name] for name in names]


def _print_tools(tools: Any) -> None:
    from chatfn.cli.tools_cmd import tool_table
    from chatfn.output.console import status
    from chatfn.output.fit import columns_of

    listed = list(tools)
    if not listed:
        status("no tools")
    for line in tool_table(listed, columns_of(sys.stderr)):
        status(line)


def _open_log(
    settings: Any, endpoint: Any, *, enabled: bool, resume: bool, cid: Optional[str]
) -> tuple[Any, Optional[list[dict[str, Any]]]]:
    """The conversation log for this session, and the history to resume, if asked."""
    if not enabled:
        if resume or cid:
            raise UsageError("--continue and --cid need the conversation log, which is turned off")
        return None, None
    from chatfn.log.session import open_chat_log

    return open_chat_log(settings, endpoint, resume=resume, cid=cid)
