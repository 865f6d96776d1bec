"""chatfn-tools-files: confinement to the root, caps, binary detection, secrets, search."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chatfn_tools_files
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the invoke_chatfn fixture


def registrations(config: dict[str, Any]) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """Call the plugin's hook as chatfn would: each tool's function and register options."""
    registered: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}

    def register(function: Callable[..., Any], name: str | None = None, **options: Any) -> None:
        registered[name or function.__name__] = (function, options)

    chatfn_tools_files.register_tools(register=register, plugin_config={"files": config})
    return registered


def load_tools(config: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """The registered tools by name."""
    return {name: function for name, (function, _) in registrations(config).items()}


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
    assert result.splitlines() == ["text.txt:1: a needle here", "1 match(es) in 3 file(s) searched; 1 file(s) skipped (binary, over the size limit, a secret, a hard link or not a regular file)"]


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
    assert tools["search_files"](pattern="line").endswith("2 match(es) in 2 file(s) searched; 1 file(s) skipped (binary, over the size limit, a secret, a hard link or not a regular file)")


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


# -- issue 10: what an attacker tried ----------------------------------------------


def test_hard_link_to_a_file_outside_is_refused(tools: dict[str, Callable[..., Any]], workspace: Path) -> None:
    os.link(workspace.parent / "secret.txt", workspace / "innocent.txt")
    with pytest.raises(PermissionError, match="is a hard link"):
        tools["read_file"](path="innocent.txt")
    assert tools["search_files"](pattern="top secret").startswith("No matches.")
    allowed = load_tools({"root": str(workspace), "allow_hard_links": True})
    assert allowed["read_file"](path="innocent.txt") == "1\ttop secret"


def test_a_long_single_line_is_shown_cut_never_as_zero_lines(workspace: Path) -> None:
    (workspace / "min.js").write_text("x" * 5_000_000)
    result = load_tools({"root": str(workspace)})["read_file"](path="min.js")
    first, note = result.splitlines()
    assert first == "1\t" + "x" * 2000 + " … [line truncated: 998000 more characters not shown]"
    assert note == "[truncated: the file is 5000000 bytes; only the first 1000000 bytes (the start of line 1) can be read]"
    assert "(0 lines)" not in result
    short = load_tools({"root": str(workspace), "max_line_chars": 10})["read_file"](path="notes.txt")
    assert short.splitlines()[1] == "2\tsecond Lin … [line truncated: 1 more characters not shown]"


def test_one_line_longer_than_the_result_limit_is_still_shown(workspace: Path) -> None:
    (workspace / "wide.txt").write_text("y" * 300 + "\nnext\n")
    result = load_tools({"root": str(workspace), "max_result_chars": 100})["read_file"](path="wide.txt")
    assert result.splitlines()[0].startswith("1\tyyyy")
    assert result.splitlines()[-1] == "[truncated: result limit of 100 characters reached; continue with start_line=2]"


SECRETS = [".env", ".env.local", ".envrc", "prod.env", "id_rsa", "id_ed25519.pub", "server.pem", "tls.key", ".netrc", "sub/.npmrc",
           ".pypirc", ".aws/credentials", ".git/config", ".ssh/config", "sub/.git-credentials"]


@pytest.fixture
def secrets(workspace: Path) -> Path:
    for name in SECRETS:
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("API_KEY=hunter2\n")
    return workspace


@pytest.mark.parametrize("name", SECRETS)
def test_secrets_are_refused_by_default(secrets: Path, name: str) -> None:
    tools = load_tools({"root": str(secrets)})
    with pytest.raises(PermissionError, match="deny pattern"):
        tools["read_file"](path=name)
    with pytest.raises(PermissionError, match="deny pattern"):
        tools["search_files"](pattern="hunter2", path=name)


def test_secrets_are_skipped_by_search_and_marked_in_listings(secrets: Path) -> None:
    tools = load_tools({"root": str(secrets)})
    assert tools["search_files"](pattern="hunter2").startswith("No matches.")
    listing = tools["list_directory"]().splitlines()
    assert ".env  (not readable: matches the deny pattern '.env*')" in listing
    assert "server.pem  (not readable: matches the deny pattern '*.pem')" in listing
    with pytest.raises(PermissionError, match="deny pattern '.git'"):
        tools["list_directory"](path=".git")
    # A symlink with a harmless name still leads to the secret it points at.
    (secrets / "notes.md").symlink_to(".env")
    with pytest.raises(PermissionError, match="deny pattern '.env\\*'"):
        tools["read_file"](path="notes.md")


def test_the_deny_list_is_configurable(secrets: Path) -> None:
    opened = load_tools({"root": str(secrets), "deny": []})
    assert opened["read_file"](path=".env") == "1\tAPI_KEY=hunter2"
    custom = load_tools({"root": str(secrets), "deny": ["notes.txt"]})
    assert custom["read_file"](path=".env") == "1\tAPI_KEY=hunter2"
    with pytest.raises(PermissionError, match="deny pattern 'notes.txt'"):
        custom["read_file"](path="notes.txt")
    with pytest.raises(ValueError, match="deny must be a list"):
        load_tools({"deny": ".env"})


@pytest.mark.slow
def test_a_directory_swapped_for_a_symlink_never_leads_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "dir").mkdir(parents=True)
    outside.mkdir()
    (root / "dir" / "file.txt").write_text("inside\n")
    (outside / "file.txt").write_text("OUTSIDE\n")
    read_file = load_tools({"root": str(root)})["read_file"]
    # Another process (so it truly runs alongside) makes root/dir take turns as the
    # directory and as a symlink to the outside.
    swap = (
        "import os, sys\n"
        "root, outside = sys.argv[1:]\n"
        "while True:\n"
        "    os.rename(root + '/dir', root + '/real'); os.symlink(outside, root + '/dir')\n"
        "    os.unlink(root + '/dir'); os.rename(root + '/real', root + '/dir')\n"
    )
    swapper = subprocess.Popen([sys.executable, "-c", swap, str(root), str(outside)])
    seen: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                text = read_file(path="dir/file.txt")
            except OSError as error:
                text = type(error).__name__
            seen[text] = seen.get(text, 0) + 1
    finally:
        swapper.kill()
        swapper.wait()
    assert "1\tOUTSIDE" not in seen, seen
    assert seen.get("1\tinside"), seen


@pytest.fixture(scope="module")
def maze(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root whose every way out (links of each kind, a hard link) points at a marked file."""
    base = tmp_path_factory.mktemp("maze")
    outside, root = base / "outside", base / "root"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("OUTSIDE-MARKER\n")
    (outside / "deep" / "secret.txt").write_text("OUTSIDE-MARKER\n")
    (outside / "only-outside.txt").write_text("OUTSIDE-MARKER\n")
    (root / "sub" / "inner").mkdir(parents=True)
    (root / "sub" / "ok.txt").write_text("fine\n")
    (root / "up").symlink_to("..")
    (root / "sub" / "upup").symlink_to("../..")
    (root / "abs").symlink_to(outside)
    (root / "sub" / "rel").symlink_to("../../outside/secret.txt")
    (root / "proc").symlink_to("/proc/self/root")
    (root / "loop").symlink_to("loop")
    (root / "inside").symlink_to("sub")
    (root / "sub" / "back").symlink_to("..")
    os.link(outside / "secret.txt", root / "hard.txt")
    return root


