"""chatfn tools that let a model look at files: list, read and search, read-only.

Every path is confined to one root directory (``[plugins.files] root``, default: the
current directory when the tool runs). Confinement does not trust a path string:
each component is opened relative to the directory descriptor of the one before it
with ``O_NOFOLLOW``, and symlinks are resolved here, one hop at a time, against the
directories already open. A ``..`` can never climb above the root's descriptor, so a
directory swapped for a symlink between a check and a read cannot lead outside.
Hard-linked files, secrets (``.env``, keys, credential files) and binary files are
refused; sizes, lines and search time are capped.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chatfn

__all__ = ["DEFAULT_DENY", "FilesSettings", "make_tools", "register_tools"]

DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_MAX_RESULT_CHARS = 20_000
DEFAULT_MAX_LINE_CHARS = 2_000
DEFAULT_SEARCH_TIMEOUT = 10.0
REGISTRATION_MARGIN_SECONDS = 2.0
BINARY_SNIFF_BYTES = 8192
MAX_SEARCH_RESULTS = 1000
MAX_SEARCH_LINE_CHARS = 300
MAX_SYMLINK_HOPS = 40
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
DEFAULT_DENY: tuple[str, ...] = (
    ".env*", "*.env",
    ".git", ".hg", ".svn",
    ".ssh", ".gnupg", ".aws/credentials", ".aws/config", ".docker/config.json", ".kube/config",
    ".config/gcloud", ".azure",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.pem", "*.key", "*.p12", "*.pfx", "*.keystore", "*.jks",
    ".netrc", "_netrc", ".npmrc", ".pypirc", ".pgpass", ".git-credentials", ".htpasswd",
    "credentials.json", "secrets.json", "*.kdbx",
)
"""Glob patterns of paths the tools refuse: matched against every component of the
resolved path (``.git`` covers everything inside it), or, when a pattern holds a
``/``, against every run of consecutive components (``.aws/credentials``)."""

_SETTINGS_KEYS = {"root", "max_file_bytes", "max_result_chars", "max_line_chars", "deny", "allow_hard_links", "search_timeout"}


@dataclass(frozen=True)
class FilesSettings:
    """The ``[plugins.files]`` table, checked once at registration."""

    root: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    deny: tuple[str, ...] = DEFAULT_DENY
    allow_hard_links: bool = False
    search_timeout: float = DEFAULT_SEARCH_TIMEOUT

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> FilesSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - _SETTINGS_KEYS)
        if unknown:
            raise ValueError(f"[plugins.files]: unknown key(s) {', '.join(unknown)}")
        root = table.get("root")
        if root is not None and (not isinstance(root, str) or not root):
            raise ValueError(f"[plugins.files] root must be a non-empty path string, not {root!r}")
        deny = table.get("deny", DEFAULT_DENY)
        if isinstance(deny, str) or not isinstance(deny, Sequence) or not all(isinstance(p, str) and p.strip("/") for p in deny):
            raise ValueError('[plugins.files] deny must be a list of glob patterns, e.g. [".env*", "*.pem"]')
        hard_links = table.get("allow_hard_links", False)
        if not isinstance(hard_links, bool):
            raise ValueError(f"[plugins.files] allow_hard_links must be true or false, not {hard_links!r}")
        timeout = table.get("search_timeout", DEFAULT_SEARCH_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"[plugins.files] search_timeout must be a positive number of seconds, not {timeout!r}")
        return cls(
            root=root,
            max_file_bytes=_positive_int(table, "max_file_bytes", DEFAULT_MAX_FILE_BYTES),
            max_result_chars=_positive_int(table, "max_result_chars", DEFAULT_MAX_RESULT_CHARS),
            max_line_chars=_positive_int(table, "max_line_chars", DEFAULT_MAX_LINE_CHARS),
            deny=tuple(pattern.strip("/") for pattern in deny),
            allow_hard_links=hard_links,
            search_timeout=float(timeout),
        )

    def root_path(self) -> Path:
        """The root, resolved now (so the default follows the current directory)."""
        root = Path(os.path.expanduser(self.root)) if self.root else Path.cwd()
        resolved = root.resolve()
        if not resolved.is_dir():
            raise FileNotFoundError(f"the files root {str(root)!r} is not a directory")
        return resolved

    def denied_by(self, parts: Sequence[str]) -> str | None:
        """The deny pattern that matches the path ``parts`` (relative to the root), if any."""
        for pattern in self.deny:
            if "/" not in pattern:
                if any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                    return pattern
                continue
            width = pattern.count("/") + 1
            for start in range(len(parts) - width + 1):
                if fnmatch.fnmatchcase("/".join(parts[start : start + width]), pattern):
                    return pattern
        return None


def _positive_int(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"[plugins.files] {key} must be a positive integer, not {value!r}")
    return value


# -- confinement -----------------------------------------------------------------


@dataclass
class Opened:
    """A descriptor opened inside the root, with the components that lead to it."""

    fd: int
    parts: tuple[str, ...]
    info: os.stat_result

    @property
    def display(self) -> str:
        return "/".join(self.parts) or "."

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


def _model_parts(path: str, root: Path, configured: str | None) -> list[str]:
    """The components of ``path`` relative to the root; absolute paths must name a place inside it."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path must be a non-empty string (use '.' for the root)")
    if "\x00" in path:
        raise ValueError("path must not contain NUL characters")
    if not os.path.isabs(path):
        return path.split("/")
    relative = _relative_to_root(path, root, configured)
    if relative is None:
        raise PermissionError(f"{path!r} is outside the allowed root {str(root)!r}; use a path inside it")
    return relative


