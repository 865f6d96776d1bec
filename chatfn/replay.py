"""``chatfn --help`` and ``chatfn tools list`` answered from the last identical run.

Both answers depend only on what is installed, the config file and the environment,
yet computing them costs typer (and rich for help), pluggy, importlib.metadata and
every plugin's import: several times a bare ``python -c pass``. So a run of one of
these commands that succeeds quietly keeps what it printed, together with what it
depended on, and a later run whose dependencies are all unchanged prints that and
stops, before any of those imports.

What a kept answer depends on, and how a change shows up at once:

- the command line, the whole environment (``CHATFN_LOAD_PLUGINS``, ``XDG_*``,
  ``COLUMNS``, ``NO_COLOR``...), the interpreter, ``sys.path``, the working directory,
  which streams are terminals and the terminal's size: all part of the key;
- installed and removed distributions: each ``sys.path`` directory's status (adding or
  removing a ``*.dist-info`` changes its directory);
- an edited plugin, tool or chatfn itself: the status of every module file the run
  had imported (stdlib aside);
- the config file: its status (a missing file is remembered as missing).

Runs that wrote to stderr (a warning, a broken plugin) or failed are not kept, so
problems are reported afresh every time; neither are runs that talked to MCP servers,
whose tool lists live in their own cache (:mod:`chatfn.mcp.cache`). A dependency
changed less than :data:`RACY_NS` before the run started is not trusted to show its
next change in its status, so such a run is not kept either (git's "racily clean").

The file is written by this user's own chatfn in this user's cache directory, in the
interpreter's ``marshal`` format because reading it must not import ``json`` (and its
``re``); anything unexpected in it means a normal run, never an error.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

TYPE_CHECKING = False  # not typing's: importing typing would cost this fast path a few ms
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, TextIO

FORMAT = 1
"""Bumped whenever the file's layout or the meaning of a key changes."""
KEPT = 16
"""Most answers kept (newest first); enough for a few terminals' sizes and commands."""
RACY_NS = 100_000_000
"""A file modified this close to the run's start may change again without its status changing."""
VOLATILE_ENV = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})
"""Set by shells on every command or directory change; the working directory is in the key itself."""

Status = tuple[int, int, int, int] | None


def replayable(argv: Sequence[str]) -> bool:
    """True for the command lines whose answer may be kept: help screens and ``tools list``."""
    args = list(argv)
    if args == ["tools", "list"]:
        return True
    if not args or args[-1] not in ("--help", "-h") or len(args) > 3:
        return False
    return all(word.isascii() and word.replace("-", "").isalpha() and word[0] != "-" for word in args[:-1])


def replay(argv: Sequence[str]) -> bool:
    """Print the kept answer for ``argv`` and return True, or return False when there is none still valid."""
    key = _key(argv)
    for entry in _entries(cache_file()):
        if entry.get("key") == key and _unchanged(entry.get("depends")):
            output = entry.get("stdout")
            if not isinstance(output, str):
                return False
            try:
                sys.stdout.write(output)
                sys.stdout.flush()
            except BrokenPipeError:  # the reader is gone: exit 1 and say nothing, as click does
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise SystemExit(1) from None
            return True
    return False


def record(argv: Sequence[str], run: Callable[[], None]) -> None:
    """Run ``run`` (the CLI); keep what it printed for ``argv`` if it succeeded quietly.

    ``run`` ends by raising :class:`SystemExit`, as the CLI does; that is re-raised.
    """
    started = time.time_ns()
    key = _key(argv)
    path_entries = list(sys.path)
    stdout, stderr = _Tee(sys.stdout), _Tee(sys.stderr)
    sys.stdout, sys.stderr = stdout, stderr  # type: ignore[assignment]
    code: Any = 0
    try:
        run()
    except SystemExit as exit:
        code = exit.code
        raise
    finally:
        sys.stdout, sys.stderr = stdout.stream, stderr.stream
        if code in (0, None) and not stderr.written and stdout.written and not _talked_to_mcp():
            _keep(key, _dependencies(path_entries), "".join(stdout.text), started)


def cache_file() -> str:
    """Where the answers live: the user cache directory, one file per chatfn version and interpreter."""
    from chatfn import __version__

    name = f"replay-{__version__}-{sys.implementation.cache_tag}.marshal"
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "chatfn", name)
    from platformdirs import user_cache_dir

    return os.path.join(user_cache_dir("chatfn", appauthor=False), name)


# -- the key and the dependencies -----------------------------------------------------


def _key(argv: Sequence[str]) -> tuple[Any, ...]:
    environment = tuple(sorted((name, value) for name, value in os.environ.items() if name not in VOLATILE_ENV))
    streams = tuple(_is_terminal(fd) for fd in (0, 1, 2))
    try:
        size = tuple(os.get_terminal_size(1)) if streams[1] else None
    except OSError:
        size = None
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    return (FORMAT, tuple(argv), sys.executable, sys.version, tuple(sys.path), cwd, environment, streams, size)


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _status(path: str) -> Status:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return (found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino)


def _dependencies(path_entries: list[str]) -> dict[str, Status]:
    """Every ``sys.path`` directory, every non-stdlib module file imported, and the config file."""
    paths = {os.path.abspath(entry or os.curdir) for entry in path_entries}
    paths.update(_module_files())
    config = _config_file()
    if config is not None:
        paths.add(config)
    return {path: _status(path) for path in sorted(paths)}


def _module_files() -> Iterator[str]:
    stdlib = os.path.dirname(os.__file__) + os.sep
    inside_stdlib = tuple(entry + os.sep for entry in sys.path if entry.startswith(stdlib) and "-packages" in entry)
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and (not file.startswith(stdlib) or file.startswith(inside_stdlib)):
            yield os.path.abspath(file)


def _config_file() -> str | None:
    try:
        from chatfn.settings.config import config_path

        return os.path.abspath(config_path())
    except Exception:  # an unusable config made the run fail and it is not kept anyway
        return None


def _talked_to_mcp() -> bool:
    return "chatfn.mcp.tools" in sys.modules


def _unchanged(depends: Any) -> bool:
    if not isinstance(depends, dict) or not depends:
        return False
    return all(_status(path) == status for path, status in depends.items())


# -- the file ---------------------------------------------------------------------------


def _entries(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, "rb") as file:
            data = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return []
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), list):
        return []
    return [entry for entry in data["entries"] if isinstance(entry, dict)]


def _keep(key: tuple[Any, ...], depends: dict[str, Status], output: str, started: int) -> None:
    if any(status is not None and status[0] > started - RACY_NS for status in depends.values()):
        return
    path = cache_file()
    entries = [entry for entry in _entries(path) if entry.get("key") != key]
    entries.insert(0, {"key": key, "depends": depends, "stdout": output})
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            marshal.dump({"format": FORMAT, "entries": entries[:KEPT]}, file)
        os.replace(temporary, path)
    except (OSError, ValueError):  # an optimisation: a read-only cache only costs speed
        try:
            os.unlink(temporary)
        except OSError:
            pass


class _Tee:
    """A text stream that keeps a copy of what is written to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text: list[str] = []
        self.written = False

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        if isinstance(text, str) and text:
            self.text.append(text)
            self.written = True
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
