"""The ``chatfn`` command line: a thin Typer shell over the core.

Each command lives in a module of its own and imports what it needs inside the
command, so commands that never talk to a model never import the openai SDK.
Errors from the core (:mod:`chatfn.errors`) become one line on stderr and an exit
code here, at the edge, and nowhere else.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING, Optional

import typer
import typer.core
import typer.main

from chatfn import __version__
from chatfn.cli import (
    chat_cmd,
    config_cmd,
    logs_cmd,
    mcp_cmd,
    models_cmd,
    plugins_cmd,
    tools_cmd,
)
from chatfn.errors import EXIT_FAILURE, EXIT_INTERRUPTED, ChatfnError, HangUp

if TYPE_CHECKING:
    from typer.core import TyperGroup

COMPLETION_VARIABLE = "_CHATFN_COMPLETE"
"""Set by the shell completion scripts 'chatfn --install-completion' installs."""
EXIT_CODES_HELP = "Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted."
ROOT_HELP = (
    "Chat with OpenAI-compatible models that call tools from plugins.\n\n"
    "'chatfn PROMPT' (or text piped to 'chatfn') is short for 'chatfn chat PROMPT'. "
    "A prompt that is a command's name runs the command; send it with 'chatfn chat PROMPT' or 'chatfn -- PROMPT'."
)

app = typer.Typer(
    name="chatfn",
    help=ROOT_HELP,
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chatfn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Chat with OpenAI-compatible models that call tools from plugins."""


chat_cmd.register(app)
models_cmd.register(app)
app.add_typer(tools_cmd.app, name="tools")
app.add_typer(plugins_cmd.app, name="plugins")
app.add_typer(config_cmd.app, name="config")
app.add_typer(logs_cmd.app, name="logs")
app.add_typer(mcp_cmd.app, name="mcp")


@functools.cache
def command() -> TyperGroup:
    """The click command Typer builds from :data:`app`, built once per process.

    Typer rebuilds it on every ``app()`` call by reading each command's signature
    (about a third of what an in-process run costs); a process runs one command,
    but a test runner or a program that embeds chatfn runs many.
    """
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)  # an app with a callback and commands is a group
    return group


def report(error: ChatfnError) -> None:
    """Print ``error`` as one line (and its hint) on stderr."""
    from chatfn.output.console import error_line

    error_line(str(error), hint=error.hint)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI; chatfn errors and unexpected failures become one line and an exit code.

    Typer already maps Ctrl-C to exit 130 and usage errors to exit 2. Anything else
    that escapes a command is reported without a traceback (tracebacks can hold
    secrets in their arguments); ``CHATFN_DEBUG=1`` prints one, without locals.
    """
    from chatfn.cli.default_command import command_names, with_default_command

    _stop_on_hang_up()
    if COMPLETION_VARIABLE not in os.environ:  # a shell asking for completions passes no real argv
        argv = with_default_command(sys.argv[1:] if argv is None else argv, command_names(app), sys.stdin)
        if _wants_json(argv):
            from chatfn.output.console import keep_stdout_private

            keep_stdout_private()  # what plugins and tools print goes to stderr, at import and later
    try:
        command()(args=argv, prog_name="chatfn")
    except ChatfnError as error:
        if debug_enabled():
            traceback.print_exc()
        report(error)
        sys.exit(error.exit_code)
    except HangUp:
        sys.exit(EXIT_INTERRUPTED)  # nobody is left to read a message
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # a bug, or a plugin misbehaving outside a tool call
        if debug_enabled():
            traceback.print_exc()
        from chatfn.output.console import error_line

        error_line(
            f"internal error: {type(error).__name__}: {error}",
            hint="set CHATFN_DEBUG=1 to see the traceback, and please report it",
        )
        sys.exit(EXIT_FAILURE)


def _wants_json(argv: list[str]) -> bool:
    """True when ``--json`` is among the options (not after a ``--``)."""
    for argument in argv:
        if argument == "--":
            return False
        if argument == "--json":
            return True
    return False


def _stop_on_hang_up() -> None:
    """Turn SIGHUP and SIGTERM into :class:`HangUp`: chatfn ends like Ctrl-C, keeping the partial answer.

    A closed terminal sends SIGHUP; ``kill``, ``timeout`` and service managers send
    SIGTERM. Either way what arrived is logged and the exit code is 130.
    """
    def hang_up(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_IGN)  # once is enough
        raise HangUp()

    for name in ("SIGHUP", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is not None:  # Windows has no SIGHUP
            signal.signal(signum, hang_up)


def debug_enabled() -> bool:
    """``CHATFN_DEBUG=1`` lets developers see tracebacks (never with locals)."""
    return os.environ.get("CHATFN_DEBUG", "") not in ("", "0")
