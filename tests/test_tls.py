"""The SDK client's TLS: one CA bundle load per process, and SSL_CERT_FILE keeps its meaning."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import fast_config, self_signed_certificate

from chatfn.testing import ScriptedServer
from chatfn.wire.endpoint import tls_context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[ScriptedServer]:
    """The scripted server behind TLS with :func:`certificate` (its handshakes happen on accept)."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with ScriptedServer(models=["tls-model"]) as server:
        httpd = server._httpd
        assert httpd is not None
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        yield server


def test_clients_share_one_context_per_ca_setting(monkeypatch: pytest.MonkeyPatch, certificate) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = tls_context()
    assert tls_context() is default
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    own = tls_context()
    assert own is not default and tls_context() is own
    assert [c["subject"] for c in own.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]


def test_ssl_cert_file_decides_which_servers_are_trusted_run_after_run(
    https_server: ScriptedServer, certificate, invoke_chatfn, tmp_path: Path
) -> None:
    url = https_server.base_url.replace("http://", "https://")
    config = str(fast_config(tmp_path, url))  # no retries: the refusal is the answer
    trusted = invoke_chatfn("models", "--config", config, env={"OPENAI_BASE_URL": url, "SSL_CERT_FILE": str(certificate[0])})
    assert trusted.returncode == 0, trusted.stderr
    assert "tls-model" in trusted.stdout
    untrusted = invoke_chatfn("models", "--config", config, env={"OPENAI_BASE_URL": url, "SSL_CERT_FILE": None})
    assert untrusted.returncode == 1
    assert "certificate" in untrusted.stderr.lower(), untrusted.stderr
    again = invoke_chatfn("models", "--config", config, env={"OPENAI_BASE_URL": url, "SSL_CERT_FILE": str(certificate[0])})
    assert again.returncode == 0, again.stderr
