"""``chatfn plugins new``: the name, what it says next, and a package whose test and README hold up."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any


def _new(invoke_chatfn: Any, *args: str) -> tuple[int, str]:
    result = invoke_chatfn("plugins", "new", *args)
    return result.returncode, result.stderr


def test_a_prefixed_name_is_not_prefixed_twice_and_next_steps_are_printed(tmp_path: Path, invoke_chatfn: Any) -> None:
    work = tmp_path / "work"
    work.mkdir()
    code, err = _new(invoke_chatfn, "chatfn-foo", "--dir", str(work))
    assert code == 0, err
    assert [path.name for path in work.iterdir()] == ["chatfn-foo"]
    package = work / "chatfn-foo"
    assert 'name = "chatfn-foo"' in (package / "pyproject.toml").read_text(encoding="utf-8")
    assert (package / "chatfn_foo.py").is_file()
    assert f"created {package}" in err
    assert f"cd {package}" in err and "pip install -e '.[test]'" in err and "pytest" in err


def test_the_generated_test_runs_nothing_at_collection_and_the_readme_links_exist(
    tmp_path: Path, invoke_chatfn: Any
) -> None:
    assert _new(invoke_chatfn, "stats", "--dir", str(tmp_path))[0] == 0
    package = tmp_path / "chatfn-stats"
    tree = ast.parse((package / "tests" / "test_chatfn_stats.py").read_text(encoding="utf-8"))
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = [*statement.decorator_list, *statement.args.defaults]
        elif isinstance(statement, (ast.Import, ast.ImportFrom, ast.Expr)) and not any(
            isinstance(node, ast.Call) for node in ast.walk(statement)
        ):
            continue
        else:
            parts = [statement]
        calls = [ast.unparse(node) for part in parts for node in ast.walk(part) if isinstance(node, ast.Call)]
        assert not calls, f"runs at collection: {calls}"
    readme = (package / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        assert not re.match(r"[a-z]+://", target) and (package / target.split("#")[0]).exists(), target
