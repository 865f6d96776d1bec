"""``chatfn plugins uninstall`` removes plugins, and nothing else."""

from __future__ import annotations

from importlib.metadata import distribution

import pytest

from chatfn.cli import run


def chatfn(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in process as ``python -m chatfn`` would: its exit code and stderr."""
    with pytest.raises(SystemExit) as exited:
        run(list(args))
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("name", ["chatfn", "pytest", "typer", "no-such-distribution-xyz"])
def test_uninstall_refuses_what_is_not_a_chatfn_plugin(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = chatfn(capsys, "plugins", "uninstall", name)
    assert code == 2, err
    assert err.count("\n") <= 2 and name in err and "Traceback" not in err
    for kept in ("chatfn", "pytest", "typer"):
        assert distribution(kept).files  # still installed


def test_uninstall_refuses_the_whole_command_when_one_name_is_not_a_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = chatfn(capsys, "plugins", "uninstall", "chatfn-tools-math", "pytest")
    assert code == 2
    assert "pytest is not a chatfn plugin" in err
    assert distribution("chatfn-tools-math").entry_points  # untouched
