"""``chatfn --help`` and ``tools list`` answered from the last identical run, and never stale.

Each test runs the real ``python -m chatfn`` (the replay happens in the entry point,
before Typer) with ``-X importtime``, whose report on stderr tells a replayed answer
(no typer imported) from a computed one. Files are dated a minute back after they are
written, because a run does not keep an answer that depends on a file changed just
before it started (see :data:`chatfn.replay.RACY_NS`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env

pytestmark = pytest.mark.slow  # real chatfn processes, several per test

PLUGIN = '''
import chatfn

def {name}(text: str) -> str:
    """{summary}"""
    return text

@chatfn.hookimpl
def register_tools(register):
    register({name})
'''


def run(*args: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``python -m chatfn ARGS``; the result without the import report, and whether it was replayed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chatfn", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    report = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    stderr = "".join(f"{line}\n" for line in done.stderr.splitlines() if not line.startswith("import time:"))
    replayed = not any(line.endswith(("| typer", "| chatfn.cli")) for line in report)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, stderr), replayed


def age(*roots: Path) -> None:
    """Date every file and folder under ``roots`` a minute back."""
    past = time.time() - 60
    for root in roots:
        for folder, folders, files in os.walk(root):
            for name in [*folders, *files]:
                os.utime(os.path.join(folder, name), (past, past))
        os.utime(root, (past, past))


def tools(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def setting(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A plugin folder on PYTHONPATH with one plugin, an empty config, and the test plugins loading."""
    plugins = make_plugin(tmp_path / "plugins", PLUGIN.format(name="first_tool", summary="Say it once."))
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    env = plugin_env(plugins, load="chatfn-test-plugin,second,broken")
    env["CHATFN_CONFIG"] = str(config)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ folders appearing in the plugin folder
    work = tmp_path / "work"
    work.mkdir()
    age(tmp_path)
    return plugins, config, env


def test_help_and_tools_list_are_replayed_unchanged_without_typer(tmp_path: Path) -> None:
    _, _, env = setting(tmp_path)
    work = tmp_path / "work"
    shown = {}
    for args in (["tools", "list"], ["--help"], ["tools", "--help"]):
        first, replayed = run(*args, env=env, cwd=work)
        assert first.returncode == 0 and not replayed
        again, replayed = run(*args, env=env, cwd=work)
        assert replayed, args
        assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
        shown[args[-1]] = again.stdout
    assert "first_tool" in tools(shown["list"])
    assert "Usage: chatfn tools" in shown["--help"]


def test_an_installed_edited_or_removed_plugin_shows_at_once(tmp_path: Path) -> None:
    plugins, _, env = setting(tmp_path)
    work = tmp_path / "work"
    run("tools", "list", env=env, cwd=work)
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert replayed and "second_tool" not in tools(listed.stdout)

    make_plugin(plugins, PLUGIN.format(name="second_tool", summary="Say it twice."), module="second", distribution="second")
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert not replayed and "second_tool" in tools(listed.stdout)

    age(plugins)
    run("tools", "list", env=env, cwd=work)
    (plugins / "second.py").write_text(PLUGIN.format(name="second_tool", summary="Say it thrice."), encoding="utf-8")
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert not replayed and "Say it thrice." in listed.stdout

    age(plugins)
    run("tools", "list", env=env, cwd=work)
    shutil.rmtree(plugins / "second-1.0.dist-info")
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert not replayed and "second_tool" not in tools(listed.stdout) and "first_tool" in tools(listed.stdout)


def test_config_and_environment_changes_show_at_once(tmp_path: Path) -> None:
    _, config, env = setting(tmp_path)
    work = tmp_path / "work"
    run("tools", "list", env=env, cwd=work)
    assert run("tools", "list", env=env, cwd=work)[1]

    config.write_text('[tools]\ndisabled = ["first_tool"]\n', encoding="utf-8")
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert not replayed and "first_tool" not in tools(listed.stdout)

    config.write_text("", encoding="utf-8")
    age(config)
    run("tools", "list", env=env, cwd=work)
    listed, replayed = run("tools", "list", env={**env, "CHATFN_LOAD_PLUGINS": ""}, cwd=work)
    assert not replayed and "first_tool" not in tools(listed.stdout)
    listed, replayed = run("tools", "list", env=env, cwd=work)
    assert replayed and "first_tool" in tools(listed.stdout)


def test_runs_with_warnings_are_not_replayed(tmp_path: Path) -> None:
    plugins, _, env = setting(tmp_path)
    work = tmp_path / "work"
    make_plugin(plugins, "raise RuntimeError('broken at import')\n", module="broken", distribution="broken")
    age(plugins)
    for _ in range(2):
        listed, replayed = run("tools", "list", env=env, cwd=work)
        assert not replayed and "broken at import" in listed.stderr and "first_tool" in tools(listed.stdout)


def test_mcp_servers_show_at_once_and_their_tools_are_never_replayed(tmp_path: Path) -> None:
    _, config, env = setting(tmp_path)
    work = tmp_path / "work"
    run("tools", "list", env=env, cwd=work)
    assert run("tools", "list", env=env, cwd=work)[1]

    config.write_text(
        "[mcp.servers.time]\n"
        f"command = {json.dumps(sys.executable)}\nargs = ['-m', 'mcp_server_time', '--local-timezone', 'UTC']\n",
        encoding="utf-8",
    )
    age(config)
    for _ in range(2):  # the tool list comes from the MCP cache, whose changes this cache cannot see
        listed, replayed = run("tools", "list", env=env, cwd=work)
        assert listed.returncode == 0, listed.stderr
        assert not replayed and "time_get_current_time" in tools(listed.stdout)


def test_a_replay_into_a_closed_pipe_ends_quietly_as_a_computed_one_does(tmp_path: Path) -> None:
    _, _, env = setting(tmp_path)
    work = tmp_path / "work"
    run("tools", "list", env=env, cwd=work)
    assert run("tools", "list", env=env, cwd=work)[1]
    results = []
    for variables in (env, {**env, "CHATFN_LOAD_PLUGINS": ""}):  # replayed, then computed
        reader, writer = os.pipe()
        os.close(reader)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "chatfn", "tools", "list"],
                stdout=writer, stderr=subprocess.PIPE, text=True, env=variables, cwd=work, timeout=60, check=False,
            )
        finally:
            os.close(writer)
        results.append((done.returncode, done.stderr))
    assert results == [(1, ""), (1, "")]
