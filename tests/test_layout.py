"""The layout's rule: imports run downwards only (docs/architecture.md).

Every module of the ``chatfn`` package is parsed (nothing is imported) and each
``import chatfn...`` in it, at the top or inside a function, is checked against the
layers below. A module may import its own layer and the layers under it; the test
kit may import anything, and nothing imports the test kit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chatfn

PACKAGE = Path(chatfn.__file__).resolve().parent

LAYERS: list[tuple[str, ...]] = [
    # base: the package root (hookimpl), the plugin contract, errors, events, history rules, output
    ("chatfn", "chatfn.hookspecs", "chatfn.errors", "chatfn.events", "chatfn.history", "chatfn.output"),
    ("chatfn.settings",),
    ("chatfn.tools",),
    ("chatfn.plugins", "chatfn.wire", "chatfn.log", "chatfn.mcp"),
    ("chatfn.chat",),
    ("chatfn.terminal",),
    ("chatfn.cli", "chatfn.__main__", "chatfn.replay"),
]
TEST_KIT = "chatfn.testing"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """The index of the layer ``module`` belongs to (the longest matching prefix wins)."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "chatfn" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def chatfn_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every import of a chatfn module in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "chatfn"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "chatfn":
                continue
            for alias in node.names:  # ``from chatfn.tools import run`` imports the module chatfn.tools.run
                candidate = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").is_file() or (
                    PACKAGE.parent / Path(*candidate.split("."))
                ).is_dir()
                found.append((node.lineno, candidate if is_module else target))
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unplaced = [module_name(path) for path in MODULES if not module_name(path).startswith(TEST_KIT)]
    assert [name for name in unplaced if layer_of(name) is None] == []


def violations(importer: str, imports: list[tuple[int, str]]) -> list[str]:
    """What is wrong with ``importer`` importing ``imports``."""
    wrong = []
    for line, imported in imports:
        if imported == TEST_KIT or imported.startswith(TEST_KIT + "."):
            if not importer.startswith(TEST_KIT):
                wrong.append(f"{importer}:{line} imports the test kit {imported}")
            continue
        if importer.startswith(TEST_KIT):
            continue
        here, there = layer_of(importer), layer_of(imported)
        assert here is not None and there is not None, (importer, imported)
        if there > here:
            wrong.append(f"{importer}:{line} imports {imported}, a layer above it")
    return wrong


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_imports_run_downwards(path: Path) -> None:
    assert violations(module_name(path), chatfn_imports(path)) == []


def test_the_checker_sees_a_wrong_import() -> None:
    """The rule is not vacuous: upward imports and imports of the kit are found, sideways ones allowed."""
    assert violations("chatfn.tools.run", [(1, "chatfn.chat")]) == ["chatfn.tools.run:1 imports chatfn.chat, a layer above it"]
    assert violations("chatfn.wire.endpoint", [(2, "chatfn.testing.server")]) != []
    assert violations("chatfn.plugins.host", [(3, "chatfn.mcp.tools"), (4, "chatfn.tools.tool")]) == []
    found = chatfn_imports(PACKAGE / "cli" / "__init__.py")
    assert any(module == "chatfn.errors" for _, module in found)
    assert any(module == "chatfn.output.console" for _, module in found)  # an import inside a function
