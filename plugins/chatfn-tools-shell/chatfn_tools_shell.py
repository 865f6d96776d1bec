"""A chatfn tool that runs a command: without a shell, in a confined folder, with a
timeout, in a process group that is always cleaned up, output capped.

Each call needs the user's approval unless its parsed argv matches a rule from
``[plugins.shell] allow`` exactly: literal words match themselves, and only the
placeholders ``{path}``, ``{word}`` and ``{int}`` (optionally repeated with ``...`` at
the end) stand for other arguments. No placeholder matches an option, so a rule never
lets in ``--output=...`` or ``--no-index`` unless it spells them out, and a path must
stay inside the working folder. The per-call decision is exposed to chatfn as
``run_command.chatfn_needs_approval(arguments) -> bool``.

Every command runs in its own session and process group. The group is terminated
(SIGTERM, then SIGKILL after a grace period) when the command times out, when the
command itself ends (nothing it started is left behind), on Ctrl-C, SIGTERM and
SIGHUP of chatfn, and when chatfn exits; a small watchdog process stops them when
chatfn dies in a way it cannot see (SIGKILL).
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, Any

import chatfn

__all__ = ["Rule", "ShellSettings", "find_operator", "make_run_command", "register_tools"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT_CHARS = 10_000
DEFAULT_KILL_GRACE = 2.0
REGISTRATION_MARGIN_SECONDS = 5.0
POLL_SECONDS = 0.05
SHELL_OPERATORS = frozenset("|&;<>\n`")
SHELL_SPECIAL = frozenset("|&;<>\n`$(){}*?[]~!")
PLACEHOLDERS = frozenset({"{path}", "{word}", "{int}"})
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,:@%+=^~-]*")
_INT = re.compile(r"[0-9]{1,18}")
_SETTINGS_KEYS = {"allow", "root", "timeout", "max_output_chars", "shell", "kill_grace"}


@dataclass(frozen=True)
class Rule:
    """One ``allow`` entry: the argv it matches, word for word, with placeholders."""

    text: str
    words: tuple[str, ...]
    repeat: str | None = None
    """The placeholder that the trailing ``...`` lets match zero or more further arguments."""

    @classmethod
    def parse(cls, text: str) -> Rule:
        """``"git diff {path}..."`` -> its words; unknown placeholders and a leading placeholder are errors."""
        try:
            words = shlex.split(text)
        except ValueError as error:
            raise ValueError(f"[plugins.shell] allow: cannot parse {text!r}: {error}") from None
        repeat = None
        if words and words[-1].endswith("...") and words[-1][:-3] in PLACEHOLDERS:
            repeat = words.pop()[:-3]
        for word in words:
            if "{" in word and word not in PLACEHOLDERS:
                raise ValueError(
                    f"[plugins.shell] allow: {text!r} has {word!r}; the placeholders are {{path}}, {{word}} and {{int}}"
                    " (add ... to the last one to allow it repeated)"
                )
        if not words or words[0] in PLACEHOLDERS:
            raise ValueError(f"[plugins.shell] allow: {text!r} must start with the program's name")
        return cls(text=text, words=tuple(words), repeat=repeat)

    def matches(self, argv: Sequence[str], cwd: str) -> bool:
        """True when ``argv`` is exactly this rule, placeholders standing for safe arguments."""
        if len(argv) < len(self.words) or (self.repeat is None and len(argv) != len(self.words)):
            return False
        for word, argument in zip(self.words, argv):
            if word in PLACEHOLDERS:
                if not _fits(word, argument, cwd):
                    return False
            elif argument != word:
                return False
        return all(_fits(self.repeat, argument, cwd) for argument in argv[len(self.words) :]) if self.repeat else True


def _fits(placeholder: str, argument: str, cwd: str) -> bool:
    """Whether ``argument`` may stand for ``placeholder``: never an option, never a way out of ``cwd``."""
    if not argument or argument.startswith("-") or "\x00" in argument:
        return False
    if placeholder == "{int}":
        return _INT.fullmatch(argument) is not None
    if placeholder == "{word}":
        if _WORD.fullmatch(argument) is None:
            return False
        # A plain word may still name a symlink in cwd that leads elsewhere.
        return not os.path.lexists(os.path.join(cwd, argument)) or _inside(os.path.join(cwd, argument), cwd)
    return not os.path.isabs(argument) and _inside(os.path.join(cwd, argument), cwd)


def _inside(path: str, folder: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip("/") + "/")


@dataclass(frozen=True)
class ShellSettings:
    """The ``[plugins.shell]`` table, checked once at registration."""

    allow: tuple[Rule, ...] = field(default_factory=tuple)
    root: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    shell: bool = False
    kill_grace: float = DEFAULT_KILL_GRACE

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> ShellSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - _SETTINGS_KEYS)
        if unknown:
            raise ValueError(f"[plugins.shell]: unknown key(s) {', '.join(unknown)}")
        allow = table.get("allow", [])
        if isinstance(allow, str) or not isinstance(allow, Sequence) or not all(isinstance(p, str) and p.strip() for p in allow):
            raise ValueError('[plugins.shell] allow must be a list of commands, e.g. ["git status", "ls {path}..."]')
        root = table.get("root")
        if root is not None and (not isinstance(root, str) or not root):
            raise ValueError(f"[plugins.shell] root must be a non-empty path string, not {root!r}")
        timeout = _positive_number(table, "timeout", DEFAULT_TIMEOUT)
        grace = _positive_number(table, "kill_grace", DEFAULT_KILL_GRACE)
        cap = table.get("max_output_chars", DEFAULT_MAX_OUTPUT_CHARS)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise ValueError(f"[plugins.shell] max_output_chars must be a positive integer, not {cap!r}")
        shell = table.get("shell", False)
        if not isinstance(shell, bool):
            raise ValueError(f"[plugins.shell] shell must be true or false, not {shell!r}")
        rules = tuple(Rule.parse(text) for text in allow)
        return cls(allow=rules, root=root, timeout=timeout, max_output_chars=cap, shell=shell, kill_grace=grace)

    def root_path(self) -> str:
        """The root, resolved now (so the default follows the current directory)."""
        root = os.path.realpath(os.path.expanduser(self.root) if self.root else os.getcwd())
        if not os.path.isdir(root):
            raise FileNotFoundError(f"the shell root {self.root!r} is not a directory")
        return root

    def working_directory(self, cwd: str | None) -> str:
        """``cwd`` (relative to the root, or absolute inside it) resolved; PermissionError outside the root."""
        root = self.root_path()
        if cwd is None or cwd in ("", "."):
            return root
        if not isinstance(cwd, str) or "\x00" in cwd:
            raise ValueError("cwd must be a path string")
        folder = os.path.join(root, os.path.expanduser(cwd))
        if not _inside(folder, root):
            raise PermissionError(f"cwd {cwd!r} is outside the allowed root {root!r}; use a folder inside it")
        if not os.path.isdir(folder):
            raise NotADirectoryError(f"cwd {cwd!r} is not an existing directory")
        return os.path.realpath(folder)


def _positive_number(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"[plugins.shell] {key} must be a positive number of seconds, not {value!r}")
    return float(value)


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


def split_command(command: str, settings: ShellSettings) -> list[str]:
    """The argv ``command`` runs as (without a shell); ValueError/PermissionError when it cannot run so."""
    if not isinstance(command, str) or not command.strip():
        raise ValueError("command must be a non-empty string")
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
    return argv


def is_allowed(arguments: Mapping[str, Any], settings: ShellSettings) -> bool:
    """True when the call matches an ``allow`` rule exactly (and so may run without asking)."""
    command = arguments.get("command")
    if not settings.allow or not isinstance(command, str):
        return False
    try:
        cwd = settings.working_directory(arguments.get("cwd"))
        if settings.shell and any(char in SHELL_SPECIAL for char in command):
            return False  # a shell expands and chains anything: allow only plain words
        argv = split_command(command, settings)
    except (OSError, ValueError):
        return False
    return any(rule.matches(argv, cwd) for rule in settings.allow)


def approval_scope(arguments: Mapping[str, Any]) -> str:
    """What ``[a]lways`` covers: this exact command line in this folder, nothing else."""
    command, cwd = arguments.get("command"), arguments.get("cwd")
    try:
        line = shlex.join(shlex.split(command)) if isinstance(command, str) else repr(command)
    except ValueError:
        line = repr(command)
    return f"{line} (in {cwd})" if cwd not in (None, "", ".") else line


def make_run_command(settings: ShellSettings) -> Callable[..., str]:
    """``run_command`` bound to ``settings``, with its per-call approval check attached."""

    def run_command(command: str, cwd: str | None = None) -> str:
        """Run one command on the user's machine and return its exit code, stdout and
        stderr (each capped). The command is split like a POSIX shell line but run
        WITHOUT a shell unless the user enabled one: no pipes, redirection, '&&', ';',
        globbing or variable expansion ('$HOME' stays literal); run one program per
        call and use cwd instead of 'cd'. Long-running commands are killed at the
        timeout, and so is anything a command leaves running.

        Args:
            command: The command line, e.g. "git log --oneline -5" or "python -m pytest -q".
            cwd: Folder to run in, relative to the workspace root; default: the root.
        """
        workdir = settings.working_directory(cwd)
        if settings.shell:
            if not isinstance(command, str) or not command.strip():
                raise ValueError("command must be a non-empty string")
            return _run(command, workdir, settings)
        return _run(split_command(command, settings), workdir, settings)

    run_command.chatfn_needs_approval = lambda arguments: not is_allowed(arguments, settings)  # type: ignore[attr-defined]
    return run_command


# -- process groups ----------------------------------------------------------------


class _Group:
    """A running command's process group, and whether chatfn was told to stop."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pgid = process.pid  # start_new_session: the command leads its own session and group
        self.stopping = threading.Event()

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def empty(self) -> bool:
        self.process.poll()  # reap the leader, or its zombie keeps the group alive
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def stop(self, grace: float) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after ``grace`` seconds."""
        if self.empty():
            return
        self.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.empty():
                return
            time.sleep(0.02)
        self.signal(signal.SIGKILL)
        self.process.wait()


_live: set[_Group] = set()
_live_lock = threading.RLock()  # re-entrant: a signal handler may run while this thread holds it
_grace = DEFAULT_KILL_GRACE
_previous_handlers: dict[int, Any] = {}
_watchdog: subprocess.Popen[bytes] | None = None

WATCHDOG = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
def signal_all(signum):
    for pgid in list(groups):
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            groups.discard(pgid)
signal_all(signal.SIGTERM)
deadline = time.monotonic() + float(sys.argv[1])
while groups and time.monotonic() < deadline:
    time.sleep(0.05)
    signal_all(0)
signal_all(signal.SIGKILL)
"""
"""The watchdog's program: it learns each group as it starts and ends; when its stdin
closes (chatfn has gone, even by SIGKILL, which no handler sees) it stops what is left."""


