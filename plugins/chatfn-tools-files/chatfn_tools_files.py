"""chatfn tools that let a model look at files: list, read and search, read-only.

Every path is confined to one root directory (``[plugins.files] root``, default: the
current directory when the tool runs). ``..`` escapes, absolute paths outside the
root and symlinks that resolve outside it are refused; binary files are refused
(or skipped when searching); file sizes and result sizes are capped.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chatfn

__all__ = ["FilesSettings", "make_tools", "register_tools"]

DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_MAX_RESULT_CHARS = 20_000
BINARY_SNIFF_BYTES = 8192
MAX_SEARCH_RESULTS = 1000
MAX_LINE_CHARS = 300
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})


@dataclass(frozen=True)
class FilesSettings:
    """The ``[plugins.files]`` table, checked once at registration."""

    root: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> FilesSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - {"root", "max_file_bytes", "max_result_chars"})
        if unknown:
            raise ValueError(f"[plugins.files]: unknown key(s) {', '.join(unknown)}")
        root = table.get("root")
        if root is not None and (not isinstance(root, str) or not root):
            raise ValueError(f"[plugins.files] root must be a non-empty path string, not {root!r}")
        return cls(
            root=root,
            max_file_bytes=_positive_int(table, "max_file_bytes", DEFAULT_MAX_FILE_BYTES),
            max_result_chars=_positive_int(table, "max_result_chars", DEFAULT_MAX_RESULT_CHARS),
        )

    def root_path(self) -> Path:
        """The root, resolved now (so the default follows the current directory)."""
        root = Path(os.path.expanduser(self.root)) if self.root else Path.cwd()
        resolved = root.resolve()
        if not resolved.is_dir():
            raise FileNotFoundError(f"the files root {str(root)!r} is not a directory")
        return resolved


def _positive_int(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"[plugins.files] {key} must be a positive integer, not {value!r}")
    return value


# -- confinement ---------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_path(path: str, root: Path) -> Path:
    """``path`` (relative to ``root``, or absolute inside it) resolved; refuse any way out."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path must be a non-empty string (use '.' for the root)")
    if "\x00" in path:
        raise ValueError("path must not contain NUL characters")
    given = Path(path)
    candidate = given if given.is_absolute() else root / given
    resolved = candidate.resolve()
    if _inside(resolved, root):
        return resolved
    if given.is_absolute() and not _inside(Path(os.path.normpath(candidate)), root):
        raise PermissionError(f"{path!r} is outside the allowed root {str(root)!r}; use a path inside it")
    if not _inside(Path(os.path.normpath(candidate)), root):
        raise PermissionError(f"{path!r} uses '..' to leave the allowed root {str(root)!r}")
    raise PermissionError(f"{path!r} is a symlink that resolves outside the allowed root {str(root)!r}")


