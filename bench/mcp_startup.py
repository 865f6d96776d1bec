"""``chatfn tools list`` with three MCP servers configured: cold (every server started) and cached.

Usage: ``python bench/mcp_startup.py [--runs 5]``. The three servers are the reference
``mcp-server-time`` and ``mcp-server-git`` and the tests' fault server in its ``ok`` mode,
all over stdio (install the test extra). Each command runs N times in a subprocess after
one warm-up run, config and caches isolated; "cold" empties the tool-list cache before
every run, so every server is started and asked; "cached" keeps it. Printed: the median
wall time and its ratio to ``python -c pass`` and to ``tools list`` with no MCP servers,
all measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from startup import median_time  # bench/ is on sys.path when a script in it runs

ROOT = Path(__file__).resolve().parent.parent


def servers(repository: Path) -> dict[str, dict[str, object]]:
    return {
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]},
        "git": {"command": sys.executable, "args": ["-m", "mcp_server_git", "--repository", str(repository)]},
        "fault": {"command": sys.executable, "args": [str(ROOT / "tests" / "mcp_fault_server.py"), "ok"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        cache = Path(home) / "cache"
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": str(cache), "XDG_STATE_HOME": home}
        env.pop("CHATFN_CONFIG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["CHATFN_LOAD_PLUGINS"] = ""
        config = Path(home) / "mcp.json"
        config.write_text(json.dumps({"mcpServers": servers(ROOT)}), encoding="utf-8")
        chatfn = [sys.executable, "-m", "chatfn", "tools", "list"]
        mcp_cache = cache / "chatfn" / "mcp-tools.json"

        def cold() -> None:
            mcp_cache.unlink(missing_ok=True)

        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"], None),
            ("tools list, no MCP servers", chatfn, None),
            ("tools list, 3 servers, cold", [*chatfn, "--mcp-config", str(config)], cold),
            ("tools list, 3 servers, cached", [*chatfn, "--mcp-config", str(config)], None),
        ]
        print(f"median of {options.runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
        base = plain = None
        for label, command, before in rows:
            median = median_time(command, options.runs, env, before)
            base = base or median
            if label.startswith("tools list, no"):
                plain = median
            versus = f"  x{median / plain:4.1f} tools list" if plain else ""
            print(f"{label:32} {median:6.3f} s  x{median / base:5.1f} python{versus}")
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
