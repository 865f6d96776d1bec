"""`chatfn plugins new`: the generated package is complete, registers its tool and passes its own tests."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest

from chatfn import PROJECT_NAME, hookspecs
from chatfn.errors import UsageError
from chatfn.plugins.scaffold import new_plugin, render_files
from chatfn.tools.schema import function_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """An empty folder to create packages in (tmp_path itself holds the isolated home)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_writes_a_complete_package(parent: Path) -> None:
    package = new_plugin("text-stats", parent)
    assert package == parent / "chatfn-text-stats"
    files = sorted(path.relative_to(package).as_posix() for path in package.rglob("*") if path.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "chatfn_text_stats.py",
        "conftest.py",
        "pyproject.toml",
        "tests/test_chatfn_text_stats.py",
    ]
    assert [p.name for p in parent.iterdir()] == ["chatfn-text-stats"]  # no staging folder left behind

    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "chatfn-text-stats"
    assert project["project"]["dependencies"] == ["chatfn"]
    assert project["project"]["entry-points"]["chatfn"] == {"text-stats": "chatfn_text_stats"}
    assert project["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
    assert project["tool"]["setuptools"]["py-modules"] == ["chatfn_text_stats"]

    assert 'pytest_plugins = ["chatfn.testing"]' in (package / "conftest.py").read_text(encoding="utf-8")
    readme = (package / "README.md").read_text(encoding="utf-8")
    assert "[plugins.text-stats]" in readme and "pip install -e ." in readme
    for text in render_files("text-stats").values():
        assert "<<" not in text and ">>" not in text  # every marker filled


def test_module_registers_its_tool_through_the_hook(parent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = new_plugin("wordy", parent)
    monkeypatch.syspath_prepend(str(package))
    module = importlib.import_module("chatfn_wordy")
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(module, name="wordy")
    manager.check_pending()
    registered: list[tuple[Callable[..., Any], dict[str, Any]]] = []

    def register(function: Callable[..., Any], name: str | None = None, **options: Any) -> None:
        registered.append((function, options))

    manager.hook.register_tools(register=register, plugin_config={"wordy": {"approval": True}})
    [(function, options)] = registered
    assert function(text="a b c") == 3
    assert options == {"needs_approval": True}
    schema = function_schema(function)
    assert schema["name"] == "word_count"
    assert schema["description"].startswith("Count the words in a text")
    assert schema["parameters"]["properties"]["text"] == {"type": "string", "description": "The text whose words to count."}
    assert schema["parameters"]["required"] == ["text"]


@pytest.mark.slow
def test_generated_package_installs_and_its_tests_pass(tmp_path: Path) -> None:
    """`chatfn plugins new`, a real pip install into a throwaway folder, then the package's own tests."""

    def chatfn(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatfn", *args], capture_output=True, text=True, timeout=180, check=False
        )

    created = chatfn("plugins", "new", "counter", "--dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    package = tmp_path / "chatfn-counter"
    site = tmp_path / "site"
    # Offline and into a folder of its own: no build isolation (which would fetch setuptools).
    installed = chatfn("plugins", "install", "--no-deps", "--no-build-isolation", "--no-index",
                       "--target", str(site), str(package))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert any(site.glob("chatfn_counter-0.1.0.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("CHATFN_LOAD_PLUGINS")  # as on a user's machine: every installed plugin loads
    listed = subprocess.run([sys.executable, "-m", "chatfn", "tools", "list"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert "word_count" in listed.stdout and "counter" in listed.stdout, listed.stdout + listed.stderr
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests"],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
    assert "warning" not in result.stdout.lower(), result.stdout


def test_refuses_an_existing_folder(parent: Path) -> None:
    (parent / "chatfn-taken").mkdir()
    (parent / "chatfn-taken" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists"):
        new_plugin("taken", parent)
    assert [p.name for p in (parent / "chatfn-taken").iterdir()] == ["keep.txt"]


def test_refuses_a_missing_parent(parent: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        new_plugin("fine", parent / "nowhere")


@pytest.mark.parametrize("name", ["", "Weather", "1tool", "my tool", "a--b", "tool-", "_x", "x.y", "../evil", "é", "a" * 41])
def test_refuses_bad_names(parent: Path, name: str) -> None:
    with pytest.raises(UsageError, match="invalid plugin name"):
        new_plugin(name, parent)
    assert list(parent.iterdir()) == []


def test_refuses_reserved_names(parent: Path) -> None:
    with pytest.raises(UsageError, match="reserved"):
        new_plugin("builtin", parent)


@pytest.mark.parametrize("name", ["weather", "text-stats", "my_tools2", "a"])
def test_accepts_slugs(parent: Path, name: str) -> None:
    package = new_plugin(name, parent)
    module = name.replace("-", "_")
    assert (package / f"chatfn_{module}.py").is_file()
    compile((package / f"chatfn_{module}.py").read_text(encoding="utf-8"), "module", "exec")
    compile((package / "tests" / f"test_chatfn_{module}.py").read_text(encoding="utf-8"), "tests", "exec")
