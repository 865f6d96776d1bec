"""A plugin that loads but offers nothing says why, in plugins list and tools list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plugin_factory import make_plugin, plugin_env

UNMARKED = '''
def shout(text: str) -> str:
    """Shout it."""
    return text.upper()


def register_tools(register):  # no @chatfn.hookimpl: pluggy never calls it
    register(shout)
'''

ONLY_INVALID = '''
import chatfn


@chatfn.hookimpl
def register_tools(register):
    register(lambda text: text, name="not a valid name")
'''


def _chatfn(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatfn", *args], env=env, capture_output=True, text=True, timeout=60)


def test_unmarked_and_invalid_plugins_are_warnings_in_both_listings(tmp_path: Path) -> None:
    unmarked = make_plugin(tmp_path / "a", UNMARKED, module="chatfn_unmarked", distribution="chatfn-unmarked")
    invalid = make_plugin(tmp_path / "b", ONLY_INVALID, module="chatfn_only_invalid", distribution="chatfn-only-invalid")
    env = plugin_env(unmarked, invalid, load="chatfn-unmarked,chatfn-only-invalid")

    plugins = _chatfn("plugins", "list", env=env)
    assert plugins.returncode == 0, plugins.stderr
    lines = plugins.stdout.splitlines()
    (unmarked_line,) = [line for line in lines if line.startswith("chatfn_unmarked ")]
    (invalid_line,) = [line for line in lines if line.startswith("chatfn_only_invalid ")]
    assert unmarked_line.endswith("loaded with 1 warning") and invalid_line.endswith("loaded with 1 warning")
    assert any("warning:" in line and "not marked with @chatfn.hookimpl" in line for line in lines)
    assert any("warning:" in line and "invalid tool" in line and "not a valid name" in line for line in lines)

    tools = _chatfn("tools", "list", env=env)
    assert tools.returncode == 0
    assert "chatfn_unmarked" in tools.stderr and "not marked with @chatfn.hookimpl" in tools.stderr
    assert "chatfn_only_invalid" in tools.stderr and "invalid tool" in tools.stderr
