"""`chatfn plugins` and plugin isolation as a user sees it: real distributions, real subprocesses."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env

GOOD = '''
import chatfn

def greet(name: str) -> str:
    """Greet someone.

    Args:
        name: Who.
    """
    return f"Hello, {name}!"

@chatfn.hookimpl
def register_tools(register):
    register(greet)
'''

IMPORT_FAILS = "import chatfn\nimport no_such_module_anywhere\n"

HOOK_RAISES = '''
import chatfn

@chatfn.hookimpl
def register_tools(register):
    raise RuntimeError("hook exploded")
'''


@pytest.fixture
def three_plugins(tmp_path: Path) -> dict[str, str]:
    """A good plugin, one whose import fails and one whose hook raises, each its own distribution."""
    sites = [
        make_plugin(tmp_path / "good", GOOD, module="chatfn_greet", distribution="chatfn-greet", version="1.0", entry_point="greet"),
        make_plugin(tmp_path / "imp", IMPORT_FAILS, module="chatfn_imp", distribution="chatfn-broken-import", version="0.1", entry_point="broken_import"),
        make_plugin(tmp_path / "hook", HOOK_RAISES, module="chatfn_hook", distribution="chatfn-broken-hook", version="0.2", entry_point="broken_hook"),
    ]
    return plugin_env(*sites, load="greet,broken_import,chatfn-broken-hook")


IMPORT_LINE = "warning: plugin 'broken_import' (chatfn-broken-import 0.1) failed to load: ModuleNotFoundError: No module named 'no_such_module_anywhere'"
HOOK_LINE = "warning: plugin 'broken_hook' (chatfn-broken-hook 0.2) failed to load: RuntimeError: hook exploded"


@pytest.mark.parametrize(
    "command",
    [
        ["tools", "list"],
        ["tools", "list", "--json"],
        ["tools", "show", "greet"],
        ["tools", "call", "greet", "name=Ada"],
        ["plugins", "list"],
        ["plugins", "list", "--json", "--timings"],
    ],
)
def test_broken_plugins_cost_one_line_each(cli, three_plugins, command: list[str]) -> None:
    result = cli(*command, env=three_plugins)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stderr.splitlines()) == sorted([IMPORT_LINE, HOOK_LINE])
    assert ("greet" in result.stdout or "Hello, Ada!" in result.stdout) and "Traceback" not in result.stderr


def test_plugins_list_shows_each_plugin(cli, three_plugins) -> None:
    result = cli("plugins", "list", "--json", env=three_plugins)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["builtin"]["status"] == "loaded" and rows["builtin"]["distribution"] == "chatfn"
    assert rows["builtin"]["tools"] == ["get_current_date", "get_current_time", "get_current_weather"]
    assert rows["greet"] | {"load_time": 0} == {
        "name": "greet",
        "distribution": "chatfn-greet",
        "version": "1.0",
        "entry_point": "chatfn_greet",
        "status": "loaded",
        "reason": None,
        "tools": ["greet"],
        "problems": [],
        "load_time": 0,
    }
    assert rows["broken_hook"]["status"] == "failed" and rows["broken_hook"]["reason"] == "RuntimeError: hook exploded"
    text = cli("plugins", "list", "--timings", env=three_plugins).stdout
    assert "greet  chatfn-greet 1.0  [chatfn_greet]  loaded" in text and " ms" in text
    assert "broken_import  chatfn-broken-import 0.1  [chatfn_imp]  failed: ModuleNotFoundError" in text


def test_only_selected_or_no_third_party_plugins(cli, three_plugins) -> None:
    only_good = cli("plugins", "list", env={**three_plugins, "CHATFN_LOAD_PLUGINS": "chatfn-greet"})
    assert only_good.stderr == "" and "broken_hook  chatfn-broken-hook 0.2  [chatfn_hook]  disabled: not in CHATFN_LOAD_PLUGINS" in only_good.stdout
    none = cli("tools", "list", env={**three_plugins, "CHATFN_LOAD_PLUGINS": ""})
    assert none.stderr == "" and "greet" not in none.stdout


def test_config_disables_plugins(cli, three_plugins, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('disabled_plugins = ["broken_import", "chatfn-broken-hook"]\n', encoding="utf-8")
    result = cli("plugins", "list", "--config", str(config), env=three_plugins)
    assert result.returncode == 0 and result.stderr == ""
    assert "disabled: disabled in config (disabled_plugins)" in result.stdout


def test_slow_plugin_shows_in_timings(cli, tmp_path: Path) -> None:
    slow = make_plugin(tmp_path / "slow", "import time\ntime.sleep(0.3)\n" + GOOD, module="chatfn_slow", distribution="chatfn-slow", entry_point="slow")
    rows = json.loads(cli("plugins", "list", "--json", "--timings", env=plugin_env(slow, load="slow")).stdout)
    assert next(row for row in rows if row["name"] == "slow")["load_time"] >= 0.3


BACKEND = '''
"""A PEP 517 backend in a dozen lines (no setuptools/wheel needed offline): one module, one entry point."""
import base64, hashlib, zipfile

NAME, VERSION, MODULE = "chatfn_hello", "0.3", "chatfn_hello.py"
DIST = f"{NAME}-{VERSION}.dist-info"
FILES = {
    f"{DIST}/METADATA": "Metadata-Version: 2.1\\nName: chatfn-hello\\nVersion: 0.3\\n",
    f"{DIST}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    f"{DIST}/entry_points.txt": "[chatfn]\\nhello = chatfn_hello\\n",
}

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {MODULE: open(MODULE).read(), **FILES}
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
            wheel.writestr(path, data)
        wheel.writestr(f"{DIST}/RECORD", "\\n".join(record + [f"{DIST}/RECORD,,"]) + "\\n")
    return name
'''


@pytest.mark.slow
def test_a_pip_installed_plugin_works_end_to_end(cli, tmp_path: Path) -> None:
    """Build a plugin project and pip-install it (through `chatfn plugins install`) into a target dir."""
    project = tmp_path / "chatfn-hello"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]

            [project]
            name = "chatfn-hello"
            version = "0.3"
            """
        ),
        encoding="utf-8",
    )
    (project / "backend.py").write_text(BACKEND, encoding="utf-8")
    (project / "chatfn_hello.py").write_text(GOOD.replace("Hello", "Hi there"), encoding="utf-8")
    target = tmp_path / "site"
    installed = cli(
        "plugins", "install", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(project),
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "Successfully installed chatfn-hello-0.3" in installed.stdout
    env = plugin_env(target, load="chatfn-hello")
    listed = cli("tools", "list", env=env)
    assert any(line.split()[:2] == ["greet", "hello"] for line in listed.stdout.splitlines()), listed.stdout
    plugins = {row["name"]: row for row in json.loads(cli("plugins", "list", "--json", env=env).stdout)}
    assert plugins["hello"]["distribution"] == "chatfn-hello" and plugins["hello"]["version"] == "0.3"
    called = cli("tools", "call", "greet", "name=Ada", env=env)
    assert (called.returncode, called.stdout) == (0, "Hi there, Ada!\n")


@pytest.mark.slow
def test_pip_exit_code_passes_through(cli, tmp_path: Path) -> None:
    result = cli("plugins", "install", "--no-index", "--target", str(tmp_path / "t"), str(tmp_path / "missing-project"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "missing-project" in result.stderr
