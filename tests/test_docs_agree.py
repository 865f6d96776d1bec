"""The docs say what the code does, and these tests keep them saying it.

Every ``register()`` option and hook argument is in docs/plugins.md, every module in
docs/architecture.md, every command in README's table; the ``[tools.prefer]`` example
names a plugin the way chatfn matches it. (Every config key in config.example.toml:
tests/test_config.py::test_example_config_documents_every_key.)
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

import typer

from chatfn import hookspecs
from chatfn.cli import app
from chatfn.tools.tool import REGISTER_OPTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
ARCHITECTURE_DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_register_option_and_hook_argument_is_in_the_plugin_guide() -> None:
    hooks = [value for name, value in vars(hookspecs).items() if inspect.isfunction(value) and hasattr(value, "chatfn_spec")]
    assert hooks, "no hook specs found"
    arguments = {name for hook in hooks for name in inspect.signature(hook).parameters}
    missing = sorted(
        name for name in {*REGISTER_OPTIONS, *arguments, *(hook.__name__ for hook in hooks)}
        if f"`{name}" not in PLUGINS_DOC and f"{name}=" not in PLUGINS_DOC
    )
    assert not missing, f"not in docs/plugins.md: {missing}"


def test_every_module_is_in_the_architecture_notes() -> None:
    modules = sorted(str(path.relative_to(ROOT / "chatfn")) for path in (ROOT / "chatfn").rglob("*.py"))
    missing = [module for module in modules if not re.search(rf"(?<![\w/]){re.escape(module)}\b", ARCHITECTURE_DOC)]
    assert not missing, f"not in docs/architecture.md: {missing}"


def _commands() -> dict[str, list[str]]:
    """Each top-level command, with its subcommands (empty for a plain command)."""
    root: Any = typer.main.get_command(app)
    found: dict[str, list[str]] = {}
    for name, command in root.commands.items():
        if getattr(command, "hidden", False):
            continue
        found[name] = sorted(getattr(command, "commands", {}) or {})
    return found


def test_every_command_is_in_the_readme_table() -> None:
    table = [line for line in README.splitlines() if line.startswith("| `chatfn")]
    missing = []
    for name, subcommands in _commands().items():
        rows = [row for row in table if row.startswith(f"| `chatfn {name}")]
        if not rows:
            missing.append(name)
            continue
        cell = " ".join(row.split("|")[1] for row in rows)
        for sub in subcommands:
            if f"`chatfn {name} {sub}" not in cell and f"`{sub}" not in cell:
                missing.append(f"{name} {sub}")
    assert not missing, f"not in README's command table: {missing}"


def test_the_prefer_example_names_a_plugin_by_its_entry_point() -> None:
    (block,) = re.findall(r"```toml\n\s*(\[tools\.prefer\].*?)```", PLUGINS_DOC, re.S)
    chosen = set(tomllib.loads(block)["tools"]["prefer"].values())
    entry_points = set()
    for pyproject in (ROOT / "plugins").glob("*/pyproject.toml"):
        entry_points |= set(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["entry-points"]["chatfn"])
    assert chosen <= entry_points | {"builtin"}, f"{chosen} are not entry-point names ({sorted(entry_points)})"


def test_the_readme_does_not_claim_keys_only_come_from_the_environment() -> None:
    assert "Keys stay in environment variables" not in README
    assert "`api_key`" in README
