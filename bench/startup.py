"""Start-up time of the commands that never talk to a model, against ``python -c pass``.

Usage: ``python bench/startup.py [--runs 15]``. Runs each command N times in a
subprocess (after one warm-up run) with plugins and config isolated, and prints
the median wall time and its ratio to bare Python. Goals on a 2-core machine:
``chatfn --version`` <= 0.10 s, ``chatfn tools list`` <= 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

GOALS = {"chatfn --version": 0.10, "chatfn tools list": 0.15}


def commands() -> dict[str, list[str]]:
    chatfn = [sys.executable, "-m", "chatfn"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "chatfn --version": [*chatfn, "--version"],
        "chatfn tools list": [*chatfn, "tools", "list"],
        "chatfn tools list --json": [*chatfn, "tools", "list", "--json"],
        "chatfn plugins list": [*chatfn, "plugins", "list"],
    }


def median_time(
    command: list[str], runs: int, env: dict[str, str], before: Callable[[], None] | None = None
) -> float:
    """Median wall time of ``command`` over ``runs`` runs, after a warm-up; ``before`` runs untimed before each."""
    subprocess.run(command, env=env, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--all-plugins", action="store_true", help="Load every installed plugin too.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home}
        env.pop("CHATFN_CONFIG", None)
        # As after `pip install`, which compiles bytecode: the warm-up run writes the
        # .pyc files that a machine with PYTHONDONTWRITEBYTECODE set would otherwise
        # recompile from source on every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if not options.all_plugins:
            env["CHATFN_LOAD_PLUGINS"] = ""
        plugins = "every installed plugin" if options.all_plugins else "built-in tools only"
        print(f"median of {options.runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {plugins}")
        base = None
        for label, command in commands().items():
            median = median_time(command, options.runs, env)
            base = base or median
            goal = GOALS.get(label)
            verdict = "" if goal is None else f"  goal <= {goal:.2f} s: {'ok' if median <= goal else 'MISSED'}"
            print(f"{label:28} {median:6.3f} s  x{median / base:4.1f}{verdict}")


if __name__ == "__main__":
    main()
