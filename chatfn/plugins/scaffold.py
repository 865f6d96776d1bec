"""`chatfn plugins new`: write a ready-to-install tool package, laid out as a third party would.

The package has one example tool registered through the ``register_tools`` hook,
a pyproject with the ``chatfn`` entry point, tests that use :mod:`chatfn.testing`
(loaded by ``pytest_plugins`` in the package's root ``conftest.py``)
(the tool called directly, then called by a scripted model through the real CLI)
and a README, so ``pip install -e .`` followed by ``pytest`` passes at once.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from chatfn.errors import ChatfnError, UsageError

__all__ = ["check_name", "new_plugin", "next_steps", "plugin_name", "render_files"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
MAX_NAME_CHARS = 40
RESERVED_NAMES = frozenset({"builtin", "chatfn", "tools", "plugins", "testing"})


def plugin_name(name: str) -> str:
    """The plugin's own name: ``chatfn-foo`` and ``chatfn_foo`` mean ``foo`` (the package adds the prefix)."""
    for prefix in ("chatfn-", "chatfn_"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix) :]
    return name


def check_name(name: str) -> str:
    """``name`` when it makes a good entry point, distribution and module name; else UsageError."""
    if not NAME_PATTERN.match(name or "") or len(name) > MAX_NAME_CHARS:
        raise UsageError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and single '-' or '_' between them, "
            f"starting with a letter (at most {MAX_NAME_CHARS} characters), e.g. 'weather' or 'text-stats'"
        )
    if name in RESERVED_NAMES:
        raise UsageError(f"the plugin name {name!r} is reserved by chatfn; pick another")
    return name