def _relative_to_root(absolute: str, root: Path, configured: str | None) -> list[str] | None:
    """The components of an absolute path under the root (as resolved or as configured), lexically."""
    normal = os.path.normpath(absolute)
    bases = {str(root)}
    if configured:
        bases.add(os.path.normpath(os.path.abspath(os.path.expanduser(configured))))
    for base in bases:
        if normal == base:
            return []
        if normal.startswith(base.rstrip("/") + "/"):
            return normal[len(base.rstrip("/")) + 1 :].split("/")
    return None


def open_inside(settings: FilesSettings, root: Path, path: str, *, directory: bool | None = None) -> Opened:
    """Open ``path`` without ever leaving ``root``; symlinks inside the root are followed by hand."""
    queue = deque(_model_parts(path, root, settings.root))
    stack = [os.open(root, _OPEN_FLAGS | os.O_DIRECTORY)]
    names: list[str] = []
    hops = 0
    try:
        while queue:
            name = queue.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if not names:
                    raise PermissionError(f"{path!r} uses '..' to leave the allowed root {str(root)!r}")
                os.close(stack.pop())
                names.pop()
                continue
            flags = _OPEN_FLAGS | (os.O_DIRECTORY if queue else 0)
            try:
                fd = os.open(name, flags, dir_fd=stack[-1])
            except OSError as error:
                target = _symlink_target(name, stack[-1], error)
                if target is None:
                    raise _described(error, path) from None
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise PermissionError(f"{path!r}: too many levels of symbolic links") from None
                if os.path.isabs(target):
                    inside = _relative_to_root(target, root, settings.root)
                    if inside is None:
                        raise PermissionError(f"{path!r} is a symlink that resolves outside the allowed root {str(root)!r}") from None
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                    queue.extendleft(reversed(inside))
                else:
                    climbs = _climbs_above(target, len(names))
                    if climbs:
                        raise PermissionError(f"{path!r} is a symlink that resolves outside the allowed root {str(root)!r}") from None
                    queue.extendleft(reversed(target.split("/")))
                continue
            stack.append(fd)
            names.append(name)
        info = os.fstat(stack[-1])
        if directory is True and not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(f"{path!r} is not a directory (use read_file for files)")
        if directory is False and stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{path!r} is a directory (use list_directory)")
        pattern = settings.denied_by(names)
        if pattern is not None:
            raise PermissionError(f"{path!r} matches the deny pattern {pattern!r} of [plugins.files] (secrets are not read)")
        opened = Opened(stack.pop(), tuple(names), info)
    finally:
        for fd in stack:
            os.close(fd)
    return opened


def _symlink_target(name: str, dir_fd: int, error: OSError) -> str | None:
    """The link's text when ``name`` is a symlink (the open failed because of O_NOFOLLOW)."""
    if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return None
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def _climbs_above(target: str, depth: int) -> bool:
    """True when the relative link ``target``, read at ``depth`` below the root, climbs out of it."""
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _described(error: OSError, path: str) -> OSError:
    if error.errno == errno.ENOENT:
        return FileNotFoundError(f"no such file or directory: {path!r}")
    if error.errno == errno.ENOTDIR:
        return NotADirectoryError(f"{path!r}: a part of the path is not a directory")
    if error.errno in (errno.EACCES, errno.EPERM):
        return PermissionError(f"{path!r}: permission denied")
    return OSError(f"cannot open {path!r}: {os.strerror(error.errno or 0)}")