PIECES = ["..", ".", "", "sub", "inner", "ok.txt", "up", "upup", "abs", "rel", "proc", "loop", "inside", "back", "hard.txt",
          "secret.txt", "deep", "outside", "etc", "passwd", "\x00", "．．", "‥", "..\u2215", "%2e%2e", "~", "..\\..",
          "\u202e..", "sub\u200b"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=7),
    absolute=st.sampled_from(["", "/", "root", "/proc/self/root", "/proc/self/cwd"]),
)
def test_no_path_the_model_can_name_reads_outside_the_root(maze: Path, pieces: list[str], absolute: str) -> None:
    prefix = {"": "", "/": "/", "root": f"{maze}/", "/proc/self/root": f"/proc/self/root{maze}/", "/proc/self/cwd": "/proc/self/cwd/"}[absolute]
    path = prefix + "/".join(pieces)
    tools = load_tools({"root": str(maze)})
    for name, arguments in (
        ("read_file", {"path": path}),
        ("list_directory", {"path": path}),
        ("search_files", {"pattern": "MARKER", "path": path}),
    ):
        try:
            result = tools[name](**arguments)
        except (OSError, ValueError):
            continue
        assert "OUTSIDE-MARKER" not in result, (name, path)
        if name == "list_directory":  # a listing of the outside would show its file names
            assert "only-outside" not in result, (name, path)


