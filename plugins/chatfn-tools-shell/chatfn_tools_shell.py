"""A chatfn tool that runs a command: without a shell, with a timeout, output capped.

Each call needs the user's approval unless the command starts with a prefix from
``[plugins.shell] allow``. The per-call decision is exposed to chatfn as
``run_command.chatfn_needs_approval(arguments) -> bool``.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import chatfn

__all__ = ["ShellSettings", "find_operator", "make_run_command", "register_tools"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT_CHARS = 10_000
KILL_GRACE_SECONDS = 2.0
REGISTRATION_MARGIN_SECONDS = 5.0
SHELL_OPERATORS = frozenset("|&;<>\n`")
SHELL_SPECIAL = frozenset("|&;<>\n`$(){}*?[]~!")


@dataclass(frozen=True)
class ShellSettings:
    """The ``[plugins.shell]`` table, checked once at registration."""

    allow: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    timeout: float = DEFAULT_TIMEOUT
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    shell: bool = False

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> ShellSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - {"allow", "timeout", "max_output_chars", "shell"})
        if unknown:
            raise ValueError(f"[plugins.shell]: unknown key(s) {', '.join(unknown)}")
        allow = table.get("allow", [])
        if isinstance(allow, str) or not isinstance(allow, Sequence) or not all(isinstance(p, str) and p.strip() for p in allow):
            raise ValueError("[plugins.shell] allow must be a list of command prefixes, e.g. [\"git status\", \"ls\"]")
        try:
            prefixes = tuple(tuple(shlex.split(prefix)) for prefix in allow)
        except ValueError as error:
            raise ValueError(f"[plugins.shell] allow: cannot parse a prefix: {error}") from None
        timeout = table.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"[plugins.shell] timeout must be a positive number of seconds, not {timeout!r}")
        cap = table.get("max_output_chars", DEFAULT_MAX_OUTPUT_CHARS)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise ValueError(f"[plugins.shell] max_output_chars must be a positive integer, not {cap!r}")
        shell = table.get("shell", False)
        if not isinstance(shell, bool):
            raise ValueError(f"[plugins.shell] shell must be true or false, not {shell!r}")
        return cls(allow=prefixes, timeout=float(timeout), max_output_chars=cap, shell=shell)


def find_operator(command: str) -> str | None:
    """The first unquoted shell operator character (``| & ; < >``, backtick, newline), or None."""
    quote: str | None = None
    escaped = False
    for char in command:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in SHELL_OPERATORS:
            return char
    return None


def is_allowed(command: str, settings: ShellSettings) -> bool:
    """True when ``command`` starts with an allow-listed prefix and cannot smuggle in more."""
    if not settings.allow or not isinstance(command, str):
        return False
    if settings.shell:
        # A shell expands and chains anything: allow only plain words.
        if any(char in SHELL_SPECIAL for char in command):
            return False
    elif find_operator(command) is not None:
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(prefix and tuple(words[: len(prefix)]) == prefix for prefix in settings.allow)


def make_run_command(settings: ShellSettings) -> Callable[..., str]:
    """``run_command`` bound to ``settings``, with its per-call approval check attached."""

    def run_command(command: str, cwd: str | None = None) -> str:
        """Run one command on the user's machine and return its exit code, stdout and
        stderr (each capped). The command is split like a POSIX shell line but run
        WITHOUT a shell unless the user enabled one: no pipes, redirection, '&&', ';',
        globbing or variable expansion ('$HOME' stays literal); run one program per
        call and use cwd instead of 'cd'. Long-running commands are killed at the
        timeout.

        Args:
            command: The command line, e.g. "git log --oneline -5" or "python -m pytest -q".
            cwd: Directory to run in; default: the current directory.
        """
        if not isinstance(command, str) or not command.strip():
            raise ValueError("command must be a non-empty string")
        workdir = None
        if cwd is not None:
            workdir = os.path.abspath(os.path.expanduser(cwd))
            if not os.path.isdir(workdir):
                raise NotADirectoryError(f"cwd {cwd!r} is not an existing directory")
        if settings.shell:
            argv: str | list[str] = command
        else:
            operator = find_operator(command)
            if operator is not None:
                shown = "a newline" if operator == "\n" else repr(operator)
                raise PermissionError(
                    f"the command contains {shown}, a shell operator, but the shell is off: "
                    "pipes, redirection and command chaining are not available; run one command per call"
                )
            try:
                argv = shlex.split(command)
            except ValueError as error:
                raise ValueError(f"cannot parse the command: {error}") from None
            if not argv:
                raise ValueError("command must name a program to run")
        return _run(argv, workdir, settings)

    def needs_approval(arguments: Mapping[str, Any]) -> bool:
        return not is_allowed(arguments.get("command", ""), settings)

    run_command.chatfn_needs_approval = needs_approval  # type: ignore[attr-defined]
    return run_command


class _Capture:
    """Drains one pipe in a thread, keeping the first ``limit`` bytes and counting the rest."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.data = bytearray()
        self.total = 0
        self._stream = stream
        self._limit = limit
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
                self.total += len(chunk)
                room = self._limit - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
        except (OSError, ValueError):
            pass

    def text(self, name: str, max_chars: int) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if len(text) > max_chars or self.total > len(self.data):
            text = text[:max_chars]
            return f"{text}\n[{name} truncated: {len(text)} of {self.total} bytes shown]"
        return text


def _run(argv: str | list[str], cwd: str | None, settings: ShellSettings) -> str:
    byte_limit = settings.max_output_chars * 4  # enough bytes for max_output_chars of UTF-8
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            shell=isinstance(argv, str),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",
        )
    except FileNotFoundError:
        program = argv if isinstance(argv, str) else argv[0]
        hint = " (shell built-ins like cd, export or source need the shell; use cwd instead of cd)" if not settings.shell else ""
        raise FileNotFoundError(f"command not found: {program}{hint}") from None
    except PermissionError:
        raise PermissionError(f"not executable: {argv if isinstance(argv, str) else argv[0]}") from None
    assert process.stdout is not None and process.stderr is not None
    stdout = _Capture(process.stdout, byte_limit)
    stderr = _Capture(process.stderr, byte_limit)
    started = time.monotonic()
    timed_out = False
    try:
        process.wait(timeout=settings.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        process.wait()
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    finally:
        # A child that escaped the group may hold the pipes open: do not wait forever for it.
        for capture in (stdout, stderr):
            capture.thread.join(KILL_GRACE_SECONDS)
        for pipe in (process.stdout, process.stderr):
            pipe.close()
    elapsed = time.monotonic() - started
    if timed_out:
        head = f"timed out after {settings.timeout:g} s; the command was killed (exit code {process.returncode})"
    else:
        head = f"exit code: {process.returncode} ({elapsed:.1f} s)"
    cap = settings.max_output_chars
    parts = [head, "--- stdout ---", stdout.text("stdout", cap).rstrip("\n") or "(empty)"]
    parts += ["--- stderr ---", stderr.text("stderr", cap).rstrip("\n") or "(empty)"]
    return "\n".join(parts)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started (its own process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


@chatfn.hookimpl
def register_tools(register: Callable[..., None], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer run_command, configured by ``[plugins.shell]``; approval unless allow-listed."""
    settings = ShellSettings.from_config(plugin_config.get("shell", {}))
    # chatfn's own timeout is a backstop: ours kills the process group first.
    register(make_run_command(settings), needs_approval=True, timeout=settings.timeout + REGISTRATION_MARGIN_SECONDS)
