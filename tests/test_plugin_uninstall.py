"""``chatfn plugins uninstall`` removes plugins, and nothing else."""

from __future__ import annotations

from importlib.metadata import distribution
from typing import Any

import pytest


@pytest.mark.parametrize("name", ["chatfn", "pytest", "typer", "no-such-distribution-xyz"])
def test_uninstall_refuses_what_is_not_a_chatfn_plugin(name: str, invoke_chatfn: Any) -> None:
    result = invoke_chatfn("plugins", "uninstall", name)
    code, err = result.returncode, result.stderr
    assert code == 2, err
    assert err.count("\n") <= 2 and name in err and "Traceback" not in err
    for kept in ("chatfn", "pytest", "typer"):
        assert distribution(kept).files  # still installed


def test_uninstall_refuses_the_whole_command_when_one_name_is_not_a_plugin(invoke_chatfn: Any) -> None:
    result = invoke_chatfn("plugins", "uninstall", "chatfn-tools-math", "pytest")
    assert result.returncode == 2
    assert "pytest is not a chatfn plugin" in result.stderr
    assert distribution("chatfn-tools-math").entry_points  # untouched