def new_plugin(name: str, parent: Path) -> Path:
    """Write ``parent/chatfn-<name>/`` and return it; refuse a bad name or an existing folder."""
    name = check_name(plugin_name(name))
    parent = Path(parent)
    if not parent.is_dir():
        raise UsageError(f"directory {str(parent)!r} does not exist; create it or pass another --dir")
    target = parent / f"chatfn-{name}"
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; remove it or choose another name or --dir")
    # Write into a hidden sibling and rename at the end: no half-written package is ever left behind.
    staging = Path(tempfile.mkdtemp(prefix=f".chatfn-{name}-", dir=parent))
    try:
        for relative, content in render_files(name).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        os.rename(staging, target)
    except FileExistsError:
        raise UsageError(f"{target} already exists; remove it or choose another name or --dir") from None
    except OSError as error:
        raise ChatfnError(f"cannot create {target}: {error.strerror or error}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def next_steps(target: Path) -> list[str]:
    """What to do with a new package, for the lines after ``created``."""
    return [
        "next steps:",
        f"  cd {target}",
        "  pip install -e '.[test]'    # install it (chatfn plugins install . does the same)",
        "  pytest                      # its tests pass as they are",
        "  chatfn plugins list         # it appears, with its tool",
    ]


def render_files(name: str) -> dict[str, str]:
    """Every file of the package for ``name``, keyed by its path inside the package folder."""
    module = f"chatfn_{name.replace('-', '_')}"
    values = {"name": name, "module": module, "distribution": f"chatfn-{name}"}
    return {
        "pyproject.toml": _fill(PYPROJECT, values),
        f"{module}.py": _fill(MODULE, values),
        f"tests/test_{module}.py": _fill(TESTS, values),
        "conftest.py": CONFTEST,
        "README.md": _fill(README, values),
        ".gitignore": "__pycache__/\n*.egg-info/\nbuild/\ndist/\n.pytest_cache/\n",
    }


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace ``<<key>>`` markers (templates are full of braces, so no str.format)."""
    return re.sub(r"<<(\w+)>>", lambda match: values[match.group(1)], template)


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "<<distribution>>"
version = "0.1.0"
description = "Tools for chatfn: <<name>>."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["chatfn"]

[project.optional-dependencies]
test = ["pytest>=8"]

# chatfn finds the plugin through this entry point; its name is the plugin's name
# (the [plugins.<<name>>] config table, CHATFN_LOAD_PLUGINS, `chatfn plugins list`).
[project.entry-points.chatfn]
<<name>> = "<<module>>"

[tool.setuptools]
py-modules = ["<<module>>"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

MODULE = '''\
"""<<distribution>>: tools for chatfn.

chatfn builds each tool's schema from its signature and docstring: the first
paragraph becomes the description the model reads, the ``Args:`` section the
parameter descriptions, and the type hints the JSON types. Tools are called with
keyword arguments and return a string or JSON-serialisable data; an exception
becomes an "Error: ..." result for the model, so raise with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import chatfn


def word_count(text: str) -> int:
    """Count the words in a text: runs of characters separated by whitespace.

    Args:
        text: The text whose words to count.
    """
    return len(text.split())


@chatfn.hookimpl
def register_tools(register: Callable[..., Any], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer this package's tools to chatfn."""
    settings = plugin_config.get("<<name>>", {})  # the user's [plugins.<<name>>] table
    register(word_count, needs_approval=bool(settings.get("approval", False)))
'''

# In the root conftest, so the kit is loaded (and assertion-rewritten) before any test imports it.
CONFTEST = '''\
"""chatfn's test kit: the fixtures chat_server, chatfn_env and run_chatfn (a scripted model and the real CLI)."""

pytest_plugins = ["chatfn.testing"]
'''

TESTS = '''\
"""<<distribution>>: the tool called directly, then by a scripted model through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from chatfn.testing import text, tool_calls

import <<module>>


def registered_tools(config: dict[str, Any] | None = None) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """Call the plugin's hook as chatfn does; return {name: (function, options)}."""
    tools: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}

    def register(function: Callable[..., Any], name: str | None = None, **options: Any) -> None:
        tools[name or function.__name__] = (function, options)

    <<module>>.register_tools(register=register, plugin_config={"<<name>>": config or {}})
    return tools


def test_word_count_called_directly() -> None:
    word_count, options = registered_tools()["word_count"]
    assert word_count(text="one two  three\\nfour") == 4
    assert word_count(text="   ") == 0
    assert options["needs_approval"] is False
    assert registered_tools({"approval": True})["word_count"][1]["needs_approval"] is True


def test_model_calls_the_tool(chat_server: Any, run_chatfn: Any) -> None:
    installed = {entry.name for entry in entry_points(group="chatfn")}
    assert "<<name>>" in installed, "install the package first: pip install -e '.[test]'"
    chat_server.script(tool_calls(("word_count", {"text": "one two three"})), text("That is three words."))

    result = run_chatfn("chat", "-y", "How many words in 'one two three'?", env={"CHATFN_LOAD_PLUGINS": "<<name>>"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "That is three words."
    tool_message = chat_server.requests[1].messages[-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "3"
'''

README = """\
# <<distribution>>

Tools for chatfn, the command-line chat client for OpenAI-compatible models that
call tools (its `docs/plugins.md` is the guide to writing plugins).

| tool | what it does |
| --- | --- |
| `word_count(text)` | counts the words in a text |

## Install

```sh
pip install -e .            # from this folder; or: chatfn plugins install <<distribution>>
chatfn plugins list         # <<name>> appears, with its tools
chatfn tools call word_count text="one two three"
chatfn chat "How many words are in this sentence?"
```

## Configuration

Settings live in the `[plugins.<<name>>]` table of chatfn's config file
(`chatfn config path` shows where):

```toml
[plugins.<<name>>]
approval = false   # true: chatfn asks before each call of word_count
```

## Adding a tool

Write a function with type hints and a docstring whose first paragraph tells the model
what the tool does and whose `Args:` section describes each parameter, then call
`register(function)` in `register_tools`. Return a string or JSON-serialisable data;
raise an exception with a clear message when something is wrong (the model sees
`Error: <message>`). `register` also takes `name=`, `description=`,
`needs_approval=` and `timeout=`.

## Tests

```sh
pip install -e '.[test]'
pytest
```

The tests call the tool directly, then run `chatfn chat` against a scripted model
that calls the tool, and check that its result reached the model and the answer was
printed. The fixtures (`chat_server`, `chatfn_env`, `run_chatfn`) come from chatfn's
test kit, loaded in `conftest.py`. Nothing leaves 127.0.0.1.
"""
