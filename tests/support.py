"""Helpers the chat tests share: a port nothing listens on, chunks, configs, the one error line.

Fixtures live in ``conftest.py``; these are plain functions, imported where used.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chatfn.log.store import LoggedMessage, LogStore
from chatfn.testing import FAKE_API_KEY


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no client trusts, and its key, made by the openssl command.

    Skips the test where there is no openssl command.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not available to make a certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """One Chat Completions stream chunk carrying ``delta`` (and a finish reason)."""
    return {"id": "c", "object": "chat.completion.chunk", "model": "test-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def one_error_line(stderr: str) -> str:
    """The single ``error:`` line; fails on a traceback, a second error line or the API key."""
    assert "Traceback" not in stderr, stderr
    assert FAKE_API_KEY not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def fast_config(tmp_path: Path, base_url: str, **settings: object) -> Path:
    """A config whose profile points at ``base_url`` with no retries (and any other settings)."""
    lines = ['default_profile = "t"', "[profiles.t]", f'base_url = "{base_url}"', 'model = "test-model"']
    for key, value in {"max_retries": 0, **settings}.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = tmp_path / "fast.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def logged(path: Path, cid: str | None = None) -> list[LoggedMessage]:
    """The messages of conversation ``cid`` (default: the latest) in the log at ``path``."""
    with LogStore.open(path) as store:
        return store.conversation(cid or store.latest_conversation_id()).messages
