"""chatfn-tools-files: confinement to the root, caps, binary detection, search."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chatfn_tools_files
import pytest

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the run_chatfn fixture


def load_tools(config: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Call the plugin's hook as chatfn would, collecting what it registers."""
    registered: dict[str, Callable[..., Any]] = {}

    def register(function: Callable[..., Any], name: str | None = None, **options: Any) -> None:
        registered[name or function.__name__] = function

    chatfn_tools_files.register_tools(register=register, plugin_config={"files": config})
    return registered


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\ndef main():\n    return os.getcwd()\n")
    (root / "notes.txt").write_text("first line\nsecond Line\nthird line\n")
    (tmp_path / "secret.txt").write_text("top secret\n")
    return root


@pytest.fixture
def tools(workspace: Path) -> dict[str, Callable[..., Any]]:
    return load_tools({"root": str(workspace)})


def test_registers_three_tools() -> None:
    assert set(load_tools({})) == {"list_directory", "read_file", "search_files"}


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_file_bytes"):
        load_tools({"max_file_bytes": -1})
    with pytest.raises(ValueError, match="unknown key"):
        load_tools({"rooot": "/"})


def test_read_file_is_line_numbered(tools: dict[str, Callable[..., Any]]) -> None:
    assert tools["read_file"](path="notes.txt") == "1\tfirst line\n2\tsecond Line\n3\tthird line"
    assert tools["read_file"](path="notes.txt", start_line=2, end_line=2) == "2\tsecond Line"
    assert tools["read_file"](path="src/../notes.txt", start_line=3) == "3\tthird line"


def test_read_file_range_errors(tools: dict[str, Callable[..., Any]]) -> None:
    with pytest.raises(ValueError, match="past the end"):
        tools["read_file"](path="notes.txt", start_line=9)
    with pytest.raises(ValueError, match="end_line"):
        tools["read_file"](path="notes.txt", start_line=3, end_line=2)
    with pytest.raises(FileNotFoundError, match="no such file"):
        tools["read_file"](path="missing.txt")
    with pytest.raises(IsADirectoryError):
        tools["read_file"](path="src")