def _display(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return relative if relative != "." else "."


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def _cap(text: str, limit: int, note: str) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip("\n") + f"\n[truncated: {note}]"


# -- the tools -------------------------------------------------------------------


def make_tools(settings: FilesSettings) -> list[Callable[..., str]]:
    """The three tools, bound to ``settings`` while keeping real signatures and docstrings."""

    def list_directory(path: str = ".") -> str:
        """List a directory inside the workspace root (read-only): one entry per line,
        sorted; directories end with '/', files show their size in bytes, symlinks
        show '-> target'.

        Args:
            path: Directory to list, relative to the workspace root ('.' is the root).
        """
        root = settings.root_path()
        directory = resolve_path(path, root)
        if not directory.is_dir():
            raise NotADirectoryError(f"{path!r} is not a directory (use read_file for files)")
        lines: list[str] = []
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda item: item.name):
                lines.append(_describe_entry(entry))
        header = f"{_display(directory, root)}/ ({len(lines)} entries)"
        body = "\n".join(lines) if lines else "(empty)"
        return _cap(f"{header}\n{body}", settings.max_result_chars, "too many entries; list a subdirectory")

    def read_file(path: str, start_line: int = 1, end_line: int | None = None) -> str:
        """Read a text file inside the workspace root (read-only), whole or a range of
        lines. The result is line-numbered: each line starts with its 1-based number
        and a tab, which are not part of the file. Long output ends with a
        '[truncated: ...]' note naming the start_line to continue from. Binary files
        are refused.

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
        file = resolve_path(path, root)
        if file.is_dir():
            raise IsADirectoryError(f"{path!r} is a directory (use list_directory)")
        if not file.is_file():
            raise FileNotFoundError(f"no such file: {path!r}")
        size = file.stat().st_size
        with open(file, "rb") as handle:
            data = handle.read(settings.max_file_bytes)
        if _is_binary(data):
            raise ValueError(f"{path!r} is a binary file; read_file only reads text")
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        if size > settings.max_file_bytes and lines and not text.endswith(("\n", "\r")):
            lines.pop()  # the cut fell inside a line: do not show half of it as a whole line
        if start_line > max(len(lines), 1):
            raise ValueError(f"start_line {start_line} is past the end of {path!r} ({len(lines)} lines)")
        last = len(lines) if end_line is None else min(end_line, len(lines))
        width = len(str(last))
        out: list[str] = []
        used = 0
        for number in range(start_line, last + 1):
            line = f"{number:>{width}}\t{lines[number - 1]}"
            if used + len(line) + 1 > settings.max_result_chars:
                out.append(
                    f"[truncated: result limit of {settings.max_result_chars} characters reached; "
                    f"continue with start_line={number}]"
                )
                break
            out.append(line)
            used += len(line) + 1
        if size > settings.max_file_bytes and (end_line is None or end_line > len(lines)):
            out.append(
                f"[truncated: the file is {size} bytes; only the first {settings.max_file_bytes} bytes "
                f"({len(lines)} lines) can be read]"
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
        over the size limit and .git/__pycache__ folders are skipped.

        Args:
            pattern: Text to look for; a Python regular expression when regex is true.
            path: File or directory to search, relative to the workspace root.
            regex: Treat pattern as a regular expression instead of literal text.
            glob: Only search files whose name or relative path matches this glob, e.g. '*.py'.
            max_results: Stop after this many matching lines (at most 1000).
            ignore_case: Match without regard to letter case.
        """
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("pattern must be a non-empty string")
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValueError(f"max_results must be a positive integer, not {max_results!r}")
        limit = min(max_results, MAX_SEARCH_RESULTS)
        flags = re.IGNORECASE if ignore_case else 0
        try:
            matcher = re.compile(pattern if regex else re.escape(pattern), flags)
        except re.error as error:
            raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
        root = settings.root_path()
        start = resolve_path(path, root)
        if not start.exists():
            raise FileNotFoundError(f"no such file or directory: {path!r}")
        results: list[str] = []
        used = 0
        searched = skipped = 0
        stopped: str | None = None
        for file in _walk_files(start, root):
            relative = _display(file, root)
            if glob and not (fnmatch.fnmatch(file.name, glob) or fnmatch.fnmatch(relative, glob)):
                continue
            lines = _text_lines(file, settings.max_file_bytes)
            if lines is None:
                skipped += 1
                continue
            searched += 1
            for number, line in enumerate(lines, start=1):
                if not matcher.search(line):
                    continue
                shown = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…"
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
            summary += f"; {skipped} file(s) skipped (binary, over the size limit or not a regular file)"
        if stopped:
            summary += f"\n[truncated: {stopped}; narrow the search with path or glob]"
        return "\n".join([*results, summary]) if results else f"No matches. {summary}"

    return [list_directory, read_file, search_files]


def _describe_entry(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        try:
            target = os.readlink(entry.path)
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


def _walk_files(start: Path, root: Path) -> Iterator[Path]:
    """Files under ``start`` in sorted order; symlinks are followed only when they stay inside ``root``."""
    if start.is_file():
        yield start
        return
    for directory, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(name for name in dirnames if name not in SKIPPED_DIRS)
        for name in sorted(filenames):
            file = Path(directory, name)
            if file.is_symlink():
                target = file.resolve()
                if not _inside(target, root) or not target.is_file():
                    continue
            yield file


def _text_lines(file: Path, max_bytes: int) -> list[str] | None:
    """The file's lines, or None when it is binary, too big, not a regular file or unreadable."""
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:  # a FIFO would block forever
            return None
        data = file.read_bytes()
    except OSError:
        return None
    if _is_binary(data):
        return None
    return data.decode("utf-8", errors="replace").splitlines()


@chatfn.hookimpl
def register_tools(register: Callable[..., None], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer list_directory, read_file and search_files, configured by ``[plugins.files]``."""
    settings = FilesSettings.from_config(plugin_config.get("files", {}))
    for tool in make_tools(settings):
        register(tool)