def _check_regular(opened: Opened, path: str, settings: FilesSettings) -> None:
    if not stat.S_ISREG(opened.info.st_mode):
        raise ValueError(f"{path!r} is not a regular file")
    if opened.info.st_nlink > 1 and not settings.allow_hard_links:
        raise PermissionError(
            f"{path!r} is a hard link ({opened.info.st_nlink} names for one file, which may be outside the root); "
            "set [plugins.files] allow_hard_links = true to read such files"
        )


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def _cap(text: str, limit: int, note: str) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip("\n") + f"\n[truncated: {note}]"


def _cut_line(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]} … [line truncated: {len(line) - limit} more characters not shown]"


# -- the tools -------------------------------------------------------------------


def make_tools(settings: FilesSettings) -> list[Callable[..., str]]:
    """The three tools, bound to ``settings`` while keeping real signatures and docstrings."""

    def list_directory(path: str = ".") -> str:
        """List a directory inside the workspace root (read-only): one entry per line,
        sorted; directories end with '/', files show their size in bytes, symlinks
        show '-> target'; secrets such as .env are marked as not readable.

        Args:
            path: Directory to list, relative to the workspace root ('.' is the root).
        """
        root = settings.root_path()
        with open_inside(settings, root, path, directory=True) as directory:
            lines = [_describe_entry(entry, directory, settings) for entry in sorted(_scan(directory.fd), key=lambda e: e.name)]
        header = f"{directory.display}/ ({len(lines)} entries)"
        body = "\n".join(lines) if lines else "(empty)"
        return _cap(f"{header}\n{body}", settings.max_result_chars, "too many entries; list a subdirectory")

    def read_file(path: str, start_line: int = 1, end_line: int | None = None) -> str:
        """Read a text file inside the workspace root (read-only), whole or a range of
        lines. The result is line-numbered: each line starts with its 1-based number
        and a tab, which are not part of the file. Very long lines are cut with a
        note. Long output ends with a '[truncated: ...]' note naming the start_line
        to continue from. Binary files and secrets (.env, keys) are refused.

        Args:
            path: File to read, relative to the workspace root.
            start_line: First line to return (1-based).
            end_line: Last line to return, inclusive; omit to read to the end.
        """
        if isinstance(start_line, bool) or not isinstance(start_line, int) or start_line < 1:
            raise ValueError(f"start_line must be an integer >= 1, not {start_line!r}")
        if end_line is not None and (isinstance(end_line, bool) or not isinstance(end_line, int) or end_line < start_line):
            raise ValueError(f"end_line must be an integer >= start_line ({start_line}), not {end_line!r}")
        root = settings.root_path()
        with open_inside(settings, root, path, directory=False) as file:
            _check_regular(file, path, settings)
            size = file.info.st_size
            data = _read_fd(file.fd, settings.max_file_bytes + 1)
        cut = len(data) > settings.max_file_bytes
        data = data[: settings.max_file_bytes]
        if _is_binary(data):
            raise ValueError(f"{path!r} is a binary file; read_file only reads text")
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        partial = cut and bool(lines) and not text.endswith(("\n", "\r"))
        if partial and len(lines) > 1:
            lines.pop()  # the cut fell inside a line: do not show half of it as a whole line
            partial = False
        if start_line > max(len(lines), 1):
            raise ValueError(f"start_line {start_line} is past the end of {path!r} ({len(lines)} lines)")
        last = len(lines) if end_line is None else min(end_line, len(lines))
        width = len(str(last))
        out: list[str] = []
        used = 0
        for number in range(start_line, last + 1):
            line = f"{number:>{width}}\t{_cut_line(lines[number - 1], settings.max_line_chars)}"
            if out and used + len(line) + 1 > settings.max_result_chars:
                out.append(
                    f"[truncated: result limit of {settings.max_result_chars} characters reached; "
                    f"continue with start_line={number}]"
                )
                break
            out.append(line)
            used += len(line) + 1
        if cut and (end_line is None or end_line > len(lines)):
            shown = "the start of line 1" if partial else f"{len(lines)} lines"
            out.append(
                f"[truncated: the file is {size} bytes; only the first {settings.max_file_bytes} bytes "
                f"({shown}) can be read]"
            )
        return "\n".join(out) if out else "(empty file)"

    def search_files(
        pattern: str,
        path: str = ".",
        regex: bool = False,
        glob: str | None = None,
        max_results: int = 100,
        ignore_case: bool = False,
    ) -> str:
        """Search the text files under a path of the workspace root, like grep
        (read-only). Returns one matching line per line as 'file:line: text' (file
        relative to the root, line 1-based), then a summary line. Binary files, files
        over the size limit, secrets and .git/__pycache__ folders are skipped;
        symlinks are not followed.

        Args:
            pattern: Text to look for; a Python regular expression when regex is true.
            path: File or directory to search, relative to the workspace root.
            regex: Treat pattern as a regular expression instead of literal text.
            glob: Only search files whose name or relative path matches this glob, e.g. '*.py'.
            max_results: Stop after this many matching lines (at most 1000).
            ignore_case: Match without regard to letter case.
        """
        import regex as regex_engine  # matches with a timeout and without holding the GIL

        if not isinstance(pattern, str) or not pattern:
            raise ValueError("pattern must be a non-empty string")
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValueError(f"max_results must be a positive integer, not {max_results!r}")
        deadline = time.monotonic() + settings.search_timeout
        limit = min(max_results, MAX_SEARCH_RESULTS)
        flags = regex_engine.IGNORECASE if ignore_case else 0
        try:
            matcher = regex_engine.compile(pattern if regex else regex_engine.escape(pattern), flags)
        except (regex_engine.error, RecursionError, OverflowError) as error:
            raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
        whole_text = _whole_text_matcher(regex_engine, pattern if regex else regex_engine.escape(pattern), flags)
        root = settings.root_path()
        results: list[str] = []
        used = 0
        searched = skipped = 0
        stopped: str | None = None
        with open_inside(settings, root, path) as start:
            def wanted(relative: str) -> bool:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"search_files stopped after {settings.search_timeout:g} s before {relative}: "
                        "too much to search; narrow it with path or glob"
                    )
                return not glob or fnmatch.fnmatch(relative.rsplit("/", 1)[-1], glob) or fnmatch.fnmatch(relative, glob)

            for relative, lines in _text_files(start, settings, wanted):
                if lines is None:
                    skipped += 1
                    continue
                searched += 1
                too_slow = (
                    f"search_files stopped after {settings.search_timeout:g} s at {relative}{{}}: "
                    + ("the regular expression is too slow on this text (avoid nested repeats such as '(a+)+')" if regex else "too much to search; narrow it with path or glob")
                )
                try:
                    candidates = _candidate_lines(whole_text, lines, deadline) if whole_text else range(len(lines))
                except TimeoutError:
                    raise TimeoutError(too_slow.format("")) from None
                for index in candidates:
                    number, line = index + 1, lines[index]
                    remaining = deadline - time.monotonic()
                    try:
                        if remaining <= 0:
                            raise TimeoutError
                        found = matcher.search(line, timeout=remaining, concurrent=True)
                    except TimeoutError:
                        raise TimeoutError(too_slow.format(f":{number}")) from None
                    if not found:
                        continue
                    shown = line if len(line) <= MAX_SEARCH_LINE_CHARS else line[:MAX_SEARCH_LINE_CHARS] + "…"
                    entry = f"{relative}:{number}: {shown}"
                    if used + len(entry) + 1 > settings.max_result_chars:
                        stopped = f"result limit of {settings.max_result_chars} characters reached"
                        break
                    results.append(entry)
                    used += len(entry) + 1
                    if len(results) >= limit:
                        stopped = f"max_results={limit} reached"
                        break
                if stopped:
                    break
        summary = f"{len(results)} match(es) in {searched} file(s) searched"
        if skipped:
            summary += f"; {skipped} file(s) skipped (binary, over the size limit, a secret, a hard link or not a regular file)"
        if stopped:
            summary += f"\n[truncated: {stopped}; narrow the search with path or glob]"
        return "\n".join([*results, summary]) if results else f"No matches. {summary}"

    return [list_directory, read_file, search_files]


