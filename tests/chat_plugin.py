"""A tool plugin for the chat tests: tools that sleep, fail, hang, shout, or need approval.

The ``chat_plugin_env`` fixture in ``conftest.py`` installs it for a test.
"""

from __future__ import annotations

SOURCE = '''
import asyncio
import os
import sys
import time

import chatfn


def echo(text: str, times: int = 1) -> str:
    """Repeat a text.

    Args:
        text: What to repeat.
        times: How many times.
    """
    return text * times


def sleep_for(seconds: float) -> str:
    """Sleep, then say so.

    Args:
        seconds: How long to sleep.
    """
    time.sleep(seconds)
    return f"slept {seconds}"


async def async_sleep(seconds: float) -> str:
    """Sleep without blocking, then say so.

    Args:
        seconds: How long to sleep.
    """
    await asyncio.sleep(seconds)
    return f"async slept {seconds}"


def explode() -> str:
    """Always fails."""
    raise RuntimeError("kaboom")


def hang() -> str:
    """Never returns."""
    time.sleep(3600)
    return "unreachable"


def dangerous(path: str) -> str:
    """Pretends to delete a file.

    Args:
        path: The file.
    """
    return f"deleted {path}"


def noisy() -> str:
    """Writes to stdout and stderr, from Python and from a child process."""
    print("NOISE-PRINT")
    sys.stdout.flush()
    os.system("echo NOISE-FD1")
    sys.stderr.write("NOISE-STDERR\\n")
    return "quiet result"


def huge() -> str:
    """Returns ten megabytes."""
    return "x" * 10_000_000


def opaque() -> object:
    """Returns something that is not JSON."""
    return {1, 2, 3}


@chatfn.hookimpl
def register_tools(register):
    register(echo)
    register(sleep_for)
    register(async_sleep)
    register(explode)
    register(hang, timeout=0.5)
    register(dangerous, needs_approval=True)
    register(noisy)
    register(huge)
    register(opaque)
'''

TOOLS = ("echo", "sleep_for", "async_sleep", "explode", "hang", "dangerous", "noisy", "huge", "opaque")
