"""Run the sandbox: in the foreground (``onboard sandbox``) or in-process on a free port."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from .app import SandboxConfig, create_app, vendor_classes

VENDOR_LINES = ("hubspot", "asana", "drive", "forms", "gmail", "calendar", "slack", "zoom", "zoom-oauth", "keap",
                "dropbox_sign", "dropbox")


def sdk_urls(root: str) -> dict[str, str]:
    """Base URL each official SDK takes, for a sandbox served at ``root`` (no trailing slash)."""
    urls: dict[str, str] = {}
    for cls in vendor_classes():
        urls.update(cls.sdk_urls(root))
    return {name: urls.get(name, "") for name in VENDOR_LINES}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_ca(folder: Path, host: str) -> tuple[str, str]:
    """A throwaway CA (``trustme``) and a certificate it issued for ``host``, 127.0.0.1 and localhost:
    (the CA's PEM file, the certificate's PEM file with its key)."""
    import trustme  # only a TLS sandbox needs it

    ca = trustme.CA()
    cert = ca.issue_cert(*dict.fromkeys((host, "127.0.0.1", "localhost")))
    ca_path, cert_path = folder / "ca.pem", folder / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    return str(ca_path), str(cert_path)


def _serve(server: uvicorn.Server, name: str, root: str) -> threading.Thread:
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"sandbox did not start on {root}")
        time.sleep(0.02)
    return thread


class SandboxServer:
    """The sandbox app on a uvicorn thread of this process; a context manager.

    With ``tls=True`` the same app is also served over HTTPS on ``tls_port``, with a certificate for
    127.0.0.1 and localhost issued by a throwaway local CA (``trustme``); ``ca_path`` is that CA's PEM file,
    for a client's ``verify`` / ``ca_certs`` (the Dropbox SDK's hosts are HTTPS only)."""

    def __init__(self, config: SandboxConfig | None = None, port: int | None = None, host: str = "127.0.0.1",
                 tls: bool = False):
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port or free_port()
        self.app = create_app(self.config)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", lifespan="off")
        )
        self._thread: threading.Thread | None = None
        self.tls_port: int | None = None
        self.ca_path: str | None = None
        self._tls: tuple[uvicorn.Server, threading.Thread | None] | None = None
        if tls:
            self._tls_files = tempfile.TemporaryDirectory(prefix="sandbox-tls-")
            self.ca_path, cert_path = local_ca(Path(self._tls_files.name), host)
            self.tls_port = free_port()
            server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=self.tls_port, log_level="warning",
                                                   lifespan="off", ssl_certfile=cert_path, ssl_keyfile=cert_path))
            self._tls = (server, None)

    @property
    def tls_root(self) -> str | None:
        return f"https://{self.host}:{self.tls_port}" if self.tls_port else None

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        return sdk_urls(self.root)

    def start(self) -> SandboxServer:
        self._thread = _serve(self._server, "sandbox", self.root)
        if self._tls is not None:
            self._tls = (self._tls[0], _serve(self._tls[0], "sandbox-tls", str(self.tls_root)))
        return self

    def stop(self) -> None:
        for server, thread in [(self._server, self._thread), *([self._tls] if self._tls else [])]:
            server.should_exit = True
            if thread:
                thread.join(timeout=10)
        if self._tls is not None:
            self._tls_files.cleanup()

    def state(self) -> dict:
        return httpx.get(f"{self.root}/_sandbox/state", timeout=30).json()

    def reset(self) -> None:
        httpx.post(f"{self.root}/_sandbox/reset", timeout=30).raise_for_status()

    def configure(self, **changes) -> dict:
        r = httpx.post(f"{self.root}/_sandbox/config", json=changes, timeout=30)
        r.raise_for_status()
        return r.json()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