_CONTEXT_SENSITIVE = re.compile(r"\(\?|\\[AZzGK]")


def _whole_text_matcher(engine: Any, pattern: str, flags: int) -> Any:
    """The pattern for one pass over a whole file, or None where that could miss a line's match.

    Matching line by line with a timeout costs microseconds per call; one ``finditer``
    over the file finds the few lines worth that cost. It is exact for a pattern whose
    match depends on nothing outside the matched text but line starts and ends; a
    pattern with lookaround, inline flags or text anchors (``(?...)``, ``\\A``, ``\\Z``)
    is matched line by line throughout.
    """
    if _CONTEXT_SENSITIVE.search(pattern):
        return None
    return engine.compile(pattern, flags | engine.MULTILINE)


def _candidate_lines(matcher: Any, lines: list[str], deadline: float) -> Sequence[int]:
    """Indexes of the lines a line-by-line search must look at: where a whole-file match starts.

    Matches found over the joined text never overlap; one that crosses a line end could
    hide a later line's own match, so then every line is a candidate.
    """
    import bisect

    if not lines:
        return []
    text = "\n".join(lines)
    starts: list[int] = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    found: list[int] = []
    for match in matcher.finditer(text, timeout=max(deadline - time.monotonic(), 0.001), concurrent=True):
        if "\n" in match.group():
            return range(len(lines))
        index = bisect.bisect_right(starts, match.start()) - 1
        if not found or found[-1] != index:
            found.append(index)
    return found


