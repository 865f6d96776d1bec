"""Running the real ``chatfn`` CLI against a scripted server, isolated from the user's machine.

Two ways with one signature and one result (a :class:`subprocess.CompletedProcess`):
:func:`run_chatfn_cli` starts ``python -m chatfn`` (for what only a real process
shows: signals, terminals, import costs, installs), and :func:`invoke_chatfn_cli` runs
the same entry point inside the test's process, about a hundred times cheaper, with
the process-wide state a run touches (environment, working directory, standard
streams and file descriptors 0-2, signal handlers, ``sys.path`` and the modules
imported from ``PYTHONPATH``, chatfn's plugin cache) put back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from chatfn.testing.responses import DEFAULT_MODEL, FAKE_API_KEY
from chatfn.testing.server import ScriptedServer

__all__ = [
    "chatfn_environment",
    "invoke_chatfn_cli",
    "run_chatfn_cli",
    "RunChatfn",
]

# --------------------------------------------------------------------------- chatfn subprocesses


_REMOVED_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")
_REMOVED_NAMES = frozenset(
    {"CHATFN_PROFILE", "CHATFN_SYSTEM_PROMPT", "CHATFN_CONFIG", "CHATFN_MODEL"}
    | {"COLUMNS", "LINES"}  # a child's size is its own terminal's (pytest-xdist sets these to 80x24)
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL")}
    | {f"{name.lower()}_proxy" for name in ("HTTP", "HTTPS", "ALL")}
)


def chatfn_environment(
    server: ScriptedServer, directory: Path, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A complete environment for a chatfn subprocess that talks only to ``server``.

    Starts from ``base`` (default ``os.environ``, so PATH and the like survive),
    drops every ``OPENAI_*``/``AZURE_OPENAI_*`` variable, proxies, chatfn's
    profile settings and ``COLUMNS``/``LINES``, then points chatfn at ``server`` with a fake key and keeps
    home, config (an empty file) and the conversation log inside ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    home = directory / "home"
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(_REMOVED_PREFIXES) and key not in _REMOVED_NAMES
    }
    folders = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.touch()
    env.update({key: str(folder) for key, folder in folders.items()})
    env.update(
        {
            "HOME": str(home),
            "USERPROFILE": str(home),
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": FAKE_API_KEY,
            "CHATFN_MODEL": DEFAULT_MODEL,
            "CHATFN_CONFIG": str(config),
            "CHATFN_LOG_DB": str(directory / "log.db"),
            "NO_COLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def run_chatfn_cli(
    *args: str,
    env: Mapping[str, str],
    input: str | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 60.0,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chatfn ARGS`` with exactly ``env``; stdout and stderr come back as text.

    ``input_bytes`` feeds raw bytes (say, invalid UTF-8) instead of ``input``.
    """
    if input is not None and input_bytes is not None:
        raise ValueError("pass input or input_bytes, not both")
    command = [sys.executable, "-m", "chatfn", *args]
    data = input_bytes if input_bytes is not None else (input.encode("utf-8") if input is not None else None)
    completed = subprocess.run(
        command,
        input=data,
        stdin=subprocess.DEVNULL if data is None else None,
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
        start_new_session=True,  # no controlling terminal: an approval prompt cannot reach the tester's
    )
    return subprocess.CompletedProcess(
        command,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def invoke_chatfn_cli(
    *args: str,
    env: Mapping[str, str],
    input: str | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 60.0,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the ``chatfn`` entry point in this process as :func:`run_chatfn_cli` would in a child.

    The run sees exactly ``env`` as its environment, ``PYTHONPATH`` entries first on
    ``sys.path``, ``cwd`` as its working directory, and ``input``/``input_bytes`` on
    file descriptor 0 (nothing: ``/dev/null``, as the subprocess gets); what it writes
    to descriptors 1 and 2, from Python or from child processes, comes back as
    stdout and stderr. An exception that escapes the CLI is printed as the
    interpreter would and gives exit code 1. ``timeout`` raises
    :class:`subprocess.TimeoutExpired` (SIGALRM, so only from the main thread).
    What no runner can undo stays: a plugin that patches chatfn's own classes, or
    threads a tool left running. Test such code with :func:`run_chatfn_cli`.
    """
    if input is not None and input_bytes is not None:
        raise ValueError("pass input or input_bytes, not both")
    unseen = [name for name in _INTERPRETER_ONLY if env.get(name) != os.environ.get(name)]
    if unseen:
        raise ValueError(f"{', '.join(unseen)} only act when an interpreter starts: use run_chatfn_cli")
    data = input_bytes if input_bytes is not None else (input.encode("utf-8") if input is not None else None)
    command = ["chatfn", *args]
    _detach_controlling_terminal()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_process_state(env, cwd))
        streams = stack.enter_context(_standard_streams(data, env.get("PYTHONIOENCODING")))
        stack.enter_context(_deadline(timeout, command))
        try:
            code = _run_main(command)
        finally:
            _end_of_process()
        streams.flush()
    stdout, stderr = streams.read()
    return subprocess.CompletedProcess(command, code, stdout, stderr)


_INTERPRETER_ONLY = ("PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONMALLOC", "PYTHONHASHSEED", "PYTHONWARNINGS")
"""Variables read once at interpreter start-up: an in-process run could not honour them."""


def _run_main(argv: list[str]) -> int:
    """``chatfn.__main__.main()`` with ``argv``; its exit code as a child process would report it."""
    from chatfn.__main__ import main

    saved_argv = sys.argv
    sys.argv = list(argv)
    try:
        main()
    except SystemExit as exit_:
        if exit_.code is None:
            return 0
        if isinstance(exit_.code, int):
            return exit_.code
        sys.stderr.write(f"{exit_.code}\n")
        return 1
    except _Timeout:
        raise
    except BaseException:  # what the interpreter prints for an uncaught exception
        traceback.print_exc()
        return 1
    finally:
        sys.argv = saved_argv
    return 0


def _detach_controlling_terminal() -> None:
    """Give the test process no controlling terminal, as ``start_new_session`` gives a subprocess none.

    chatfn asks for approval on ``/dev/tty``; run from a developer's terminal, an
    in-process run would otherwise ask there and wait. Detaching (``TIOCNOTTY``)
    changes nothing else: the process stays in its process group, so Ctrl-C still
    reaches pytest. A session leader is left alone (detaching would hang up its
    session); CI has no terminal to begin with.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return
    try:
        if os.getsid(0) != os.getpid():
            import fcntl
            import termios

            fcntl.ioctl(fd, termios.TIOCNOTTY)
    except OSError:
        pass
    finally:
        os.close(fd)


def _end_of_process() -> None:
    """Stop what chatfn keeps for the life of a process (as its ``atexit`` handlers would at exit)."""
    console = sys.modules.get("chatfn.output.console")
    private = getattr(console, "_answer", None)
    if private is not None:  # --json gave stdout to chatfn alone (keep_stdout_private): give it back
        with contextlib.suppress(Exception):
            private.close()
        console._answer = None  # type: ignore[union-attr]
    pool_module = sys.modules.get("chatfn.mcp.pool")
    if pool_module is not None:
        with pool_module._pool_lock:
            pool, pool_module._pool = pool_module._pool, None
        if pool is not None:
            pool.close()
    isolation = sys.modules.get("chatfn.tools.isolation")
    if isolation is not None:
        isolation.stop_all()


class _Timeout(BaseException):
    """Raised by SIGALRM in the middle of an in-process run; not an Exception, so nothing swallows it."""


@contextlib.contextmanager
def _deadline(timeout: float, command: list[str]) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    except _Timeout:
        raise subprocess.TimeoutExpired(command, timeout) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGALRM") if hasattr(signal, name)
)


@contextlib.contextmanager
def _process_state(env: Mapping[str, str], cwd: str | Path | None) -> Iterator[None]:
    """The environment, working directory, import path and signal handlers of a fresh run, restored after."""
    from chatfn.plugins.host import clear_cache

    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_handlers = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    added = [
        os.path.abspath(entry)
        for entry in env.get("PYTHONPATH", "").split(os.pathsep)
        if entry and os.path.abspath(entry) not in sys.path
    ]
    os.environ.clear()
    os.environ.update(env)
    sys.path[0:0] = added
    importlib.invalidate_caches()
    clear_cache()
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if _loaded_from(sys.modules.get(name), added):
                del sys.modules[name]
        importlib.invalidate_caches()
        clear_cache()
        for signum, handler in saved_handlers.items():
            if handler is not None:
                signal.signal(signum, handler)


def _loaded_from(module: Any, folders: list[str]) -> bool:
    """True when ``module`` was imported from one of ``folders`` (a test's plugin directory)."""
    location = getattr(module, "__file__", None) or ""
    return any(location.startswith(folder + os.sep) for folder in folders)


class _Streams:
    """Temporary files behind descriptors 0-2 and the ``sys`` streams over them."""

    def __init__(self, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self._stdout = stdout
        self._stderr = stderr

    def flush(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()

    def read(self) -> tuple[str, str]:
        """What the run wrote to stdout and stderr, as text; closes the files."""
        texts = []
        for file in (self._stdout, self._stderr):
            with file:
                file.seek(0)
                texts.append(file.read().decode("utf-8", "replace"))
        return texts[0], texts[1]


@contextlib.contextmanager
def _standard_streams(data: bytes | None, io_encoding: str | None) -> Iterator[_Streams]:
    """Point descriptors 0, 1 and 2 at temporary files (0 at ``/dev/null`` without input), with fresh ``sys.std*``."""
    encoding, _, errors = (io_encoding or "utf-8").partition(":")
    if data is None:
        stdin_file: BinaryIO = open(os.devnull, "rb")  # noqa: SIM115 - closed in the finally below
    else:
        stdin_file = tempfile.TemporaryFile()
        stdin_file.write(data)
        stdin_file.seek(0)
    stdout_file, stderr_file = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    for stream in saved_streams[1:]:
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    try:
        for fd, file in zip((0, 1, 2), (stdin_file, stdout_file, stderr_file)):
            os.dup2(file.fileno(), fd)
        sys.stdin = io.TextIOWrapper(
            io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding or "utf-8", errors=errors or "strict"
        )
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding=encoding or "utf-8", errors=errors or "strict"
        )
        sys.stderr = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding=encoding or "utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        yield _Streams(stdout_file, stderr_file)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for fd, saved in zip((0, 1, 2), saved_fds):
            os.dup2(saved, fd)
            os.close(saved)
        stdin_file.close()


class RunChatfn(Protocol):
    """The ``run_chatfn`` fixture's call signature."""

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        input_bytes: bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]: ...
