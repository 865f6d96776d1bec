"""Plugin discovery and isolation, in-process, with real distribution metadata on sys.path."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Callable

import pytest
from plugin_factory import make_plugin

from chatfn.plugins.host import DEFAULT_PLUGINS, get_plugin_manager, load_tools
from chatfn.settings.config import Config, ToolSettings

BUILTINS = {"get_current_date", "get_current_time", "get_current_weather"}
_numbers = itertools.count()

GOOD = '''
import chatfn

def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: What to say.
    """
    return text.upper()

@chatfn.hookimpl
def register_tools(register, plugin_config):
    register(shout)
    register(shout, name="get_current_date", description="A replacement.")
    register(shout, name="echo_{n}")
    settings = plugin_config.get("{entry}", {{}})
    if settings.get("extra"):
        register(shout, name=settings["extra"])
'''


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Make a plugin distribution on sys.path; returns its entry-point name."""

    def make(source: str = GOOD, *, distribution: str | None = None, entry: str | None = None) -> str:
        n = next(_numbers)
        module = f"chatfn_t{n}_{tmp_path.name[-8:].replace('-', '_')}"
        entry = entry or f"plug{n}"
        directory = make_plugin(
            tmp_path / f"site{n}",
            source.replace("{n}", str(n)).replace("{entry}", entry).replace("{{}}", "{}"),
            module=module,
            distribution=distribution or f"chatfn-plug{n}",
            version="1.2",
            entry_point=entry,
        )
        monkeypatch.syspath_prepend(str(directory))
        monkeypatch.setenv("CHATFN_LOAD_PLUGINS", ",".join(filter(None, [*_loaded(), entry])))
        return entry

    return make


def _loaded() -> list[str]:
    import os

    return [name for name in os.environ.get("CHATFN_LOAD_PLUGINS", "").split(",") if name]


def load(config: Config | None = None):
    messages: list[str] = []
    toolset = load_tools(config or Config(), report=messages.append)
    return toolset, messages


def test_builtins_are_a_plugin() -> None:
    assert DEFAULT_PLUGINS == ("chatfn.plugins.builtin",)
    toolset, messages = load()
    assert messages == [] and set(toolset.tools) == BUILTINS
    # Installed third-party plugins (CI installs plugins/) are listed too, as skipped.
    [builtin] = [plugin for plugin in toolset.plugins if plugin.status == "loaded"]
    assert (builtin.name, builtin.distribution, builtin.status) == ("builtin", "chatfn", "loaded")
    assert all(tool.plugin == "builtin" for tool in toolset)


def test_hookspec_is_the_contract() -> None:
    manager = get_plugin_manager()
    assert manager.project_name == "chatfn"
    assert manager.hook.register_tools.spec.argnames == ("register", "plugin_config")


def test_a_third_party_plugin_loads_and_replaces_a_builtin(install) -> None:
    entry = install()
    toolset, messages = load()
    assert messages == []
    info = toolset.plugin(entry)
    assert (info.distribution, info.version, info.status) == (f"chatfn-{entry}", "1.2", "loaded")
    assert info.tools == ["shout", "get_current_date", f"echo_{entry[4:]}"]
    assert toolset.tools["shout"].function(text="hi") == "HI"
    assert toolset.tools["get_current_date"].plugin == entry
    assert toolset.tools["get_current_date"].description == "A replacement."
    assert toolset.replaced == {"get_current_date": entry}


def test_plugin_config_reaches_the_hook(install) -> None:
    entry = install()
    toolset, _ = load(Config(plugins={entry: {"extra": "configured_tool"}}))
    assert "configured_tool" in toolset.tools


def test_load_plugins_variable_and_disabled_plugins(install, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = install(distribution="chatfn-selected")
    monkeypatch.setenv("CHATFN_LOAD_PLUGINS", "")
    toolset, _ = load()
    assert set(toolset.tools) == BUILTINS
    assert toolset.plugin(entry).status == "disabled" and "CHATFN_LOAD_PLUGINS" in toolset.plugin(entry).reason
    monkeypatch.setenv("CHATFN_LOAD_PLUGINS", "chatfn_selected")  # a distribution name, normalised
    assert "shout" in load()[0].tools
    toolset, _ = load(Config(disabled_plugins=[entry]))
    assert "shout" not in toolset.tools and "disabled_plugins" in toolset.plugin(entry).reason
    toolset, _ = load(Config(disabled_plugins=["builtin"]))
    assert "get_current_time" not in toolset.tools and "shout" in toolset.tools


def test_enabled_and_disabled_tools(install) -> None:
    install()
    toolset, _ = load(Config(tools=ToolSettings(enabled=["get_current_*", "shout"], disabled=["get_current_weather"])))
    assert set(toolset.tools) == {"get_current_date", "get_current_time", "shout"}
    assert toolset.hidden["get_current_weather"] == "in [tools] disabled"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise ImportError('no module named foo')\n", "failed to load: ImportError: no module named foo"),
        (
            "import chatfn\n@chatfn.hookimpl\ndef register_tools(register):\n    register(str.upper, name='partial', schema={'name': 'p', 'parameters': {'type': 'object'}})\n    raise RuntimeError('hook broke')\n",
            "failed to load: RuntimeError: hook broke",
        ),
        ("import chatfn\n@chatfn.hookimpl\ndef register_tool(register):\n    pass\n", "unknown hook register_tool"),
        ("import chatfn\n@chatfn.hookimpl\ndef register_tools(register, nonsense):\n    pass\n", "failed to load"),
    ],
    ids=["import-error", "hook-raises", "misspelt-hook", "unknown-argument"],
)
def test_a_broken_plugin_is_one_line_and_the_rest_works(install, source: str, expected: str) -> None:
    good = install()
    broken = install(source)
    toolset, messages = load()
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"plugin '{broken}' (chatfn-{broken} 1.2) ") and expected in messages[0]
    assert "\n" not in messages[0]
    assert toolset.plugin(broken).status == "failed" and toolset.plugin(broken).tools == []
    assert "partial" not in toolset.tools  # a hook that raised contributes nothing
    assert {"shout", "get_current_time"} <= set(toolset.tools) and toolset.plugin(good).status == "loaded"


def test_invalid_tools_are_reported_and_skipped(install) -> None:
    entry = install(
        "import chatfn\n"
        "def ok() -> str:\n    '''Fine.'''\n    return 'ok'\n"
        "@chatfn.hookimpl\n"
        "def register_tools(register):\n"
        "    register(ok)\n"
        "    register(ok, name='bad name')\n"
        "    register('not callable', name='nc')\n"
        "    register(ok, name='bad_schema', schema={'name': 'x', 'parameters': {'type': 'object', 'properties': {'a': {'type': 'strnig'}}}})\n"
        "    register(ok, name='no_params', schema={'name': 'x'})\n"
    )
    toolset, messages = load()
    assert "ok" in toolset.tools and not {"bad name", "nc", "bad_schema", "no_params"} & set(toolset.tools)
    assert len(messages) == 4 and all(m.startswith(f"plugin '{entry}' (chatfn-{entry} 1.2) registered an invalid tool") for m in messages)
    assert "not valid JSON Schema" in messages[-1]  # the full check runs after the cheap ones


def test_schema_check_can_wait_for_a_later_use(install) -> None:
    install(
        "import chatfn\n@chatfn.hookimpl\ndef register_tools(register):\n"
        "    register(str.upper, name='bad_schema', schema={'name': 'x', 'parameters': {'type': 'object', 'minProperties': -1}})\n"
    )
    messages: list[str] = []
    quick = load_tools(Config(), report=messages.append, check_schemas=False)
    assert "bad_schema" in quick.tools and messages == []
    checked = load_tools(Config(), report=messages.append)
    assert "bad_schema" not in checked.tools and len(messages) == 1
    # whoever holds the quick listing still has it as it was: the check made a new tool set
    assert checked is not quick and "bad_schema" in quick.tools and not quick.schemas_checked
    assert load_tools(Config(), report=messages.append) is checked and len(messages) == 1


def test_two_plugins_with_one_tool_name(install) -> None:
    first, second = install(), install()
    toolset, messages = load()
    assert "shout" not in toolset.tools and toolset.conflicts["shout"] == [first, second]
    clash = [m for m in messages if "'shout'" in m]
    assert len(clash) == 1 and f"'{first}' (chatfn-{first} 1.2)" in clash[0] and f"'{second}' (chatfn-{second} 1.2)" in clash[0]
    assert "[tools.prefer]" in clash[0]
    toolset, _ = load(Config(tools=ToolSettings(prefer={"shout": second, "get_current_date": "builtin"})))
    assert toolset.tools["shout"].plugin == second
    assert toolset.tools["get_current_date"].plugin == "builtin" and "get_current_date" not in toolset.replaced


def test_loads_once_and_timings_are_recorded(install) -> None:
    install("import time\nimport chatfn\ntime.sleep(0.2)\n@chatfn.hookimpl\ndef register_tools(register):\n    pass\n")
    first, _ = load()
    assert load()[0] is first
    [slow] = [info for info in first.plugins if info.name != "builtin" and info.status == "loaded"]
    assert slow.load_time >= 0.2


@pytest.mark.slow
def test_importing_chatfn_loads_no_plugin() -> None:
    import subprocess

    code = "import sys, chatfn, chatfn.plugins.host, chatfn.cli; print(sorted(m for m in sys.modules if m.startswith(('chatfn.builtin', 'openai', 'jsonschema'))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