def test_symlinks_inside_the_root_are_followed(maze: Path) -> None:
    tools = load_tools({"root": str(maze)})
    assert tools["read_file"](path="inside/ok.txt") == "1\tfine"
    assert tools["read_file"](path="sub/back/sub/ok.txt") == "1\tfine"
    assert tools["read_file"](path=f"{maze}/inside/../sub/ok.txt") == "1\tfine"
    with pytest.raises(PermissionError, match="too many levels"):
        tools["read_file"](path="loop")


@pytest.mark.slow
def test_a_catastrophic_regex_is_a_clear_error_within_the_timeout(workspace: Path) -> None:
    (workspace / "issue.txt").write_text("a" * 30 + "!\n")
    (workspace / "long.txt").write_text("fine\n" + "a" * 5000 + "!\n")
    search = load_tools({"root": str(workspace), "search_timeout": 0.5})["search_files"]
    started = time.monotonic()
    assert search(pattern="(a+)+$", regex=True, path="issue.txt").startswith("No matches.")  # the input
    for pattern in ("(a+)+$", "(a|aa)+$"):
        with pytest.raises(TimeoutError, match=r"stopped after 0.5 s at long.txt(:2)?: the regular expression is too slow"):
            search(pattern=pattern, regex=True, path="long.txt")
    assert time.monotonic() - started < 5  # not minutes: each match itself was stopped


PATTERNS = ["a", "ab", "x[^y]*z", "a\\s*b", "^a", "b$", "^$", "\\Aa", "a\\Z", "a(?!b)", "(?<=x)a", "(?s)a.b", "(?-m)^b",
            "q*", "\\bab\\b", "[^a]+", "(a|b)\\1", "x.*z", "\\W"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.sampled_from(PATTERNS), text=st.text(alphabet="abxyz \n", max_size=40), ignore_case=st.booleans())
def test_a_search_reports_exactly_the_lines_a_line_by_line_search_matches(
    tmp_path: Path, pattern: str, text: str, ignore_case: bool
) -> None:
    """The whole-file pass that picks candidate lines never hides a line that matches on its own."""
    import regex as engine

    (tmp_path / "f.txt").write_text(text)
    result = load_tools({"root": str(tmp_path)})["search_files"](pattern=pattern, regex=True, ignore_case=ignore_case, max_results=1000)
    found = [int(line.split(":")[1]) for line in result.splitlines() if line.startswith("f.txt:")]
    matcher = engine.compile(pattern, engine.IGNORECASE if ignore_case else 0)
    expected = [number for number, line in enumerate(text.splitlines(), start=1) if matcher.search(line)]
    assert found == expected


def test_a_search_past_its_time_stops_between_files(workspace: Path) -> None:
    for index in range(50):
        (workspace / f"f{index:02}.txt").write_text("nothing here\n" * 1000)
    search = load_tools({"root": str(workspace), "search_timeout": 0.000001})["search_files"]
    with pytest.raises(TimeoutError, match=r"stopped after 1e-06 s before \S+: too much to search; narrow it with path or glob"):
        search(pattern="needle")


@pytest.mark.slow
def test_ctrl_c_stops_a_slow_search_in_chatfn(workspace: Path, tmp_path: Path) -> None:
    """Matching runs without the GIL, so chatfn's main thread still takes Ctrl-C."""
    (workspace / "a.txt").write_text("a" * 20000 + "!\n")
    config = tmp_path / "config.toml"
    config.write_text(f"[plugins.files]\nroot = {str(workspace)!r}\nsearch_timeout = 60\n")
    env = {**os.environ, "CHATFN_LOAD_PLUGINS": "files", "CHATFN_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "tools", "call", "search_files", "pattern=(a|aa)+$", "regex=true"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=10) == 130
    finally:
        process.kill()
        process.communicate()


def test_registered_as_read_only_local_private_data() -> None:
    for name, (_, options) in registrations({}).items():
        assert options["read_only_hint"] is True, name
        assert options["open_world_hint"] is False, name
        assert options["private_data"] is True, name


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("invoke_chatfn")


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
