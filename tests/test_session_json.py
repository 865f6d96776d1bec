"""An interactive ``--json`` session: stdout carries JSON lines and nothing else."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from zygote import popen_chatfn

from chatfn.testing import ScriptedServer, responses
from chatfn.testing.runner import chatfn_environment

pytestmark = pytest.mark.slow


def _read_until(master: int, seen: bytearray, needle: bytes, count: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while seen.count(needle) < count:
        assert time.monotonic() < deadline, f"no {needle!r} x{count} on the terminal: {bytes(seen)!r}"
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            seen.extend(os.read(master, 65536))


def test_interactive_json_keeps_prompts_and_labels_off_stdout(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        server.script(responses.text("Hello there."), responses.text("Again."))
        env = chatfn_environment(server, tmp_path / "env")
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        process = popen_chatfn(
            "chat", "--json", "--no-tools", stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env
        )
        os.close(slave)
        seen = bytearray()
        try:
            for turn, message in enumerate((b"hi\r", b"more\r"), start=1):
                _read_until(master, seen, b"User: ", turn)
                os.write(master, message)
            _read_until(master, seen, b"User: ", 3)
            os.write(master, b"\r")
            stdout, _ = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
    assert process.returncode == 0
    events = [json.loads(line) for line in stdout.decode().splitlines()]  # every line is JSON
    assert "".join(event["text"] for event in events if event["type"] == "text") == "Hello there.Again."