def _scan(fd: int) -> list[os.DirEntry[str]]:
    with os.scandir(fd) as entries:
        return list(entries)


def _describe_entry(entry: os.DirEntry[str], directory: Opened, settings: FilesSettings) -> str:
    pattern = settings.denied_by((*directory.parts, entry.name))
    if pattern is not None:
        return f"{entry.name}  (not readable: matches the deny pattern {pattern!r})"
    if entry.is_symlink():
        try:
            target = os.readlink(entry.name, dir_fd=directory.fd)
        except OSError:
            target = "?"
        return f"{entry.name} -> {target}"
    if entry.is_dir(follow_symlinks=False):
        return f"{entry.name}/"
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return entry.name
    if stat.S_ISREG(info.st_mode):
        return f"{entry.name}  ({info.st_size} bytes)"
    return entry.name


def _text_files(
    start: Opened, settings: FilesSettings, wanted: Callable[[str], bool]
) -> Iterator[tuple[str, list[str] | None]]:
    """``(path relative to the root, lines or None when skipped)`` for each ``wanted`` file under ``start``, sorted.

    The walk holds a descriptor for each directory and opens every entry relative to it
    without following symlinks, so nothing it reads can lie outside the root.
    """
    if not stat.S_ISDIR(start.info.st_mode):
        if wanted(start.display):
            yield start.display, _lines_of(start.fd, start.info, start.parts, settings)
        return
    for directory, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=start.fd, follow_symlinks=False):
        base = start.parts + tuple(part for part in directory.split("/") if part not in ("", "."))
        dirnames[:] = sorted(name for name in dirnames if name not in SKIPPED_DIRS and settings.denied_by((*base, name)) is None)
        for name in sorted(filenames):
            parts = (*base, name)
            if not wanted("/".join(parts)):
                continue
            try:
                fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
            except OSError:  # a symlink (not followed) or unreadable
                continue
            try:
                yield "/".join(parts), _lines_of(fd, os.fstat(fd), parts, settings)
            finally:
                os.close(fd)


def _lines_of(fd: int, info: os.stat_result, parts: Sequence[str], settings: FilesSettings) -> list[str] | None:
    """The file's lines, or None when it is binary, too big, a secret, a hard link or not a regular file."""
    if not stat.S_ISREG(info.st_mode) or info.st_size > settings.max_file_bytes:  # a FIFO would block forever
        return None
    if (info.st_nlink > 1 and not settings.allow_hard_links) or settings.denied_by(parts) is not None:
        return None
    try:
        data = _read_fd(fd, settings.max_file_bytes)
    except OSError:
        return None
    if _is_binary(data):
        return None
    return data.decode("utf-8", errors="replace").splitlines()


@chatfn.hookimpl
def register_tools(register: Callable[..., None], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer list_directory, read_file and search_files, configured by ``[plugins.files]``."""
    settings = FilesSettings.from_config(plugin_config.get("files", {}))
    # Read-only and local, so they run without asking; what they return is the user's own.
    hints: dict[str, Any] = {"read_only_hint": True, "open_world_hint": False, "destructive_hint": False, "private_data": True}
    list_directory, read_file, search_files = make_tools(settings)
    register(list_directory, **hints)
    register(read_file, **hints)
    register(search_files, timeout=settings.search_timeout + REGISTRATION_MARGIN_SECONDS, **hints)
