"""Real plugin distributions for tests, made in milliseconds.

:func:`make_plugin` writes a module and a ``*.dist-info`` folder (METADATA,
entry_points.txt, RECORD) into a directory: exactly what pip leaves in
site-packages, so ``importlib.metadata`` finds the entry point as it would an
installed package's. Put the directory on ``PYTHONPATH`` (see :func:`plugin_env`)
for a ``chatfn`` subprocess, or on ``sys.path`` in-process.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path


def make_plugin(
    directory: Path,
    source: str,
    *,
    module: str = "chatfn_test_plugin",
    distribution: str = "chatfn-test-plugin",
    version: str = "1.0",
    entry_point: str | None = None,
    target: str | None = None,
) -> Path:
    """Write ``<module>.py`` and its distribution metadata into ``directory``; return ``directory``.

    ``entry_point`` is the name in the ``chatfn`` group (default: the module name);
    ``target`` what it points at (default: the module).
    """
    directory.mkdir(parents=True, exist_ok=True)
    module_file = directory / f"{module}.py"
    module_file.write_text(textwrap.dedent(source), encoding="utf-8")
    dist_info = directory / f"{re.sub(r'[-.]+', '_', distribution)}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\nSummary: a test plugin\n",
        encoding="utf-8",
    )
    (dist_info / "entry_points.txt").write_text(
        f"[chatfn]\n{entry_point or module} = {target or module}\n", encoding="utf-8"
    )
    (dist_info / "INSTALLER").write_text("chatfn-tests\n", encoding="utf-8")
    (dist_info / "RECORD").write_text(
        "".join(f"{path},,\n" for path in (module_file.name, *(f"{dist_info.name}/{n}" for n in ("METADATA", "entry_points.txt", "INSTALLER", "RECORD")))),
        encoding="utf-8",
    )
    return directory


def plugin_env(*directories: Path, load: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a ``chatfn`` subprocess that sees plugins in ``directories``.

    ``load`` sets ``CHATFN_LOAD_PLUGINS`` (the tests' default is "": none); ``None``
    removes it, so every plugin found loads.
    """
    env = dict(base if base is not None else os.environ)
    paths = [str(directory) for directory in directories]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    if load is None:
        env.pop("CHATFN_LOAD_PLUGINS", None)
    else:
        env["CHATFN_LOAD_PLUGINS"] = load
    return env
