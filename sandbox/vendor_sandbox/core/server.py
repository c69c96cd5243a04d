"""Run the sandbox: in the foreground (``onboard sandbox``) or in-process on a free port."""

from __future__ import annotations

import socket
import threading
import time

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


class SandboxServer:
    """The sandbox app on a uvicorn thread of this process; a context manager."""

    def __init__(self, config: SandboxConfig | None = None, port: int | None = None, host: str = "127.0.0.1"):
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port or free_port()
        self.app = create_app(self.config)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", lifespan="off")
        )
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        return sdk_urls(self.root)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox did not start on {self.root}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)

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
