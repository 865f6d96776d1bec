"""Start-up time of the commands that never talk to a model, against ``python -c pass``.

Usage: ``python bench/startup.py [--runs 15] [--all-plugins]``. Runs each command N
times in a subprocess (after one warm-up run, which also fills the answer cache of
:mod:`chatfn.replay`) with config isolated, interleaving the commands so that a busy
moment of a shared machine costs them all alike, and prints the median wall time and
its ratio to bare Python. Goals: ``chatfn --help`` and ``chatfn tools list`` at most
4x ``python -c pass`` with every tool package installed (``--all-plugins``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

GOALS = {"chatfn --help": 4.0, "chatfn tools list": 4.0}
"""Most a command may cost, as a multiple of ``python -c pass`` in the same run."""


def commands() -> dict[str, list[str]]:
    chatfn = [sys.executable, "-m", "chatfn"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "chatfn --version": [*chatfn, "--version"],
        "chatfn --help": [*chatfn, "--help"],
        "chatfn tools list": [*chatfn, "tools", "list"],
        "chatfn tools list --json": [*chatfn, "tools", "list", "--json"],
        "chatfn plugins list": [*chatfn, "plugins", "list"],
    }


def median_times(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, float]:
    """Median wall time of each command over ``runs`` rounds, each round running every command once."""
    for command in commands.values():
        subprocess.run(command, env=env, capture_output=True, check=True)  # warm the file cache
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            times[label].append(time.perf_counter() - started)
    return {label: statistics.median(taken) for label, taken in times.items()}


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
        medians = median_times(commands(), options.runs, env)
        base = medians["python -c pass"]
        for label, median in medians.items():
            goal = GOALS.get(label)
            ratio = median / base
            verdict = "" if goal is None else f"  goal <= x{goal:.1f}: {'ok' if ratio <= goal else 'MISSED'}"
            print(f"{label:28} {median:6.3f} s  x{ratio:4.1f}{verdict}")


if __name__ == "__main__":
    main()