def _tell_watchdog(sign: str, pgid: int) -> None:
    """Keep the watchdog's list of live groups, starting it on first use (best effort)."""
    global _watchdog
    try:
        if _watchdog is None or _watchdog.poll() is not None:
            _watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", WATCHDOG, str(_grace)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # out of reach of the terminal's Ctrl-C and hang-up
            )
        assert _watchdog.stdin is not None
        _watchdog.stdin.write(f"{sign}{pgid}\n".encode())
        _watchdog.stdin.flush()
    except (OSError, ValueError):  # no watchdog: the handlers and atexit still stop the groups
        pass


def _live_groups() -> list[_Group]:
    with _live_lock:
        return list(_live)


def stop_all() -> None:
    """Terminate every command still running (at exit, or when chatfn is told to stop)."""
    groups = _live_groups()
    for group in groups:
        group.stopping.set()
        group.signal(signal.SIGTERM)
    deadline = time.monotonic() + _grace
    for group in groups:
        while not group.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not group.empty():
            group.signal(signal.SIGKILL)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Stop the commands, then do what chatfn (or Python) would have done with the signal."""
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        for group in _live_groups():  # chatfn goes on (or unwinds): each command's thread finishes the kill
            group.stopping.set()
            group.signal(signal.SIGTERM)
        previous(signum, frame)
        return
    stop_all()  # the default action ends the process at once: finish the job first
    signal.signal(signum, previous)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    """Chain onto SIGINT, SIGTERM and SIGHUP once (main thread only; ignored signals stay ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        current = signal.getsignal(signum)
        if current is _on_signal or current == signal.SIG_IGN or current is None:
            continue
        _previous_handlers[signum] = current
        signal.signal(signum, _on_signal)


atexit.register(stop_all)


# -- running -----------------------------------------------------------------------


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


def _run(argv: str | list[str], cwd: str, settings: ShellSettings) -> str:
    byte_limit = settings.max_output_chars * 4  # enough bytes for max_output_chars of UTF-8
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            shell=isinstance(argv, str),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        program = argv if isinstance(argv, str) else argv[0]
        hint = " (shell built-ins like cd, export or source need the shell; use cwd instead of cd)" if not settings.shell else ""
        raise FileNotFoundError(f"command not found: {program}{hint}") from None
    except PermissionError:
        raise PermissionError(f"not executable: {argv if isinstance(argv, str) else argv[0]}") from None
    group = _Group(process)
    with _live_lock:
        _live.add(group)
        _tell_watchdog("+", group.pgid)
    assert process.stdout is not None and process.stderr is not None
    stdout = _Capture(process.stdout, byte_limit)
    stderr = _Capture(process.stderr, byte_limit)
    started = time.monotonic()
    outcome = "exited"
    try:
        while process.poll() is None and not group.stopping.is_set():
            if time.monotonic() - started > settings.timeout:
                outcome = "timed out"
                break
            time.sleep(POLL_SECONDS)
        if group.stopping.is_set():  # the signal may have ended the command before this loop looked
            outcome = "stopped"
    finally:
        group.stop(settings.kill_grace)  # the leader's end is not the group's: nothing is left behind
        with _live_lock:
            _live.discard(group)
            _tell_watchdog("-", group.pgid)
        for capture, pipe in ((stdout, process.stdout), (stderr, process.stderr)):
            capture.thread.join(settings.kill_grace)
            if not capture.thread.is_alive():  # else a process that left the group holds the pipe:
                pipe.close()  # closing it would wait for that process; the thread ends at its EOF
    elapsed = time.monotonic() - started
    if outcome == "timed out":
        head = f"timed out after {settings.timeout:g} s; the command was killed (exit code {process.returncode})"
    elif outcome == "stopped":
        head = f"interrupted: chatfn was told to stop; the command was killed (exit code {process.returncode})"
    else:
        head = f"exit code: {process.returncode} ({elapsed:.1f} s)"
    cap = settings.max_output_chars
    parts = [head, "--- stdout ---", stdout.text("stdout", cap).rstrip("\n") or "(empty)"]
    parts += ["--- stderr ---", stderr.text("stderr", cap).rstrip("\n") or "(empty)"]
    return "\n".join(parts)


@chatfn.hookimpl
def register_tools(register: Callable[..., None], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer run_command, configured by ``[plugins.shell]``; approval unless a rule matches exactly."""
    global _grace
    settings = ShellSettings.from_config(plugin_config.get("shell", {}))
    _grace = settings.kill_grace
    _install_handlers()
    register(
        make_run_command(settings),
        needs_approval=True,
        # chatfn's own timeout is a backstop: ours stops the process group first.
        timeout=settings.timeout + settings.kill_grace + REGISTRATION_MARGIN_SECONDS,
        read_only_hint=False,
        destructive_hint=True,
        idempotent_hint=False,
        open_world_hint=True,  # a command can reach the network (curl, git push)
        private_data=True,  # its output may be anything the user can read
        approval_scope=approval_scope,
    )
