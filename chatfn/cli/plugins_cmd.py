"""`chatfn plugins`: what was found and what happened to it; install, remove and start plugins."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from chatfn.cli.options import ConfigOption
from chatfn.output.console import emit
from chatfn.output.sanitize import json_safe, visible

app = typer.Typer(help="List, install, remove and create tool plugins.", no_args_is_help=True)


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    timings: bool = typer.Option(False, "--timings", help="Show how long each plugin took to load."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """List every plugin found: distribution, version, entry point, tools and status."""
    from chatfn.plugins.host import load_tools
    from chatfn.settings.config import load_config

    toolset = load_tools(load_config(config))
    if as_json:
        rows = [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "entry_point": info.entry_point,
                "status": info.status,
                "reason": info.reason,
                "tools": info.tools,
                "problems": info.problems,
                "load_time": round(info.load_time, 6),
            }
            for info in toolset.plugins
        ]
        emit(json_safe(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    for info in toolset.plugins:
        origin = " ".join(part for part in (info.distribution, info.version) if part) or "-"
        status = info.status if info.reason is None else f"{info.status}: {info.reason}"
        timing = f"  {info.load_time * 1000:.1f} ms" if timings else ""
        if info.status == "loaded" and info.problems:
            status = f"loaded with {len(info.problems)} warning" + ("s" if len(info.problems) > 1 else "")
        emit(visible(f"{info.name}  {origin}  [{info.entry_point}]  {status}{timing}"))
        if info.tools:
            emit(visible(f"    tools: {', '.join(info.tools)}"))
        if info.status == "loaded":
            for problem in info.problems:
                emit(visible(f"    warning: {problem}"))


@app.command("install", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def install_command(names: List[str] = typer.Argument(..., metavar="PACKAGE...", help="Packages (or pip options) to install.")) -> None:
    """pip-install plugins into the environment chatfn runs in."""
    raise typer.Exit(_pip("install", names))


@app.command("uninstall", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def uninstall_command(names: List[str] = typer.Argument(..., metavar="PACKAGE...", help="Packages to remove.")) -> None:
    """pip-uninstall plugins from the environment chatfn runs in (nothing that is not a plugin)."""
    for name in names:
        if not name.startswith("-"):
            _check_is_plugin(name)
    raise typer.Exit(_pip("uninstall", ["-y", *names]))


def _check_is_plugin(name: str) -> None:
    """Refuse ``name`` unless it is an installed distribution with an entry point in group ``chatfn``.

    ``pip uninstall -y`` removes whatever it is given, chatfn itself or pytest
    included; this command is for plugins only.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from chatfn.errors import UsageError

    try:
        found = distribution(name)
    except PackageNotFoundError:
        raise UsageError(
            f"{name}: no such distribution is installed", hint="'chatfn plugins list' shows installed plugins"
        ) from None
    if found.metadata["Name"].lower() == "chatfn":
        raise UsageError("chatfn cannot uninstall itself", hint="use pip to remove chatfn")
    if not any(entry.group == "chatfn" for entry in found.entry_points):
        raise UsageError(
            f"{name} is not a chatfn plugin (it has no entry point in group 'chatfn'); nothing was removed",
            hint="'chatfn plugins list' shows installed plugins",
        )


@app.command("new")
def new_command(
    name: str = typer.Argument(..., help="The plugin's name, e.g. 'weather' for chatfn-weather."),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to create the package folder."),
) -> None:
    """Create a ready-to-install plugin package with a tool, tests and docs."""
    from chatfn.output.console import status
    from chatfn.plugins.scaffold import new_plugin, next_steps

    created = new_plugin(name, directory)
    status(f"created {created}")
    for line in next_steps(created):
        status(line)


def _pip(action: str, arguments: list[str]) -> int:
    """Run pip for ``sys.executable`` (so pipx and uv tool installs work), passing output through."""
    import importlib.util
    import shutil
    import subprocess

    command = [sys.executable, "-m", "pip", action, *arguments]
    uv = shutil.which("uv")
    if importlib.util.find_spec("pip") is None and uv:  # uv-made environments come without pip
        command = [uv, "pip", action, "--python", sys.executable, *[a for a in arguments if a != "-y"]]
    try:
        return subprocess.run(command, check=False).returncode
    except OSError as error:
        from chatfn.errors import ChatfnError

        raise ChatfnError(f"cannot run pip: {error}") from None