def test_default_root_is_the_current_directory(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = load_tools({})
    monkeypatch.chdir(workspace / "src")
    assert "return os.getcwd()" in tools["read_file"](path="app.py")
    with pytest.raises(PermissionError, match=r"'\.\.'"):
        tools["read_file"](path="../notes.txt")


@pytest.mark.parametrize("name", ["read_file", "list_directory", "search_files"])
def test_dot_dot_escape_is_refused(tools: dict[str, Callable[..., Any]], name: str) -> None:
    arguments = {"pattern": "secret"} if name == "search_files" else {}
    with pytest.raises(PermissionError, match=r"'\.\.' to leave the allowed root"):
        tools[name](path="../secret.txt" if name == "read_file" else "..", **arguments)


def test_absolute_path_outside_is_refused(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    with pytest.raises(PermissionError, match="outside the allowed root"):
        tools["read_file"](path=str(workspace.parent / "secret.txt"))
    with pytest.raises(PermissionError, match="outside the allowed root"):
        tools["read_file"](path="/etc/passwd")
    assert tools["read_file"](path=str(workspace / "notes.txt")).startswith("1\tfirst line")


def test_symlink_outside_is_refused(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    (workspace / "leak.txt").symlink_to(workspace.parent / "secret.txt")
    (workspace / "outside").symlink_to(workspace.parent, target_is_directory=True)
    (workspace / "inside.txt").symlink_to(workspace / "notes.txt")
    with pytest.raises(PermissionError, match="symlink that resolves outside"):
        tools["read_file"](path="leak.txt")
    with pytest.raises(PermissionError, match="symlink that resolves outside"):
        tools["list_directory"](path="outside")
    with pytest.raises(PermissionError, match="symlink that resolves outside"):
        tools["search_files"](pattern="secret", path="outside/secret.txt")
    assert tools["read_file"](path="inside.txt").startswith("1\tfirst line")
    # Searching the root neither follows the escaping links nor reports their contents.
    found = tools["search_files"](pattern="secret")
    assert "top secret" not in found
    assert found.startswith("No matches.")


def test_list_directory_entries(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    (workspace / "link").symlink_to("notes.txt")
    assert tools["list_directory"](path=".").splitlines() == [
        "./ (3 entries)",
        "link -> notes.txt",
        f"notes.txt  ({(workspace / 'notes.txt').stat().st_size} bytes)",
        "src/",
    ]
    assert tools["list_directory"](path="src").splitlines() == ["src/ (1 entries)", f"app.py  ({(workspace / 'src' / 'app.py').stat().st_size} bytes)"]
    with pytest.raises(NotADirectoryError):
        tools["list_directory"](path="notes.txt")


def test_file_size_cap_truncates(workspace: Path) -> None:
    (workspace / "big.txt").write_text("".join(f"line {n}\n" for n in range(1, 1001)))
    tools = load_tools({"root": str(workspace), "max_file_bytes": 100})
    result = tools["read_file"](path="big.txt")
    size = (workspace / "big.txt").stat().st_size
    # 100 bytes hold lines 1-13 and the start of line 14, which is not shown as if whole.
    assert result.splitlines() == [
        *(f"{n:>2}\tline {n}" for n in range(1, 14)),
        f"[truncated: the file is {size} bytes; only the first 100 bytes (13 lines) can be read]",
    ]
    assert tools["read_file"](path="big.txt", start_line=2, end_line=3) == "2\tline 2\n3\tline 3"


def test_result_cap_names_where_to_continue(workspace: Path) -> None:
    (workspace / "long.txt").write_text("".join(f"{'x' * 40} {n}\n" for n in range(1, 201)))
    tools = load_tools({"root": str(workspace), "max_result_chars": 500})
    result = tools["read_file"](path="long.txt")
    assert len(result) < 700
    last = result.splitlines()[-1]
    assert last.startswith("[truncated: result limit of 500 characters reached; continue with start_line=")
    next_line = int(last.rsplit("=", 1)[1].rstrip("]"))
    assert tools["read_file"](path="long.txt", start_line=next_line, end_line=next_line).endswith(f" {next_line}")


def test_binary_file_refused_and_skipped(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    (workspace / "image.bin").write_bytes(b"GIF89a\x00\x01needle\x00")
    with pytest.raises(ValueError, match="binary file"):
        tools["read_file"](path="image.bin")
    (workspace / "text.txt").write_text("a needle here\n")
    result = tools["search_files"](pattern="needle")
    assert result.splitlines() == ["text.txt:1: a needle here", "1 match(es) in 3 file(s) searched; 1 file(s) skipped (binary, over the size limit or not a regular file)"]


def test_search_literal_text(tools: dict[str, Callable[..., Any]]) -> None:
    assert tools["search_files"](pattern="line", path="notes.txt").splitlines() == [
        "notes.txt:1: first line",
        "notes.txt:3: third line",
        "2 match(es) in 1 file(s) searched",
    ]
    # Literal: regex metacharacters match themselves.
    assert tools["search_files"](pattern="main()").splitlines()[0] == "src/app.py:3: def main():"
    assert tools["search_files"](pattern="LINE", ignore_case=True, path="notes.txt").count("notes.txt:") == 3


def test_search_regex_and_glob(tools: dict[str, Callable[..., Any]]) -> None:
    assert tools["search_files"](pattern=r"^(first|third) \w+$", regex=True).splitlines()[:2] == [
        "notes.txt:1: first line",
        "notes.txt:3: third line",
    ]
    assert tools["search_files"](pattern="o", glob="*.py").splitlines()[0].startswith("src/app.py:1:")
    assert "notes.txt" not in tools["search_files"](pattern="i", glob="*.py")
    with pytest.raises(ValueError, match="invalid regular expression"):
        tools["search_files"](pattern="(", regex=True)


def test_search_result_caps(workspace: Path) -> None:
    (workspace / "many.txt").write_text("hit\n" * 500)
    tools = load_tools({"root": str(workspace)})
    result = tools["search_files"](pattern="hit", max_results=5)
    assert result.count("many.txt:") == 5
    assert "[truncated: max_results=5 reached" in result
    small = load_tools({"root": str(workspace), "max_result_chars": 100})["search_files"](pattern="hit")
    assert "[truncated: result limit of 100 characters reached" in small
    assert small.count("many.txt:") == 100 // len("many.txt:1: hit\n")


def test_search_skips_special_files(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")  # reading it would block forever
    assert tools["search_files"](pattern="line").endswith("2 match(es) in 2 file(s) searched; 1 file(s) skipped (binary, over the size limit or not a regular file)")


def test_search_skips_vcs_folders(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("needle\n")
    assert tools["search_files"](pattern="needle").startswith("No matches.")


def test_read_only(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    before = {path: path.stat().st_mtime_ns for path in workspace.rglob("*")}
    tools["read_file"](path="notes.txt")
    tools["search_files"](pattern="x")
    tools["list_directory"]()
    assert {path: path.stat().st_mtime_ns for path in workspace.rglob("*")} == before


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("run_chatfn")


def test_chat_reads_a_file(request: pytest.FixtureRequest, workspace: Path, tmp_path: Path) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    config = tmp_path / "config.toml"
    config.write_text(f"[plugins.files]\nroot = {str(workspace)!r}\n")
    chat_server.script(testing.tool_calls(("read_file", {"path": "notes.txt", "end_line": 1})), testing.text("It says hi."))
    result = run_chatfn(
        "chat", "-y", "read notes.txt", env={"CHATFN_LOAD_PLUGINS": "files", "CHATFN_CONFIG": str(config)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It says hi."
    tool_messages = [m for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["1\tfirst line"]
    assert os.fspath(workspace) not in result.stdout
